//! What the ChatGroup watch cache keeps of each object. Every decision is taken on a
//! fresh read; the cache serves only the watch predicates (generation, finalizers,
//! deletion, the take-over annotation), drift passes (spec, recorded id and app,
//! duplicate watch, pending members), shard routing (recorded app) and the gauges
//! (groups by state, stalled groups). Each object is stored with just that, so thousands of
//! groups fit in little memory.

use crate::api::conditions::{EXTERNALLY_DISBANDED, READY, STALLED, SYNCED};
use crate::api::ChatGroup;

/// kubectl's copy of the last applied manifest, often larger than the object itself.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops from `group` what no reader of the cache looks at.
pub fn slim(group: &mut ChatGroup) {
    // Set to None rather than emptied: an emptied Vec or BTreeMap keeps its allocation.
    let meta = &mut group.metadata;
    meta.managed_fields = None;
    meta.owner_references = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
    if let Some(status) = group.status.as_mut() {
        status
            .conditions
            .retain(|c| read_from_cache(&c.type_, &c.status, &c.reason));
        for condition in &mut status.conditions {
            condition.message = String::new();
            if condition.reason != EXTERNALLY_DISBANDED {
                condition.reason = String::new();
            }
        }
        status.conditions.shrink_to_fit();
        status.last_error = None;
        status.pending_create = None;
        status.create_pending_since = None;
    }
}

/// Whether a condition can change what a reader of the cache concludes: the state
/// gauge (`Lifecycle::of`) looks at Ready when True or externally disbanded and at
/// Synced when False, the stalled gauge at Stalled when True; any other reads the
/// same as no condition at all. Only the externally-disbanded reason is read.
fn read_from_cache(type_: &str, status: &str, reason: &str) -> bool {
    match type_ {
        READY => status == "True" || reason == EXTERNALLY_DISBANDED,
        SYNCED => status == "False",
        STALLED => status == "True",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, Time};
    use k8s_openapi::jiff::Timestamp;

    use kube::ResourceExt;

    use super::*;
    use crate::api::conditions::{self, Desired};
    use crate::api::lifecycle::Lifecycle;
    use crate::api::{
        ChatGroupStatus, DeclaredRole, DuplicateWatch, MemberSpec, PendingCreate,
        ProviderErrorStatus, RecordedApp,
    };
    use crate::controller::drift::{plan_batches, plan_member_checks, Reader};
    use crate::controller::ownership::TAKE_OVER_ANNOTATION;
    use crate::provider::memory::MemoryProvider;
    use crate::provider::GroupProvider;

    fn reader(_namespace: &str, _name: &str) -> Option<Reader> {
        let provider: Arc<dyn GroupProvider> =
            Arc::new(MemoryProvider::tencent(false).with_app_id("1"));
        Some(Reader {
            app: provider.app(),
            provider,
        })
    }

    /// A group as the API server returns it after `kubectl apply` and a few status
    /// writes: every condition with a message, a last error, managed fields.
    fn as_served(name: &str, stalled: bool, extra: impl FnOnce(&mut ChatGroupStatus)) -> ChatGroup {
        let message = "the provider answered 10004 (invalid parameter): the name is too long for this group type; shorten spec.name";
        let desired = [
            Desired::new(READY, !stalled, "Available", message),
            Desired::new(SYNCED, !stalled, "Synced", message),
            Desired::new(STALLED, stalled, "ProviderRejected", message),
            Desired::new(conditions::RECONCILING, false, "Converged", message),
        ];
        let mut status = ChatGroupStatus {
            group_id: Some(format!("@TGS#{name}")),
            app: Some(RecordedApp {
                provider: "tencent".into(),
                app_id: "1".into(),
                host: "adminapisgp.im.qcloud.com".into(),
            }),
            conditions: conditions::merge(&[], &desired, Some(1), &Time(Timestamp::now())),
            last_error: Some(ProviderErrorStatus {
                operation: "create_group".into(),
                code: 10004,
                message: message.into(),
                ..ProviderErrorStatus::default()
            }),
            pending_create: Some(PendingCreate::default()),
            ..ChatGroupStatus::default()
        };
        extra(&mut status);
        let mut group = ChatGroup::test().named(name).with_status(status).build();
        group.spec.members = ["carol", "dave"]
            .map(|account| MemberSpec {
                account: account.into(),
                role: DeclaredRole::default(),
            })
            .to_vec();
        group.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("kubectl-client-side-apply".into()),
            ..ManagedFieldsEntry::default()
        }]);
        group.metadata.annotations = Some(BTreeMap::from([
            (LAST_APPLIED.to_string(), "x".repeat(2000)),
            (TAKE_OVER_ANNOTATION.to_string(), "true".to_string()),
        ]));
        group
    }

    fn slimmed(group: &ChatGroup) -> ChatGroup {
        let mut copy = group.clone();
        slim(&mut copy);
        copy
    }

    #[test]
    fn what_the_cache_readers_look_at_is_kept() {
        let groups = [
            as_served("ready", false, |_| {}),
            as_served("stalled", true, |_| {}),
            as_served("watched-for-a-duplicate", false, |s| {
                s.duplicate_watch = Some(DuplicateWatch {
                    owner: "alice".into(),
                    since: Time(Timestamp::now()),
                });
                s.pending_members = vec!["erin".into()];
            }),
        ];
        for group in &groups {
            let kept = slimmed(group);
            let name = group.name_any();
            assert_eq!(kept.spec, group.spec, "{name}: spec");
            assert_eq!(kept.metadata.name, group.metadata.name, "{name}");
            assert_eq!(kept.metadata.uid, group.metadata.uid, "{name}");
            assert_eq!(
                kept.metadata.finalizers, group.metadata.finalizers,
                "{name}"
            );
            assert_eq!(
                kept.annotations().get(TAKE_OVER_ANNOTATION),
                group.annotations().get(TAKE_OVER_ANNOTATION),
                "{name}: the take-over annotation"
            );
            let (before, after) = (group.status.as_ref(), kept.status.as_ref());
            let recorded = |s: Option<&ChatGroupStatus>| {
                s.map(|s| {
                    (
                        s.group_id.clone(),
                        s.app.clone(),
                        s.disbanded_at.clone(),
                        s.duplicate_watch.clone(),
                        s.pending_members.clone(),
                    )
                })
            };
            assert_eq!(recorded(after), recorded(before), "{name}: status");
            let stalled = crate::metrics::is_stalled;
            assert_eq!(stalled(&kept), stalled(group), "{name}: stalled");
            assert_eq!(
                Lifecycle::of(kept.status.as_ref()),
                Lifecycle::of(group.status.as_ref()),
                "{name}: state"
            );
        }
        let arcs = |gs: Vec<ChatGroup>| gs.into_iter().map(Arc::new).collect::<Vec<_>>();
        let read = |gs: Vec<Arc<ChatGroup>>| {
            let batches = plan_batches(gs.clone(), reader);
            let batched: Vec<Vec<String>> = batches
                .iter()
                .map(|b| b.members.iter().map(|(_, id)| id.clone()).collect())
                .collect();
            let checked: Vec<String> = plan_member_checks(&gs, reader)
                .into_iter()
                .map(|c| c.id)
                .collect();
            (batched, checked)
        };
        let slim_groups: Vec<ChatGroup> = groups.iter().map(slimmed).collect();
        assert_eq!(
            read(arcs(slim_groups)),
            read(arcs(groups.to_vec())),
            "drift reads the same groups"
        );
    }

    #[test]
    fn every_state_and_stall_reads_the_same_from_the_cache() {
        let statuses = ["True", "False", "Unknown"];
        let reasons = ["Available", EXTERNALLY_DISBANDED, "ProviderRejected"];
        let mut variants: Vec<Option<(&str, &str)>> = vec![None];
        for status in statuses {
            variants.extend(reasons.map(|reason| Some((status, reason))));
        }
        let mut seen = std::collections::HashSet::new();
        for ready in &variants {
            for synced in &variants {
                for stalled in &variants {
                    for disbanded in [false, true] {
                        let desired: Vec<Desired> =
                            [(READY, ready), (SYNCED, synced), (STALLED, stalled)]
                                .into_iter()
                                .filter_map(|(type_, c)| {
                                    c.map(|(status, reason)| {
                                        Desired::new(type_, status == "True", reason, "a message")
                                    })
                                })
                                .collect();
                        let mut status = ChatGroupStatus {
                            conditions: conditions::merge(
                                &[],
                                &desired,
                                Some(1),
                                &Time(Timestamp::now()),
                            ),
                            disbanded_at: disbanded.then(|| Time(Timestamp::now())),
                            ..ChatGroupStatus::default()
                        };
                        // `Desired` knows True and False only: Unknown is set by hand.
                        for (type_, c) in [(READY, ready), (SYNCED, synced), (STALLED, stalled)] {
                            if let Some(("Unknown", _)) = c {
                                if let Some(found) =
                                    status.conditions.iter_mut().find(|x| x.type_ == type_)
                                {
                                    found.status = "Unknown".into();
                                }
                            }
                        }
                        let group = ChatGroup::test().named("g").with_status(status).build();
                        let kept = slimmed(&group);
                        let state = |g: &ChatGroup| Lifecycle::of(g.status.as_ref());
                        let stall = crate::metrics::is_stalled;
                        let case = (ready, synced, stalled, disbanded);
                        assert_eq!(state(&kept), state(&group), "{case:?}");
                        assert_eq!(stall(&kept), stall(&group), "{case:?}");
                        seen.insert(state(&group));
                    }
                }
            }
        }
        assert_eq!(seen.len(), Lifecycle::ALL.len(), "every state is covered");
    }

    #[test]
    fn messages_other_conditions_and_kubectls_copy_are_dropped() {
        let group = as_served("ready", false, |_| {});
        let kept = slimmed(&group);
        let status = kept.status.as_ref().expect("status");
        let kept_conditions: Vec<(&str, &str)> = status
            .conditions
            .iter()
            .map(|c| (c.type_.as_str(), c.message.as_str()))
            .collect();
        assert_eq!(
            kept_conditions,
            [(READY, "")],
            "what reads the same absent (Synced True, Stalled False, Reconciling) and the messages are dropped"
        );
        assert!(status.last_error.is_none());
        assert!(status.pending_create.is_none());
        assert!(kept.metadata.managed_fields.is_none());
        assert!(!kept.annotations().contains_key(LAST_APPLIED));
        let mut applied_only = group.clone();
        applied_only.annotations_mut().remove(TAKE_OVER_ANNOTATION);
        assert!(
            slimmed(&applied_only).metadata.annotations.is_none(),
            "no empty annotation map is kept"
        );

        let size = |g: &ChatGroup| serde_json::to_vec(g).expect("json").len();
        assert!(
            size(&kept) * 3 < size(&group),
            "kept {} of {} bytes",
            size(&kept),
            size(&group)
        );
    }
}
