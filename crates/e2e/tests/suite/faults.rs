//! Provider faults, throttling, terminal errors and crashes: the operator converges,
//! never disbands twice, never leaks a group, never releases an unconfirmed delete.

use std::time::Duration;

use e2e::{condition, group_id, ready_with, Env, Op, Side};
use kube::ResourceExt;
use provider_sim::{Fault, FaultKind};

const WAIT: Duration = Duration::from_secs(120);

fn fault(api: Option<String>, kind: FaultKind, probability: f64) -> Fault {
    Fault {
        api,
        kind,
        probability,
        remaining: None,
    }
}

fn throttle_code(side: Side) -> i64 {
    match side {
        Side::Tencent => 60007,
        Side::Netease => 416,
    }
}

fn transient_code(side: Side) -> i64 {
    match side {
        Side::Tencent => 10002,
        Side::Netease => 503,
    }
}

#[tokio::test]
async fn transient_faults_and_throttling_converge_and_every_group_is_disbanded_once(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    const N: usize = 5;
    for side in Side::BOTH {
        env.inject(side, fault(None, FaultKind::Http502, 0.2));
        env.inject(side, fault(None, FaultKind::Code(throttle_code(side)), 0.2));
        env.inject(
            side,
            fault(None, FaultKind::Code(transient_code(side)), 0.2),
        );
        env.inject(side, fault(None, FaultKind::MalformedJson, 0.1));
    }
    let names: Vec<(Side, String)> = Side::BOTH
        .iter()
        .flat_map(|s| (0..N).map(move |i| (*s, format!("flaky-{s:?}-{i}").to_lowercase())))
        .collect();
    for (side, name) in &names {
        env.apply_group(&side.manifest(name, "")).await?;
    }
    for (_, name) in &names {
        env.wait_group(name, WAIT, |g| ready_with(g, "Available"))
            .await?;
    }
    for side in Side::BOTH {
        assert_eq!(
            env.sim_groups(side).len(),
            N,
            "{side:?}: one group per object, no duplicates"
        );
    }
    for (_, name) in &names {
        env.delete_group(name).await?;
    }
    for (_, name) in &names {
        env.wait_gone(name, WAIT).await?;
    }
    for side in Side::BOTH {
        assert!(
            env.sim_groups(side).is_empty(),
            "{side:?}: every group disbanded"
        );
        assert_eq!(
            env.executed(side, Op::Disband),
            N,
            "{side:?}: each group disbanded exactly once"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_terminal_error_stalls_with_the_provider_code_and_keeps_the_finalizer(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    let side = Side::Tencent;
    // 10004 on create: the spec cannot work as it is. The fault stays until Stalled
    // is seen: a later reconcile (a ChatProvider update requeues its groups) would
    // otherwise create the group before the test looks.
    env.inject(
        side,
        Fault {
            api: Some(Env::api_name(side, Op::Create)),
            kind: FaultKind::Code(10004),
            probability: 1.0,
            remaining: None,
        },
    );
    env.apply_group(&side.manifest("bad-create", "")).await?;
    let group = env
        .wait_group("bad-create", WAIT, |g| {
            condition(g, "Stalled").is_some_and(|c| c.0 == "True")
        })
        .await?;
    let last = group
        .status
        .as_ref()
        .and_then(|s| s.last_error.clone())
        .expect("lastError recorded");
    assert_eq!(last.code, 10004);
    assert!(!last.message.is_empty());
    assert_eq!(
        condition(&group, "Ready").map(|c| c.0),
        Some("False".into())
    );

    env.tencent.clear_faults();

    // 10007 on disband: deletion stays blocked, the finalizer stays.
    let id = {
        env.apply_group(&side.manifest("no-perm", "")).await?;
        let g = env
            .wait_group("no-perm", WAIT, |g| ready_with(g, "Available"))
            .await?;
        group_id(&g).expect("recorded")
    };
    env.inject(
        side,
        fault(
            Some(Env::api_name(side, Op::Disband)),
            FaultKind::Code(10007),
            1.0,
        ),
    );
    env.delete_group("no-perm").await?;
    let blocked = env
        .wait_group("no-perm", WAIT, |g| {
            g.status
                .as_ref()
                .and_then(|s| s.last_error.as_ref())
                .is_some_and(|e| e.code == 10007)
        })
        .await?;
    assert!(blocked.metadata.deletion_timestamp.is_some());
    assert!(
        blocked
            .finalizers()
            .iter()
            .any(|f| f == "im.chatgroup.dev/disband"),
        "finalizer kept"
    );
    assert_eq!(
        condition(&blocked, "Stalled").map(|c| c.0),
        Some("True".into())
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        env.groups().get_opt("no-perm").await?.is_some(),
        "not released on an unconfirmed disband"
    );
    assert!(env.sim_group(side, &id).is_some());
    Ok(())
}

#[tokio::test]
async fn an_operator_killed_between_create_and_status_write_makes_no_duplicate(
) -> anyhow::Result<()> {
    for side in Side::BOTH {
        let mut env = Env::start().await?;
        // Slow every API request so the window between the provider's create and the
        // status write is wide; kill the operator inside it.
        env.kube.faults().latency(Some(Duration::from_millis(700)));
        env.apply_group(&side.manifest("crashy", "")).await?;
        e2e::eventually(WAIT, || async {
            (env.executed(side, Op::Create) > 0).then_some(())
        })
        .await?;
        env.kill_operator();
        env.kube.faults().latency(None);
        let before = env.groups().get("crashy").await?;
        assert!(
            group_id(&before).is_none(),
            "{side:?}: the crash happened before the id was recorded"
        );
        assert_eq!(env.sim_groups(side).len(), 1);

        env.start_operator();
        let group = env
            .wait_group("crashy", WAIT, |g| ready_with(g, "Available"))
            .await?;
        let groups = env.sim_groups(side);
        assert_eq!(groups.len(), 1, "{side:?}: no duplicate group");
        assert_eq!(group_id(&group).as_deref(), Some(groups[0].id.as_str()));

        env.delete_group("crashy").await?;
        env.wait_gone("crashy", WAIT).await?;
        assert!(env.sim_groups(side).is_empty(), "{side:?}: nothing leaked");
    }
    Ok(())
}

#[tokio::test]
async fn a_deletion_stopped_by_a_terminal_error_completes_once_the_cause_is_fixed(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    // A permission missing on the provider's side, until someone grants it:
    // Tencent 10007, NetEase 403.
    for (side, code) in [(Side::Tencent, 10007), (Side::Netease, 403)] {
        let name = format!("fixed-later-{}", side.provider());
        env.apply_group(&side.manifest(&name, "")).await?;
        let id = group_id(
            &env.wait_group(&name, WAIT, |g| ready_with(g, "Available"))
                .await?,
        )
        .expect("recorded");
        env.inject(
            side,
            fault(
                Some(Env::api_name(side, Op::Disband)),
                FaultKind::Code(code),
                1.0,
            ),
        );
        env.delete_group(&name).await?;
        env.wait_group(&name, WAIT, |g| {
            condition(g, "Stalled").is_some_and(|c| c.0 == "True")
        })
        .await?;
        assert!(env.sim_group(side, &id).is_some());

        env.tencent.clear_faults();
        env.netease.clear_faults();
        // No change to the object: the deletion's own slow retry finishes it.
        env.wait_gone(&name, WAIT).await?;
        assert!(env.sim_group(side, &id).is_none(), "{side:?}");
    }
    Ok(())
}
