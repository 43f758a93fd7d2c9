//! Declared members over the in-memory provider: what is written, what the
//! MembersSynced condition says, and that membership never holds back Ready.

use super::*;
use crate::api::conditions::MEMBERS_SYNCED;
use crate::api::{DeclaredRole, MemberSpec, MembersPolicy};
use crate::provider::MemberRole;

fn member(account: &str, role: DeclaredRole) -> MemberSpec {
    MemberSpec {
        account: account.to_string(),
        role,
    }
}

/// The test group with bob (Member) and carol (Admin) declared.
fn with_members() -> ChatGroup {
    let mut group: ChatGroup = ChatGroup::test().into();
    group.spec.members = vec![
        member("bob", DeclaredRole::Member),
        member("carol", DeclaredRole::Admin),
    ];
    group
}

fn members_condition(h: &Harness) -> (String, String, String) {
    let c = h
        .condition("ops-room", MEMBERS_SYNCED)
        .expect("MembersSynced is set");
    (c.status, c.reason, c.message)
}

#[tokio::test]
async fn declared_members_are_added_with_their_roles_and_a_resync_writes_nothing() {
    let h = Harness::tencent();
    h.apply(with_members());
    h.reconcile("ops-room").await.expect("created");

    let roster = h.provider.roster(&h.group_id("ops-room"));
    assert_eq!(roster.get("bob"), Some(&MemberRole::Member));
    assert_eq!(roster.get("carol"), Some(&MemberRole::Admin));
    assert_eq!(roster.get("alice"), Some(&MemberRole::Owner));
    assert_eq!(members_condition(&h).0, "True");
    assert_eq!(h.ready("ops-room"), ready_available());
    assert!(h
        .cluster
        .reasons("ops-room")
        .contains(&"MembersUpdated".to_string()));

    h.provider.clear_calls();
    let writes = h.cluster.status_writes();
    h.reconcile("ops-room").await.expect("steady");
    assert_eq!(
        h.provider.operations(),
        [Operation::Get, Operation::ReadMembers],
        "one read of the group, one of its members, no write"
    );
    assert_eq!(h.cluster.status_writes(), writes, "no status write");
}

#[tokio::test]
async fn a_refused_account_is_named_while_the_rest_join_and_ready_stands() {
    let h = Harness::tencent();
    h.provider.refuse_account("ghost");
    let mut group = with_members();
    group
        .spec
        .members
        .push(member("ghost", DeclaredRole::Member));
    h.apply(group);
    h.reconcile("ops-room").await.expect("created");

    let (status, reason, message) = members_condition(&h);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "MembersRejected")
    );
    assert!(message.contains("ghost (code 10019"), "{message}");
    assert_eq!(h.ready("ops-room"), ready_available());
    let roster = h.provider.roster(&h.group_id("ops-room"));
    assert!(roster.contains_key("bob") && roster.contains_key("carol"));

    // Tried again on the next pass: one more add for ghost alone, no status write,
    // and no Event for a pass that changed nothing.
    let (writes, events) = (h.cluster.status_writes(), h.cluster.events().len());
    h.provider.clear_calls();
    h.reconcile("ops-room").await.expect("resynced");
    assert_eq!(h.count(Operation::AddMembers), 1);
    assert_eq!(
        h.cluster.status_writes(),
        writes,
        "the same condition: no write"
    );
    assert_eq!(
        h.cluster.events().len(),
        events,
        "nothing changed: no Event"
    );
}

#[tokio::test]
async fn a_failed_member_read_keeps_the_group_ready_and_retries_soon() {
    let h = Harness::tencent();
    h.provider.script(
        Operation::ReadMembers,
        Scripted::Fail(FailureClass::Transient),
    );
    h.apply(with_members());
    let action = h.reconcile("ops-room").await.expect("created");

    assert_eq!(h.ready("ops-room"), ready_available());
    let (status, reason, _) = members_condition(&h);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "ProviderUnavailable")
    );
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(super::super::MEMBERS_RETRY)
    );
    h.reconcile("ops-room").await.expect("retried");
    assert_eq!(members_condition(&h).0, "True");
}

#[tokio::test]
async fn a_member_call_refused_for_good_waits_for_the_next_drift_pass() {
    let h = Harness::tencent();
    h.provider.script(
        Operation::ReadMembers,
        Scripted::Fail(FailureClass::Terminal),
    );
    h.apply(with_members());
    let action = h.reconcile("ops-room").await.expect("created");
    assert_eq!(h.ready("ops-room"), ready_available());
    assert_eq!(members_condition(&h).1, "ProviderRejected");
    assert_eq!(action, kube::runtime::controller::Action::await_change());
}

#[tokio::test]
async fn what_took_effect_before_a_failed_call_is_reported_and_not_redone() {
    let h = Harness::tencent();
    h.provider
        .script(Operation::SetRole, Scripted::Fail(FailureClass::Transient));
    h.apply(with_members());
    h.reconcile("ops-room").await.expect("created");
    assert_eq!(members_condition(&h).1, "ProviderUnavailable");
    let events = h.cluster.events();
    let summary = events.iter().find(|e| e.reason == "MembersUpdated");
    assert!(
        summary.is_some_and(|e| e.note.contains("2 added, 0 made admin")),
        "{events:?}"
    );

    h.provider.clear_calls();
    h.reconcile("ops-room").await.expect("retried");
    assert_eq!(
        h.count(Operation::AddMembers),
        0,
        "bob and carol are in already"
    );
    assert_eq!(h.count(Operation::SetRole), 1);
    assert_eq!(members_condition(&h).0, "True");
}

#[tokio::test]
async fn exact_holds_back_removing_most_members_unless_allowed() {
    let h = Harness::tencent();
    h.apply(with_members());
    h.reconcile("ops-room").await.expect("created");
    let id = h.group_id("ops-room");
    for stranger in ["x", "y", "z"] {
        h.provider
            .set_member(&id, stranger, Some(MemberRole::Member));
    }

    h.edit("ops-room", |g| {
        g.spec.members_policy = MembersPolicy::Exact;
        g.metadata.generation = Some(2);
    });
    h.reconcile("ops-room").await.expect("held");
    assert_eq!(
        h.count(Operation::RemoveMembers),
        0,
        "3 of 5 is more than half"
    );
    assert_eq!(members_condition(&h).1, "BulkRemovalHeld");

    h.edit("ops-room", |g| {
        g.spec.allow_bulk_member_removal = true;
        g.metadata.generation = Some(3);
    });
    h.reconcile("ops-room").await.expect("removed");
    let roster = h.provider.roster(&id);
    assert_eq!(
        roster.keys().map(String::as_str).collect::<Vec<_>>(),
        ["alice", "bob", "carol"],
        "the undeclared go, the owner stays"
    );
    assert_eq!(members_condition(&h).0, "True");
}

#[tokio::test]
async fn a_group_that_declares_no_members_has_them_neither_read_nor_reported() {
    let h = Harness::tencent();
    h.apply(ChatGroup::test());
    h.reconcile("ops-room").await.expect("created");
    assert_eq!(h.count(Operation::ReadMembers), 0);
    assert!(h.condition("ops-room", MEMBERS_SYNCED).is_none());
}

#[tokio::test]
async fn a_failure_elsewhere_keeps_what_the_last_member_pass_found() {
    let h = Harness::tencent();
    h.apply(with_members());
    h.reconcile("ops-room").await.expect("created");
    h.provider
        .script(Operation::Get, Scripted::Fail(FailureClass::Transient));
    h.reconcile("ops-room").await.expect_err("the read fails");
    assert_eq!(members_condition(&h).0, "True");
}
