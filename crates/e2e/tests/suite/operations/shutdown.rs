//! SIGTERM semantics: an in-flight reconcile finishes before the operator exits, in
//! process and as the real binary.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{ensure, Context as _};
use e2e::{group_id, ready_with, Env, Op, Side};
use provider_sim::{Fault, FaultKind};

use super::support::{free_addr, wait_status};
use super::{manifest, WAIT};

/// The next Tencent create takes 2 s on the provider.
fn slow_create() -> Fault {
    Fault {
        api: Some("create_group".into()),
        kind: FaultKind::Latency(Duration::from_secs(2)),
        probability: 1.0,
        remaining: Some(1),
    }
}

/// Waits until the operator announced a create in status (it sends the call right
/// after), then a little longer so the call is on the wire.
async fn wait_create_in_flight(env: &Env, name: &str) -> anyhow::Result<()> {
    env.wait_group(name, WAIT, |g| {
        g.status
            .as_ref()
            .is_some_and(|s| s.create_pending_since.is_some() && s.group_id.is_none())
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

/// The create finished: one group on the provider, its id in status.groupId.
async fn assert_create_completed(env: &Env, name: &str) -> anyhow::Result<String> {
    let on_provider = env.sim_groups(Side::Tencent);
    assert_eq!(
        on_provider.len(),
        1,
        "the in-flight create reached the provider"
    );
    let group = env.groups().get(name).await?;
    assert_eq!(
        group_id(&group).as_deref(),
        Some(on_provider[0].id.as_str()),
        "status.groupId records the group that was created"
    );
    Ok(on_provider[0].id.clone())
}

#[tokio::test]
async fn stopping_mid_create_finishes_the_create_and_a_restart_does_not_repeat_it(
) -> anyhow::Result<()> {
    let mut env = Env::start().await?;
    env.inject(Side::Tencent, slow_create());
    env.apply_group(&manifest(Side::Tencent, "inflight", ""))
        .await?;
    wait_create_in_flight(&env, "inflight").await?;
    let started = tokio::time::Instant::now();
    env.stop_operator().await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500),
        "the stop waited for the create in flight (it took {took:?})"
    );
    let id = assert_create_completed(&env, "inflight").await?;

    env.start_operator();
    env.wait_group("inflight", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(
        env.tencent.calls_to("create_group").len(),
        1,
        "no second create"
    );
    assert_eq!(env.executed(Side::Tencent, Op::Create), 1);
    assert!(env.sim_group(Side::Tencent, &id).is_some());
    Ok(())
}

/// A fresh scratch directory for this test's kubeconfig and log.
fn scratch_dir() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let dir =
        std::env::temp_dir().join(format!("chatgroup-sigterm-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[tokio::test]
async fn the_binary_finishes_its_create_and_exits_zero_on_sigterm() -> anyhow::Result<()> {
    let binary = e2e::replica::operator_binary().await?;
    let env = Env::without_operator(e2e::test_settings()).await?;
    let dir = scratch_dir()?;
    let kubeconfig = dir.join("kubeconfig");
    env.kube.write_kubeconfig(&kubeconfig)?;
    let log_path = dir.join("operator.log");
    let addr = free_addr()?;
    let mut child = tokio::process::Command::new(&binary)
        .arg("run")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--metrics-addr", &addr.to_string(), "--log", "warn"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path)?)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawn {}", binary.display()))?;
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let pid = child.id().context("the operator's pid")?;
    wait_status(addr, "/readyz", 200, WAIT)
        .await
        .with_context(|| format!("operator log:\n{}", log()))?;

    env.inject(Side::Tencent, slow_create());
    env.apply_group(&manifest(Side::Tencent, "sigterm", ""))
        .await?;
    wait_create_in_flight(&env, "sigterm").await?;
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    ensure!(sent.success(), "kill -TERM {pid} failed");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .with_context(|| format!("no exit within 20 s of SIGTERM; log:\n{}", log()))??;
    assert_eq!(status.code(), Some(0), "exit status; log:\n{}", log());
    assert_create_completed(&env, "sigterm").await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
