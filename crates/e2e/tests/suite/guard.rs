//! The blast-radius guard: a mass delete disbands at most the configured number of
//! groups per hour; the rest wait with their finalizers, saying why.

use std::num::NonZeroU32;
use std::time::Duration;

use e2e::{condition, fixtures, group_id, ready_with, Env, Op, Side};
use kube::api::{Patch, PatchParams};
use kube::ResourceExt;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_mass_delete_disbands_only_the_hourly_budget_and_holds_the_rest() -> anyhow::Result<()> {
    let mut settings = e2e::test_settings();
    settings.max_disbands_per_hour = NonZeroU32::new(2);
    let env = Env::start_with(settings).await?;
    let side = Side::Tencent;
    let names: Vec<String> = (0..3).map(|i| format!("mass-{i}")).collect();
    for name in &names {
        env.apply_group(&fixtures::group(
            name,
            side.provider(),
            side.group_type(),
            &format!("name: {name}\n"),
        ))
        .await?;
    }
    for name in &names {
        env.wait_group(name, WAIT, |g| ready_with(g, "Available"))
            .await?;
    }
    for name in &names {
        env.delete_group(name).await?;
    }
    e2e::eventually(WAIT, || async {
        (env.executed(side, Op::Disband) == 2).then_some(())
    })
    .await?;
    let held = e2e::eventually(WAIT, || async {
        let left: Vec<_> = env.groups().list(&Default::default()).await.ok()?.items;
        (left.len() == 1).then(|| left.into_iter().next()).flatten()
    })
    .await?;
    let held = env
        .wait_group(&held.name_any(), WAIT, |g| {
            condition(g, "Reconciling").is_some_and(|c| c.1 == "DisbandBudgetExhausted")
        })
        .await?;
    assert!(
        held.finalizers()
            .iter()
            .any(|f| f == "im.chatgroup.dev/disband"),
        "finalizer kept"
    );
    let id = group_id(&held).expect("recorded");
    assert!(
        env.sim_group(side, &id).is_some(),
        "the held group still exists"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.executed(side, Op::Disband),
        2,
        "no disband past the budget"
    );

    // Orphaning needs no disband, so the guard does not hold it.
    let patch = json!({"spec": {"deletionPolicy": "Orphan"}});
    env.groups()
        .patch(
            &held.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    env.wait_gone(&held.name_any(), WAIT).await?;
    assert!(env.sim_group(side, &id).is_some());
    Ok(())
}

#[tokio::test]
async fn the_hourly_count_survives_an_operator_restart() -> anyhow::Result<()> {
    let mut settings = e2e::test_settings();
    settings.max_disbands_per_hour = NonZeroU32::new(1);
    let mut env = Env::start_with(settings).await?;
    let side = Side::Tencent;
    ready_groups(&env, side, &["before", "after"]).await?;
    env.delete_group("before").await?;
    env.wait_gone("before", WAIT).await?;

    // A new process (a restart, or another replica taking the lease) reads the
    // hour's count from the cluster, not from its own empty memory.
    env.stop_operator().await;
    env.start_operator();
    env.delete_group("after").await?;
    env.wait_group("after", WAIT, |g| {
        condition(g, "Reconciling").is_some_and(|c| c.1 == "DisbandBudgetExhausted")
    })
    .await?;
    assert_eq!(env.executed(side, Op::Disband), 1, "held past the budget");
    Ok(())
}

/// Applies a ChatGroup for each name on `side` and waits until each is Ready.
async fn ready_groups(env: &Env, side: Side, names: &[&str]) -> anyhow::Result<()> {
    for name in names {
        env.apply_group(&fixtures::group(
            name,
            side.provider(),
            side.group_type(),
            &format!("name: {name}\n"),
        ))
        .await?;
        env.wait_group(name, WAIT, |g| ready_with(g, "Available"))
            .await?;
    }
    Ok(())
}

/// The lease holder's identity.
async fn lease_holder(env: &Env) -> Option<String> {
    use k8s_openapi::api::coordination::v1::Lease;
    let leases: kube::Api<Lease> = kube::Api::namespaced(env.client.clone(), "default");
    leases
        .get_opt("chatgroup-operator")
        .await
        .ok()??
        .spec?
        .holder_identity
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hourly_count_survives_a_leader_change() -> anyhow::Result<()> {
    use chatgroup_operator::controller::LeaderElection;

    let mut settings = e2e::test_settings();
    settings.max_disbands_per_hour = NonZeroU32::new(1);
    settings.leader_election = Some(LeaderElection {
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(300),
        ..LeaderElection::default()
    });
    let env = Env::without_operator(settings.clone()).await?;
    let replica = |instance: &str| {
        let mut settings = settings.clone();
        settings.instance = instance.into();
        env.start_replica(settings)
    };
    let holds = |who: &'static str| {
        let env = &env;
        async move {
            e2e::eventually(WAIT, || async {
                (lease_holder(env).await.as_deref() == Some(who)).then_some(())
            })
            .await
        }
    };
    let a = replica("replica-a")?;
    holds("replica-a").await?;
    // The standby runs from the start, so anything it counted in memory is from
    // before the first disband.
    let b = replica("replica-b")?;
    let side = Side::Tencent;
    ready_groups(&env, side, &["under-a", "under-b"]).await?;
    env.delete_group("under-a").await?;
    env.wait_gone("under-a", WAIT).await?;
    assert_eq!(env.executed(side, Op::Disband), 1);

    assert!(
        a.stop(WAIT).await,
        "replica-a stops and hands the lease over"
    );
    holds("replica-b").await?;
    env.delete_group("under-b").await?;
    let held = env
        .wait_group("under-b", WAIT, |g| {
            condition(g, "Reconciling").is_some_and(|c| c.1 == "DisbandBudgetExhausted")
        })
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.executed(side, Op::Disband),
        1,
        "the new leader counts the old leader's disband"
    );
    let held = env.groups().get(&held.name_any()).await?;
    assert!(
        held.finalizers()
            .iter()
            .any(|f| f == "im.chatgroup.dev/disband"),
        "finalizer kept"
    );
    let id = group_id(&held).expect("recorded");
    assert!(env.sim_group(side, &id).is_some(), "the group still exists");
    assert_eq!(lease_holder(&env).await.as_deref(), Some("replica-b"));
    drop(b);
    Ok(())
}
