//! The controller's behaviours over an in-memory provider and cluster: each test
//! drives reconciles of one or two ChatGroups and checks what a user would see (the
//! provider's groups, the calls made, status, Events, claims).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{Env, GroupReconcile};
use crate::api::conditions::{self, READY, RECONCILING, STALLED};
use crate::api::testing::{NAMESPACE, PROVIDER};
use crate::api::{ChatGroup, ChatGroupStatus, DuplicateWatch, GroupOrigin, RecordedApp};
use crate::controller::claims::ClaimCache;
use crate::controller::fence::Fence;
use crate::controller::guard::DisbandGuard;
use crate::controller::memory::{MemoryCluster, MemoryLedger};
use crate::controller::ownership;
use crate::controller::status::{now, StatusWriter};
use crate::provider::memory::{MemoryProvider, Scripted};
use crate::provider::{FailureClass, GroupAttributes, GroupProvider, ObservedGroup, Operation};
use crate::Result;

/// One app on the provider side, one cluster on the Kubernetes side.
struct Harness {
    cluster: Arc<MemoryCluster>,
    provider: Arc<MemoryProvider>,
    env: Env,
}

impl Harness {
    fn new(provider: MemoryProvider) -> Harness {
        Harness::with(provider, DisbandGuard::new(None, None), Fence::open())
    }

    fn with(provider: MemoryProvider, disband_guard: DisbandGuard, fence: Fence) -> Harness {
        let cluster = Arc::new(MemoryCluster::default());
        let provider = Arc::new(provider);
        cluster.add_provider(NAMESPACE, PROVIDER, provider.clone());
        let env = Env {
            cluster: cluster.clone(),
            disband_guard,
            fence,
            claims: ClaimCache::default(),
            late_create_bound: Duration::from_secs(600),
        };
        Harness {
            cluster,
            provider,
            env,
        }
    }

    fn tencent() -> Harness {
        Harness::new(MemoryProvider::tencent(false))
    }

    fn netease() -> Harness {
        Harness::new(MemoryProvider::netease())
    }

    fn apply(&self, group: impl Into<ChatGroup>) {
        self.cluster.put(group.into());
    }

    fn object(&self, name: &str) -> ChatGroup {
        self.cluster
            .get(NAMESPACE, name)
            .expect("the object exists")
    }

    /// Changes the stored object as `kubectl apply` or `kubectl delete` would.
    fn edit(&self, name: &str, change: impl FnOnce(&mut ChatGroup)) {
        let mut group = self.object(name);
        change(&mut group);
        self.cluster.put(group);
    }

    fn delete(&self, name: &str) {
        self.edit(name, |g| g.metadata.deletion_timestamp = Some(now()));
    }

    /// One reconcile of the object as the API server has it now.
    async fn reconcile(&self, name: &str) -> Result<kube::runtime::controller::Action> {
        let group = Arc::new(self.object(name));
        GroupReconcile::new(group, &self.env).run().await
    }

    /// The reason of a failed reconcile.
    async fn failure(&self, name: &str) -> &'static str {
        self.reconcile(name)
            .await
            .expect_err("the reconcile fails")
            .reason()
    }

    fn status(&self, name: &str) -> ChatGroupStatus {
        self.object(name).status.unwrap_or_default()
    }

    fn condition(&self, name: &str, type_: &str) -> Option<Condition> {
        conditions::find(&self.status(name).conditions, type_).cloned()
    }

    fn ready(&self, name: &str) -> (String, String) {
        let ready = self.condition(name, READY).expect("Ready is set");
        (ready.status, ready.reason)
    }

    fn group_id(&self, name: &str) -> String {
        self.status(name).group_id.expect("a group is recorded")
    }

    fn count(&self, operation: Operation) -> usize {
        let operations = self.provider.operations();
        operations.iter().filter(|o| **o == operation).count()
    }

    fn app(&self) -> RecordedApp {
        ownership::recorded_app(&self.provider.app())
    }
}

fn group(id: &str, name: &str, marker: Option<&str>) -> ObservedGroup {
    ObservedGroup {
        id: id.to_string(),
        group_type: None,
        attributes: GroupAttributes {
            name: name.to_string(),
            owner: Some("alice".to_string()),
            ..GroupAttributes::default()
        },
        marker: marker.map(str::to_string),
        member_count: Some(1),
    }
}

fn ready_available() -> (String, String) {
    ("True".to_string(), "Available".to_string())
}

#[tokio::test]
async fn a_new_tencent_group_is_created_under_the_id_derived_from_the_uid_and_recorded() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");

    let id = h.group_id("ops-room");
    assert_eq!(id, "cg-uidopsroom");
    let on_provider = h.provider.group(&id).expect("the group exists");
    assert_eq!(on_provider.attributes.name, "Ops room");
    assert_eq!(h.provider.operations(), [Operation::Create]);
    let status = h.status("ops-room");
    assert_eq!(status.origin, Some(GroupOrigin::Created));
    assert_eq!(status.app, Some(h.app()));
    assert!(status.pending_create.is_none() && status.create_pending_since.is_none());
    assert_eq!(h.ready("ops-room"), ready_available());
    assert_eq!(h.cluster.reasons("ops-room"), ["Created"]);
    let holder = h.cluster.claim_holder(&h.app(), &id).expect("claimed");
    assert_eq!(holder.uid, "uid-ops-room");
}

#[tokio::test]
async fn a_new_netease_team_is_recorded_under_the_id_the_provider_assigned_with_the_marker() {
    let h = Harness::netease();
    h.apply(ChatGroup::test().netease());
    h.reconcile("ops-room").await.expect("created");

    let teams = h.provider.groups();
    assert_eq!(teams.len(), 1);
    assert_eq!(h.group_id("ops-room"), teams[0].id);
    assert_eq!(teams[0].marker.as_deref(), Some("uid-ops-room"));
    assert_eq!(h.provider.operations(), [Operation::Create]);
    assert_eq!(h.ready("ops-room"), ready_available());
}

#[tokio::test]
async fn a_resync_of_a_group_that_matches_reads_it_and_writes_nothing() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    h.provider.clear_calls();
    let writes = h.cluster.status_writes();

    h.reconcile("ops-room").await.expect("steady");
    assert_eq!(h.provider.operations(), [Operation::Get]);
    assert_eq!(h.cluster.status_writes(), writes, "no status write");
    assert_eq!(h.cluster.reasons("ops-room"), ["Created"], "no new Event");
}

#[tokio::test]
async fn a_changed_attribute_is_written_alone_and_a_new_owner_is_transferred() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    h.provider.clear_calls();

    h.edit("ops-room", |g| {
        g.spec.introduction = Some("on-call".to_string());
        g.spec.owner = Some("bob".to_string());
        g.metadata.generation = Some(2);
    });
    h.reconcile("ops-room").await.expect("converged");

    let on_provider = h.provider.group(&h.group_id("ops-room")).unwrap();
    assert_eq!(
        on_provider.attributes.introduction.as_deref(),
        Some("on-call")
    );
    assert_eq!(on_provider.attributes.owner.as_deref(), Some("bob"));
    assert_eq!(on_provider.attributes.name, "Ops room", "untouched");
    assert_eq!(
        h.provider.operations(),
        [Operation::Get, Operation::Update, Operation::TransferOwner]
    );
    let reasons = h.cluster.reasons("ops-room");
    assert_eq!(reasons, ["Created", "Updated", "OwnerTransferred"]);
    assert_eq!(h.status("ops-room").observed_generation, Some(2));
}

#[tokio::test]
async fn an_unmarked_group_named_by_spec_group_id_is_adopted_and_stamped() {
    let h = Harness::new(MemoryProvider::tencent(true));
    h.provider.insert(group("ops", "Ops room", None));
    h.apply(ChatGroup::test().adopting("ops"));
    h.reconcile("ops-room").await.expect("adopted");

    assert_eq!(h.group_id("ops-room"), "ops");
    assert_eq!(h.status("ops-room").origin, Some(GroupOrigin::Adopted));
    let marker = h.provider.group("ops").unwrap().marker;
    assert_eq!(marker.as_deref(), Some("uid-ops-room"));
    assert_eq!(h.count(Operation::Create), 0);
    assert_eq!(h.cluster.reasons("ops-room"), ["Adopted"]);
}

#[tokio::test]
async fn a_group_marked_by_another_object_is_adopted_only_when_taken_over() {
    let h = Harness::netease();
    h.provider
        .insert(group("7001", "Ops room", Some("uid-elsewhere")));
    h.apply(ChatGroup::test().netease().adopting("7001"));
    assert_eq!(h.failure("ops-room").await, "GroupNotOwned");
    assert_eq!(h.ready("ops-room").0, "False");
    assert!(h.status("ops-room").group_id.is_none());
    let marker = h.provider.group("7001").unwrap().marker;
    assert_eq!(marker.as_deref(), Some("uid-elsewhere"), "not stamped");

    h.edit("ops-room", |g| {
        g.metadata.annotations = ChatGroup::test().taking_over().build().metadata.annotations;
    });
    h.reconcile("ops-room").await.expect("taken over");
    assert_eq!(h.group_id("ops-room"), "7001");
    let marker = h.provider.group("7001").unwrap().marker;
    assert_eq!(marker.as_deref(), Some("uid-ops-room"));
    assert_eq!(h.count(Operation::Disband), 0);
}

#[tokio::test]
async fn deleting_a_copy_that_names_another_objects_group_disbands_nothing() {
    for provider in [MemoryProvider::tencent(false), MemoryProvider::netease()] {
        let netease = provider.id_assignment() == crate::provider::IdAssignment::ServerAssigned;
        let h = Harness::new(provider);
        let original = ChatGroup::test().named("a");
        h.apply(if netease {
            original.netease()
        } else {
            original
        });
        h.reconcile("a").await.expect("created");
        let id = h.group_id("a");

        let copy = ChatGroup::test().named("b").adopting(&id);
        h.apply(if netease { copy.netease() } else { copy });
        assert_eq!(h.failure("b").await, "GroupNotOwned");
        h.delete("b");
        h.reconcile("b").await.expect("released");

        assert!(h.provider.group(&id).is_some(), "a's group lives on");
        assert_eq!(h.count(Operation::Disband), 0);
        assert_eq!(h.cluster.claim_holder(&h.app(), &id).unwrap().name, "a");
        assert_eq!(h.cluster.reasons("b").last().unwrap(), "Released");
    }
}

#[tokio::test]
async fn deleting_disbands_the_group_releases_its_claim_and_leaves_a_tombstone_status() {
    for netease in [false, true] {
        let h = if netease {
            Harness::netease()
        } else {
            Harness::tencent()
        };
        let object = ChatGroup::test();
        h.apply(if netease { object.netease() } else { object });
        h.reconcile("ops-room").await.expect("created");
        let id = h.group_id("ops-room");

        h.delete("ops-room");
        h.reconcile("ops-room").await.expect("disbanded");
        assert!(h.provider.group(&id).is_none());
        assert_eq!(h.count(Operation::Disband), 1);
        assert!(h.status("ops-room").disbanded_at.is_some());
        assert!(h.cluster.claim_holder(&h.app(), &id).is_none());
        assert_eq!(h.cluster.reasons("ops-room"), ["Created", "Disbanded"]);
    }
}

#[tokio::test]
async fn a_group_already_gone_is_confirmed_by_the_disband_call_before_release() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    let id = h.group_id("ops-room");
    h.provider
        .disband(&h.env_key(&id))
        .await
        .expect("removed outside");
    h.provider.clear_calls();

    h.delete("ops-room");
    h.reconcile("ops-room").await.expect("released");
    assert_eq!(h.provider.operations(), [Operation::Disband]);
    assert_eq!(h.cluster.reasons("ops-room").last().unwrap(), "AlreadyGone");
}

#[tokio::test]
async fn a_disband_that_fails_keeps_the_object_until_one_succeeds() {
    let h = Harness::netease();
    h.apply(ChatGroup::test().netease());
    h.reconcile("ops-room").await.expect("created");
    let id = h.group_id("ops-room");
    h.provider
        .script(Operation::Disband, Scripted::Fail(FailureClass::Transient));

    h.delete("ops-room");
    assert_eq!(h.failure("ops-room").await, "ProviderUnavailable");
    assert!(h.provider.group(&id).is_some());
    assert!(h.status("ops-room").disbanded_at.is_none());
    assert!(
        h.cluster.claim_holder(&h.app(), &id).is_some(),
        "claim kept"
    );
    let warning = h.cluster.events().pop().unwrap();
    assert!(warning.note.contains("kept until the disband is confirmed"));

    h.reconcile("ops-room").await.expect("disbanded on retry");
    assert!(h.provider.group(&id).is_none());
}

#[tokio::test]
async fn state_disbanded_disbands_once_and_keeps_the_object_as_a_tombstone() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    let id = h.group_id("ops-room");

    h.edit("ops-room", |g| {
        g.spec.state = crate::api::GroupState::Disbanded
    });
    h.reconcile("ops-room").await.expect("disbanded");
    assert!(h.provider.group(&id).is_none());
    assert_eq!(h.ready("ops-room"), ("True".into(), "Disbanded".into()));

    h.provider.clear_calls();
    h.reconcile("ops-room").await.expect("tombstone");
    assert!(h.provider.calls().is_empty(), "a tombstone calls nothing");
}

#[tokio::test]
async fn state_disbanded_on_a_group_another_object_owns_is_refused() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test().named("a").adopting("ops"));
    h.provider.insert(group("ops", "Ops room", None));
    h.reconcile("a").await.expect("adopted");

    h.apply(ChatGroup::test().named("b").adopting("ops").disbanded());
    assert_eq!(h.failure("b").await, "GroupNotOwned");
    assert!(h.provider.group("ops").is_some());
    assert!(h.status("b").disbanded_at.is_none());
}

#[tokio::test]
async fn orphan_releases_without_any_provider_write() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test().orphaned());
    h.reconcile("ops-room").await.expect("created");
    let id = h.group_id("ops-room");
    h.provider.clear_calls();

    h.delete("ops-room");
    h.reconcile("ops-room").await.expect("orphaned");
    assert!(h.provider.group(&id).is_some());
    assert!(h.provider.calls().is_empty());
    assert!(
        h.cluster.claim_holder(&h.app(), &id).is_none(),
        "free to adopt"
    );
}

#[tokio::test]
async fn a_lost_netease_create_is_found_by_its_marker_and_never_sent_twice() {
    let h = Harness::netease();
    h.provider.script(Operation::Create, Scripted::LoseAnswer);
    h.apply(ChatGroup::test().netease());
    assert_eq!(h.failure("ops-room").await, "ProviderUnavailable");
    let pending = h
        .status("ops-room")
        .pending_create
        .expect("recorded as sent");
    assert_eq!(pending.attempts, 1);
    assert!(h.status("ops-room").group_id.is_none());

    h.reconcile("ops-room").await.expect("recovered");
    let teams = h.provider.groups();
    assert_eq!(teams.len(), 1, "no second team");
    assert_eq!(h.group_id("ops-room"), teams[0].id);
    assert_eq!(h.count(Operation::Create), 1);
    assert!(h.provider.operations().contains(&Operation::FindByMarker));
    assert!(h.status("ops-room").pending_create.is_none());
    assert_eq!(h.cluster.reasons("ops-room").last().unwrap(), "Recovered");
}

#[tokio::test]
async fn a_lost_tencent_create_is_read_back_under_its_id() {
    let h = Harness::tencent();
    h.provider.script(Operation::Create, Scripted::LoseAnswer);
    h.apply(ChatGroup::test());
    assert_eq!(h.failure("ops-room").await, "ProviderUnavailable");

    h.reconcile("ops-room").await.expect("recovered");
    assert_eq!(h.group_id("ops-room"), "cg-uidopsroom");
    assert_eq!(h.provider.groups().len(), 1);
    assert_eq!(h.count(Operation::Create), 1);
}

#[tokio::test]
async fn a_deleted_object_whose_create_never_took_effect_waits_for_the_late_create_bound() {
    let h = Harness::netease();
    h.provider
        .script(Operation::Create, Scripted::Fail(FailureClass::Transient));
    h.apply(ChatGroup::test().netease());
    assert_eq!(h.failure("ops-room").await, "ProviderUnavailable");

    h.delete("ops-room");
    let error = h.reconcile("ops-room").await.expect_err("not released yet");
    assert_eq!(error.reason(), "CreatePending");
    assert!(error.retry_after().is_some());
    assert_eq!(h.count(Operation::Create), 1, "nothing sent again");
}

#[tokio::test]
async fn a_second_team_from_a_resent_create_is_disbanded_and_the_recorded_one_kept() {
    let h = Harness::netease();
    let since = now();
    h.provider
        .insert(group("7001", "Ops room", Some("uid-ops-room")));
    h.provider
        .insert(group("7002", "Ops room", Some("uid-ops-room")));
    let status = ChatGroupStatus {
        group_id: Some("7001".to_string()),
        origin: Some(GroupOrigin::Created),
        app: Some(h.app()),
        duplicate_watch: Some(DuplicateWatch {
            owner: "alice".to_string(),
            since,
        }),
        ..ChatGroupStatus::default()
    };
    h.apply(ChatGroup::test().netease().with_status(status));
    h.reconcile("ops-room").await.expect("converged");

    assert!(h.provider.group("7001").is_some());
    assert!(h.provider.group("7002").is_none());
    let reasons = h.cluster.reasons("ops-room");
    assert!(reasons.contains(&"DuplicateDisbanded".to_string()));
}

#[tokio::test]
async fn every_failure_class_of_a_create_is_reported_with_its_reason() {
    let cases = [
        (FailureClass::Throttled, "ProviderThrottled", RECONCILING),
        (FailureClass::Transient, "ProviderUnavailable", RECONCILING),
        (FailureClass::Terminal, "ProviderRejected", STALLED),
    ];
    for (class, reason, progress) in cases {
        let h = Harness::tencent();
        h.provider.script(Operation::Create, Scripted::Fail(class));
        h.apply(ChatGroup::test());
        assert_eq!(h.failure("ops-room").await, reason, "{class:?}");
        let condition = h
            .condition("ops-room", progress)
            .expect("progress condition");
        assert_eq!(condition.reason, reason, "{class:?}");
        assert_eq!(h.ready("ops-room"), ("False".into(), reason.into()));
        let last = h.status("ops-room").last_error.expect("lastError");
        assert_eq!(last.operation, "create");
        assert!(h.provider.groups().is_empty());
        assert_eq!(h.cluster.reasons("ops-room"), [reason], "{class:?}");
    }
}

#[tokio::test]
async fn a_failed_update_keeps_a_ready_group_ready_and_says_why() {
    for class in [
        FailureClass::Throttled,
        FailureClass::Transient,
        FailureClass::Terminal,
    ] {
        let h = Harness::tencent();
        h.apply(ChatGroup::test());
        h.reconcile("ops-room").await.expect("created");
        h.edit("ops-room", |g| g.spec.introduction = Some("new".into()));
        h.provider.script(Operation::Update, Scripted::Fail(class));

        assert_eq!(h.failure("ops-room").await, class.reason());
        assert_eq!(h.ready("ops-room"), ready_available(), "{class:?}");
        let synced = h.condition("ops-room", conditions::SYNCED).unwrap();
        assert_eq!(synced.status, "False");
    }
}

#[tokio::test]
async fn a_failed_read_of_a_recorded_group_is_not_taken_for_gone() {
    let h = Harness::netease();
    h.apply(ChatGroup::test().netease());
    h.reconcile("ops-room").await.expect("created");
    h.provider
        .script(Operation::Get, Scripted::Fail(FailureClass::Transient));
    h.delete("ops-room");

    assert_eq!(h.failure("ops-room").await, "ProviderUnavailable");
    assert_eq!(h.count(Operation::Disband), 0);
    assert!(h.status("ops-room").disbanded_at.is_none());
}

#[tokio::test]
async fn a_group_removed_outside_is_reported_externally_disbanded_and_not_recreated() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    let id = h.group_id("ops-room");
    h.provider.disband(&h.env_key(&id)).await.unwrap();
    h.provider.clear_calls();

    h.reconcile("ops-room").await.expect("reported");
    assert_eq!(h.ready("ops-room").1, conditions::EXTERNALLY_DISBANDED);
    assert_eq!(h.count(Operation::Create), 0);
}

#[tokio::test]
async fn a_chatprovider_repointed_at_another_app_is_refused_before_any_call() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    let other = Arc::new(MemoryProvider::tencent(false).with_app_id("1400000002"));
    h.cluster.add_provider(NAMESPACE, PROVIDER, other.clone());

    assert_eq!(h.failure("ops-room").await, "ProviderChanged");
    h.delete("ops-room");
    assert_eq!(h.failure("ops-room").await, "ProviderChanged");
    assert!(other.calls().is_empty());
    assert!(h.provider.group(&h.group_id("ops-room")).is_some());
    assert!(h.condition("ops-room", STALLED).is_some());
}

#[tokio::test]
async fn a_deletion_disbands_through_the_last_client_when_the_chatprovider_is_gone() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    let id = h.group_id("ops-room");
    h.cluster.remove_provider(NAMESPACE, PROVIDER);

    assert_eq!(h.failure("ops-room").await, "CredentialsUnavailable");
    h.delete("ops-room");
    h.reconcile("ops-room").await.expect("disbanded");
    assert!(h.provider.group(&id).is_none());
}

#[tokio::test]
async fn a_replica_that_does_not_lead_sends_no_provider_write() {
    let fence = Fence::leased(Duration::from_secs(10));
    let h = Harness::with(
        MemoryProvider::tencent(false),
        DisbandGuard::new(None, None),
        fence,
    );
    h.apply(ChatGroup::test());
    assert_eq!(h.failure("ops-room").await, "NotLeader");
    assert!(h.provider.groups().is_empty());
    assert_eq!(h.count(Operation::Create), 0);
    assert!(
        h.status("ops-room").pending_create.is_none(),
        "no attempt counted"
    );
}

#[tokio::test]
async fn past_the_disband_budget_a_deletion_waits_with_its_group_kept() {
    let one = NonZeroU32::new(1);
    let guard = DisbandGuard::new(one, Some(Arc::new(MemoryLedger::default())));
    let h = Harness::with(MemoryProvider::tencent(false), guard, Fence::open());
    for name in ["a", "b"] {
        h.apply(ChatGroup::test().named(name));
        h.reconcile(name).await.expect("created");
        h.delete(name);
    }
    h.reconcile("a").await.expect("within the budget");
    assert_eq!(h.failure("b").await, "DisbandBudgetExhausted");
    assert!(h.provider.group(&h.group_id("b")).is_some());
    assert_eq!(h.count(Operation::Disband), 1);
}

#[tokio::test]
async fn a_status_write_from_an_outdated_copy_conflicts_instead_of_overwriting() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    let stale = h.object("ops-room");
    h.edit("ops-room", |g| g.spec.introduction = Some("edited".into()));

    let mut writer = StatusWriter::new(h.cluster.clone(), &stale);
    let status = ChatGroupStatus {
        group_id: Some("g-1".into()),
        ..ChatGroupStatus::default()
    };
    let error = writer.write(&status).await.expect_err("conflict");
    assert_eq!(error.reason(), "KubernetesError");
    assert!(h.status("ops-room").group_id.is_none());
}

impl Harness {
    fn env_key(&self, id: &str) -> crate::provider::GroupKey {
        crate::provider::GroupKey {
            id: id.to_string(),
            group_type: crate::provider::GroupType::Public,
            owner: Some("alice".to_string()),
        }
    }
}

#[tokio::test]
async fn a_refused_key_is_read_again_at_once_and_the_call_retried_with_the_new_one() {
    let h = Harness::tencent();
    h.provider.script(
        Operation::Create,
        Scripted::Fail(FailureClass::Unauthorized),
    );
    let rotated = Arc::new(MemoryProvider::tencent(false));
    h.cluster.rotate(NAMESPACE, PROVIDER, rotated.clone());
    h.apply(ChatGroup::test());

    h.reconcile("ops-room")
        .await
        .expect("created with the new key");
    assert_eq!(h.cluster.refreshes(), 1);
    assert_eq!(rotated.groups().len(), 1);
    assert_eq!(h.ready("ops-room"), ready_available());
}

#[tokio::test]
async fn a_refused_key_that_did_not_change_stalls_without_a_second_call() {
    let h = Harness::netease();
    h.provider.script(
        Operation::Create,
        Scripted::Fail(FailureClass::Unauthorized),
    );
    h.apply(ChatGroup::test().netease());

    assert_eq!(h.failure("ops-room").await, "ProviderUnauthorized");
    assert_eq!(h.cluster.refreshes(), 1);
    assert_eq!(h.count(Operation::Create), 1);
    let stalled = h.condition("ops-room", STALLED).expect("stalled");
    assert_eq!(stalled.reason, "ProviderUnauthorized");
}

#[tokio::test]
async fn failures_that_credentials_cannot_explain_do_not_read_the_secret_again() {
    for class in [
        FailureClass::Terminal,
        FailureClass::Transient,
        FailureClass::AuthPaused,
    ] {
        let h = Harness::tencent();
        h.provider.script(Operation::Create, Scripted::Fail(class));
        h.apply(ChatGroup::test());
        assert_eq!(h.failure("ops-room").await, class.reason());
        assert_eq!(h.cluster.refreshes(), 0, "{class:?}");
    }
}

/// A disband the provider refuses for good (Tencent 10015 confirmed by a second 10015,
/// a missing permission) stalls with the group and the claim kept; `deletionPolicy:
/// Orphan` is the way out, and makes no provider call.
#[tokio::test]
async fn a_disband_refused_for_good_stalls_until_orphan_lets_go_without_a_call() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    let id = h.group_id("ops-room");
    h.provider
        .script(Operation::Disband, Scripted::Fail(FailureClass::Terminal));

    h.delete("ops-room");
    h.failure("ops-room").await;
    let stalled = h.condition("ops-room", "Stalled").expect("Stalled");
    assert_eq!(stalled.status, "True");
    assert!(h.provider.group(&id).is_some());
    assert!(h.status("ops-room").disbanded_at.is_none());
    assert!(h.cluster.claim_holder(&h.app(), &id).is_some());

    h.provider.clear_calls();
    h.edit("ops-room", |g| {
        g.spec.deletion_policy = crate::api::DeletionPolicy::Orphan
    });
    h.reconcile("ops-room").await.expect("orphaned");
    assert!(h.provider.calls().is_empty(), "Orphan calls nothing");
    assert!(h.provider.group(&id).is_some());
    assert!(h.cluster.claim_holder(&h.app(), &id).is_none());
}

mod members;
