//! Running Helm (through the helm-sdkpy driver) against a fresh Kubernetes API
//! simulator, and small helpers the chart tests share.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use k8s_openapi::api::core::v1::{EnvVar, Namespace};
use kube::api::{Api, PostParams};
use kube::Client;
use kube_sim::KubeSim;
use serde_json::{json, Value};

pub const RELEASE: &str = "cgo";
pub const RELEASE_NS: &str = "chatgroup-system";
/// The release's full name: `<release>-<chart>`.
pub const FULLNAME: &str = "cgo-chatgroup-operator";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn chart_dir() -> PathBuf {
    workspace().join("charts/chatgroup-operator")
}

pub fn python() -> PathBuf {
    std::env::var_os("CHATGROUP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

/// Runs the Helm driver; `Ok(result)` or `Err(Helm's error message)`.
pub async fn helm(args: &[&str]) -> Result<Value, String> {
    let driver = chart_dir().join("tests/helm_driver.py");
    let run = tokio::process::Command::new(python())
        .arg(&driver)
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("helm driver finishes within 120 s")
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); run scripts/install-test-tools.sh",
                python().display()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reply: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "helm driver printed no JSON ({e}): {stdout}\nstderr: {}\n(is helm-sdkpy installed? run scripts/install-test-tools.sh)",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    match reply["ok"].as_bool() {
        Some(true) => Ok(reply["result"].clone()),
        _ => Err(reply["error"]
            .as_str()
            .unwrap_or("no error text")
            .to_string()),
    }
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("chatgroup-helm-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A simulator with the chart installed by Helm (waiting off).
pub struct Installed {
    pub sim: KubeSim,
    pub client: Client,
    _dir: TempDir,
}

pub async fn start_sim() -> (KubeSim, Client, TempDir) {
    let sim = KubeSim::start().await.expect("start kube-sim");
    let dir = TempDir::new("kube");
    sim.write_kubeconfig(&dir.0.join("kubeconfig"))
        .expect("kubeconfig");
    let config = kube::Config::new(sim.url().parse().expect("sim url"));
    let client = Client::try_from(config).expect("client");
    (sim, client, dir)
}

pub async fn helm_install(dir: &TempDir, values: Value) -> Result<Value, String> {
    let kubeconfig = dir.0.join("kubeconfig");
    let chart = chart_dir();
    let values = values.to_string();
    helm(&[
        "install",
        chart.to_str().expect("utf-8 path"),
        "--kubeconfig",
        kubeconfig.to_str().expect("utf-8 path"),
        "--namespace",
        RELEASE_NS,
        "--release",
        RELEASE,
        "--values",
        &values,
    ])
    .await
}

pub async fn install(values: Value) -> Installed {
    let (sim, client, dir) = start_sim().await;
    let release = helm_install(&dir, values).await.expect("helm install");
    assert_eq!(release["status"], "deployed", "{release}");
    Installed {
        sim,
        client,
        _dir: dir,
    }
}

pub async fn create_namespace(client: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read chart dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn container_env(env: &Option<Vec<EnvVar>>) -> BTreeMap<String, String> {
    let fixed = env
        .iter()
        .flatten()
        .filter_map(|e| Some((e.name.clone(), e.value.clone()?)));
    let downward = env.iter().flatten().filter_map(|e| {
        let field = e.value_from.as_ref()?.field_ref.as_ref()?;
        Some((e.name.clone(), format!("fieldRef:{}", field.field_path)))
    });
    fixed.chain(downward).collect()
}

/// Parses every document of a CRD YAML stream, keyed by name.
pub fn crds_in(yaml: &str) -> BTreeMap<String, Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| {
            let crd: Value = serde::Deserialize::deserialize(doc).expect("CRD YAML");
            (
                crd["metadata"]["name"].as_str().expect("name").to_string(),
                crd,
            )
        })
        .collect()
}
