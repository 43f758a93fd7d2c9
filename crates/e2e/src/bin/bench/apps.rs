//! The many-apps run: N ChatProviders on N apps (Tencent and NetEase alternating),
//! each simulator capped at the same rate and each ChatProvider's `rateLimit` set to
//! it, M groups per app applied together, then deleted together. Each app's groups/s
//! against its own cap shows whether one app waits on another. While the groups
//! stand, the operator's drift passes are counted: read calls per pass against
//! Σ⌈n / batch⌉.

use std::path::Path;
use std::time::{Duration, Instant};

use chatgroup_operator::api::ChatProvider;
use e2e::replica::OperatorProcess;
use e2e::{fixtures, Env, OPERATOR_USER};
use futures::{StreamExt, TryStreamExt};
use provider_sim::{NeteaseSim, NeteaseSimConfig, RecordedCall, TencentSim, TencentSimConfig};

use super::{parsed_ready, ready_in, throughput, until_all};

/// What the many-apps run is asked to do.
pub struct Plan {
    pub apps: usize,
    pub cap: u32,
    pub groups: usize,
    pub resync: Duration,
    pub apply_concurrency: usize,
    /// Passed to the operator as `--concurrency` when set.
    pub operator_concurrency: Option<u16>,
}

/// One app's simulator.
enum Sim {
    Tencent(TencentSim),
    Netease(NeteaseSim),
}

impl Sim {
    fn calls(&self) -> Vec<RecordedCall> {
        match self {
            Sim::Tencent(sim) => sim.calls(),
            Sim::Netease(sim) => sim.calls(),
        }
    }

    fn throttle_code(&self) -> i64 {
        match self {
            Sim::Tencent(_) => e2e::Side::Tencent.throttle_code(),
            Sim::Netease(_) => e2e::Side::Netease.throttle_code(),
        }
    }

    /// The drift pass's read API and how many groups one of its calls names.
    fn batch_read(&self, call: &RecordedCall) -> Option<usize> {
        match self {
            Sim::Tencent(_) if call.api == "get_group_info" => {
                call.body["GroupIdList"].as_array().map(Vec::len)
            }
            Sim::Netease(_) if call.api == "batch_get" => {
                let ids = form_value(&call.query, "team_ids")?;
                let ids: Vec<serde_json::Value> = serde_json::from_str(&ids).ok()?;
                Some(ids.len())
            }
            _ => None,
        }
    }

    /// Groups per drift read call: Tencent 50, NetEase advanced teams 30.
    fn batch(&self) -> usize {
        match self {
            Sim::Tencent(_) => 50,
            Sim::Netease(_) => 30,
        }
    }

    async fn shutdown(self) {
        match self {
            Sim::Tencent(sim) => sim.shutdown().await,
            Sim::Netease(sim) => sim.shutdown().await,
        }
    }
}

/// The value of `name` in a URL query string, percent-decoded.
fn form_value(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

struct App {
    provider: String,
    group_type: &'static str,
    sim: Sim,
    names: Vec<String>,
}

/// One app's figures.
pub struct AppRow {
    pub provider: String,
    pub groups: usize,
    pub cap: u32,
    pub create: Duration,
    pub delete: Duration,
    pub throttles: usize,
    /// Drift read calls per pass, measured; and Σ⌈n / batch⌉.
    pub reads_per_pass: Option<f64>,
    pub expected_reads: usize,
}

async fn start_app(env: &Env, plan: &Plan, index: usize) -> anyhow::Result<App> {
    let provider = format!("app-{index}");
    let (sim, manifest, group_type) = if index.is_multiple_of(2) {
        let sdk_app_id = 1_400_100_000 + index as u64;
        let sim = TencentSim::start(TencentSimConfig {
            sdk_app_id,
            ..TencentSimConfig::default()
        })
        .await?;
        sim.set_rate_limit(plan.cap);
        let manifest = fixtures::tencent_provider(&provider, &sim.base_url(), sdk_app_id);
        (Sim::Tencent(sim), manifest, "Public")
    } else {
        let app_key = format!("bench-app-{index}");
        let sim = NeteaseSim::start(NeteaseSimConfig {
            app_key: app_key.clone(),
            ..NeteaseSimConfig::default()
        })
        .await?;
        sim.set_rate_limit(plan.cap);
        let manifest = fixtures::netease_provider(&provider, &sim.base_url(), &app_key);
        (Sim::Netease(sim), manifest, "Advanced")
    };
    let limited = format!(
        "{manifest}  rateLimit: {{requestsPerSecond: {}}}\n",
        plan.cap
    );
    env.apply_yaml::<ChatProvider>(&limited).await?;
    let names = (0..plan.groups)
        .map(|i| format!("{provider}-{i}"))
        .collect();
    Ok(App {
        provider,
        group_type,
        sim,
        names,
    })
}

/// Applies every app's groups together (interleaved) and returns how long each app
/// took until all its groups were Ready.
async fn create_all(env: &Env, apps: &[App], concurrency: usize) -> anyhow::Result<Vec<Duration>> {
    let started = Instant::now();
    let waiting = futures::future::try_join_all(apps.iter().map(|app| {
        until_all(env, &app.names, started, |o| {
            o.is_some_and(|o| ready_in(o) && parsed_ready(o))
        })
    }));
    let mut manifests = Vec::new();
    let longest = apps.iter().map(|a| a.names.len()).max().unwrap_or(0);
    let ordered: Vec<Vec<&String>> = apps.iter().map(|a| a.names.iter().collect()).collect();
    for i in 0..longest {
        for (app, names) in apps.iter().zip(&ordered) {
            if let Some(name) = names.get(i) {
                let spec = format!("name: {name}\nowner: alice\n");
                manifests.push(fixtures::group(name, &app.provider, app.group_type, &spec));
            }
        }
    }
    let applying = futures::stream::iter(manifests.iter())
        .map(|manifest| env.apply_group(manifest))
        .buffer_unordered(concurrency)
        .try_for_each(|_| async { Ok(()) });
    let (durations, applied) = tokio::join!(waiting, applying);
    applied?;
    durations
}

/// Deletes every app's groups together; returns how long each app took until gone.
async fn delete_all(env: &Env, apps: &[App], concurrency: usize) -> anyhow::Result<Vec<Duration>> {
    let started = Instant::now();
    let waiting = futures::future::try_join_all(
        apps.iter()
            .map(|app| until_all(env, &app.names, started, |o| o.is_none())),
    );
    let mut names = Vec::new();
    let longest = apps.iter().map(|a| a.names.len()).max().unwrap_or(0);
    let ordered: Vec<Vec<&String>> = apps.iter().map(|a| a.names.iter().collect()).collect();
    for i in 0..longest {
        names.extend(ordered.iter().filter_map(|n| n.get(i).copied()));
    }
    let deleting = futures::stream::iter(names)
        .map(|name| env.delete_group(name))
        .buffer_unordered(concurrency)
        .try_for_each(|()| async { Ok(()) });
    let (durations, deleted) = tokio::join!(waiting, deleting);
    deleted?;
    durations
}

/// Drift read calls per pass over a window of a few passes: every pass reads each
/// group once, so calls × groups / groups read is the calls of one pass.
fn reads_per_pass(app: &App, before: usize) -> Option<f64> {
    let calls = app.sim.calls();
    let reads: Vec<usize> = calls[before.min(calls.len())..]
        .iter()
        .filter(|c| c.executed)
        .filter_map(|c| app.sim.batch_read(c))
        .collect();
    let named: usize = reads.iter().sum();
    (named > 0).then(|| reads.len() as f64 * app.names.len() as f64 / named as f64)
}

pub async fn run(plan: &Plan, binary: &Path) -> anyhow::Result<Vec<AppRow>> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let mut apps = Vec::new();
    for index in 0..plan.apps {
        apps.push(start_app(&env, plan, index).await?);
    }
    let resync = humantime::format_duration(plan.resync).to_string();
    let mut args: Vec<String> = [
        "--log",
        "warn",
        "--metrics-addr",
        "127.0.0.1:0",
        "--resync-interval",
        &resync,
    ]
    .map(String::from)
    .to_vec();
    if let Some(concurrency) = plan.operator_concurrency {
        args.extend(["--concurrency".to_string(), concurrency.to_string()]);
    }
    let mut operator = OperatorProcess::spawn(binary, &env.kube.url(), OPERATOR_USER, None, &args)?;
    let outcome = async {
        let create = create_all(&env, &apps, plan.apply_concurrency).await?;
        eprintln!("{} apps: created; watching drift passes", apps.len());
        let marks: Vec<usize> = apps.iter().map(|a| a.sim.calls().len()).collect();
        tokio::time::sleep(plan.resync.mul_f64(3.0)).await;
        let reads: Vec<Option<f64>> = apps
            .iter()
            .zip(&marks)
            .map(|(app, mark)| reads_per_pass(app, *mark))
            .collect();
        let delete = delete_all(&env, &apps, plan.apply_concurrency).await?;
        anyhow::Ok((create, reads, delete))
    }
    .await;
    let (create, reads, delete) = match outcome {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("{}", operator.log());
            return Err(error);
        }
    };
    let _ = operator.kill();
    let mut rows = Vec::new();
    for (i, app) in apps.into_iter().enumerate() {
        let throttle = app.sim.throttle_code();
        let calls = app.sim.calls();
        rows.push(AppRow {
            provider: app.provider.clone(),
            groups: app.names.len(),
            cap: plan.cap,
            create: create[i],
            delete: delete[i],
            throttles: calls.iter().filter(|c| c.code == throttle).count(),
            reads_per_pass: reads[i],
            expected_reads: app.names.len().div_ceil(app.sim.batch()),
        });
        app.sim.shutdown().await;
    }
    Ok(rows)
}

pub fn print(rows: &[AppRow]) {
    println!("\n| app | groups | cap (calls/s per API) | create groups/s | delete groups/s | throttle answers | drift reads per pass (Σ⌈n/batch⌉) |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        let reads = row
            .reads_per_pass
            .map_or_else(|| "none seen".to_string(), |r| format!("{r:.1}"));
        println!(
            "| {} | {} | {} | {} | {} | {} ({}) |",
            row.provider,
            row.groups,
            row.cap,
            throughput(row.groups, row.cap, row.create, row.delete),
            row.throttles,
            reads,
            row.expected_reads,
        );
    }
}
