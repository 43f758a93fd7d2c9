//! Drift detection: every resync interval (jittered), read all managed groups back
//! from their providers in batches (Tencent 50, NetEase 30 per call) and requeue the
//! ChatGroups whose group changed or disappeared outside Kubernetes, and those whose
//! create was sent more than once (their reconcile looks for a late duplicate).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc::UnboundedSender;
use kube::runtime::reflector::ObjectRef;
use kube::ResourceExt;
use rand::Rng;

use super::{plan, Context};
use crate::api::{ChatGroup, GroupState};
use crate::provider::{GroupKey, Lookup};

/// Groups read in one batch share a namespace, a ChatProvider and a group type.
type BatchKey = (String, String, String);

/// Groups that are worth reading back: recorded, active, not being deleted.
fn watched(group: &ChatGroup) -> Option<String> {
    let status = group.status.as_ref()?;
    let live = group.spec.state == GroupState::Active
        && status.disbanded_at.is_none()
        && group.metadata.deletion_timestamp.is_none();
    live.then(|| status.group_id.clone()).flatten()
}

/// Whether `lookup` shows the group differs from `group`'s spec.
fn drifted(group: &ChatGroup, lookup: &Lookup) -> bool {
    match lookup {
        Lookup::NotFound(_) => true,
        Lookup::Found(observed) => {
            let desired = plan::desired_attributes(&group.spec);
            observed.drifted_from(&desired)
        }
    }
}

/// A group whose create was sent more than once: its reconcile looks for a second
/// group from a late create on every pass.
fn duplicate_watched(group: &ChatGroup) -> bool {
    group
        .status
        .as_ref()
        .is_some_and(|s| s.duplicate_watch.is_some())
}

/// Watched groups with their ids, by namespace, ChatProvider and group type.
fn batches(groups: Vec<Arc<ChatGroup>>) -> BTreeMap<BatchKey, Vec<(Arc<ChatGroup>, String)>> {
    let mut by_provider: BTreeMap<BatchKey, Vec<(Arc<ChatGroup>, String)>> = BTreeMap::new();
    for group in groups {
        if let Some(id) = watched(&group) {
            let key = (
                group.namespace().unwrap_or_default(),
                group.spec.provider_ref.name.clone(),
                format!("{:?}", group.spec.group_type),
            );
            by_provider.entry(key).or_default().push((group, id));
        }
    }
    by_provider
}

/// One pass over every watched group. Returns how many were requeued.
pub async fn resync_once(ctx: &Context, requeue: &UnboundedSender<ObjectRef<ChatGroup>>) -> usize {
    let by_provider = batches(ctx.groups());
    let mut requeued = 0;
    for ((namespace, provider_name, _), members) in by_provider {
        let Ok(provider) = ctx.providers.resolve(&namespace, &provider_name).await else {
            continue;
        };
        // A group recorded in another app than the ChatProvider's now is not read at
        // all: its reconcile reports ProviderChanged.
        let app = provider.app();
        let members: Vec<_> = members
            .into_iter()
            .filter(|(g, _)| {
                let recorded = g.status.as_ref().and_then(|s| s.app.as_ref());
                recorded.is_none_or(|r| super::ownership::same_app(r, &app))
            })
            .collect();
        let Some((first, _)) = members.first() else {
            continue;
        };
        let group_type = first.spec.group_type.into();
        for chunk in members.chunks(provider.max_batch(group_type).max(1)) {
            let keys: Vec<GroupKey> = chunk
                .iter()
                .map(|(g, id)| GroupKey {
                    id: id.clone(),
                    group_type,
                    owner: g.spec.owner.clone(),
                })
                .collect();
            let Ok(found) = provider.get_groups(&keys).await else {
                continue;
            };
            for ((group, _), (_, lookup)) in chunk.iter().zip(found.iter()) {
                if (drifted(group, lookup) || duplicate_watched(group))
                    && requeue
                        .unbounded_send(ObjectRef::from_obj(group.as_ref()))
                        .is_ok()
                {
                    requeued += 1;
                }
            }
        }
    }
    requeued
}

/// Runs [`resync_once`] every resync interval, ±10% jitter, until `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    requeue: UnboundedSender<ObjectRef<ChatGroup>>,
    shutdown: impl Future<Output = ()>,
) {
    let interval = ctx.settings.resync_interval;
    let passes = async {
        loop {
            let jitter = rand::rng().random_range(0.9..1.1);
            tokio::time::sleep(Duration::from_secs_f64(interval.as_secs_f64() * jitter)).await;
            let requeued = resync_once(&ctx, &requeue).await;
            tracing::debug!(requeued, "drift resync done");
        }
    };
    tokio::select! {
        _ = passes => {}
        _ = shutdown => {}
    }
}
