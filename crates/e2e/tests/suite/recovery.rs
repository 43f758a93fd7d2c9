//! NetEase lost-create recovery through the operator: the search uses what the create
//! was made with (the recorded owner, even after `spec.owner` changed), and an
//! incomplete search never leads to a second create.

use std::time::Duration;

use e2e::{fixtures, group_id, ready_with, Env, Op, Side};
use kube::api::{Patch, PatchParams};
use kube::ResourceExt;
use provider_sim::netease::JoinedTeamsOrder;
use provider_sim::{Fault, FaultKind, RecordedCall, SimGroup};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_lost_create_is_found_through_the_recorded_owner_after_the_owner_changed(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    // Alice owns more than a page of joined teams, so every search reads two pages.
    seed_other_teams(&env);
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

/// 150 teams of alice's, named unlike any ChatGroup: more than one page of joined teams.
fn seed_other_teams(env: &Env) {
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
}

/// Waits until `name` records a pending create and `create` was attempted `attempts`
/// times; returns `createPendingSince` in Unix milliseconds.
async fn wait_pending(env: &Env, name: &str, attempts: usize) -> anyhow::Result<i64> {
    e2e::eventually(WAIT, || async {
        let group = env.groups().get(name).await.ok()?;
        let since = group.status?.create_pending_since?;
        (env.attempts(Side::Netease, Op::Create) == attempts).then(|| since.0.as_millisecond())
    })
    .await
}

fn searches(env: &Env) -> Vec<RecordedCall> {
    env.netease.calls_to("joined_teams")
}

fn complete_pages(calls: &[RecordedCall]) -> usize {
    calls
        .iter()
        .filter(|c| c.executed && c.code == Side::Netease.success_code())
        .count()
}

fn now_ms() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_millisecond()
}

#[tokio::test]
async fn a_search_failing_on_its_second_page_never_leads_to_a_second_create() -> anyhow::Result<()>
{
    let env = Env::start().await?;
    // Oldest first, the lost create's team is on page 2: a search that took page 1
    // for the whole list would find nothing and create again.
    env.netease.set_joined_order(JoinedTeamsOrder::OldestFirst);
    seed_other_teams(&env);
    env.inject(
        Side::Netease,
        Fault::times(Some("create"), FaultKind::DropAfterExecution, 1),
    );
    // Every search reads page 1, then page 2 fails.
    env.netease
        .inject_every(2, Fault::always(Some("joined_teams"), FaultKind::Code(503)));
    let yaml = fixtures::group(
        "paged",
        "netease",
        "Advanced",
        "name: Paged\nowner: alice\n",
    );
    env.apply_group(&yaml).await?;
    let since = wait_pending(&env, "paged", 1).await?;
    let past_bound = since + env.settings.late_create_bound.as_millis() as i64 + 1_000;
    e2e::eventually(WAIT, || async {
        let failed = searches(&env).iter().filter(|c| c.code == 503).count();
        let created_again = env.attempts(Side::Netease, Op::Create) > 1;
        (now_ms() > past_bound && (failed >= 3 || created_again)).then_some(())
    })
    .await?;

    let calls = searches(&env);
    for call in &calls {
        assert_eq!(
            call.code == 503,
            call.query.contains("page_token="),
            "only the second pages fail: {call:?}"
        );
    }
    assert_eq!(
        env.executed(Side::Netease, Op::Create),
        1,
        "no second create while page 2 cannot be read"
    );
    let pending = env.groups().get("paged").await?.status.unwrap_or_default();
    assert!(pending.group_id.is_none() && pending.create_pending_since.is_some());
    assert_eq!(
        pending.pending_create.map(|p| p.empty_searches),
        Some(0),
        "a search that lost page 2 is not an empty one"
    );

    env.netease.clear_faults();
    let group = env
        .wait_group("paged", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let teams: Vec<SimGroup> = env
        .sim_groups(Side::Netease)
        .into_iter()
        .filter(|g| g.name == "Paged")
        .collect();
    assert_eq!(teams.len(), 1, "no duplicate team: {teams:?}");
    assert_eq!(
        group_id(&group),
        Some(teams[0].id.clone()),
        "the first team"
    );
    assert_eq!(
        env.executed(Side::Netease, Op::Create),
        1,
        "one create in all"
    );
    Ok(())
}

#[tokio::test]
async fn a_marked_team_up_to_300_s_older_than_the_pending_create_is_found_one_400_s_older_is_not(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    // The create is lost before it takes effect; searches fail until both teams are
    // seeded around the recorded createPendingSince.
    env.inject(
        Side::Netease,
        Fault::times(Some("create"), FaultKind::DropConnection, 1),
    );
    env.inject(
        Side::Netease,
        Fault::always(Some("joined_teams"), FaultKind::Code(503)),
    );
    let yaml = fixtures::group(
        "skewed",
        "netease",
        "Advanced",
        "name: Skewed\nowner: alice\n",
    );
    env.apply_group(&yaml).await?;
    let since = wait_pending(&env, "skewed", 1).await?;
    let uid = env.groups().get("skewed").await?.uid().expect("uid");
    let marked = |id: &str| SimGroup {
        id: id.into(),
        group_type: "1".into(),
        name: "Skewed".into(),
        owner: Some("alice".into()),
        server_extension: json!({ chatgroup_operator::provider::MARKER_KEY: uid }).to_string(),
        ..Default::default()
    };
    // The lower id would be kept as the first create if it were a candidate.
    let (too_old, skewed) = ("7000000001", "7000000002");
    env.netease
        .insert_group_created_at(marked(too_old), since - 400_000);
    env.netease
        .insert_group_created_at(marked(skewed), since - 299_000);
    env.netease.clear_faults();

    let group = env
        .wait_group("skewed", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(
        group_id(&group).as_deref(),
        Some(skewed),
        "the team created within the clock-skew allowance is this create's"
    );
    assert_eq!(
        env.attempts(Side::Netease, Op::Create),
        1,
        "not created again"
    );
    let asked_for_old = env
        .netease
        .calls_to("batch_get")
        .into_iter()
        .filter(|c| c.query.contains(too_old))
        .count();
    assert_eq!(asked_for_old, 0, "a team 400 s older is not a candidate");
    assert!(
        env.sim_group(Side::Netease, too_old).is_some(),
        "and it is left alone"
    );
    assert_eq!(env.attempts(Side::Netease, Op::Disband), 0);
    Ok(())
}

/// Deletes `name` once its create (lost before it took effect) is pending; returns
/// `createPendingSince` in Unix milliseconds.
async fn delete_while_pending(env: &Env, name: &str) -> anyhow::Result<i64> {
    env.inject(
        Side::Netease,
        Fault::times(Some("create"), FaultKind::DropConnection, 1),
    );
    let spec = format!("name: {name}\nowner: alice\n");
    env.apply_group(&fixtures::group(name, "netease", "Advanced", &spec))
        .await?;
    let since = wait_pending(env, name, 1).await?;
    env.delete_group(name).await?;
    Ok(since)
}

/// Whether `name` still exists, marked for deletion, with its finalizer.
async fn held(env: &Env, name: &str) -> anyhow::Result<bool> {
    let Some(group) = env.groups().get_opt(name).await? else {
        return Ok(false);
    };
    Ok(group.metadata.deletion_timestamp.is_some()
        && group
            .finalizers()
            .iter()
            .any(|f| f == "im.chatgroup.dev/disband"))
}

/// Nothing was created, disbanded, or created again on delete.
fn nothing_on_the_provider(env: &Env) {
    assert_eq!(
        env.attempts(Side::Netease, Op::Create),
        1,
        "no create on delete"
    );
    assert_eq!(env.executed(Side::Netease, Op::Create), 0);
    assert_eq!(env.attempts(Side::Netease, Op::Disband), 0);
    let teams = env.sim_groups(Side::Netease);
    assert!(teams.is_empty(), "no team left: {teams:?}");
}

#[tokio::test]
async fn a_chatgroup_deleted_while_its_create_is_pending_waits_for_the_late_create_bound(
) -> anyhow::Result<()> {
    let mut settings = e2e::test_settings();
    settings.late_create_bound = Duration::from_secs(5);
    let env = Env::start_with(settings).await?;
    let since = delete_while_pending(&env, "abandoned").await?;
    let bound = since + env.settings.late_create_bound.as_millis() as i64;

    // Searches come back complete and empty, yet the object is held until the bound.
    e2e::eventually(WAIT, || async {
        (complete_pages(&searches(&env)) >= 1).then_some(())
    })
    .await?;
    let check_at = bound - 1_000;
    tokio::time::sleep(Duration::from_millis((check_at - now_ms()).max(0) as u64)).await;
    assert!(held(&env, "abandoned").await?, "held before the bound");
    anyhow::ensure!(
        now_ms() < bound,
        "the check ran after the bound (machine too slow)"
    );

    env.wait_gone("abandoned", WAIT).await?;
    assert!(now_ms() >= bound, "released after the bound");
    assert!(
        complete_pages(&searches(&env)) >= 2,
        "two complete searches: {:?}",
        searches(&env)
    );
    nothing_on_the_provider(&env);
    Ok(())
}

#[tokio::test]
async fn a_chatgroup_deleted_while_its_create_is_pending_is_held_while_searches_fail(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    env.inject(
        Side::Netease,
        Fault::always(Some("joined_teams"), FaultKind::Code(503)),
    );
    let since = delete_while_pending(&env, "unsearched").await?;
    let past_bound = since + env.settings.late_create_bound.as_millis() as i64 + 2_000;
    e2e::eventually(WAIT, || async {
        (now_ms() > past_bound && searches(&env).len() >= 2).then_some(())
    })
    .await?;
    assert!(
        held(&env, "unsearched").await?,
        "held past the bound while no search completes"
    );
    assert_eq!(complete_pages(&searches(&env)), 0);

    env.netease.clear_faults();
    env.wait_gone("unsearched", WAIT).await?;
    assert!(
        complete_pages(&searches(&env)) >= 2,
        "released after two complete searches: {:?}",
        searches(&env)
    );
    nothing_on_the_provider(&env);
    Ok(())
}
