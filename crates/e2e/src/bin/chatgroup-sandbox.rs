//! A sandbox to try the operator by hand with `kubectl`, with no cluster and no IM
//! account: the Kubernetes API simulator, both provider simulators and the operator,
//! with the namespace `chat` holding ChatProviders `tencent` and `netease` (and their
//! Secrets) that point at the simulators, so the ChatGroups of `examples/` work as
//! written. Runs until Ctrl-C, then stops the operator and removes its files.
//!
//! `cargo run --release -p e2e --bin chatgroup-sandbox`

use std::path::PathBuf;

use e2e::{Env, NAMESPACE};

fn sandbox_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("chatgroup-sandbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_instructions(env: &Env, kubeconfig: &std::path::Path) {
    let listing = provider_sim::LISTING_PATH;
    println!(
        "The sandbox is up: a Kubernetes API simulator at {}",
        env.kube.url()
    );
    println!("with the operator running, and ChatProviders `tencent` and `netease` in namespace `{NAMESPACE}`");
    println!("pointing at local Tencent and NetEase simulators.");
    println!();
    println!("In another shell:");
    println!();
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl apply -f examples/tencent/group.yaml -f examples/netease/group.yaml");
    println!("  kubectl get chatgroups -n {NAMESPACE} -w");
    println!("  kubectl wait chatgroup/oncall -n {NAMESPACE} --for=condition=Ready --timeout=60s");
    println!("  kubectl describe chatgroup/oncall -n {NAMESPACE}");
    println!("  kubectl delete -f examples/tencent/group.yaml -f examples/netease/group.yaml");
    println!();
    println!("What the providers hold (read-only):");
    println!();
    println!(
        "  curl -s {}{listing}   # Tencent groups",
        env.tencent.base_url()
    );
    println!(
        "  curl -s {}{listing}   # NetEase teams",
        env.netease.base_url()
    );
    println!();
    println!(
        "Only apply the ChatGroups of examples/: its ChatProviders point at the real services."
    );
    println!("Ctrl-C stops the sandbox.");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("CHATGROUP_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let mut env = Env::start().await?;
    let dir = sandbox_dir()?;
    let kubeconfig = dir.join("kubeconfig");
    env.kube.write_kubeconfig(&kubeconfig)?;
    print_instructions(&env, &kubeconfig);
    tokio::signal::ctrl_c().await?;
    println!("Stopping the sandbox...");
    env.stop_operator().await;
    std::fs::remove_dir_all(&dir)?;
    println!("Stopped.");
    Ok(())
}
