#![forbid(unsafe_code)]
//! The end-to-end harness: a Kubernetes API simulator, both provider simulators and
//! the operator, on free 127.0.0.1 ports, torn down when the [`Env`] is dropped (also
//! when a test panics).

pub mod fixtures;
pub mod replica;
pub mod soak;

use std::future::Future;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use chatgroup_operator::api::{ChatGroup, ChatGroupClaim, ChatProvider};
use chatgroup_operator::controller::{self, Settings};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, CustomResourceExt, ResourceExt};
use kube_sim::KubeSim;
use provider_sim::{NeteaseSim, NeteaseSimConfig, TencentSim, TencentSimConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The namespace every fixture lives in.
pub const NAMESPACE: &str = "chat";
/// ChatProvider names created by [`Env::start`].
pub const TENCENT: &str = "tencent";
pub const NETEASE: &str = "netease";

/// A running operator inside this process.
struct Operator {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Everything a test talks to.
pub struct Env {
    pub kube: KubeSim,
    pub tencent: TencentSim,
    pub netease: NeteaseSim,
    pub client: Client,
    pub settings: Settings,
    operator: Option<Operator>,
}

/// Settings that make tests fast: short backoffs, no drift pass unless asked for.
pub fn test_settings() -> Settings {
    Settings {
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
        terminal_retry: Duration::from_secs(3600),
        resync_interval: Duration::from_secs(3600),
        late_create_bound: Duration::from_secs(2),
        secret_refresh: Duration::from_secs(1),
        max_deletion_backoff: Duration::from_secs(2),
        ..Settings::default()
    }
}

impl Env {
    /// Simulators, CRDs, namespace, both ChatProviders, and a running operator.
    pub async fn start() -> anyhow::Result<Env> {
        Self::start_with(test_settings()).await
    }

    pub async fn start_with(settings: Settings) -> anyhow::Result<Env> {
        let mut env = Self::without_operator(settings).await?;
        env.start_operator();
        Ok(env)
    }

    /// Like [`start_with`](Self::start_with), with simulators configured by the test
    /// (their keys must stay the defaults: the ChatProviders are made with them).
    pub async fn start_with_sims(
        settings: Settings,
        tencent: TencentSimConfig,
        netease: NeteaseSimConfig,
    ) -> anyhow::Result<Env> {
        let mut env = Self::with_sims(settings, tencent, netease).await?;
        env.start_operator();
        Ok(env)
    }

    /// Like [`start`](Self::start) but the operator is not running yet.
    pub async fn without_operator(settings: Settings) -> anyhow::Result<Env> {
        let (tencent, netease) = (TencentSimConfig::default(), NeteaseSimConfig::default());
        Self::with_sims(settings, tencent, netease).await
    }

    async fn with_sims(
        settings: Settings,
        tencent: TencentSimConfig,
        netease: NeteaseSimConfig,
    ) -> anyhow::Result<Env> {
        if let Ok(filter) = std::env::var("CHATGROUP_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let kube = KubeSim::start().await?;
        let tencent = TencentSim::start(tencent).await?;
        let netease = NeteaseSim::start(netease).await?;
        let config = kube::Config::new(kube.url().parse()?);
        let client = Client::try_from(config)?;
        let env = Env {
            kube,
            tencent,
            netease,
            client,
            settings,
            operator: None,
        };
        env.install_crds().await?;
        env.create_providers().await?;
        Ok(env)
    }

    async fn install_crds(&self) -> anyhow::Result<()> {
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        for crd in [ChatProvider::crd(), ChatGroup::crd(), ChatGroupClaim::crd()] {
            crds.create(&PostParams::default(), &crd)
                .await
                .context("create CRD")?;
            let name = crd.name_any();
            eventually(Duration::from_secs(10), || async {
                let crd = crds.get(&name).await.ok()?;
                let conditions = crd.status?.conditions?;
                conditions
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
                    .then_some(())
            })
            .await
            .with_context(|| format!("CRD {name} established"))?;
        }
        Ok(())
    }

    async fn create_providers(&self) -> anyhow::Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(serde_json::json!({
                    "metadata": {"name": NAMESPACE}
                }))?,
            )
            .await?;
        let tencent_key = TencentSimConfig::default().secret_key;
        let netease_secret = NeteaseSimConfig::default().app_secret;
        self.apply_yaml::<Secret>(&fixtures::secret("tencent-key", "secretKey", &tencent_key))
            .await?;
        self.apply_yaml::<Secret>(&fixtures::secret(
            "netease-secret",
            "appSecret",
            &netease_secret,
        ))
        .await?;
        let tencent = fixtures::tencent_provider(
            TENCENT,
            &self.tencent.base_url(),
            TencentSimConfig::default().sdk_app_id,
        );
        self.apply_yaml::<ChatProvider>(&tencent).await?;
        let netease = fixtures::netease_provider(
            NETEASE,
            &self.netease.base_url(),
            &NeteaseSimConfig::default().app_key,
        );
        self.apply_yaml::<ChatProvider>(&netease).await?;
        Ok(())
    }

    /// Starts the operator in this process (no-op when it is running).
    pub fn start_operator(&mut self) {
        if self.operator.is_some() {
            return;
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let client = match operator_config(&self.kube.url()).and_then(|c| Ok(Client::try_from(c)?))
        {
            Ok(client) => client,
            Err(error) => panic!("cannot build the operator's client: {error:#}"),
        };
        let settings = self.settings.clone();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(error) = run_operator(client, settings, shutdown).await {
                tracing::error!(%error, "operator stopped with an error");
            }
        });
        self.operator = Some(Operator { stop, task });
    }

    /// Starts another operator replica with its own `settings` (e.g. its own
    /// `instance` and `metrics_addr`), on its own runtime and client.
    pub fn start_replica(&self, settings: Settings) -> anyhow::Result<replica::Replica> {
        replica::Replica::start(&self.kube.url(), settings)
    }

    /// Stops the operator the way SIGTERM does: in-flight reconciles finish.
    pub async fn stop_operator(&mut self) {
        if let Some(op) = self.operator.take() {
            let _ = op.stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(30), op.task).await;
        }
    }

    /// Whether the operator [`start_operator`](Self::start_operator) started is still
    /// running: it ends by itself when it fails to start (say, the API server answered
    /// its first list with an error).
    pub fn operator_running(&self) -> bool {
        self.operator
            .as_ref()
            .is_some_and(|op| !op.task.is_finished())
    }

    /// Kills the operator at once, mid-reconcile if need be, as a crash would.
    pub fn kill_operator(&mut self) {
        if let Some(op) = self.operator.take() {
            op.task.abort();
        }
    }

    pub fn groups(&self) -> Api<ChatGroup> {
        Api::namespaced(self.client.clone(), NAMESPACE)
    }

    /// Creates a namespace.
    pub async fn create_namespace(&self, name: &str) -> anyhow::Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}}))?;
        namespaces
            .create(&PostParams::default(), &namespace)
            .await?;
        Ok(())
    }

    /// Creates or replaces an object from YAML in its namespace (the test namespace
    /// when it names none), with server-side apply.
    pub async fn apply_yaml<K>(&self, yaml: &str) -> anyhow::Result<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned
            + serde::Serialize,
    {
        let value: serde_json::Value = serde_norway::from_str(yaml)?;
        let name = value["metadata"]["name"]
            .as_str()
            .ok_or_else(|| anyhow!("metadata.name missing"))?
            .to_string();
        let namespace = value["metadata"]["namespace"]
            .as_str()
            .unwrap_or(NAMESPACE)
            .to_string();
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let applied = api
            .patch(
                &name,
                &PatchParams::apply("e2e-test").force(),
                &Patch::Apply(&value),
            )
            .await?;
        Ok(applied)
    }

    /// Applies a ChatGroup manifest.
    pub async fn apply_group(&self, yaml: &str) -> anyhow::Result<ChatGroup> {
        self.apply_yaml::<ChatGroup>(yaml).await
    }

    pub async fn delete_group(&self, name: &str) -> anyhow::Result<()> {
        self.groups().delete(name, &DeleteParams::default()).await?;
        Ok(())
    }

    /// Waits until `check` accepts the ChatGroup, returning it.
    pub async fn wait_group(
        &self,
        name: &str,
        timeout: Duration,
        check: impl Fn(&ChatGroup) -> bool,
    ) -> anyhow::Result<ChatGroup> {
        let api = self.groups();
        eventually(timeout, || async {
            api.get(name).await.ok().filter(|g| check(g))
        })
        .await
        .with_context(|| {
            let last = self.kube.object(
                "im.chatgroup.dev",
                "v1alpha1",
                "chatgroups",
                Some(NAMESPACE),
                name,
            );
            format!("ChatGroup {name} did not reach the expected state; last seen: {last:#?}")
        })
    }

    /// Waits until the ChatGroup is gone from the API server.
    pub async fn wait_gone(&self, name: &str, timeout: Duration) -> anyhow::Result<()> {
        let api = self.groups();
        eventually(timeout, || async {
            matches!(api.get_opt(name).await, Ok(None)).then_some(())
        })
        .await
        .with_context(|| format!("ChatGroup {name} still exists"))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.kill_operator();
    }
}

/// The user the simulator attributes the operator's requests to (its bearer token),
/// so the request log tells them from the test's own.
pub const OPERATOR_USER: &str = "system:serviceaccount:chatgroup-system:chatgroup-operator";

/// Whether `request` is a write by the operator to ChatGroup `name` itself (its
/// metadata or its status), as counted against the writes-per-group budget.
pub fn operator_write_to(request: &kube_sim::RequestRecord, name: &str) -> bool {
    request.user.as_deref() == Some(OPERATOR_USER)
        && request.resource == "chatgroups"
        && request.name.as_deref() == Some(name)
        && !matches!(request.verb.as_str(), "get" | "list" | "watch")
}

/// The client configuration an operator replica uses against the simulator at `url`.
pub fn operator_config(url: &str) -> anyhow::Result<kube::Config> {
    operator_config_as(url, OPERATOR_USER)
}

/// The client configuration of a replica whose requests the simulator attributes to
/// `user`.
pub fn operator_config_as(url: &str, user: &str) -> anyhow::Result<kube::Config> {
    let mut config = kube::Config::new(url.parse()?);
    let bearer = http::HeaderValue::from_str(&format!("Bearer {user}"))?;
    config.headers.push((http::header::AUTHORIZATION, bearer));
    Ok(config)
}

/// Polls `probe` every 50 ms until it yields a value or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, probe: F) -> anyhow::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow!("timed out after {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The status of condition `type_` on a ChatGroup, with its reason.
pub fn condition(group: &ChatGroup, type_: &str) -> Option<(String, String)> {
    let status = group.status.as_ref()?;
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

/// Whether the group's Ready condition is True with `reason`, earned on the current
/// generation (a Ready kept through a failure speaks for an older one).
pub fn ready_with(group: &ChatGroup, reason: &str) -> bool {
    let generation = group.metadata.generation;
    let current = group.status.as_ref().and_then(|s| s.observed_generation) == generation;
    let ready = group
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    let earned_now = ready
        .is_some_and(|c| c.observed_generation.is_none() || c.observed_generation == generation);
    current && earned_now && condition(group, "Ready") == Some(("True".into(), reason.into()))
}

/// Which provider simulator a scenario runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Tencent,
    Netease,
}

/// Provider operations, as the simulators' call logs name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Read,
    Update,
    TransferOwner,
    Disband,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Tencent, Side::Netease];

    /// The ChatProvider [`Env::start`] made for this side.
    pub fn provider(self) -> &'static str {
        match self {
            Side::Tencent => TENCENT,
            Side::Netease => NETEASE,
        }
    }

    /// The code this side's simulator answers a call over its rate with.
    pub fn throttle_code(self) -> i64 {
        match self {
            Side::Tencent => 60007,
            Side::Netease => 416,
        }
    }

    /// The simulator's API names of the calls that make and that disband a group.
    pub fn write_apis(self) -> (&'static str, &'static str) {
        match self {
            Side::Tencent => ("create_group", "destroy_group"),
            Side::Netease => ("create", "disband"),
        }
    }

    /// A group type of this side.
    pub fn group_type(self) -> &'static str {
        match self {
            Side::Tencent => "Public",
            Side::Netease => "Advanced",
        }
    }

    /// A ChatGroup manifest on this side's ChatProvider named `name`, with the group
    /// name `name` (and the owner alice on NetEase, where one is required) and `extra`
    /// appended to the spec.
    pub fn manifest(self, name: &str, extra: &str) -> String {
        let owner = if self == Side::Netease {
            "owner: alice\n"
        } else {
            ""
        };
        let spec = format!("name: {name}\n{owner}{extra}");
        fixtures::group(name, self.provider(), self.group_type(), &spec)
    }

    /// A group of this side already on the provider, owned by alice (to adopt).
    pub fn existing_group(self, id: &str) -> provider_sim::SimGroup {
        provider_sim::SimGroup {
            id: id.into(),
            group_type: match self {
                Side::Tencent => "Public".into(),
                Side::Netease => "1".into(),
            },
            name: "Legacy".into(),
            owner: Some("alice".into()),
            max_members: 200,
            members: vec!["alice".into()],
            ..provider_sim::SimGroup::default()
        }
    }

    /// The simulator's name of the API that performs `op` on this side.
    pub fn api(self, op: Op) -> &'static str {
        self.apis(op)[0]
    }

    /// The group a recorded disband call named (Tencent: the body; NetEase: the last
    /// path segment).
    pub fn disbanded_id(self, call: &provider_sim::RecordedCall) -> String {
        match self {
            Side::Tencent => call.body["GroupId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            Side::Netease => call.path.rsplit('/').next().unwrap_or_default().to_string(),
        }
    }

    /// The business code of a successful call on this side (Tencent 0, NetEase 200).
    pub fn success_code(self) -> i64 {
        match self {
            Side::Tencent => 0,
            Side::Netease => 200,
        }
    }

    fn apis(self, op: Op) -> &'static [&'static str] {
        match (self, op) {
            (Side::Tencent, Op::Create) => &["create_group"],
            (Side::Tencent, Op::Read) => &["get_group_info"],
            (Side::Tencent, Op::Update) => &["modify_group_base_info"],
            (Side::Tencent, Op::TransferOwner) => &["change_group_owner"],
            (Side::Tencent, Op::Disband) => &["destroy_group"],
            (Side::Netease, Op::Create) => &["create"],
            (Side::Netease, Op::Read) => &["get", "batch_get", "joined_teams"],
            (Side::Netease, Op::Update) => &["update"],
            (Side::Netease, Op::TransferOwner) => &["transfer_owner"],
            (Side::Netease, Op::Disband) => &["disband"],
        }
    }
}

impl Env {
    fn calls(&self, side: Side) -> Vec<provider_sim::RecordedCall> {
        match side {
            Side::Tencent => self.tencent.calls(),
            Side::Netease => self.netease.calls(),
        }
    }

    /// Every call the simulator of `side` received, whatever its outcome.
    pub fn call_count(&self, side: Side) -> usize {
        self.calls(side).len()
    }

    /// How many `op` calls the simulator executed (not rejected by a fault or limit).
    pub fn executed(&self, side: Side, op: Op) -> usize {
        let apis = side.apis(op);
        self.calls(side)
            .iter()
            .filter(|c| c.executed && apis.contains(&c.api.as_str()))
            .count()
    }

    /// Calls the simulator answered with its rate-limit code (Tencent 60007, NetEase 416).
    pub fn throttle_answers(&self, side: Side) -> usize {
        let code = side.throttle_code();
        self.calls(side).iter().filter(|c| c.code == code).count()
    }

    /// Executed calls that change something: create, update, transfer, disband.
    pub fn writes(&self, side: Side) -> usize {
        [Op::Create, Op::Update, Op::TransferOwner, Op::Disband]
            .iter()
            .map(|op| self.executed(side, *op))
            .sum()
    }

    /// The live groups on a simulator.
    pub fn sim_groups(&self, side: Side) -> Vec<provider_sim::SimGroup> {
        match side {
            Side::Tencent => self.tencent.groups(),
            Side::Netease => self.netease.groups(),
        }
    }

    pub fn sim_group(&self, side: Side, id: &str) -> Option<provider_sim::SimGroup> {
        self.sim_groups(side).into_iter().find(|g| g.id == id)
    }

    /// Seeds a group on the simulator of `side`.
    pub fn insert(&self, side: Side, group: provider_sim::SimGroup) {
        match side {
            Side::Tencent => self.tencent.insert_group(group),
            Side::Netease => self.netease.insert_group(group),
        }
    }

    pub fn inject(&self, side: Side, fault: provider_sim::Fault) {
        match side {
            Side::Tencent => self.tencent.inject(fault),
            Side::Netease => self.netease.inject(fault),
        }
    }

    pub fn disband_out_of_band(&self, side: Side, id: &str) -> bool {
        match side {
            Side::Tencent => self.tencent.disband_out_of_band(id),
            Side::Netease => self.netease.disband_out_of_band(id),
        }
    }

    /// The simulator API name of `op` on `side`, for fault rules.
    pub fn api_name(side: Side, op: Op) -> String {
        side.api(op).to_string()
    }
}

/// The reason of `group`'s condition `type_`, if it has one.
pub fn reason(group: &ChatGroup, type_: &str) -> Option<String> {
    condition(group, type_).map(|(_, reason)| reason)
}

/// Runs the operator as the binary's `main` does: the endpoints at
/// `settings.metrics_addr` (when set), then the controllers until `shutdown`.
pub async fn run_operator(
    client: Client,
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use futures::FutureExt;
    let shutdown = shutdown.shared();
    let mut registry = prometheus_client::registry::Registry::default();
    let addr = settings.metrics_addr;
    let operator = controller::Operator::new(client, settings, &mut registry).await?;
    if let Some(addr) = addr {
        let registry = std::sync::Arc::new(registry);
        chatgroup_operator::http::serve(addr, registry, operator.ready(), shutdown.clone()).await?;
    }
    operator.run(shutdown).await?;
    Ok(())
}

/// The message of `group`'s condition `type_` (empty when it has none).
pub fn message(group: &ChatGroup, type_: &str) -> String {
    let conditions = group.status.iter().flat_map(|s| s.conditions.iter());
    conditions
        .filter(|c| c.type_ == type_)
        .map(|c| c.message.clone())
        .next()
        .unwrap_or_default()
}

/// The group id the operator recorded in status.
pub fn group_id(group: &ChatGroup) -> Option<String> {
    group.status.as_ref()?.group_id.clone()
}

impl Env {
    /// How many `op` calls the simulator of `side` received, whatever their outcome
    /// (executed, refused, or answered with an error).
    pub fn attempts(&self, side: Side, op: Op) -> usize {
        let apis = side.apis(op);
        self.calls(side)
            .iter()
            .filter(|c| apis.contains(&c.api.as_str()))
            .count()
    }
}
