//! Drift detection: every resync interval (jittered), read all managed groups back
//! from their providers in batches per app and group type (Tencent 50, NetEase 30
//! advanced or 20 super teams per call), spread over the interval, and requeue the
//! ChatGroups whose group changed or disappeared outside Kubernetes, and those whose
//! create was sent more than once (their reconcile looks for a late duplicate). Groups
//! that declare members also get one membership read each, in the same trickle.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc::UnboundedSender;
use kube::runtime::reflector::ObjectRef;
use kube::ResourceExt;
use rand::Rng;

use super::{membership, plan, Context};
use crate::api::{ChatGroup, GroupState};
use crate::provider::{AppIdentity, GroupKey, GroupProvider, GroupType, Lookup, Roster};

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

/// The app and batch size a ChatProvider's client reads with.
#[derive(Clone)]
pub struct Reader {
    pub provider: Arc<dyn GroupProvider>,
    pub app: AppIdentity,
}

/// One read call: groups of one app and one group type, at most the provider's batch.
pub struct Batch {
    pub provider: Arc<dyn GroupProvider>,
    pub group_type: GroupType,
    pub members: Vec<(Arc<ChatGroup>, String)>,
}

/// Groups are read per app and group type, whichever namespace and ChatProvider
/// reach the app, so a pass makes Σ⌈n / batch⌉ calls over the (app, type) pairs. A
/// group recorded in another app than its ChatProvider's now is not read at all (its
/// reconcile reports ProviderChanged), nor is one whose ChatProvider has no client.
pub fn plan_batches(
    groups: Vec<Arc<ChatGroup>>,
    reader: impl Fn(&str, &str) -> Option<Reader>,
) -> Vec<Batch> {
    // Keyed by provider kind, app id and group type (by name: a stable order).
    type AppKey = (String, String, String);
    type Members = (Reader, GroupType, Vec<(Arc<ChatGroup>, String)>);
    let mut by_app: BTreeMap<AppKey, Members> = BTreeMap::new();
    for group in groups {
        let Some(id) = watched(&group) else { continue };
        let namespace = group.namespace().unwrap_or_default();
        let Some(reader) = reader(&namespace, &group.spec.provider_ref.name) else {
            continue;
        };
        let recorded = group.status.as_ref().and_then(|s| s.app.as_ref());
        if recorded.is_some_and(|r| !super::ownership::same_app(r, &reader.app)) {
            continue;
        }
        let group_type: GroupType = group.spec.group_type.into();
        let key = (
            reader.app.kind.to_string(),
            reader.app.app_id.clone(),
            format!("{group_type:?}"),
        );
        by_app
            .entry(key)
            .or_insert_with(|| (reader, group_type, Vec::new()))
            .2
            .push((group, id));
    }
    let mut batches = Vec::new();
    for (reader, group_type, members) in by_app.into_values() {
        let size = reader.provider.max_batch(group_type).max(1);
        for chunk in members.chunks(size) {
            batches.push(Batch {
                provider: reader.provider.clone(),
                group_type,
                members: chunk.to_vec(),
            });
        }
    }
    batches
}

/// One membership read: a watched group that declares members.
pub struct MemberCheck {
    pub provider: Arc<dyn GroupProvider>,
    pub group: Arc<ChatGroup>,
    pub id: String,
}

/// The groups whose members are read back, one read per group (Tencent answers the
/// roles of 500 declared accounts per call; NetEase and Exact page the member list).
/// The same groups as [`plan_batches`] reads, less those that declare no members.
pub fn plan_member_checks(
    groups: &[Arc<ChatGroup>],
    reader: impl Fn(&str, &str) -> Option<Reader>,
) -> Vec<MemberCheck> {
    let mut checks = Vec::new();
    for group in groups {
        let Some(id) = watched(group) else { continue };
        if !membership::manages_members(&group.spec) {
            continue;
        }
        let namespace = group.namespace().unwrap_or_default();
        let Some(reader) = reader(&namespace, &group.spec.provider_ref.name) else {
            continue;
        };
        let recorded = group.status.as_ref().and_then(|s| s.app.as_ref());
        if recorded.is_some_and(|r| !super::ownership::same_app(r, &reader.app)) {
            continue;
        }
        checks.push(MemberCheck {
            provider: reader.provider,
            group: group.clone(),
            id,
        });
    }
    checks
}

/// Whether `observed` members differ from what `group` declares, or an invitation
/// recorded as pending has been accepted since (its status is out of date).
fn members_drifted(group: &ChatGroup, observed: &Roster) -> bool {
    let pending = group
        .status
        .as_ref()
        .map(|s| s.pending_members.as_slice())
        .unwrap_or_default();
    let plan = membership::plan_members(&group.spec, observed, pending);
    !plan.is_empty() || pending.iter().any(|a| observed.contains_key(a))
}

async fn read_members(check: &MemberCheck) -> Option<Roster> {
    let key = GroupKey {
        id: check.id.clone(),
        group_type: check.group.spec.group_type.into(),
        owner: check.group.spec.owner.clone(),
    };
    let spec = &check.group.spec;
    let roster = if membership::needs_full_list(spec) {
        check.provider.list_members(&key).await
    } else {
        let accounts = membership::declared_accounts(spec);
        check.provider.member_roles(&key, &accounts).await
    };
    roster.ok()
}

/// One call of a pass: a batch of group reads, or one group's members. It names its
/// groups rather than holding them: a pass spreads over most of an interval, and
/// holding every cached object for that long would keep each version replaced
/// meanwhile in memory too.
enum Work {
    Groups {
        provider: Arc<dyn GroupProvider>,
        group_type: GroupType,
        members: Vec<(ObjectRef<ChatGroup>, String)>,
    },
    Members {
        provider: Arc<dyn GroupProvider>,
        group: ObjectRef<ChatGroup>,
        id: String,
    },
}

impl From<Batch> for Work {
    fn from(batch: Batch) -> Work {
        let members = batch.members.iter();
        Work::Groups {
            provider: batch.provider,
            group_type: batch.group_type,
            members: members.map(|(g, id)| (named(g), id.clone())).collect(),
        }
    }
}

impl From<MemberCheck> for Work {
    fn from(check: MemberCheck) -> Work {
        Work::Members {
            group: named(&check.group),
            provider: check.provider,
            id: check.id,
        }
    }
}

/// A reference to `group` by namespace and name only (no resourceVersion or uid to
/// keep for a whole pass).
fn named(group: &ChatGroup) -> ObjectRef<ChatGroup> {
    let reference = ObjectRef::new(&group.name_any());
    match group.namespace() {
        Some(namespace) => reference.within(&namespace),
        None => reference,
    }
}

/// The group planned as `id` as the cache has it now: `None` once it is gone or no
/// longer watched under that id (disbanded, being deleted, re-recorded), so a pass
/// never reads for a group that left it and compares with the spec as it is now.
fn still_watched(current: Option<Arc<ChatGroup>>, id: &str) -> Option<Arc<ChatGroup>> {
    current.filter(|group| watched(group).as_deref() == Some(id))
}

/// One pass over every watched group, its read calls spread evenly over `spread` so
/// they come as a trickle beside creates and disbands, not as a burst. Returns how
/// many groups were requeued.
pub async fn resync_once(
    ctx: &Context,
    requeue: &UnboundedSender<ObjectRef<ChatGroup>>,
    spread: Duration,
) -> usize {
    let groups = ctx.groups();
    let mut readers: BTreeMap<(String, String), Option<Reader>> = BTreeMap::new();
    for group in &groups {
        let key = (
            group.namespace().unwrap_or_default(),
            group.spec.provider_ref.name.clone(),
        );
        if readers.contains_key(&key) || watched(group).is_none() {
            continue;
        }
        let resolved = ctx.providers.resolve(&key.0, &key.1).await.ok();
        let reader = resolved.map(|provider| Reader {
            app: provider.app(),
            provider,
        });
        readers.insert(key, reader);
    }
    let reader = |namespace: &str, name: &str| {
        readers
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
            .flatten()
    };
    let checks = plan_member_checks(&groups, reader);
    let batches = plan_batches(groups, reader);
    let work: Vec<Work> = (batches.into_iter().map(Work::from))
        .chain(checks.into_iter().map(Work::from))
        .collect();
    let current = |object: &ObjectRef<ChatGroup>, id: &str| {
        let cached = ctx.groups.get(object).filter(|g| ctx.shard.owns_cached(g));
        still_watched(cached, id)
    };
    let gap = spread / u32::try_from(work.len()).unwrap_or(u32::MAX).max(1);
    // A group requeued once in a pass is not requeued again for its members.
    let mut requeued: std::collections::HashSet<ObjectRef<ChatGroup>> = Default::default();
    for (i, item) in work.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        let changed: Vec<Arc<ChatGroup>> = match item {
            Work::Groups {
                provider,
                group_type,
                members,
            } => {
                let batch = Batch {
                    provider: provider.clone(),
                    group_type: *group_type,
                    members: (members.iter())
                        .filter_map(|(object, id)| Some((current(object, id)?, id.clone())))
                        .collect(),
                };
                if batch.members.is_empty() {
                    continue;
                }
                read_batch(&batch).await.into_iter().cloned().collect()
            }
            Work::Members {
                provider,
                group,
                id,
            } => {
                if requeued.contains(group) {
                    continue;
                }
                let Some(group) = current(group, id) else {
                    continue;
                };
                let check = MemberCheck {
                    provider: provider.clone(),
                    group,
                    id: id.clone(),
                };
                let roster = read_members(&check).await;
                let drifted = roster.is_some_and(|r| members_drifted(&check.group, &r));
                drifted.then_some(check.group).into_iter().collect()
            }
        };
        for group in changed {
            let object = ObjectRef::from_obj(group.as_ref());
            if requeue.unbounded_send(object.clone()).is_ok() {
                requeued.insert(object);
            }
        }
    }
    requeued.len()
}

/// Reads one batch; returns its groups that drifted or are watched for a duplicate.
async fn read_batch(batch: &Batch) -> Vec<&Arc<ChatGroup>> {
    let keys: Vec<GroupKey> = batch
        .members
        .iter()
        .map(|(g, id)| GroupKey {
            id: id.clone(),
            group_type: batch.group_type,
            owner: g.spec.owner.clone(),
        })
        .collect();
    let Ok(found) = batch.provider.get_groups(&keys).await else {
        return Vec::new();
    };
    batch
        .members
        .iter()
        .zip(found.iter())
        .filter(|((group, _), (_, lookup))| drifted(group, lookup) || duplicate_watched(group))
        .map(|((group, _), _)| group)
        .collect()
}

/// A pass every resync interval (±10% jitter), until `shutdown`; each pass spreads
/// its reads over 90% of its interval.
pub async fn run(
    ctx: Arc<Context>,
    requeue: UnboundedSender<ObjectRef<ChatGroup>>,
    shutdown: impl Future<Output = ()>,
) {
    let interval = ctx.settings.resync_interval;
    let passes = async {
        let period = || interval.mul_f64(rand::rng().random_range(0.9..1.1));
        let mut next = tokio::time::Instant::now() + period();
        loop {
            tokio::time::sleep_until(next).await;
            let this = period();
            next = tokio::time::Instant::now() + this;
            let requeued = resync_once(&ctx, &requeue, this.mul_f64(0.9)).await;
            tracing::debug!(requeued, "drift resync done");
        }
    };
    tokio::select! {
        _ = passes => {}
        _ = shutdown => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::NAMESPACE;
    use crate::api::{ChatGroupStatus, ChatGroupType, RecordedApp};
    use crate::provider::memory::MemoryProvider;

    fn recorded(name: &str, namespace: &str, provider: &str, app: Option<&str>) -> Arc<ChatGroup> {
        let mut group = ChatGroup::test()
            .named(name)
            .with_status(ChatGroupStatus {
                group_id: Some(format!("g-{name}")),
                app: app.map(|app_id| RecordedApp {
                    provider: "tencent".into(),
                    app_id: app_id.into(),
                    host: String::new(),
                }),
                ..ChatGroupStatus::default()
            })
            .build();
        group.metadata.namespace = Some(namespace.into());
        group.spec.provider_ref.name = provider.into();
        Arc::new(group)
    }

    #[test]
    fn a_pass_reads_a_planned_group_only_while_it_is_still_watched_under_that_id() {
        let planned = recorded("g", NAMESPACE, "im", Some("1"));
        let id = watched(&planned).expect("planned groups are watched");
        let renamed = {
            let mut g = (*planned).clone();
            g.spec.name = "renamed since the pass was planned".into();
            Arc::new(g)
        };
        let with = |change: fn(&mut ChatGroup)| {
            let mut g = (*planned).clone();
            change(&mut g);
            Some(Arc::new(g))
        };
        let cases = [
            ("gone", None, None),
            (
                "unchanged",
                Some(planned.clone()),
                Some(planned.spec.name.as_str()),
            ),
            (
                "renamed: read with the name it has now",
                Some(renamed),
                Some("renamed since the pass was planned"),
            ),
            (
                "recorded under another id",
                with(|g| {
                    g.status.as_mut().expect("status").group_id = Some("other".into());
                }),
                None,
            ),
            (
                "set to disbanded",
                with(|g| g.spec.state = GroupState::Disbanded),
                None,
            ),
            (
                "being deleted",
                with(|g| {
                    g.metadata.deletion_timestamp =
                        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                            k8s_openapi::jiff::Timestamp::now(),
                        ));
                }),
                None,
            ),
        ];
        for (case, current, name) in cases {
            let read = still_watched(current, &id);
            let read_name = read.as_ref().map(|g| g.spec.name.as_str());
            assert_eq!(read_name, name, "{case}");
        }
    }

    /// `n` groups through ChatProvider `provider`, recorded in the app it reaches.
    fn many(n: usize, namespace: &str, provider: &str) -> Vec<Arc<ChatGroup>> {
        let app = reader(namespace, provider).map(|r| r.app.app_id);
        (0..n)
            .map(|i| {
                let name = format!("{namespace}-{provider}-{i}");
                recorded(&name, namespace, provider, app.as_deref())
            })
            .collect()
    }

    /// ChatProviders `im` and `other` (in any namespace) reach app "1"; `elsewhere`
    /// reaches app "2"; `broken` has no client.
    fn reader(_namespace: &str, name: &str) -> Option<Reader> {
        let app_id = match name {
            "im" | "other" => "1",
            "elsewhere" => "2",
            _ => return None,
        };
        let provider: Arc<dyn GroupProvider> =
            Arc::new(MemoryProvider::tencent(false).with_app_id(app_id));
        Some(Reader {
            app: provider.app(),
            provider,
        })
    }

    #[test]
    fn reads_are_batched_per_app_and_group_type_whatever_the_namespace() {
        let sizes = |groups: Vec<Arc<ChatGroup>>| -> Vec<usize> {
            plan_batches(groups, reader)
                .iter()
                .map(|b| b.members.len())
                .collect()
        };
        let work = {
            let mut group = (*recorded("w", NAMESPACE, "im", Some("1"))).clone();
            group.spec.group_type = ChatGroupType::Work;
            Arc::new(group)
        };
        type Case<'a> = (&'a str, Vec<Arc<ChatGroup>>, Vec<usize>);
        let cases: Vec<Case> = vec![
            (
                "one namespace: ⌈120 / 50⌉ calls",
                many(120, NAMESPACE, "im"),
                vec![50, 50, 20],
            ),
            (
                "two namespaces, one app: batched together",
                [many(60, "a", "im"), many(60, "b", "other")].concat(),
                vec![50, 50, 20],
            ),
            (
                "two apps: batched apart",
                [many(60, "a", "im"), many(10, "a", "elsewhere")].concat(),
                vec![50, 10, 10],
            ),
            (
                "another group type: its own batch",
                [many(3, "a", "im"), vec![work]].concat(),
                vec![3, 1],
            ),
            (
                "a group recorded in another app is not read",
                vec![recorded("x", "a", "elsewhere", Some("1"))],
                vec![],
            ),
            (
                "a ChatProvider without a client is skipped",
                many(5, "a", "broken"),
                vec![],
            ),
            (
                "nothing recorded: nothing read",
                vec![Arc::new(ChatGroup::test().build())],
                vec![],
            ),
        ];
        for (case, groups, expected) in cases {
            let mut found = sizes(groups);
            found.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(found, expected, "{case}");
        }
    }

    #[test]
    fn only_groups_that_declare_members_get_a_member_read() {
        let mut groups = many(3, NAMESPACE, "im");
        let mut exact = (*groups[0]).clone();
        exact.spec.members_policy = crate::api::MembersPolicy::Exact;
        groups[0] = Arc::new(exact);
        let mut with_list = (*groups[1]).clone();
        with_list.spec.members = vec![crate::api::MemberSpec {
            account: "bob".into(),
            role: Default::default(),
        }];
        groups[1] = Arc::new(with_list);
        let checked: Vec<String> = plan_member_checks(&groups, reader)
            .iter()
            .map(|c| c.group.name_any())
            .collect();
        assert_eq!(checked, [groups[0].name_any(), groups[1].name_any()]);
    }

    #[test]
    fn members_drift_when_a_declared_one_is_missing_or_an_invitation_was_accepted() {
        use crate::provider::MemberRole;
        let mut group = (*recorded("g", NAMESPACE, "im", Some("1"))).clone();
        group.spec.members = vec![crate::api::MemberSpec {
            account: "bob".into(),
            role: Default::default(),
        }];
        let roster = |entries: &[&str]| -> Roster {
            entries
                .iter()
                .map(|a| (a.to_string(), MemberRole::Member))
                .collect()
        };
        assert!(members_drifted(&group, &roster(&[])), "bob is missing");
        assert!(
            !members_drifted(&group, &roster(&["bob", "x"])),
            "Additive ignores x"
        );
        group.status.as_mut().unwrap().pending_members = vec!["bob".into()];
        assert!(
            !members_drifted(&group, &roster(&[])),
            "bob is invited, not missing"
        );
        assert!(
            members_drifted(&group, &roster(&["bob"])),
            "bob accepted: status is stale"
        );
    }
}
