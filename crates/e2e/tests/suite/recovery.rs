//! NetEase lost-create recovery through the operator: the search uses what the create
//! was made with (the recorded owner, even after `spec.owner` changed), and an
//! incomplete search never leads to a second create.

use std::time::Duration;

use e2e::{fixtures, group_id, ready_with, Env, Op, Side};
use kube::api::{Patch, PatchParams};
use provider_sim::{Fault, FaultKind, SimGroup};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_lost_create_is_found_through_the_recorded_owner_after_the_owner_changed(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    // Alice owns more than a page of joined teams, so every search reads two pages.
    for i in 0..150u64 {
        env.netease.insert_group(SimGroup {
            id: (500_000 + i).to_string(),
            group_type: "1".into(),
            name: format!("other {i}"),
            owner: Some("alice".into()),
            max_members: 200,
            join_option: "0".into(),
            ..Default::default()
        });
    }
    // The create takes effect but its answer is lost, and every search fails.
    env.inject(
        Side::Netease,
        Fault::times(Some("create"), FaultKind::DropAfterExecution, 1),
    );
    env.inject(
        Side::Netease,
        Fault::always(Some("joined_teams"), FaultKind::Code(503)),
    );
    let yaml = fixtures::group("lost", "netease", "Advanced", "name: Lost\nowner: alice\n");
    env.apply_group(&yaml).await?;
    e2e::eventually(WAIT, || async {
        let group = env.groups().get("lost").await.ok()?;
        let status = group.status?;
        (status.create_pending_since.is_some() && env.executed(Side::Netease, Op::Create) == 1)
            .then_some(())
    })
    .await?;

    // The owner changes while the create is pending.
    env.groups()
        .patch(
            "lost",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"owner": "bob"}})),
        )
        .await?;
    // Searches keep failing past the late-create bound (2 s in tests): an incomplete
    // search is never "none", so nothing is created again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        env.executed(Side::Netease, Op::Create),
        1,
        "no second create while the search cannot complete"
    );
    let pending = env.groups().get("lost").await?.status.unwrap_or_default();
    assert!(pending.group_id.is_none() && pending.create_pending_since.is_some());
    assert_eq!(
        pending
            .pending_create
            .as_ref()
            .and_then(|p| p.owner.as_deref()),
        Some("alice"),
        "the owner the create was made with is kept"
    );

    // Once searches work, alice's team is found and handed to bob.
    env.netease.clear_faults();
    let group = env
        .wait_group("lost", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&group).expect("recorded");
    assert_eq!(
        env.executed(Side::Netease, Op::Create),
        1,
        "one create in all"
    );
    let team = env.sim_group(Side::Netease, &id).expect("the team lives");
    assert_eq!(team.owner.as_deref(), Some("bob"));
    let named_lost = env
        .sim_groups(Side::Netease)
        .into_iter()
        .filter(|g| g.name == "Lost")
        .count();
    assert_eq!(named_lost, 1, "no duplicate team");
    Ok(())
}
