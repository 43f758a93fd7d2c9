#![forbid(unsafe_code)]
//! Wiring only: flags, telemetry, the Kubernetes client and the controllers.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use chatgroup_operator::controller::{self, Settings};
use chatgroup_operator::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "chatgroup-operator",
    version,
    about = "Manages chat groups on Tencent Cloud Chat and NetEase Yunxin IM from ChatGroup objects"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controllers.
    Run(RunArgs),
    /// Print the CustomResourceDefinitions as YAML.
    Crd,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Kubeconfig file; in-cluster config or $KUBECONFIG when unset.
    #[arg(long, env = "CHATGROUP_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// Watch only this namespace (all namespaces when unset).
    #[arg(long, env = "CHATGROUP_NAMESPACE")]
    namespace: Option<String>,
    /// ChatGroups reconciled at once.
    #[arg(long, env = "CHATGROUP_CONCURRENCY", default_value_t = 4)]
    concurrency: u16,
    /// How often groups are read back from the provider to catch drift (e.g. 10m, 30s).
    #[arg(long, env = "CHATGROUP_RESYNC_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    resync_interval: Duration,
    /// Log format.
    #[arg(long, env = "CHATGROUP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, env = "CHATGROUP_LOG", default_value = "info")]
    log: String,
}

async fn client(kubeconfig: Option<PathBuf>) -> anyhow::Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(&path)?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?
        }
        None => Config::infer().await?,
    };
    Ok(Client::try_from(config)?)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing in-flight reconciles");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => print!("{}", chatgroup_operator::api::crds_yaml()),
        Command::Run(args) => {
            telemetry::init(args.log_format, &args.log);
            let settings = Settings {
                namespace: args.namespace,
                concurrency: args.concurrency,
                resync_interval: args.resync_interval,
                instance: std::env::var("HOSTNAME").unwrap_or_else(|_| "chatgroup-operator".into()),
                ..Settings::default()
            };
            let client = client(args.kubeconfig).await?;
            controller::run(client, settings, shutdown_signal()).await?;
        }
    }
    Ok(())
}
