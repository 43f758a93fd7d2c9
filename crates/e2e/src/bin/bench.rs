//! Throughput benchmark: creates then deletes N groups per provider through the
//! simulators, with the real operator binary as a separate process, and prints
//! groups/s against the configured provider cap and the operator's peak RSS.
//!
//! `cargo build --release --bins && target/release/chatgroup-bench [N] [CAP]`

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chatgroup_operator::api::ChatProvider;
use e2e::{fixtures, ready_with, Env, Side};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

fn operator_binary() -> anyhow::Result<PathBuf> {
    let dir = std::env::current_exe()?
        .parent()
        .context("binary directory")?
        .to_path_buf();
    let binary = dir.join("chatgroup-operator");
    anyhow::ensure!(
        binary.exists(),
        "{} not found: run `cargo build --release --bins` first",
        binary.display()
    );
    Ok(binary)
}

/// Peak resident set size of a process, in MiB, from /proc.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn all(
    env: &Env,
    names: &[String],
    check: impl Fn(&chatgroup_operator::api::ChatGroup) -> bool + Copy,
) -> anyhow::Result<()> {
    for name in names {
        env.wait_group(name, Duration::from_secs(600), check)
            .await?;
    }
    Ok(())
}

async fn run_side(
    env: &Env,
    side: Side,
    n: usize,
    cap: u32,
    operator_pid: u32,
) -> anyhow::Result<()> {
    let names: Vec<String> = (0..n)
        .map(|i| format!("bench-{side:?}-{i}").to_lowercase())
        .collect();
    let owner = if side == Side::Netease {
        "owner: alice\n"
    } else {
        ""
    };
    let started = Instant::now();
    for name in &names {
        env.apply_group(&fixtures::group(
            name,
            side.provider(),
            side.group_type(),
            &format!("name: {name}\n{owner}"),
        ))
        .await?;
    }
    all(env, &names, |g| ready_with(g, "Available")).await?;
    let create = started.elapsed();
    let started = Instant::now();
    for name in &names {
        env.delete_group(name).await?;
    }
    for name in &names {
        env.wait_gone(name, Duration::from_secs(600)).await?;
    }
    let delete = started.elapsed();
    println!(
        "{:<8} N={n:<5} cap {cap:>4}/s per API | create {:>7.1} groups/s ({:>5.1}% of cap) | delete {:>7.1} groups/s ({:>5.1}% of cap) | operator peak RSS {:.1} MiB | throttle answers {}",
        format!("{side:?}"),
        n as f64 / create.as_secs_f64(),
        100.0 * n as f64 / create.as_secs_f64() / cap as f64,
        n as f64 / delete.as_secs_f64(),
        100.0 * n as f64 / delete.as_secs_f64() / cap as f64,
        peak_rss_mib(operator_pid).unwrap_or(f64::NAN),
        env.throttle_answers(side),
    );
    anyhow::ensure!(
        env.sim_groups(side).is_empty(),
        "{side:?}: groups left behind"
    );
    Ok(())
}

fn spawn_operator(env: &Env, kubeconfig: &std::path::Path) -> anyhow::Result<Child> {
    let _ = env;
    Ok(Command::new(operator_binary()?)
        .args([
            "run",
            "--concurrency",
            "16",
            "--log",
            "warn",
            "--metrics-addr",
            "127.0.0.1:0",
            "--kubeconfig",
        ])
        .arg(kubeconfig)
        .stdout(Stdio::null())
        .spawn()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let cap: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(50);
    let env = Env::without_operator(e2e::test_settings()).await?;
    let providers: Api<ChatProvider> = Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    for side in Side::BOTH {
        let patch = json!({"spec": {"rateLimit": {"requestsPerSecond": cap, "burst": 1}}});
        providers
            .patch(
                side.provider(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
    }
    let kubeconfig =
        std::env::temp_dir().join(format!("chatgroup-bench-{}.kubeconfig", std::process::id()));
    env.kube.write_kubeconfig(&kubeconfig)?;
    let mut operator = spawn_operator(&env, &kubeconfig)?;
    let result = async {
        for side in Side::BOTH {
            run_side(&env, side, n, cap, operator.id()).await?;
        }
        anyhow::Ok(())
    }
    .await;
    let _ = operator.kill();
    let _ = operator.wait();
    let _ = std::fs::remove_file(&kubeconfig);
    result
}
