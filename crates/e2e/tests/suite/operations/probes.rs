//! `/healthz` and `/readyz` as the kubelet sees them.

use std::time::Duration;

use e2e::{ready_with, Env, Side};

use super::support::{free_addr, http_get, wait_status};
use super::{manifest, WAIT};

#[tokio::test]
async fn healthz_answers_at_once_and_readyz_waits_for_the_first_list() -> anyhow::Result<()> {
    let addr = free_addr()?;
    let mut settings = e2e::test_settings();
    settings.metrics_addr = Some(addr);
    let mut env = Env::without_operator(settings).await?;
    // A slow API server stretches the first list, so "not ready yet" can be seen.
    env.kube.faults().latency(Some(Duration::from_secs(3)));
    env.start_operator();
    let (health, body) =
        e2e::eventually(WAIT, || async { http_get(addr, "/healthz").await.ok() }).await?;
    let (ready, why) = http_get(addr, "/readyz").await?;
    assert_eq!((health, body.as_str()), (200, "ok"), "/healthz");
    assert_eq!(ready, 503, "/readyz before the first list: {why}");
    assert!(why.contains("first list"), "{why}");

    wait_status(addr, "/readyz", 200, WAIT).await?;
    assert_eq!(http_get(addr, "/healthz").await?.0, 200);

    // Ready means working: a group applied now is reconciled.
    env.kube.faults().latency(None);
    env.apply_group(&manifest(Side::Tencent, "probed", ""))
        .await?;
    env.wait_group("probed", WAIT, |g| ready_with(g, "Available"))
        .await?;
    Ok(())
}
