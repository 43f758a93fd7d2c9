//! The user's workflow with real kubectl: apply the examples, wait for Ready, read
//! the printer columns, delete.

use std::path::PathBuf;
use std::process::Command;

use e2e::{Env, Op, Side};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

struct Kubectl {
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn new(env: &Env, tag: &str) -> Self {
        let kubeconfig = std::env::temp_dir().join(format!(
            "chatgroup-e2e-{tag}-{}.kubeconfig",
            std::process::id()
        ));
        env.kube
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        Kubectl { kubeconfig }
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl runs (install it with `bash scripts/test.sh`)");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed:\n{stdout}\n{stderr}"
        );
        stdout
    }
}

impl Drop for Kubectl {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_apply_wait_ready_and_delete_with_kubectl() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let kubectl = Kubectl::new(&env, "examples");
    let tencent = examples().join("tencent/group.yaml");
    let netease = examples().join("netease/group.yaml");
    let (tencent, netease) = (tencent.to_str().unwrap(), netease.to_str().unwrap());

    let out = tokio::task::block_in_place(|| kubectl.run(&["apply", "-f", tencent, "-f", netease]));
    assert!(
        out.contains("chatgroup.im.chatgroup.dev/oncall created"),
        "{out}"
    );
    let out = tokio::task::block_in_place(|| {
        kubectl.run(&[
            "wait",
            "--for=condition=Ready",
            "chatgroup",
            "--all",
            "-n",
            "chat",
            "--timeout=60s",
        ])
    });
    assert_eq!(out.lines().count(), 3, "{out}");

    let table = tokio::task::block_in_place(|| kubectl.run(&["get", "cg", "-n", "chat"]));
    let header = table.lines().next().unwrap_or_default();
    for column in ["NAME", "PROVIDER", "GROUP ID", "STATE", "READY", "AGE"] {
        assert!(header.contains(column), "missing column {column}: {table}");
    }
    assert!(table.contains("company-announcements"), "{table}");
    assert_eq!(env.sim_groups(Side::Tencent).len(), 2);
    assert_eq!(env.sim_groups(Side::Netease).len(), 1);

    tokio::task::block_in_place(|| {
        kubectl.run(&["delete", "-f", tencent, "-f", netease, "--timeout=60s"])
    });
    let left =
        tokio::task::block_in_place(|| kubectl.run(&["get", "cg", "-n", "chat", "-o", "name"]));
    assert!(left.trim().is_empty(), "{left}");
    let tencent_left: Vec<String> = env
        .sim_groups(Side::Tencent)
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(
        tencent_left,
        vec!["company-announcements".to_string()],
        "Orphan kept, Delete disbanded"
    );
    assert!(env.sim_groups(Side::Netease).is_empty());
    assert_eq!(env.executed(Side::Tencent, Op::Disband), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_examples_are_accepted_by_the_schema() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let kubectl = Kubectl::new(&env, "providers");
    // The examples declare the same names as the harness's providers, with other settings.
    tokio::task::block_in_place(|| kubectl.run(&["delete", "chatprovider", "--all", "-n", "chat"]));
    for file in ["tencent/provider.yaml", "netease/provider.yaml"] {
        let path = examples().join(file);
        let out =
            tokio::task::block_in_place(|| kubectl.run(&["apply", "-f", path.to_str().unwrap()]));
        assert!(out.contains("chatprovider.im.chatgroup.dev/"), "{out}");
    }
    Ok(())
}
