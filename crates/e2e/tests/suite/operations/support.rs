//! Shared by the operations tests: free ports, plain HTTP GETs to 127.0.0.1, the
//! official Python Prometheus parser, leases and events.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use e2e::{Env, NAMESPACE};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The namespace of the leader-election Lease.
pub const LEASE_NAMESPACE: &str = "default";

/// A free 127.0.0.1 port: bound on :0, then released for the operator to take.
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// `GET path` on `addr`; the status code and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        anyhow::Ok(String::from_utf8(raw)?)
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| anyhow!("GET {path} on {addr} timed out"))??;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP header end in {raw:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow!("no HTTP status in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// Waits until `GET path` answers `status`.
pub async fn wait_status(
    addr: SocketAddr,
    path: &str,
    status: u16,
    timeout: Duration,
) -> anyhow::Result<()> {
    e2e::eventually(timeout, || async {
        matches!(http_get(addr, path).await, Ok((s, _)) if s == status).then_some(())
    })
    .await
    .with_context(|| format!("GET {path} on {addr} never answered {status}"))
}

/// One metric family as the Python parser reports it.
#[derive(Debug, Deserialize)]
pub struct Family {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Deserialize)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parsed `/metrics` text.
#[derive(Debug)]
pub struct Scrape {
    pub text: String,
    pub families: Vec<Family>,
}

impl Scrape {
    pub fn family(&self, name: &str) -> anyhow::Result<&Family> {
        self.families
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| anyhow!("no metric family {name} in:\n{}", self.text))
    }

    /// The samples called `sample` whose labels include every pair of `labels`.
    pub fn matching(&self, sample: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.families
            .iter()
            .flat_map(|f| &f.samples)
            .filter(|s| s.name == sample)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The sum of the samples [`matching`](Self::matching) the labels (0 when none).
    pub fn sum(&self, sample: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(sample, labels).iter().map(|s| s.value).sum()
    }
}

const PARSE: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = [
    {"name": f.name, "type": f.type,
     "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
    for f in text_string_to_metric_families(sys.stdin.read())
]
print(json.dumps(families))
"#;

fn python() -> PathBuf {
    std::env::var_os("CHATGROUP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Parses OpenMetrics text with the official `prometheus_client` parser.
pub async fn parse_metrics(text: &str) -> anyhow::Result<Vec<Family>> {
    let python = python();
    let mut child = tokio::process::Command::new(&python)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "cannot run {}: run `bash scripts/test.sh` (it installs prometheus-client)",
                python.display()
            )
        })?;
    let mut stdin = child.stdin.take().context("python stdin")?;
    stdin.write_all(text.as_bytes()).await?;
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .context("the Prometheus parser did not finish within 60 s")??;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'prometheus_client") {
        bail!(
            "prometheus_client is not installed for {}: run `bash scripts/test.sh`",
            python.display()
        );
    }
    if !output.status.success() {
        bail!("the official Prometheus parser rejected /metrics: {stderr}\n--- text:\n{text}");
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Fetches `/metrics` and parses it.
pub async fn scrape(addr: SocketAddr) -> anyhow::Result<Scrape> {
    let (status, text) = http_get(addr, "/metrics").await?;
    if status != 200 {
        bail!("/metrics answered {status}: {text}");
    }
    let families = parse_metrics(&text).await?;
    Ok(Scrape { text, families })
}

/// Scrapes until `check` passes; the last scrape, or the last failure after `timeout`.
pub async fn scrape_until(
    addr: SocketAddr,
    timeout: Duration,
    check: impl Fn(&Scrape) -> anyhow::Result<()>,
) -> anyhow::Result<Scrape> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let scrape = scrape(addr).await?;
        match check(&scrape) {
            Ok(()) => return Ok(scrape),
            Err(error) if tokio::time::Instant::now() >= deadline => {
                return Err(error.context(format!("metrics after {timeout:?}:\n{}", scrape.text)))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The identity holding lease `name`, if any.
pub async fn lease_holder(env: &Env, name: &str) -> anyhow::Result<Option<String>> {
    let api: Api<Lease> = Api::namespaced(env.client.clone(), LEASE_NAMESPACE);
    let lease = api.get_opt(name).await?;
    Ok(lease.and_then(|l| l.spec?.holder_identity))
}

/// The `reportingInstance` of every Event with `reason` about ChatGroup `group`.
pub async fn reporters(env: &Env, group: &str, reason: &str) -> anyhow::Result<Vec<String>> {
    let api: Api<Event> = Api::namespaced(env.client.clone(), NAMESPACE);
    let events = api.list(&ListParams::default()).await?;
    Ok(events
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(group))
        .map(|e| e.reporting_instance.unwrap_or_default())
        .collect())
}
