//! The ChatGroup controller's core: the context every reconcile shares, `reconcile`
//! (a fresh read, the finalizer, then `act`) and `error_policy` (per-object backoff).
//! Settings are in `settings`, the watches and start-up in `wiring`.

pub mod act;
pub mod cache;
pub mod chatprovider;
pub mod claims;
pub mod clients;
pub mod drift;
pub mod events;
pub mod fence;
pub mod guard;
pub mod leader;
pub mod membership;
#[cfg(test)]
pub mod memory;
pub mod ownership;
pub mod plan;
pub mod port;
pub mod provider_config;
pub mod settings;
pub mod shard;
pub mod status;
mod wiring;

pub use settings::{LeaderElection, Settings};
pub use wiring::Operator;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use tracing::Instrument;

use crate::api::ChatGroup;
use crate::metrics::Metrics;
use crate::{Error, Result};
use clients::Providers;

/// Added before the first provider call that can create anything; removed only once
/// the provider confirmed the disband (or the policy is Orphan).
pub const FINALIZER: &str = "im.chatgroup.dev/disband";

/// The ConfigMap (in `Settings::state_namespace`) that holds the disband ledger.
pub const DISBAND_LEDGER: &str = "chatgroup-operator-disband-ledger";

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub providers: Arc<Providers>,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
    /// What a ChatGroup's own reconcile works with.
    pub act: act::Env,
    groups: Store<ChatGroup>,
    /// Which objects this shard handles.
    shard: shard::ShardView,
    backoffs: Mutex<HashMap<String, ExponentialBackoff>>,
}

impl Context {
    /// Every ChatGroup this shard handles, as the cache has it.
    pub fn groups(&self) -> Vec<Arc<ChatGroup>> {
        let mut groups = self.groups.state();
        groups.retain(|g| self.shard.owns_cached(g));
        groups
    }

    /// The next wait of `group`'s exponential backoff, which grows up to `max`.
    fn next_backoff(&self, group: &ChatGroup, max: Duration) -> Duration {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(max)
            .with_jitter()
            .without_max_times();
        let mut backoffs = self.backoffs.lock().expect("backoff lock");
        let key = format!("{}/{max:?}", group.uid().unwrap_or_default());
        let backoff = backoffs.entry(key).or_insert_with(|| builder.build());
        backoff.next().unwrap_or(max)
    }

    fn reset_backoff(&self, group: &ChatGroup) {
        let uid = format!("{}/", group.uid().unwrap_or_default());
        let mut backoffs = self.backoffs.lock().expect("backoff lock");
        backoffs.retain(|key, _| !key.starts_with(&uid));
    }
}

async fn reconcile(cached: Arc<ChatGroup>, ctx: Arc<Context>) -> Result<Action> {
    if ctx.shard.decided_from_cache(&cached) == Some(false) {
        return Ok(Action::await_change());
    }
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
        if !ctx.shard.owns(&ctx.client, &group).await? {
            return Ok(Action::await_change());
        }
        let steps = finalizer(&api, FINALIZER, Arc::new(group), |event| async {
            let (FinalizerEvent::Apply(g) | FinalizerEvent::Cleanup(g)) = event;
            act::GroupReconcile::new(g, &ctx.act).run().await
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
    let deleting = group.metadata.deletion_timestamp.is_some();
    let delay = if error.is_terminal() && deleting {
        // The fix is often outside the object (a permission granted, a key corrected):
        // a deletion keeps trying, slowly, while Stalled says why.
        ctx.next_backoff(&group, ctx.settings.max_deletion_backoff)
    } else if error.is_terminal() {
        ctx.settings.terminal_retry
    } else if let Some(wait) = error.retry_after() {
        wait
    } else {
        ctx.next_backoff(&group, ctx.settings.max_backoff)
    };
    let error_text = crate::provider::scrub_text(&error.to_string());
    tracing::warn!(name = %group.name_any(), reason = error.reason(), error = %error_text, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}
