//! The ChatGroup and ChatProvider controllers: wiring, per-object backoff, events.

pub mod act;
pub mod chatprovider;
pub mod claims;
pub mod clients;
pub mod drift;
pub mod fence;
pub mod guard;
pub mod leader;
pub mod ownership;
pub mod plan;
pub mod provider_config;
pub mod status;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{predicates, reflector, watcher, Predicate, WatchStreamExt};
use kube::{Client, Resource, ResourceExt};
use tracing::Instrument;

use crate::api::{ChatGroup, ChatProvider};
use crate::http;
use crate::metrics::{Metrics, ScrapeTimeCollector};
use crate::{Error, Result};
use clients::Providers;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicBool, Ordering};

/// Added before the first provider call that can create anything; removed only once
/// the provider confirmed the disband (or the policy is Orphan).
pub const FINALIZER: &str = "im.chatgroup.dev/disband";

/// The ConfigMap (in `Settings::state_namespace`) that holds the disband ledger.
pub const DISBAND_LEDGER: &str = "chatgroup-operator-disband-ledger";

/// How the controllers run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Watch only this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// ChatGroups reconciled at once.
    pub concurrency: u16,
    /// How often groups are read back from the provider (in batches) to catch drift.
    pub resync_interval: Duration,
    /// How long a terminal error waits before a retry when the spec does not change.
    pub terminal_retry: Duration,
    /// Shortest and longest per-object backoff after retryable errors.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// The name events are reported under (reportingInstance) and the lease holder identity.
    pub instance: String,
    /// Where `/metrics`, `/healthz` and `/readyz` are served; not served when `None`.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Reconcile only while holding this Lease.
    pub leader_election: Option<LeaderElection>,
    /// At most this many disbands per hour across the operator; unlimited when `None`.
    pub max_disbands_per_hour: Option<std::num::NonZeroU32>,
    /// How late a create may still take effect on the provider after it was sent. A
    /// create whose answer was lost is re-created (or, on delete, given up) only after
    /// searches past this bound found nothing.
    pub late_create_bound: Duration,
    /// The longest a reconcile may run; past it, it is cancelled and retried.
    pub reconcile_timeout: Duration,
    /// Where the operator keeps its own state (the disband ledger): its namespace.
    pub state_namespace: String,
}

/// Leader election through a coordination.k8s.io/v1 Lease.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    pub lease_name: String,
    pub lease_namespace: String,
    /// How long a lease holds without renewal; a dead leader is replaced within it.
    pub lease_duration: Duration,
    /// The holder starts no provider write later than this after the last
    /// successful renewal was sent. Below `lease_duration` by at least the longest
    /// provider call plus an allowance for clock-rate skew between replicas.
    pub renew_deadline: Duration,
    /// How often the holder renews, and a candidate retries.
    pub retry_period: Duration,
}

impl Default for LeaderElection {
    /// client-go's timings: lease 15 s, renew deadline 10 s, retry 2 s.
    fn default() -> Self {
        LeaderElection {
            lease_name: "chatgroup-operator".into(),
            lease_namespace: "default".into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl LeaderElection {
    /// The timings fit together: a renewal every `retry_period` within the renew
    /// deadline, which ends before the Lease can expire for the others.
    pub fn validate(&self) -> Result<()> {
        let fail = |message: String| Err(Error::Leadership(message));
        if self.lease_duration < Duration::from_secs(1) {
            return fail(format!(
                "--lease-duration ({:?}) must be at least 1s",
                self.lease_duration
            ));
        }
        // The writes started before the deadline run until a standby may take over,
        // less 5% for clock-rate skew: at least a tenth of the lease is left for them.
        if self.renew_deadline.as_secs_f64() > self.lease_duration.as_secs_f64() * 0.9 {
            return fail(format!(
                "--lease-renew-deadline ({:?}) must be at most 90% of --lease-duration ({:?}): the rest is the time provider writes already started may take, and the clock skew allowed between replicas",
                self.renew_deadline, self.lease_duration
            ));
        }
        if self.retry_period.is_zero() || self.retry_period >= self.renew_deadline {
            return fail(format!(
                "--lease-retry-period ({:?}) must be above zero and shorter than --lease-renew-deadline ({:?})",
                self.retry_period, self.renew_deadline
            ));
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            namespace: None,
            concurrency: 4,
            resync_interval: Duration::from_secs(600),
            terminal_retry: Duration::from_secs(3600),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
            instance: "chatgroup-operator".into(),
            metrics_addr: None,
            leader_election: None,
            max_disbands_per_hour: None,
            late_create_bound: Duration::from_secs(120),
            reconcile_timeout: Duration::from_secs(60),
            state_namespace: "default".into(),
        }
    }
}

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub disband_guard: guard::DisbandGuard,
    pub providers: Providers,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
    /// Claims won recently by this replica.
    pub claims: claims::ClaimCache,
    /// Whether provider writes may start: check it right before each one.
    pub fence: fence::Fence,
    recorder: Recorder,
    groups: Store<ChatGroup>,
    backoffs: Mutex<HashMap<String, ExponentialBackoff>>,
}

impl Context {
    /// Every ChatGroup the controller currently sees.
    pub fn groups(&self) -> Vec<Arc<ChatGroup>> {
        self.groups.state()
    }

    fn next_backoff(&self, group: &ChatGroup) -> Duration {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(self.settings.max_backoff)
            .with_jitter()
            .without_max_times();
        let mut backoffs = self.backoffs.lock().expect("backoff lock");
        let backoff = backoffs
            .entry(group.uid().unwrap_or_default())
            .or_insert_with(|| builder.build());
        backoff.next().unwrap_or(self.settings.max_backoff)
    }

    fn reset_backoff(&self, group: &ChatGroup) {
        self.backoffs
            .lock()
            .expect("backoff lock")
            .remove(&group.uid().unwrap_or_default());
    }

    /// Publishes an Event about `object`; a failure to publish is logged, not fatal.
    pub async fn publish<K>(
        &self,
        object: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &object.object_ref(&())).await {
            tracing::warn!(%error, reason, "could not publish event");
        }
    }
}

fn scoped<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// ChatGroups in `namespace` that refer to ChatProvider `name`.
fn groups_using(
    store: &Store<ChatGroup>,
    namespace: &str,
    name: &str,
) -> Vec<ObjectRef<ChatGroup>> {
    store
        .state()
        .iter()
        .filter(|g| g.namespace().as_deref() == Some(namespace) && g.spec.provider_ref.name == name)
        .map(|g| ObjectRef::from_obj(g.as_ref()))
        .collect()
}

async fn reconcile(cached: Arc<ChatGroup>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = cached.namespace().unwrap_or_default();
    let api: Api<ChatGroup> = Api::namespaced(ctx.client.clone(), &namespace);
    let span = tracing::info_span!("reconcile", namespace = %namespace, name = %cached.name_any());
    let started = std::time::Instant::now();
    let result = async {
        // Decisions are taken on the object as the API server has it now, never on
        // the watch cache, which may be behind.
        let name = cached.name_any();
        let fresh = api
            .get_opt(&name)
            .await
            .map_err(|e| Error::kube(format!("read ChatGroup {namespace}/{name}"), e))?;
        let Some(group) = fresh else {
            return Ok(Action::await_change());
        };
        let steps = finalizer(&api, FINALIZER, Arc::new(group), |event| async {
            let (FinalizerEvent::Apply(g) | FinalizerEvent::Cleanup(g)) = event;
            act::GroupReconcile::new(g, &ctx).run().await
        });
        // Bounded, so a stuck call cannot outlive this replica's leadership unnoticed;
        // whatever it left half done is found again from status on the next attempt.
        let limit = ctx.settings.reconcile_timeout;
        match tokio::time::timeout(limit, steps).await {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(Error::TimedOut { after: limit }),
        }
    }
    .instrument(span)
    .await;
    if result.is_ok() {
        ctx.reset_backoff(&cached);
    }
    ctx.metrics
        .reconciled(result.as_ref().err().map(Error::reason), started.elapsed());
    result
}

fn error_policy(group: Arc<ChatGroup>, error: &Error, ctx: Arc<Context>) -> Action {
    let delay = if error.is_terminal() {
        ctx.settings.terminal_retry
    } else if let Some(wait) = error.retry_after() {
        wait
    } else {
        ctx.next_backoff(&group)
    };
    tracing::warn!(name = %group.name_any(), reason = error.reason(), %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Fails loudly when the CRDs are not installed.
async fn check_crds(client: Client, namespace: Option<String>) -> Result<()> {
    let params = ListParams::default().limit(1);
    let probe = scoped::<ChatGroup>(&client, &namespace).list(&params).await;
    probe.map(|_| ()).map_err(|e| {
        Error::kube("list ChatGroups (are the CRDs installed? `chatgroup-operator crd | kubectl apply -f -`)", e)
    })
}

/// Runs the operator until `shutdown` resolves: the endpoints, then (once this
/// replica holds the lease, when leader election is on) the ChatGroup and ChatProvider
/// controllers and the drift poller. In-flight reconciles finish before it returns.
pub async fn run(
    client: Client,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    if let Some(election) = &settings.leader_election {
        election.validate()?;
    }
    check_crds(client.clone(), settings.namespace.clone()).await?;
    let shutdown = shutdown.shared();
    let mut registry = Registry::default();
    let metrics = Arc::new(Metrics::register(&mut registry));
    let providers = Providers::new(client.clone(), metrics.clone());
    let ready = Arc::new(AtomicBool::new(false));
    let groups_api: Api<ChatGroup> = scoped(&client, &settings.namespace);
    // Reconcile on spec changes, finalizer changes and deletion, not on status writes
    // (our own included): a terminal error then waits for a spec change.
    let (group_store, writer) = reflector::store();
    let being_deleted = |g: &ChatGroup| g.metadata.deletion_timestamp.as_ref().map(|_| 1u64);
    let changes = reflector(writer, watcher(groups_api, watcher::Config::default()))
        .applied_objects()
        .predicate_filter(
            predicates::generation
                .combine(predicates::finalizers)
                .combine(being_deleted),
            Default::default(),
        );
    let group_controller = Controller::for_stream(changes, group_store.clone())
        .with_config(ControllerConfig::default().concurrency(settings.concurrency));
    registry.register_collector(Box::new(ScrapeTimeCollector {
        groups: group_store.clone(),
        budgets: providers.budgets(),
    }));
    if let Some(addr) = settings.metrics_addr {
        let bound = http::serve(addr, Arc::new(registry), ready.clone(), shutdown.clone())
            .await
            .map_err(|e| Error::Endpoint {
                addr: addr.to_string(),
                source: e,
            })?;
        tracing::info!(%bound, "serving /metrics, /healthz and /readyz");
    }
    let Some(election) = settings.leader_election.clone() else {
        let store = group_store.clone();
        let flag = ready.clone();
        tokio::spawn(async move { mark_ready_after_first_list(store, flag).await });
        run_controllers(
            client,
            settings,
            group_controller,
            providers,
            metrics,
            fence::Fence::open(),
            shutdown,
        )
        .await;
        return Ok(());
    };
    // A standby replica is ready: it serves its endpoints and waits for the lease.
    ready.store(true, Ordering::Relaxed);
    let (lease_client, identity) = (client.clone(), settings.instance.clone());
    leader::run_while_leader(
        lease_client,
        identity,
        election,
        shutdown.clone(),
        |fence, lost| async move {
            let until = futures::future::select(shutdown, lost).map(|_| ());
            run_controllers(
                client,
                settings,
                group_controller,
                providers,
                metrics,
                fence,
                until,
            )
            .await
        },
    )
    .await
}

/// Claims for recorded groups that have none, before the first reconcile.
async fn backfill_claims(ctx: &Context) {
    let groups: Api<ChatGroup> = scoped(&ctx.client, &ctx.settings.namespace);
    let listed = groups.list(&ListParams::default()).await;
    let result = match listed {
        Ok(list) => claims::backfill(&ctx.client, &list.items, &ctx.fence).await,
        Err(e) => Err(Error::kube("list ChatGroups", e)),
    };
    match result {
        Ok(0) => {}
        Ok(made) => tracing::info!(made, "claims back-filled for recorded groups"),
        Err(error) => {
            tracing::warn!(%error, "claim back-fill incomplete; each object claims its group on its next reconcile")
        }
    }
}

async fn mark_ready_after_first_list(store: Store<ChatGroup>, ready: Arc<AtomicBool>) {
    // `wait_until_ready` wakes only the latest of several waiters, and the controller
    // waits on the same store: ask again every 100 ms rather than wait for a wake-up.
    loop {
        let waited = tokio::time::timeout(Duration::from_millis(100), store.wait_until_ready());
        match waited.await {
            Ok(Ok(())) => return ready.store(true, Ordering::Relaxed),
            Ok(Err(_)) => return,
            Err(_) => continue,
        }
    }
}

fn run_controllers(
    client: Client,
    settings: Settings,
    group_controller: Controller<ChatGroup>,
    providers: Providers,
    metrics: Arc<Metrics>,
    fence: fence::Fence,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> BoxFuture<'static, ()> {
    async move {
        // Everything stops when the fence closes (renew deadline passed, lease lost),
        // whoever noticed first: the lease loop, a reconcile's check, or its timer.
        let closed = {
            let fence = fence.clone();
            async move { fence.closed().await }
        };
        let shutdown = futures::future::select(Box::pin(shutdown), Box::pin(closed))
            .map(|_| ())
            .shared();
        let wc = watcher::Config::default();
        let providers_api: Api<ChatProvider> = scoped(&client, &settings.namespace);
        let secrets_api: Api<PartialObjectMeta<Secret>> = match &settings.namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let provider_controller = Controller::new(providers_api.clone(), wc.clone());
        let provider_store = provider_controller.store();
        let group_store = group_controller.store();
        let reporter = Reporter {
            controller: "chatgroup-operator".into(),
            instance: Some(settings.instance.clone()),
        };
        let ctx = Arc::new(Context {
            client: client.clone(),
            providers: providers.with_write_gate(Arc::new(fence.clone())),
            recorder: Recorder::new(client.clone(), reporter),
            claims: claims::ClaimCache::default(),
            fence,
            disband_guard: guard::DisbandGuard::new(
                settings.max_disbands_per_hour,
                Some(guard::GuardStore::new(
                    client.clone(),
                    &settings.state_namespace,
                    DISBAND_LEDGER,
                )),
            ),
            groups: group_store.clone(),
            backoffs: Mutex::default(),
            metrics,
            settings,
        });

        let (drift_tx, drift_rx) = futures::channel::mpsc::unbounded();
        let by_provider = {
            let store = group_store.clone();
            move |p: ChatProvider| {
                groups_using(&store, &p.namespace().unwrap_or_default(), &p.name_any())
            }
        };
        let by_secret = {
            let store = group_store.clone();
            move |secret: PartialObjectMeta<Secret>| {
                let namespace = secret.namespace().unwrap_or_default();
                provider_store
                    .state()
                    .iter()
                    .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
                    .filter(|p| {
                        clients::secret_ref(&p.spec).is_ok_and(|r| r.name == secret.name_any())
                    })
                    .flat_map(|p| groups_using(&store, &namespace, &p.name_any()))
                    .collect::<Vec<_>>()
            }
        };
        backfill_claims(&ctx).await;
        let groups = group_controller
            .watches(providers_api, wc.clone(), by_provider)
            .watches_stream(watcher(secrets_api, wc).touched_objects(), by_secret)
            .reconcile_on(drift_rx)
            .graceful_shutdown_on(shutdown.clone())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|_| async {});
        let providers = provider_controller
            .graceful_shutdown_on(shutdown.clone())
            .run(
                chatprovider::reconcile,
                chatprovider::error_policy,
                ctx.clone(),
            )
            .for_each(|_| async {});
        let drift = drift::run(ctx.clone(), drift_tx, shutdown);
        tokio::join!(groups, providers, drift);
    }
    .boxed()
}
