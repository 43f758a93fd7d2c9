//! Leader election between two replicas sharing one Lease: only the holder
//! reconciles, a crashed holder is replaced within the lease duration, a stopped one
//! hands the lease back at once, and no group is ever disbanded twice.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use chatgroup_operator::controller::{LeaderElection, Settings};
use e2e::replica::Replica;
use e2e::{ready_with, Env, Side};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams};

use super::support::{free_addr, lease_holder, reporters, scrape, wait_status, LEASE_NAMESPACE};
use super::{manifest, WAIT};

const LEASE: Duration = Duration::from_secs(3);
const LEASE_NAME: &str = "chatgroup-operator";
/// How long a handover may take past the lease duration on a busy machine.
const SLACK: Duration = Duration::from_secs(5);

struct Started {
    replica: Replica,
    metrics: SocketAddr,
}

fn start(env: &Env, instance: &str) -> anyhow::Result<Started> {
    let metrics = free_addr()?;
    let settings = Settings {
        instance: instance.into(),
        metrics_addr: Some(metrics),
        leader_election: Some(LeaderElection {
            lease_name: LEASE_NAME.into(),
            lease_namespace: LEASE_NAMESPACE.into(),
            lease_duration: LEASE,
            renew_deadline: Duration::from_secs(2),
            retry_period: Duration::from_millis(500),
        }),
        ..e2e::test_settings()
    };
    let replica = env.start_replica(settings)?;
    Ok(Started { replica, metrics })
}

async fn wait_holder(env: &Env, who: &str, timeout: Duration) -> anyhow::Result<()> {
    e2e::eventually(timeout, || async {
        (lease_holder(env, LEASE_NAME).await.ok()?.as_deref() == Some(who)).then_some(())
    })
    .await
    .with_context(|| format!("{who} did not get lease {LEASE_NAME}"))
}

/// Two replicas, `replica-a` holding the lease and `replica-b` standing by (ready).
async fn pair(env: &Env) -> anyhow::Result<(Started, Started)> {
    let a = start(env, "replica-a")?;
    wait_holder(env, "replica-a", WAIT).await?;
    let b = start(env, "replica-b")?;
    wait_status(b.metrics, "/readyz", 200, WAIT)
        .await
        .context("a standby replica is ready")?;
    Ok((a, b))
}

async fn create_ready(env: &Env, name: &str) -> anyhow::Result<()> {
    env.apply_group(&manifest(Side::Tencent, name, "")).await?;
    env.wait_group(name, WAIT, |g| ready_with(g, "Available"))
        .await?;
    Ok(())
}

/// Executed Tencent calls of `api` per GroupId.
fn per_group(env: &Env, api: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for call in env.tencent.calls_to(api).into_iter().filter(|c| c.executed) {
        let id = call.body["GroupId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *counts.entry(id).or_default() += 1;
    }
    counts
}

/// The standby made no provider call and ran no reconcile.
async fn assert_idle(standby: &Started) -> anyhow::Result<()> {
    let metrics = scrape(standby.metrics).await?;
    assert_eq!(
        metrics.sum("chatgroup_provider_calls_total", &[]),
        0.0,
        "the standby called a provider"
    );
    assert_eq!(
        metrics.sum("chatgroup_reconciles_total", &[]),
        0.0,
        "the standby reconciled"
    );
    Ok(())
}

#[tokio::test]
async fn only_the_holder_reconciles_and_a_killed_holder_is_replaced_within_the_lease(
) -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let (a, b) = pair(&env).await?;
    create_ready(&env, "led-1").await?;
    assert_eq!(reporters(&env, "led-1", "Created").await?, ["replica-a"]);
    assert_idle(&b).await?;
    let leader = scrape(a.metrics).await?;
    assert!(leader.sum("chatgroup_provider_calls_total", &[]) > 0.0);

    let killed_at = tokio::time::Instant::now();
    a.replica.kill().await;
    assert_eq!(
        lease_holder(&env, LEASE_NAME).await?.as_deref(),
        Some("replica-a"),
        "a crashed replica does not release the lease"
    );
    env.apply_group(&manifest(Side::Tencent, "led-2", ""))
        .await?;
    wait_holder(&env, "replica-b", LEASE + SLACK).await?;
    let handover = killed_at.elapsed();
    assert!(handover <= LEASE + SLACK, "handover took {handover:?}");
    env.wait_group("led-2", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(reporters(&env, "led-2", "Created").await?, ["replica-b"]);

    for name in ["led-1", "led-2"] {
        env.delete_group(name).await?;
    }
    for name in ["led-1", "led-2"] {
        env.wait_gone(name, WAIT).await?;
    }
    let creates = per_group(&env, "create_group");
    let disbands = per_group(&env, "destroy_group");
    assert_eq!(creates.len(), 2, "two groups created: {creates:?}");
    assert!(
        creates.values().all(|n| *n == 1),
        "created twice: {creates:?}"
    );
    assert_eq!(
        disbands.keys().collect::<Vec<_>>(),
        creates.keys().collect::<Vec<_>>()
    );
    assert!(
        disbands.values().all(|n| *n == 1),
        "disbanded twice: {disbands:?}"
    );
    assert!(b.replica.stop(WAIT).await, "replica-b stops");
    Ok(())
}

#[tokio::test]
async fn a_stopped_holder_releases_the_lease_and_the_standby_takes_over() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let (a, b) = pair(&env).await?;
    create_ready(&env, "handover-1").await?;
    assert_idle(&b).await?;

    let stopped_at = tokio::time::Instant::now();
    assert!(a.replica.stop(WAIT).await, "replica-a stops gracefully");
    let holder = lease_holder(&env, LEASE_NAME).await?;
    assert_ne!(
        holder.as_deref(),
        Some("replica-a"),
        "a stopped replica hands the lease back"
    );
    wait_holder(&env, "replica-b", LEASE + SLACK).await?;
    let handover = stopped_at.elapsed();
    assert!(handover <= LEASE + SLACK, "handover took {handover:?}");
    create_ready(&env, "handover-2").await?;
    assert_eq!(
        reporters(&env, "handover-2", "Created").await?,
        ["replica-b"]
    );
    assert_eq!(
        reporters(&env, "handover-1", "Created").await?,
        ["replica-a"]
    );
    assert!(b.replica.stop(WAIT).await, "replica-b stops");
    Ok(())
}

/// The lease manager relies on the API server refusing an apply that takes
/// `holderIdentity` from another field manager: that is what keeps two replicas
/// racing for a free lease from both believing they won.
#[tokio::test]
async fn a_competing_lock_attempt_is_refused_while_the_lease_is_held() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let a = start(&env, "replica-a")?;
    wait_holder(&env, "replica-a", WAIT).await?;
    let leases: Api<Lease> = Api::namespaced(env.client.clone(), LEASE_NAMESPACE);
    let grab = serde_json::json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "spec": {"holderIdentity": "intruder", "leaseDurationSeconds": 3},
    });
    let params = PatchParams::apply("kube-lease-manager-intruder");
    let refused = leases
        .patch(LEASE_NAME, &params, &Patch::Apply(&grab))
        .await;
    match refused {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 409, "{status:?}"),
        other => panic!("a competing apply of holderIdentity was not refused: {other:?}"),
    }
    assert_eq!(
        lease_holder(&env, LEASE_NAME).await?.as_deref(),
        Some("replica-a")
    );
    create_ready(&env, "held").await?;
    assert_eq!(reporters(&env, "held", "Created").await?, ["replica-a"]);
    assert!(a.replica.stop(WAIT).await, "replica-a stops");
    Ok(())
}
