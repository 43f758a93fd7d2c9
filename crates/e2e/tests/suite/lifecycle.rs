//! The ChatGroup lifecycle end to end: simulators + operator, on both providers.

use std::time::Duration;

use e2e::{condition, fixtures, group_id, ready_with, Env, Op, Side};
use kube::api::{Patch, PatchParams};
use kube::ResourceExt;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn owner_line(side: Side) -> &'static str {
    match side {
        Side::Tencent => "",
        Side::Netease => "owner: alice\n",
    }
}

fn manifest(side: Side, name: &str, extra: &str) -> String {
    let spec = format!(
        "name: Ops room\nintroduction: On-call coordination\n{}{extra}",
        owner_line(side)
    );
    fixtures::group(name, side.provider(), side.group_type(), &spec)
}

async fn create_ready(env: &Env, side: Side, name: &str, extra: &str) -> anyhow::Result<String> {
    env.apply_group(&manifest(side, name, extra)).await?;
    let group = env
        .wait_group(name, WAIT, |g| ready_with(g, "Available"))
        .await?;
    Ok(group_id(&group).expect("status.groupId is recorded"))
}

#[tokio::test]
async fn an_applied_group_exists_on_the_provider_with_its_attributes() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("ops-{side:?}").to_lowercase();
        let id = create_ready(&env, side, &name, "customData: {team: sre}\n").await?;
        let group = env
            .sim_group(side, &id)
            .expect("the group exists on the provider");
        assert_eq!(group.name, "Ops room");
        assert_eq!(group.introduction, "On-call coordination");
        assert_eq!(
            env.executed(side, Op::Create),
            1,
            "{side:?}: exactly one create"
        );
        let object = env.groups().get(&name).await?;
        assert!(object
            .finalizers()
            .iter()
            .any(|f| f == "im.chatgroup.dev/disband"));
        assert_eq!(
            condition(&object, "Synced"),
            Some(("True".into(), "ReconcileSuccess".into()))
        );
    }
    Ok(())
}

#[tokio::test]
async fn editing_the_spec_sends_one_update_and_reapplying_sends_none() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("edit-{side:?}").to_lowercase();
        let id = create_ready(&env, side, &name, "").await?;
        let before = env.writes(side);

        let edited = manifest(side, &name, "").replace("On-call coordination", "Incident room");
        let edited = edited.replace("name: Ops room", "name: Ops room 2");
        env.apply_group(&edited).await?;
        let generation = env.groups().get(&name).await?.metadata.generation;
        env.wait_group(&name, WAIT, |g| {
            ready_with(g, "Available")
                && g.status.as_ref().and_then(|s| s.observed_generation) == generation
        })
        .await?;
        assert_eq!(
            env.executed(side, Op::Update),
            1,
            "{side:?}: one update call"
        );
        assert_eq!(env.writes(side), before + 1);
        let on_provider = env.sim_group(side, &id).expect("still there");
        assert_eq!(
            (on_provider.name.as_str(), on_provider.introduction.as_str()),
            ("Ops room 2", "Incident room")
        );

        // Unchanged re-apply, then a metadata-only change that does trigger a reconcile.
        env.apply_group(&edited).await?;
        let patch = json!({"metadata": {"annotations": {"touched": "yes"}}});
        env.groups()
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            env.writes(side),
            before + 1,
            "{side:?}: no provider write when nothing changed"
        );
    }
    Ok(())
}

#[tokio::test]
async fn state_disbanded_disbands_once_and_a_later_delete_makes_no_second_call(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("tomb-{side:?}").to_lowercase();
        let id = create_ready(&env, side, &name, "").await?;
        env.apply_group(&manifest(side, &name, "state: disbanded\n"))
            .await?;
        let group = env
            .wait_group(&name, WAIT, |g| ready_with(g, "Disbanded"))
            .await?;
        assert!(group
            .status
            .as_ref()
            .and_then(|s| s.disbanded_at.as_ref())
            .is_some());
        assert!(
            env.sim_group(side, &id).is_none(),
            "{side:?}: the group is gone from the provider"
        );
        assert_eq!(env.executed(side, Op::Disband), 1);

        // Nudge a reconcile: the tombstone stays, nothing is recreated.
        let patch = json!({"metadata": {"labels": {"nudge": "1"}}});
        env.groups()
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            env.executed(side, Op::Create),
            1,
            "{side:?}: never recreated"
        );

        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        assert_eq!(
            env.executed(side, Op::Disband),
            1,
            "{side:?}: no second disband call"
        );
    }
    Ok(())
}

#[tokio::test]
async fn deleting_disbands_the_group_then_releases_the_object() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("del-{side:?}").to_lowercase();
        let id = create_ready(&env, side, &name, "").await?;
        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        assert!(env.sim_group(side, &id).is_none(), "{side:?}: disbanded");
        assert_eq!(env.executed(side, Op::Disband), 1);
    }
    Ok(())
}

#[tokio::test]
async fn deleting_after_an_out_of_band_disband_releases_the_object_without_error(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("oob-{side:?}").to_lowercase();
        let id = create_ready(&env, side, &name, "").await?;
        assert!(env.disband_out_of_band(side, &id));
        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
    }
    Ok(())
}

#[tokio::test]
async fn orphan_policy_releases_the_object_and_keeps_the_group() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("orphan-{side:?}").to_lowercase();
        let id = create_ready(&env, side, &name, "deletionPolicy: Orphan\n").await?;
        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        assert_eq!(
            env.executed(side, Op::Disband),
            0,
            "{side:?}: no disband call"
        );
        assert!(
            env.sim_group(side, &id).is_some(),
            "{side:?}: the group is left on the provider"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_group_disbanded_outside_kubernetes_is_reported_not_recreated() -> anyhow::Result<()> {
    let mut settings = e2e::test_settings();
    settings.resync_interval = Duration::from_millis(500);
    let env = Env::start_with(settings).await?;
    for side in Side::BOTH {
        let name = format!("drift-{side:?}").to_lowercase();
        let id = create_ready(&env, side, &name, "").await?;
        assert!(env.disband_out_of_band(side, &id));
        let group = env
            .wait_group(&name, WAIT, |g| {
                condition(g, "Ready") == Some(("False".into(), "ExternallyDisbanded".into()))
            })
            .await?;
        assert_eq!(
            condition(&group, "Stalled").map(|c| c.0),
            Some("True".into())
        );
        assert_eq!(env.executed(side, Op::Create), 1, "{side:?}: not recreated");
    }
    Ok(())
}

#[tokio::test]
async fn a_name_change_made_in_the_console_is_put_back_by_the_drift_resync() -> anyhow::Result<()> {
    let mut settings = e2e::test_settings();
    settings.resync_interval = Duration::from_millis(500);
    let env = Env::start_with(settings).await?;
    let side = Side::Tencent;
    let id = create_ready(&env, side, "console", "").await?;
    let mut changed = env.sim_group(side, &id).expect("exists");
    changed.name = "Renamed in console".into();
    env.tencent.insert_group(changed);
    e2e::eventually(WAIT, || async {
        (env.sim_group(side, &id)?.name == "Ops room").then_some(())
    })
    .await?;
    assert_eq!(env.executed(side, Op::Update), 1);
    Ok(())
}
