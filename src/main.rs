#![forbid(unsafe_code)]
//! Wiring only: flags, telemetry, the Kubernetes client and the controllers.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use anyhow::Context as _;
use chatgroup_operator::controller::shard::Shard;
use chatgroup_operator::controller::{self, LeaderElection, Settings};
use chatgroup_operator::http;
use chatgroup_operator::telemetry::{self, LogFormat};
use futures::FutureExt;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// jemalloc: about a fifth less CPU per group than the system allocator (most of the
/// work is small short-lived allocations for HTTP and JSON) and less memory held.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    Run(Box<RunArgs>),
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
    /// The most ChatGroups reconciled at once (1-4096): a ceiling; each app's rate
    /// budget sets the pace below it.
    #[arg(long, env = "CHATGROUP_CONCURRENCY", default_value_t = 64)]
    concurrency: u16,
    /// How often groups are read back from the provider to catch drift (e.g. 10m, 30s).
    #[arg(long, env = "CHATGROUP_RESYNC_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    resync_interval: Duration,
    /// Address of the /metrics, /healthz and /readyz endpoints.
    #[arg(long, env = "CHATGROUP_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: std::net::SocketAddr,
    /// Reconcile only while holding a Lease, so replicas can run side by side.
    #[arg(long, env = "CHATGROUP_LEADER_ELECT", default_value_t = false)]
    leader_elect: bool,
    /// Name of the Lease used for leader election.
    #[arg(
        long,
        env = "CHATGROUP_LEASE_NAME",
        default_value = "chatgroup-operator"
    )]
    lease_name: String,
    /// Namespace of the Lease (in a pod: its own namespace, from the downward API).
    #[arg(long, env = "CHATGROUP_LEASE_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// How long a lease holds without renewal; a dead leader is replaced within it.
    #[arg(long, env = "CHATGROUP_LEASE_DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    lease_duration: Duration,
    /// The leader starts no provider write later than this after its last successful
    /// Lease renewal was sent; shorter than --lease-duration by at least the longest
    /// provider call plus the clock skew allowed between replicas.
    #[arg(long, env = "CHATGROUP_LEASE_RENEW_DEADLINE", default_value = "10s", value_parser = humantime::parse_duration)]
    lease_renew_deadline: Duration,
    /// How often the leader renews its Lease, and a standby retries to take it.
    #[arg(long, env = "CHATGROUP_LEASE_RETRY_PERIOD", default_value = "2s", value_parser = humantime::parse_duration)]
    lease_retry_period: Duration,
    /// The longest a reconcile may run before it is cancelled and retried.
    #[arg(long, env = "CHATGROUP_RECONCILE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    reconcile_timeout: Duration,
    /// Blast-radius guard: at most this many disbands per hour; further disbands wait
    /// (finalizers kept, reported in conditions and Events). 0 means unlimited.
    #[arg(long, env = "CHATGROUP_MAX_DISBANDS_PER_HOUR", default_value_t = 0)]
    max_disbands_per_hour: u32,
    /// How late a create may still take effect after it was sent (lost-create recovery
    /// waits this long before re-creating or giving up).
    #[arg(long, env = "CHATGROUP_LATE_CREATE_BOUND", default_value = "2m", value_parser = humantime::parse_duration)]
    late_create_bound: Duration,
    /// How long credentials read from a Secret serve before the Secret is read again;
    /// a rotation is picked up within it, and an authentication failure reads it at once.
    #[arg(long, env = "CHATGROUP_SECRET_REFRESH", default_value = "60s", value_parser = humantime::parse_duration)]
    secret_refresh: Duration,
    /// The longest wait between retries of a deletion stopped by a terminal error (a
    /// permission or key fixed outside the object is picked up within it).
    #[arg(long, env = "CHATGROUP_MAX_DELETION_BACKOFF", default_value = "15m", value_parser = humantime::parse_duration)]
    max_deletion_backoff: Duration,
    /// Namespace where the operator keeps its disband ledger (a ConfigMap): its own.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    state_namespace: String,
    /// Name this replica reports in Events and holds the lease under (the pod name).
    #[arg(long, env = "HOSTNAME", default_value = "chatgroup-operator")]
    instance: String,
    /// This replica's shard, from 0 to --total-shards - 1. Unset with more than one
    /// shard: the ordinal at the end of the pod name (a StatefulSet's pods).
    #[arg(long, env = "CHATGROUP_SHARD")]
    shard: Option<u32>,
    /// How many shards split the apps between them (1-1024); each shard handles the
    /// apps that hash to it, with its own leader election.
    #[arg(long, env = "CHATGROUP_TOTAL_SHARDS", default_value_t = 1)]
    total_shards: u32,
    /// Threads that run the controllers (1-64). One suits the work, which waits on the
    /// network: it spares the CPU that threads handing tasks to each other cost, and
    /// handles a few hundred groups per second; more only when one core is the limit.
    #[arg(long, env = "CHATGROUP_WORKER_THREADS", default_value_t = 1, value_parser = worker_threads)]
    worker_threads: u16,
    /// Log format.
    #[arg(long, env = "CHATGROUP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, env = "CHATGROUP_LOG", default_value = "info")]
    log: String,
}

fn worker_threads(value: &str) -> Result<u16, String> {
    const ALLOWED: &str = "allowed: 1 to 64";
    match value.parse::<u16>() {
        Ok(threads @ 1..=64) => Ok(threads),
        Ok(threads) => Err(format!("{threads} threads; {ALLOWED}")),
        Err(_) => Err(format!("not a whole number; {ALLOWED}")),
    }
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

/// The operator with its endpoints: `/metrics` from the registry it registers in,
/// `/healthz`, and `/readyz` from its ready flag.
async fn run(client: Client, settings: Settings) -> anyhow::Result<()> {
    let shutdown = shutdown_signal().shared();
    let mut registry = Registry::default();
    let addr = settings.metrics_addr;
    let operator = controller::Operator::new(client, settings, &mut registry).await?;
    if let Some(addr) = addr {
        let ready = operator.ready();
        let bound = http::serve(addr, Arc::new(registry), ready, shutdown.clone())
            .await
            .with_context(|| format!("serve the endpoints on {addr}"))?;
        tracing::info!(%bound, "serving /metrics, /healthz and /readyz");
    }
    operator.run(shutdown).await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => print!("{}", chatgroup_operator::api::crds_yaml()),
        Command::Run(args) => {
            let runtime = match args.worker_threads {
                1 => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build(),
                threads => tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(usize::from(threads))
                    .enable_all()
                    .build(),
            }
            .context("start the async runtime")?;
            runtime.block_on(run_args(*args))?;
        }
    }
    Ok(())
}

async fn run_args(args: RunArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format, &args.log);
    let shard = Shard::from_flags(args.shard, args.total_shards, &args.instance)?;
    let settings = Settings {
        namespace: args.namespace,
        concurrency: args.concurrency,
        resync_interval: args.resync_interval,
        instance: args.instance,
        metrics_addr: Some(args.metrics_addr),
        max_disbands_per_hour: std::num::NonZeroU32::new(args.max_disbands_per_hour),
        late_create_bound: args.late_create_bound,
        reconcile_timeout: args.reconcile_timeout,
        state_namespace: args.state_namespace,
        secret_refresh: args.secret_refresh,
        max_deletion_backoff: args.max_deletion_backoff,
        shard,
        leader_election: args.leader_elect.then_some(LeaderElection {
            lease_name: args.lease_name,
            lease_namespace: args.lease_namespace,
            lease_duration: args.lease_duration,
            renew_deadline: args.lease_renew_deadline,
            retry_period: args.lease_retry_period,
        }),
        ..Settings::default()
    };
    settings.validate()?;
    let client = client(args.kubeconfig).await?;
    run(client, settings).await
}
