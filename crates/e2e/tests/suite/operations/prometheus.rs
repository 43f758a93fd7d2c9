//! A real Prometheus (Debian's package) on loopback loads the shipped alert rules,
//! scrapes the operator while a deletion is blocked, and raises the stuck-deletion
//! alert. The shipped threshold is 30 minutes; the copy loaded here lowers only that
//! number, so the alert goes pending within seconds (its `for: 5m` keeps it there).
//! The same Prometheus accepts every query of the shipped Grafana dashboard.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{ensure, Context as _};
use e2e::{group_id, ready_with, Env, Op, Side};
use provider_sim::{Fault, FaultKind};

use super::support::{free_addr, http_get, wait_status, workspace};
use super::{manifest, WAIT};

/// Stops Prometheus when the test ends, however it ends.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_prometheus(
    dir: &Path,
    web: std::net::SocketAddr,
    target: std::net::SocketAddr,
) -> anyhow::Result<Prometheus> {
    let shipped =
        std::fs::read_to_string(workspace().join("charts/chatgroup-operator/files/alerts.yaml"))?;
    let threshold = "max(chatgroup_oldest_deletion_seconds) > 1800";
    ensure!(
        shipped.contains(threshold),
        "the shipped stuck-deletion rule changed"
    );
    let rules = shipped.replace(threshold, "max(chatgroup_oldest_deletion_seconds) > 1");
    std::fs::write(dir.join("alerts.yaml"), rules)?;
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - alerts.yaml\nscrape_configs:\n  - job_name: chatgroup-operator\n    static_configs:\n      - targets: ['{target}']\n"
    );
    std::fs::write(dir.join("prometheus.yml"), config)?;
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("prometheus runs (scripts/install-test-tools.sh installs Debian's prometheus)")?;
    Ok(Prometheus(child))
}

/// The state of `alert` in Prometheus's `/api/v1/alerts`, if it is there.
async fn alert_state(web: std::net::SocketAddr, alert: &str) -> Option<String> {
    let (status, body) = http_get(web, "/api/v1/alerts").await.ok()?;
    if status != 200 {
        return None;
    }
    let answer: serde_json::Value = serde_json::from_str(&body).ok()?;
    answer["data"]["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == alert)
        .and_then(|a| a["state"].as_str().map(str::to_string))
}

#[tokio::test]
async fn prometheus_raises_the_stuck_deletion_alert_from_the_shipped_rules() -> anyhow::Result<()> {
    let metrics = free_addr()?;
    let mut settings = e2e::test_settings();
    settings.metrics_addr = Some(metrics);
    let env = Env::start_with(settings).await?;
    let side = Side::Tencent;
    env.apply_group(&manifest(side, "stuck", "")).await?;
    let id = group_id(
        &env.wait_group("stuck", WAIT, |g| ready_with(g, "Available"))
            .await?,
    )
    .context("recorded")?;
    // No permission to disband: the finalizer stays.
    env.inject(
        side,
        Fault::always(
            Some(Env::api_name(side, Op::Disband).as_str()),
            FaultKind::Code(10007),
        ),
    );
    env.delete_group("stuck").await?;

    let dir = tempfile_dir()?;
    let web = free_addr()?;
    let _prometheus = start_prometheus(&dir, web, metrics)?;
    wait_status(web, "/-/ready", 200, WAIT).await?;
    let state = e2e::eventually(WAIT, || async {
        alert_state(web, "ChatGroupDeletionStuck").await
    })
    .await
    .context("Prometheus never raised ChatGroupDeletionStuck")?;
    ensure!(state == "pending" || state == "firing", "state {state}");
    ensure!(env.sim_group(side, &id).is_some(), "the group is kept");
    // A healthy operator raises nothing else. A rule evaluated before the first
    // scrape sees no series at all and may show as pending until the next
    // evaluation: what counts is that it clears.
    for quiet in ["ChatGroupOperatorAbsent", "ChatGroupNoLeader"] {
        e2e::eventually(WAIT, || async {
            alert_state(web, quiet).await.is_none().then_some(())
        })
        .await
        .with_context(|| format!("{quiet} stays raised"))?;
    }
    // Every dashboard query is one Prometheus accepts.
    let dashboard = std::fs::read_to_string(
        workspace().join("charts/chatgroup-operator/files/dashboard.json"),
    )?;
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard)?;
    for panel in dashboard["panels"].as_array().context("panels")? {
        for target in panel["targets"].as_array().context("targets")? {
            let expr = target["expr"].as_str().context("expr")?;
            let (status, body) = http_get(
                web,
                &format!("/api/v1/query?query={}", percent_encoded(expr)),
            )
            .await?;
            ensure!(
                status == 200 && body.contains("\"success\""),
                "{expr}: {status} {body}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("chatgroup-prometheus-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `text` with every byte but ASCII letters and digits percent-encoded, for a query.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
