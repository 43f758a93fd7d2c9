//! Throughput benchmark: N groups per provider created, then deleted, through the
//! simulators by the real operator binary running as its own process with its default
//! settings. The simulators enforce each provider's cap counted in whole seconds; the
//! ChatProviders' `rateLimit` is set to the same cap. Prints one table: groups/s
//! against the cap, throttle answers, Kubernetes writes per group, peak RSS and CPU
//! per lifecycle, then the other requests and provider calls per group and where each
//! phase spent its time. Then a many-apps run (see `apps.rs`) prints a second table: each
//! app's groups/s against its own cap, and drift read calls per pass.
//!
//! `cargo run --release -p e2e --bin chatgroup-bench -- --groups 10000`

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chatgroup_operator::api::{ChatGroup, ChatProvider};
use clap::Parser;
use e2e::replica::{operator_binary, OperatorProcess};
use e2e::{fixtures, ready_with, Env, Side, OPERATOR_USER};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

#[path = "bench/apps.rs"]
mod apps;

#[derive(Parser, Debug)]
#[command(about = "Creates then deletes N groups per provider and prints the figures")]
struct Args {
    /// Groups per provider.
    #[arg(long, default_value_t = 1000)]
    groups: usize,
    /// Tencent's cap, calls/s per API (documented: 200).
    #[arg(long, default_value_t = 200)]
    tencent_cap: u32,
    /// NetEase's cap, calls/s per API (standard plan: 100).
    #[arg(long, default_value_t = 100)]
    netease_cap: u32,
    /// Objects applied or deleted at once by the benchmark itself.
    #[arg(long, default_value_t = 64)]
    apply_concurrency: usize,
    /// Passed to the operator as `--concurrency`; its default when unset.
    #[arg(long)]
    operator_concurrency: Option<u16>,
    /// Runs one provider only: `tencent` or `netease` (both when unset).
    #[arg(long, value_parser = ["tencent", "netease"])]
    only: Option<String>,
    /// Apps of the many-apps run (Tencent and NetEase alternating); 0 skips it.
    #[arg(long, default_value_t = 5)]
    apps: usize,
    /// Each app's cap in the many-apps run, calls/s per API.
    #[arg(long, default_value_t = 40)]
    app_cap: u32,
    /// Groups per app in the many-apps run.
    #[arg(long, default_value_t = 1000)]
    app_groups: usize,
    /// The operator's --resync-interval in the many-apps run, whose drift passes
    /// are counted over three intervals.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    app_resync: Duration,
}

/// One provider's figures.
struct Row {
    side: Side,
    groups: usize,
    cap: u32,
    create: Duration,
    delete: Duration,
    throttles: usize,
    writes_to_ready: f64,
    writes_to_gone: f64,
    /// Every other operator request during the run, per group, by kind.
    others: Vec<(String, f64)>,
    /// Provider calls over the run, per group, by API.
    provider_calls: Vec<(String, f64)>,
    cpu: Duration,
    /// Where the create and the delete phase spent their time.
    create_phases: Phases,
    delete_phases: Phases,
}

/// One phase split in three: from the first apply (or delete) to the first provider
/// call that makes (or disbands) a group, the busy span of those calls, and from the
/// last of them to the last object done. The busy rate shows whether the operator sat
/// on its pace while it had work; lead and tail are what start-up and the last status
/// writes cost.
struct Phases {
    lead: Duration,
    busy: Duration,
    calls: usize,
    tail: Duration,
    /// The most calls in any one-second span (sliding, so at least as many as in
    /// any whole second a provider counts).
    busiest_second: usize,
}

impl Phases {
    fn of(calls: &[Instant], started: Instant, elapsed: Duration) -> Option<Phases> {
        let mut sorted = calls.to_vec();
        sorted.sort();
        let (first, last) = (*sorted.first()?, *sorted.last()?);
        let mut busiest_second = 0;
        let mut from = 0;
        for (to, at) in sorted.iter().enumerate() {
            while at.duration_since(sorted[from]) >= Duration::from_secs(1) {
                from += 1;
            }
            busiest_second = busiest_second.max(to + 1 - from);
        }
        Some(Phases {
            busiest_second,
            lead: first.saturating_duration_since(started),
            busy: last.saturating_duration_since(first),
            calls: calls.len(),
            tail: (started + elapsed).saturating_duration_since(last),
        })
    }

    fn describe(&self, cap: u32) -> String {
        if self.calls < 2 {
            return format!("{} call", self.calls);
        }
        // n calls over a busy span hold n - 1 intervals.
        let rate = (self.calls.saturating_sub(1)) as f64 / self.busy.as_secs_f64().max(1e-9);
        format!(
            "lead {:.2}s, busy {:.2}s at {:.1} calls/s ({:.1}% of cap, at most {} in one second), tail {:.2}s",
            self.lead.as_secs_f64(),
            self.busy.as_secs_f64(),
            rate,
            100.0 * rate / f64::from(cap),
            self.busiest_second,
            self.tail.as_secs_f64()
        )
    }
}

/// When `side`'s simulator received the calls to `api` from `from` on.
fn call_times(env: &Env, side: Side, from: usize, api: &str) -> Vec<Instant> {
    provider_calls(env, side)[from..]
        .iter()
        .filter(|call| call.api == api)
        .map(|call| call.at)
        .collect()
}

/// User plus system CPU time of process `pid`, from /proc (clock ticks of 10 ms, the
/// Linux USER_HZ every architecture exports to user space).
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').context("/proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(Duration::from_millis(ticks * 10))
}

/// Peak resident set size of a process, in MiB, from /proc.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A cheap look at the stored JSON: Ready=True, reason Available. Most objects fail it
/// while pending, so the full check below parses only the few that pass it.
fn ready_in(object: &serde_json::Value) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c["type"] == "Ready" && c["status"] == "True" && c["reason"] == "Available"
            })
        })
}

/// Ready earned on the current generation, as `kubectl wait` would see it.
fn parsed_ready(object: &serde_json::Value) -> bool {
    serde_json::from_value::<ChatGroup>(object.clone())
        .is_ok_and(|group| ready_with(&group, "Available"))
}

/// Writes by the operator to ChatGroups `names` (object or status) in `log`.
fn writes_to(log: &[kube_sim::RequestRecord], names: &[String]) -> usize {
    let names: HashSet<&str> = names.iter().map(String::as_str).collect();
    log.iter()
        .filter(|r| {
            r.name
                .as_ref()
                .is_some_and(|n| names.contains(n.as_str()) && e2e::operator_write_to(r, n))
        })
        .count()
}

/// The operator's requests in `log` other than its writes to the ChatGroups, counted
/// per kind (verb and resource, e.g. `create events`, `get chatgroups`) and divided by
/// `groups`: Events, claims and reads are reported apart from the writes that the
/// per-group bound counts. Watches and lists of the start-up are left out.
fn other_requests(log: &[kube_sim::RequestRecord], groups: usize) -> Vec<(String, f64)> {
    let kinds = log.iter().filter_map(|request| {
        let operators = request.user.as_deref() == Some(OPERATOR_USER);
        let group_write = request
            .name
            .as_deref()
            .is_some_and(|name| e2e::operator_write_to(request, name));
        if !operators || group_write || matches!(request.verb.as_str(), "watch" | "list") {
            return None;
        }
        Some(match &request.subresource {
            Some(sub) => format!("{} {}/{sub}", request.verb, request.resource),
            None => format!("{} {}", request.verb, request.resource),
        })
    });
    per_group(kinds, groups)
}

/// How many of each kind in `kinds`, divided by `groups`, sorted by kind.
fn per_group(kinds: impl Iterator<Item = String>, groups: usize) -> Vec<(String, f64)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for kind in kinds {
        *counts.entry(kind).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(kind, n)| (kind, n as f64 / groups as f64))
        .collect()
}

fn provider_calls(env: &Env, side: Side) -> Vec<provider_sim::RecordedCall> {
    match side {
        Side::Tencent => env.tencent.calls(),
        Side::Netease => env.netease.calls(),
    }
}

/// Waits until `done` holds for every name in `names`, returning how long it took from
/// `since`. Looks into the Kubernetes simulator's store in process: no request, no
/// copy. Each look goes through the names in order and stops at the first not done
/// yet (objects finish roughly in the order they were applied), so it never holds
/// the simulators' threads long enough to bunch their calls.
async fn until_all(
    env: &Env,
    names: &[String],
    since: Instant,
    done: impl Fn(Option<&serde_json::Value>) -> bool,
) -> anyhow::Result<Duration> {
    let deadline = since + Duration::from_secs(3600);
    let mut pending = names.iter().peekable();
    while let Some(name) = pending.peek() {
        let found = env.kube.peek(
            "im.chatgroup.dev",
            "v1alpha1",
            "chatgroups",
            Some(e2e::NAMESPACE),
            name,
            |object| done(Some(object)),
        );
        if found.unwrap_or_else(|| done(None)) {
            pending.next();
            continue;
        }
        anyhow::ensure!(Instant::now() < deadline, "not done within an hour");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(since.elapsed())
}

async fn run_side(
    env: &Env,
    side: Side,
    args: &Args,
    operator: &OperatorProcess,
) -> anyhow::Result<Row> {
    let cap = match side {
        Side::Tencent => args.tencent_cap,
        Side::Netease => args.netease_cap,
    };
    let names: Vec<String> = (0..args.groups)
        .map(|i| format!("bench-{}-{i}", side.provider()))
        .collect();
    let owner = if side == Side::Netease {
        "owner: alice\n"
    } else {
        ""
    };
    let cpu_before = cpu_time(operator.pid())?;
    let log_before = env.kube.requests().len();
    let calls_before = provider_calls(env, side).len();

    let started = Instant::now();
    let waiting = until_all(env, &names, started, |object| {
        object.is_some_and(|o| ready_in(o) && parsed_ready(o))
    });
    let applying = futures::stream::iter(names.iter())
        .map(|name| async move {
            let manifest = fixtures::group(
                name,
                side.provider(),
                side.group_type(),
                &format!("name: {name}\n{owner}"),
            );
            env.apply_group(&manifest).await
        })
        .buffer_unordered(args.apply_concurrency)
        .try_for_each(|_| async { Ok(()) });
    let applying = async {
        applying.await?;
        eprintln!(
            "{side:?}: {} applied in {:.1?}",
            names.len(),
            started.elapsed()
        );
        anyhow::Ok(())
    };
    let (create, applied) = tokio::join!(waiting, applying);
    applied?;
    let create = create?;
    let after_create = env.kube.requests().len();
    let (make, disband) = side.write_apis();
    let create_phases = Phases::of(&call_times(env, side, calls_before, make), started, create);
    let calls_after_create = provider_calls(env, side).len();

    let started = Instant::now();
    let waiting = until_all(env, &names, started, |g| g.is_none());
    let deleting = futures::stream::iter(names.iter())
        .map(|name| env.delete_group(name))
        .buffer_unordered(args.apply_concurrency)
        .try_for_each(|()| async { Ok(()) });
    let (delete, deleted) = tokio::join!(waiting, deleting);
    deleted?;
    let delete = delete?;
    let delete_phases = Phases::of(
        &call_times(env, side, calls_after_create, disband),
        started,
        delete,
    );

    let log = env.kube.requests();
    let n = args.groups as f64;
    for call in &provider_calls(env, side)[calls_before..] {
        if call.code == side.throttle_code() {
            eprintln!("{side:?}: {} throttled", call.api);
        }
    }
    anyhow::ensure!(
        env.sim_groups(side).is_empty(),
        "{side:?}: groups left behind"
    );
    Ok(Row {
        side,
        groups: args.groups,
        cap,
        create,
        delete,
        throttles: env.throttle_answers(side),
        writes_to_ready: writes_to(&log[log_before..after_create], &names) as f64 / n,
        writes_to_gone: writes_to(&log[after_create..], &names) as f64 / n,
        others: other_requests(&log[log_before..], args.groups),
        provider_calls: per_group(
            provider_calls(env, side)[calls_before..]
                .iter()
                .map(|call| call.api.clone()),
            args.groups,
        ),
        cpu: cpu_time(operator.pid())?.saturating_sub(cpu_before),
        create_phases: create_phases.context("no create call was recorded")?,
        delete_phases: delete_phases.context("no disband call was recorded")?,
    })
}

/// Sets the simulator's cap and the ChatProvider's rateLimit (no burst: the default).
async fn set_cap(env: &Env, side: Side, cap: u32) -> anyhow::Result<()> {
    match side {
        Side::Tencent => env.tencent.set_rate_limit(cap),
        Side::Netease => env.netease.set_rate_limit(cap),
    }
    let providers: Api<ChatProvider> = Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    let patch = json!({"spec": {"rateLimit": {"requestsPerSecond": cap}}});
    providers
        .patch(
            side.provider(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    Ok(())
}

/// The create and delete cells of a table row: groups/s and their share of `cap`.
fn throughput(groups: usize, cap: u32, create: Duration, delete: Duration) -> String {
    let rate = |d: Duration| groups as f64 / d.as_secs_f64();
    let share = |d: Duration| 100.0 * rate(d) / f64::from(cap);
    format!(
        "{:.1} ({:.1}% of cap) | {:.1} ({:.1}%)",
        rate(create),
        share(create),
        rate(delete),
        share(delete)
    )
}

fn print(rows: &[Row], rss: Option<f64>) {
    println!("| provider | groups | cap (calls/s per API) | create groups/s | delete groups/s | throttle answers | writes to Ready / to gone, per group | CPU ms per lifecycle |");
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {:?} | {} | {} | {} | {} | {:.2} / {:.2} | {:.2} |",
            row.side,
            row.groups,
            row.cap,
            throughput(row.groups, row.cap, row.create, row.delete),
            row.throttles,
            row.writes_to_ready,
            row.writes_to_gone,
            row.cpu.as_secs_f64() * 1000.0 / row.groups as f64,
        );
    }
    let per_group_line = |counts: &[(String, f64)]| {
        let cells: Vec<String> = counts
            .iter()
            .map(|(kind, per_group)| format!("{kind} {per_group:.2}"))
            .collect();
        cells.join(", ")
    };
    println!("\nOther operator requests per group over the whole lifecycle (Events, claims, reads; watches and lists left out):\n");
    for row in rows {
        println!("- {:?}: {}", row.side, per_group_line(&row.others));
    }
    println!("\nProvider calls per group over the whole lifecycle, by API:\n");
    for row in rows {
        println!("- {:?}: {}", row.side, per_group_line(&row.provider_calls));
    }
    println!("\nWhere each phase spent its time (provider-side arrival times):\n");
    for row in rows {
        println!(
            "- {:?} create: {}\n- {:?} delete: {}",
            row.side,
            row.create_phases.describe(row.cap),
            row.side,
            row.delete_phases.describe(row.cap)
        );
    }
    match rss {
        Some(mib) => println!("\noperator peak RSS: {mib:.1} MiB"),
        None => println!("\noperator peak RSS: unknown"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.groups > 0, "--groups must be at least 1");
    anyhow::ensure!(
        args.apply_concurrency > 0,
        "--apply-concurrency must be at least 1"
    );
    anyhow::ensure!(
        args.apps == 0 || (args.app_cap > 0 && args.app_groups > 0),
        "--app-cap and --app-groups must be at least 1"
    );
    anyhow::ensure!(
        args.app_resync >= Duration::from_secs(1),
        "--app-resync must be at least 1s (the operator's minimum)"
    );
    let env = Env::without_operator(e2e::test_settings()).await?;
    for side in Side::BOTH {
        let cap = match side {
            Side::Tencent => args.tencent_cap,
            Side::Netease => args.netease_cap,
        };
        set_cap(&env, side, cap).await?;
    }
    let binary = operator_binary().await?;
    let mut operator_args: Vec<String> = ["--log", "warn", "--metrics-addr", "127.0.0.1:0"]
        .map(String::from)
        .to_vec();
    if let Some(concurrency) = args.operator_concurrency {
        operator_args.extend(["--concurrency".to_string(), concurrency.to_string()]);
    }
    let mut operator = OperatorProcess::spawn(
        &binary,
        &env.kube.url(),
        OPERATOR_USER,
        None,
        &operator_args,
    )?;
    let mut rows = Vec::new();
    let sides = Side::BOTH.into_iter().filter(|side| {
        args.only
            .as_deref()
            .is_none_or(|only| only == side.provider())
    });
    for side in sides {
        match run_side(&env, side, &args, &operator).await {
            Ok(row) => rows.push(row),
            Err(error) => {
                eprintln!("{}", operator.log());
                return Err(error);
            }
        }
    }
    let rss = peak_rss_mib(operator.pid());
    let _ = operator.kill();
    print(&rows, rss);
    if args.apps > 0 {
        let plan = apps::Plan {
            apps: args.apps,
            cap: args.app_cap,
            groups: args.app_groups,
            resync: args.app_resync,
            apply_concurrency: args.apply_concurrency,
            operator_concurrency: args.operator_concurrency,
        };
        apps::print(&apps::run(&plan, &binary).await?);
    }
    Ok(())
}
