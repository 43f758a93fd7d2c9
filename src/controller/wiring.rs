//! Wiring: the watches and their mappers, the metrics collector, leader election, and
//! the start-up steps before the first reconcile. The endpoints are served by `main`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use kube::api::{Api, ListParams};
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{predicates, reflector, watcher, Predicate, WatchStreamExt};
use kube::{Client, Resource, ResourceExt};
use prometheus_client::registry::Registry;

use super::clients::Providers;
use super::shard::ShardView;
use super::{
    act, chatprovider, claims, drift, error_policy, fence, guard, leader, port, reconcile, Context,
    Settings, DISBAND_LEDGER,
};
use crate::api::{ChatGroup, ChatProvider};
use crate::metrics::{Metrics, ScrapeTimeCollector};
use crate::{Error, Result};

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

/// Fails loudly when the CRDs are not installed.
async fn check_crds(client: Client, namespace: Option<String>) -> Result<()> {
    let params = ListParams::default().limit(1);
    let probe = scoped::<ChatGroup>(&client, &namespace).list(&params).await;
    probe.map(|_| ()).map_err(|e| {
        Error::kube("list ChatGroups (are the CRDs installed? `chatgroup-operator crd | kubectl apply -f -`)", e)
    })
}

/// The operator, built and registered in a metrics registry but not running yet:
/// `main` serves the registry and the [`ready`](Operator::ready) flag, then calls
/// [`run`](Operator::run).
pub struct Operator {
    parts: Parts,
    ready: Arc<AtomicBool>,
}

impl Operator {
    /// Checks the settings and that the CRDs are installed, and registers the
    /// operator's metrics in `registry`.
    pub async fn new(client: Client, settings: Settings, registry: &mut Registry) -> Result<Self> {
        if let Some(election) = &settings.leader_election {
            election.validate()?;
        }
        check_crds(client.clone(), settings.namespace.clone()).await?;
        let metrics = Arc::new(Metrics::register(registry));
        metrics.disband_budget(settings.max_disbands_per_hour.map_or(0, |n| n.get()));
        let providers = Providers::new(client.clone(), metrics.clone())
            .with_secret_refresh(settings.secret_refresh);
        let group_controller = group_controller(&client, &settings);
        let providers_api: Api<ChatProvider> = scoped(&client, &settings.namespace);
        let provider_controller = Controller::new(providers_api, watcher::Config::default());
        let shard = ShardView::new(settings.shard, provider_controller.store());
        registry.register_collector(Box::new(ScrapeTimeCollector {
            groups: group_controller.store(),
            own: Box::new({
                let shard = shard.clone();
                move |g: &ChatGroup| shard.owns_cached(g)
            }),
            budgets: providers.budgets(),
        }));
        let parts = Parts {
            client,
            settings,
            group_controller,
            provider_controller,
            shard,
            providers,
            metrics,
        };
        let ready = Arc::new(AtomicBool::new(false));
        Ok(Operator { parts, ready })
    }

    /// True once this replica can serve: a standby at once, otherwise after the first
    /// list of ChatGroups.
    pub fn ready(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    /// Runs until `shutdown` resolves: (once this replica holds the lease, when leader
    /// election is on) the ChatGroup and ChatProvider controllers and the drift
    /// poller. In-flight reconciles finish before it returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let Operator { parts, ready } = self;
        let shutdown = shutdown.shared();
        let Some(mut election) = parts.settings.leader_election.clone() else {
            tokio::spawn(mark_ready_after_first_list(
                parts.group_controller.store(),
                ready,
            ));
            run_controllers(parts, fence::Fence::open(), shutdown).await;
            return Ok(());
        };
        // A standby replica is ready: it serves its endpoints and waits for the lease.
        election.lease_name = parts.settings.shard.lease_name(&election.lease_name);
        ready.store(true, Ordering::Relaxed);
        let (client, identity) = (parts.client.clone(), parts.settings.instance.clone());
        leader::run_while_leader(
            client,
            identity,
            election,
            shutdown.clone(),
            |fence, lost| {
                let until = futures::future::select(shutdown, lost).map(|_| ());
                run_controllers(parts, fence, until)
            },
        )
        .await
    }
}

/// What the controllers are built from, made before leadership is known.
struct Parts {
    client: Client,
    settings: Settings,
    group_controller: Controller<ChatGroup>,
    provider_controller: Controller<ChatProvider>,
    shard: ShardView,
    providers: Providers,
    metrics: Arc<Metrics>,
}

/// The ChatGroup controller, reconciling on spec changes, finalizer changes, deletion
/// and the take-over annotation (the way out of a refusal), not on status writes (our
/// own included): a terminal error then waits for one of those.
fn group_controller(client: &Client, settings: &Settings) -> Controller<ChatGroup> {
    let groups_api: Api<ChatGroup> = scoped(client, &settings.namespace);
    let (group_store, writer) = reflector::store();
    let being_deleted = |g: &ChatGroup| g.metadata.deletion_timestamp.as_ref().map(|_| 1u64);
    let take_over = |g: &ChatGroup| {
        let value = g
            .annotations()
            .get(super::ownership::TAKE_OVER_ANNOTATION)?;
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(value, &mut hasher);
        Some(std::hash::Hasher::finish(&hasher))
    };
    let watched = watcher(groups_api, watcher::Config::default()).modify(super::cache::slim);
    let changes = reflector(writer, watched)
        .applied_objects()
        .predicate_filter(
            predicates::generation
                .combine(predicates::finalizers)
                .combine(being_deleted)
                .combine(take_over),
            Default::default(),
        );
    Controller::for_stream(changes, group_store)
        .with_config(ControllerConfig::default().concurrency(settings.concurrency))
}

/// Claims for recorded groups that have none, before the first reconcile. Retried
/// until it completes, as a reconcile started before it could let a copy claim first;
/// `false` when stopped (shut down or fenced) before it did.
async fn backfill_claims(ctx: &Context, stop: impl Future<Output = ()>) -> bool {
    let mut wait = Duration::from_millis(500);
    tokio::pin!(stop);
    loop {
        if ctx.act.fence.check().is_err() {
            return false;
        }
        match try_backfill(ctx).await {
            Ok(0) => return true,
            Ok(made) => {
                tracing::info!(made, "claims back-filled for recorded groups");
                return true;
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?wait, "claim back-fill failed; reconciles wait for it");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut stop => return false,
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

async fn try_backfill(ctx: &Context) -> Result<usize> {
    let groups: Api<ChatGroup> = scoped(&ctx.client, &ctx.settings.namespace);
    let providers: Api<ChatProvider> = scoped(&ctx.client, &ctx.settings.namespace);
    let groups = groups
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("list ChatGroups", e))?;
    let providers = providers
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("list ChatProviders", e))?;
    let (mut groups, providers) = (groups.items, providers.items);
    groups.retain(|g| ctx.shard.shard.owns_group(g, &providers));
    claims::backfill(&ctx.client, &groups, &providers, &ctx.act.fence).await
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

/// The context every reconcile shares, for a replica whose writes pass `fence`.
fn context(
    client: Client,
    settings: Settings,
    providers: Providers,
    metrics: Arc<Metrics>,
    groups: Store<ChatGroup>,
    shard: ShardView,
    fence: fence::Fence,
) -> Arc<Context> {
    let reporter = Reporter {
        controller: "chatgroup-operator".into(),
        instance: Some(settings.instance.clone()),
    };
    let ledger =
        guard::ConfigMapLedger::new(client.clone(), &settings.state_namespace, DISBAND_LEDGER);
    let providers = Arc::new(providers.with_write_gate(Arc::new(fence.clone())));
    let events = super::events::EventPublisher::new(client.clone(), reporter);
    let cluster = port::KubeCluster::new(client.clone(), providers.clone(), events);
    Arc::new(Context {
        client,
        providers,
        act: act::Env {
            cluster: Arc::new(cluster),
            claims: claims::ClaimCache::default(),
            fence,
            disband_guard: guard::DisbandGuard::new(
                settings.max_disbands_per_hour,
                Some(Arc::new(ledger)),
            ),
            late_create_bound: settings.late_create_bound,
        },
        groups,
        shard,
        backoffs: Mutex::default(),
        metrics,
        settings,
    })
}

/// Reads the Secret of every ChatProvider again each refresh interval (by name: the
/// operator may not list or watch Secrets) and requeues the ChatGroups whose
/// ChatProvider's Secret changed, so a rotation or a corrected key is acted on
/// without a restart and without a change to the ChatGroup.
async fn poll_secrets(
    ctx: Arc<Context>,
    chat_providers: Store<ChatProvider>,
    groups: Store<ChatGroup>,
    requeue: futures::channel::mpsc::UnboundedSender<ObjectRef<ChatGroup>>,
    shutdown: impl Future<Output = ()>,
) {
    let polls = async {
        loop {
            tokio::time::sleep(ctx.providers.secret_refresh()).await;
            for provider in chat_providers.state() {
                if !ctx.shard.owns_provider(&provider) {
                    continue;
                }
                let (namespace, name) = (
                    provider.namespace().unwrap_or_default(),
                    provider.name_any(),
                );
                match ctx.providers.refresh(&namespace, &name).await {
                    Ok(false) => {}
                    Ok(true) => {
                        tracing::info!(%namespace, chat_provider = %name, "credentials changed");
                        for group in groups_using(&groups, &namespace, &name) {
                            let _ = requeue.unbounded_send(group);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, %namespace, chat_provider = %name, "could not read the credentials again")
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = polls => {}
        _ = shutdown => {}
    }
}

/// Everything stops when the fence closes (renew deadline passed, lease lost), whoever
/// noticed first: the lease loop, a reconcile's check, or its timer.
fn until_fenced(
    shutdown: impl Future<Output = ()> + Send + 'static,
    fence: fence::Fence,
) -> futures::future::Shared<BoxFuture<'static, ()>> {
    let closed = async move { fence.closed().await };
    futures::future::select(Box::pin(shutdown), Box::pin(closed))
        .map(|_| ())
        .boxed()
        .shared()
}

fn run_controllers(
    parts: Parts,
    fence: fence::Fence,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> BoxFuture<'static, ()> {
    async move {
        let shutdown = until_fenced(shutdown, fence.clone());
        let Parts {
            client,
            settings,
            group_controller,
            provider_controller,
            shard,
            providers,
            metrics,
        } = parts;
        let leading = metrics.clone();
        leading.leading(true);
        let wc = watcher::Config::default();
        let providers_api: Api<ChatProvider> = scoped(&client, &settings.namespace);
        let provider_store = provider_controller.store();
        let group_store = group_controller.store();
        let by_provider = {
            let store = group_store.clone();
            move |p: ChatProvider| {
                groups_using(&store, &p.namespace().unwrap_or_default(), &p.name_any())
            }
        };
        let ctx = context(
            client,
            settings,
            providers,
            metrics,
            group_store.clone(),
            shard,
            fence,
        );
        if !backfill_claims(&ctx, shutdown.clone()).await {
            leading.leading(false);
            return;
        }
        let (drift_tx, drift_rx) = futures::channel::mpsc::unbounded();
        let secrets = poll_secrets(
            ctx.clone(),
            provider_store,
            group_store,
            drift_tx.clone(),
            shutdown.clone(),
        );
        let groups = group_controller
            .watches(providers_api, wc, by_provider)
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
        tokio::join!(groups, providers, drift, secrets);
        leading.leading(false);
    }
    .boxed()
}
