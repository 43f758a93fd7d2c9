//! Real kubectl against the simulator: apply (client- and server-side), get
//! (tables and YAML), patch, delete, wait, get -w, explain, and the binary.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{widget_crd, with_widgets, Raw, WIDGETS};
use kube_sim::KubeSim;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const WIDGET_YAML: &str = "apiVersion: test.kube-sim.dev/v1
kind: Widget
metadata:
  name: w1
spec:
  size: 3
  color: red
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: \"1\"
";

fn kubectl_path() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("kubectl"))
            .find(|p| p.is_file())
    });
    let found = on_path.or_else(|| Some(PathBuf::from("/usr/bin/kubectl")).filter(|p| p.is_file()));
    found.expect("kubectl is not installed: run `bash scripts/test.sh`, which installs it")
}

/// A kubeconfig for `sim` in a fresh directory, plus that directory.
struct Kube {
    dir: PathBuf,
    config: PathBuf,
}

impl Kube {
    fn new(sim: &KubeSim) -> Kube {
        let dir = std::env::temp_dir().join(format!("kube-sim-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("kubeconfig");
        sim.write_kubeconfig(&config).unwrap();
        Kube { dir, config }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(kubectl_path());
        c.args(args)
            .env("KUBECONFIG", &self.config)
            .env("HOME", &self.dir)
            .kill_on_drop(true)
            .stdin(Stdio::null());
        c
    }

    /// Runs kubectl to completion (bounded); returns (success, stdout, stderr).
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::time::timeout(Duration::from_secs(60), self.cmd(args).output())
            .await
            .expect("kubectl finishes within 60 s")
            .expect("kubectl runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(ok, "kubectl {args:?} failed: {err}\n{out}");
        out
    }
}

impl Drop for Kube {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn crd_yaml() -> String {
    serde_json::to_string_pretty(&widget_crd()).unwrap()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_get_patch_and_delete_work_with_kubectl() {
    let sim = KubeSim::start().await.unwrap();
    let k = Kube::new(&sim);
    let crd = k.file("crd.json", &crd_yaml());
    let objs = k.file("objs.yaml", WIDGET_YAML);
    let out = k.ok(&["apply", "-f", path_str(&crd)]).await;
    assert!(
        out.contains(
            "customresourcedefinition.apiextensions.k8s.io/widgets.test.kube-sim.dev created"
        ),
        "{out}"
    );
    let out = k.ok(&["apply", "-f", path_str(&objs)]).await;
    assert!(
        out.contains("widget.test.kube-sim.dev/w1 created")
            && out.contains("configmap/cfg created"),
        "{out}"
    );

    let table = k.ok(&["get", "widgets"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "READY", "AGE"]);
    assert!(table.lines().nth(1).unwrap().starts_with("w1"), "{table}");
    assert!(table.contains("  3  "), "{table}");
    let yaml = k.ok(&["get", "wd", "w1", "-o", "yaml"]).await;
    assert!(yaml.contains("size: 3") && yaml.contains("uid:"), "{yaml}");

    let applied = WIDGET_YAML.replace("size: 3", "size: 5");
    let objs2 = k.file("objs2.yaml", &applied);
    k.ok(&["apply", "-f", path_str(&objs2)]).await;
    let w = sim
        .object("test.kube-sim.dev", "v1", "widgets", Some("default"), "w1")
        .unwrap();
    assert_eq!(w["spec"]["size"], 5, "client-side apply patched the object");

    let ssa = applied.replace("size: 5", "size: 6");
    let objs3 = k.file("objs3.yaml", &ssa);
    let out = k
        .ok(&["apply", "--server-side", "-f", path_str(&objs3)])
        .await;
    assert!(out.contains("serverside-applied"), "{out}");
    let w = sim
        .object("test.kube-sim.dev", "v1", "widgets", Some("default"), "w1")
        .unwrap();
    assert_eq!(w["spec"]["size"], 6);
    assert!(sim
        .requests()
        .iter()
        .any(|r| r.verb == "patch" && r.field_manager.as_deref() == Some("kubectl")));

    k.ok(&[
        "patch",
        "wd",
        "w1",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"color":"blue"}}"#,
    ])
    .await;
    let w = sim
        .object("test.kube-sim.dev", "v1", "widgets", Some("default"), "w1")
        .unwrap();
    assert_eq!(w["spec"]["color"], "blue");

    let cm = k.ok(&["get", "configmap", "cfg", "-o", "yaml"]).await;
    assert!(cm.contains("a: \"1\""), "{cm}");
    k.ok(&["delete", "wd", "w1"]).await;
    assert!(sim
        .object("test.kube-sim.dev", "v1", "widgets", Some("default"), "w1")
        .is_none());
    let (ok, _, err) = k.run(&["get", "wd", "w1"]).await;
    assert!(!ok && err.contains("NotFound"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_wait_returns_when_the_status_condition_is_set() {
    let (sim, raw) = with_widgets().await;
    let k = Kube::new(&sim);
    raw.post(WIDGETS, &common::widget("w1", 1)).await;
    let waiter = k
        .cmd(&[
            "wait",
            "--for=condition=Ready",
            "widget/w1",
            "--timeout=30s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    assert_eq!(
        raw.merge(&format!("{WIDGETS}/w1/status"), &status)
            .await
            .code,
        200
    );
    let out = tokio::time::timeout(Duration::from_secs(30), waiter.wait_with_output())
        .await
        .expect("kubectl wait returns")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("widget.test.kube-sim.dev/w1 condition met"),
        "{stdout}"
    );
    let table = k.ok(&["get", "wd"]).await;
    assert!(
        table.lines().nth(1).unwrap().contains("True"),
        "READY column: {table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_watch_prints_changes() {
    let (sim, raw) = with_widgets().await;
    let k = Kube::new(&sim);
    raw.post(WIDGETS, &common::widget("w1", 1)).await;
    let mut child = k
        .cmd(&["get", "wd", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await
            .expect("a line within 15 s")
            .unwrap()
            .unwrap_or_default()
    };
    assert!(next().await.starts_with("NAME"));
    assert!(next().await.starts_with("w1"));
    raw.merge(&format!("{WIDGETS}/w1"), &json!({"spec": {"size": 42}}))
        .await;
    let changed = next().await;
    assert!(
        changed.starts_with("w1") && changed.contains("42"),
        "{changed}"
    );
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_shows_the_schema_descriptions() {
    let (sim, _raw) = with_widgets().await;
    let k = Kube::new(&sim);
    let out = k.ok(&["explain", "widget.spec"]).await;
    assert!(out.contains("What the widget should be."), "{out}");
    assert!(
        out.contains("size") && out.contains("How big the widget is."),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reports_unknown_fields_and_invalid_names_like_the_real_server() {
    let (sim, _raw) = with_widgets().await;
    let k = Kube::new(&sim);
    let bad = k.file("bad.yaml", "apiVersion: test.kube-sim.dev/v1\nkind: Widget\nmetadata:\n  name: w2\nspec:\n  bogus: 1\n");
    let (ok, _, err) = k.run(&["apply", "-f", path_str(&bad)]).await;
    assert!(!ok);
    assert!(
        err.contains("strict decoding error: unknown field \"spec.bogus\""),
        "{err}"
    );
    let bad_name = k.file(
        "name.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n",
    );
    let (ok, _, err) = k.run(&["create", "-f", path_str(&bad_name)]).await;
    assert!(!ok);
    assert!(
        err.contains("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_binary_serves_kubectl() {
    let dir = std::env::temp_dir().join(format!("kube-sim-bin-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .args(["--port", "0", "--kubeconfig", path_str(&config)])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("the binary prints its URL")
        .unwrap()
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let out = Command::new(kubectl_path())
        .args(["get", "namespaces", "-o", "name"])
        .env("KUBECONFIG", &config)
        .output()
        .await
        .unwrap();
    let names = String::from_utf8_lossy(&out.stdout);
    assert!(
        names.contains("namespace/default") && names.contains("namespace/kube-system"),
        "{names}"
    );
    let raw = Raw {
        base: url,
        http: reqwest::Client::new(),
    };
    assert_eq!(raw.get("/version").await.code, 200);
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_generators_send_protobuf_that_is_understood() {
    let sim = KubeSim::start().await.unwrap();
    let k = Kube::new(&sim);
    k.ok(&["create", "namespace", "team"]).await;
    k.ok(&[
        "create",
        "configmap",
        "cfg",
        "-n",
        "team",
        "--from-literal=a=b",
    ])
    .await;
    k.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        "team",
        "--from-literal=key=value",
    ])
    .await;
    k.ok(&[
        "create",
        "role",
        "reader",
        "-n",
        "team",
        "--verb=get",
        "--resource=configmaps",
    ])
    .await;
    let cm = sim
        .object("", "v1", "configmaps", Some("team"), "cfg")
        .unwrap();
    assert_eq!(cm["data"], json!({"a": "b"}));
    let secret = sim
        .object("", "v1", "secrets", Some("team"), "creds")
        .unwrap();
    assert_eq!(secret["data"], json!({"key": "dmFsdWU="}));
    assert_eq!(secret["type"], "Opaque");
    let role = sim
        .object(
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            Some("team"),
            "reader",
        )
        .unwrap();
    assert_eq!(role["rules"][0]["verbs"], json!(["get"]));
    let listed = k.ok(&["get", "configmaps", "-A"]).await;
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("team") && l.contains("cfg")),
        "{listed}"
    );
    k.ok(&["delete", "namespace", "team"]).await;
    assert!(sim.object("", "v1", "namespaces", None, "team").is_none());
}
