//! Chaos soak: N ChatGroups over both provider simulators are created, renamed and
//! deleted while about 20% of provider calls fail, the Kubernetes simulator drops
//! watches, compacts its history and fails some requests, and the operator process
//! is killed with SIGKILL (or, with `--kill-mode abort`, its in-process task is
//! aborted) and started again every few seconds. Then the faults stop and everything must converge within the
//! deadline. Checks, from the simulators' own state and call logs: no leaked group,
//! no duplicate create, no double disband, no finalizer released before a confirmed
//! disband, no secret in any log line. Exits non-zero when a check fails.
//!
//! `cargo run --release -p e2e --bin chatgroup-soak -- --groups 2000`

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use e2e::soak::{self, KillMode, SoakConfig};

#[derive(Parser, Debug)]
#[command(name = "chatgroup-soak", about = "Chaos soak of the chatgroup operator against the simulators", long_about = None)]
struct Args {
    /// ChatGroups, alternately on Tencent and NetEase.
    #[arg(long, default_value_t = 2000)]
    groups: usize,
    /// While the faults are on, the operator is killed and started again this often.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    kill_every: Duration,
    /// `sigkill`: the chatgroup-operator binary in its own process, killed with
    /// SIGKILL. `abort`: the operator as a task of this program, aborted.
    #[arg(long, value_enum, default_value_t = KillMode::Sigkill)]
    kill_mode: KillMode,
    /// The operator binary for `--kill-mode sigkill`; built next to this program when
    /// unset.
    #[arg(long)]
    operator_binary: Option<std::path::PathBuf>,
    /// Once the faults stop, everything must converge within this.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    deadline: Duration,
    /// The faults stop after this long even if not every ChatGroup was deleted yet.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    chaos_limit: Duration,
    /// Share of provider calls that fail, spread over every fault kind.
    #[arg(long, default_value_t = 0.2)]
    provider_fault_rate: f64,
    /// Share of Kubernetes requests answered with 409, 429, 500 or 503.
    #[arg(long, default_value_t = 0.03)]
    kube_fail_fraction: f64,
    /// Watches opened while the faults are on end after this long.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    watch_lifetime: Duration,
    /// The Kubernetes simulator's watch history is compacted this often.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    compact_every: Duration,
    /// The operator's reconcile concurrency.
    #[arg(long, default_value_t = 16)]
    concurrency: u16,
    /// Worker threads of the soak's runtime.
    #[arg(long, default_value_t = 2)]
    worker_threads: usize,
    /// Log filter (`--log`) of the operator log that is searched for secrets.
    #[arg(long, default_value = "chatgroup_operator=trace,info")]
    log_filter: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = SoakConfig {
        groups: args.groups,
        kill_every: args.kill_every,
        kill_mode: args.kill_mode,
        operator_binary: args.operator_binary,
        deadline: args.deadline,
        chaos_limit: args.chaos_limit,
        provider_fault_rate: args.provider_fault_rate,
        kube_fail_fraction: args.kube_fail_fraction,
        watch_lifetime: args.watch_lifetime,
        compact_every: args.compact_every,
        concurrency: args.concurrency,
        worker_threads: args.worker_threads,
        log_filter: args.log_filter,
        ..SoakConfig::default()
    };
    match soak::run(config).await {
        Ok(report) => {
            print!("{report}");
            if report.failures().is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("chatgroup-soak: {error:#}");
            ExitCode::from(2)
        }
    }
}
