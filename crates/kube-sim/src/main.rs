//! `kube-sim`: run the Kubernetes API simulator on 127.0.0.1.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use clap::Parser;
use kube_sim::{KubeSim, KubeSimConfig};

/// A local simulator of the Kubernetes API server (plain HTTP, 127.0.0.1 only).
#[derive(Parser, Debug)]
#[command(name = "kube-sim", version)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write a kubeconfig pointing at this simulator.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Watch events kept for clients resuming from a resourceVersion.
    #[arg(long, default_value_t = 1000)]
    history_limit: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = KubeSimConfig {
        history_limit: args.history_limit,
    };
    let sim = KubeSim::start_on(args.port, config).await?;
    if let Some(path) = &args.kubeconfig {
        sim.write_kubeconfig(path)?;
    }
    println!("{}", sim.url());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
