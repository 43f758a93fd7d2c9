//! Fenced leadership (issue 8, item 5), with two operator binaries as separate
//! processes sharing one Lease. Each replica's provider calls go through its own
//! recording proxy (so every call is attributed to the replica that made it), and
//! each talks to the Kubernetes simulator as its own user (so is every request).
//!
//! - The holder is paused (SIGSTOP) while creates are in flight, the standby takes
//!   over, then the old holder is resumed.
//! - The holder's Lease renewals fail (409, 500, a timeout) while a standby waits.
//!
//! In both: the old holder makes no provider write after its renew deadline, every
//! group is created once and disbanded once, and nothing the new holder wrote is
//! overwritten by the old one. Each runs on Tencent (caller-chosen ids) and on
//! NetEase (server-assigned ids, where the new holder must find the teams the old
//! one's creates made by their markers instead of creating second ones).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use e2e::replica::{operator_binary, OperatorProcess, ProxiedRequest, RecordingProxy};
use e2e::{group_id, ready_with, Env, Op, Side};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube_sim::LeaseFailure;
use provider_sim::{Fault, FaultKind, RecordedCall};
use tokio::time::Instant;

const LEASE_NAME: &str = "chatgroup-operator";
const LEASE_NAMESPACE: &str = "default";
const LEASE: Duration = Duration::from_secs(3);
const RENEW_DEADLINE: Duration = Duration::from_secs(2);
/// A write checked against the fence just before the deadline reaches the proxy a
/// moment later; this much past the deadline still counts as started before it.
const IN_FLIGHT: Duration = Duration::from_millis(250);
const WAIT: Duration = Duration::from_secs(40);
/// How long the creates in flight take on the provider.
const CREATE_LATENCY: Duration = Duration::from_secs(1);

struct Replica {
    name: &'static str,
    user: String,
    process: OperatorProcess,
    proxy: RecordingProxy,
    metrics: std::net::SocketAddr,
}

impl Replica {
    async fn start(
        env: &Env,
        binary: &std::path::Path,
        name: &'static str,
    ) -> anyhow::Result<Replica> {
        let proxy = RecordingProxy::start().await?;
        let metrics = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.local_addr()?
        };
        let user = format!("system:serviceaccount:chatgroup-system:{name}");
        let args: Vec<String> = [
            "--instance",
            name,
            "--leader-elect",
            "--lease-name",
            LEASE_NAME,
            "--lease-namespace",
            LEASE_NAMESPACE,
            "--lease-duration",
            "3s",
            "--lease-renew-deadline",
            "2s",
            "--lease-retry-period",
            "500ms",
            "--late-create-bound",
            "2s",
            "--resync-interval",
            "1h",
            "--max-disbands-per-hour",
            "0",
            "--log",
            "info",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(["--metrics-addr".to_string(), metrics.to_string()])
        .collect();
        let process =
            OperatorProcess::spawn(binary, &env.kube.url(), &user, Some(proxy.addr()), &args)?;
        Ok(Replica {
            name,
            user,
            process,
            proxy,
            metrics,
        })
    }

    /// Provider writes (anything but a read) this replica sent at or after `since`.
    fn writes_since(&self, since: Instant) -> Vec<ProxiedRequest> {
        self.proxy
            .requests()
            .into_iter()
            .filter(|r| r.at >= since && is_write(r))
            .collect()
    }

    /// How many `op` calls of `side` this replica sent.
    fn sent(&self, side: Side, op: Op) -> usize {
        self.proxy
            .requests()
            .iter()
            .filter(|r| operation(side, r) == Some(op))
            .count()
    }
}

fn tencent_command(request: &ProxiedRequest) -> Option<&str> {
    let path = request.target.split('?').next()?;
    path.strip_prefix("/v4/")?.split('/').nth(1)
}

/// The create or disband a proxied request is, on `side`.
fn operation(side: Side, request: &ProxiedRequest) -> Option<Op> {
    match side {
        Side::Tencent => {
            let command = tencent_command(request)?;
            [Op::Create, Op::Disband]
                .into_iter()
                .find(|op| side.api(*op) == command)
        }
        Side::Netease => {
            let path = request.target.split('?').next()?;
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            match (request.method.as_str(), segments.as_slice()) {
                ("POST", ["im", _, "teams"]) => Some(Op::Create),
                ("DELETE", ["im", _, "teams", _]) => Some(Op::Disband),
                _ => None,
            }
        }
    }
}

/// Tencent: any command but a `get_*` one; NetEase: any method but GET.
fn is_write(request: &ProxiedRequest) -> bool {
    match tencent_command(request) {
        Some(command) => !command.starts_with("get_"),
        None => request.method != "GET",
    }
}

async fn lease_holder(env: &Env) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(env.client.clone(), LEASE_NAMESPACE);
    api.get_opt(LEASE_NAME).await.ok()??.spec?.holder_identity
}

async fn wait_holder(env: &Env, who: &str, timeout: Duration) -> anyhow::Result<()> {
    e2e::eventually(timeout, || async {
        (lease_holder(env).await.as_deref() == Some(who)).then_some(())
    })
    .await
    .with_context(|| format!("{who} did not get lease {LEASE_NAME} within {timeout:?}"))
}

/// Waits until `GET /readyz` answers 200.
async fn wait_ready(replica: &Replica) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = replica.metrics;
    e2e::eventually(WAIT, || async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.ok()?;
        answer.starts_with("HTTP/1.1 200").then_some(())
    })
    .await
    .with_context(|| {
        format!(
            "{} never got ready; log:\n{}",
            replica.name,
            replica.process.log()
        )
    })
}

fn manifest(side: Side, name: &str) -> String {
    side.manifest(name, "")
}

/// Every create on `side` takes [`CREATE_LATENCY`] on the provider.
fn slow_creates(side: Side, count: u32) -> Fault {
    Fault {
        api: Some(side.api(Op::Create).into()),
        kind: FaultKind::Latency(CREATE_LATENCY),
        probability: 1.0,
        remaining: Some(count),
    }
}

/// `replica-a` holding the lease, `replica-b` standing by (ready).
async fn pair(env: &Env) -> anyhow::Result<(Replica, Replica)> {
    let binary = operator_binary().await?;
    let a = Replica::start(env, &binary, "replica-a").await?;
    wait_holder(env, "replica-a", WAIT)
        .await
        .with_context(|| format!("replica-a log:\n{}", a.process.log()))?;
    let b = Replica::start(env, &binary, "replica-b").await?;
    wait_ready(&b).await?;
    Ok((a, b))
}

/// Status of every group, to compare before and after the old holder came back.
async fn statuses(
    env: &Env,
    names: &[String],
) -> anyhow::Result<BTreeMap<String, serde_json::Value>> {
    let mut all = BTreeMap::new();
    for name in names {
        let group = env.groups().get(name).await?;
        all.insert(name.clone(), serde_json::to_value(&group.status)?);
    }
    Ok(all)
}

/// Kubernetes writes of `user` to ChatGroups or claims that took effect, after the
/// first `from` requests.
fn object_writes(env: &Env, user: &str, from: usize) -> Vec<kube_sim::RequestRecord> {
    env.kube
        .requests()
        .into_iter()
        .skip(from)
        .filter(|r| r.user.as_deref() == Some(user))
        .filter(|r| matches!(r.verb.as_str(), "create" | "update" | "patch" | "delete"))
        .filter(|r| r.resource == "chatgroups" || r.resource == "chatgroupclaims")
        // A write the API server refused (409 on a stale resourceVersion) changed nothing.
        .filter(|r| (200..300).contains(&r.code))
        .collect()
}

/// What a create call of `side` is counted by: the caller-chosen id on Tencent, the
/// team name (the ChatGroup's name) on NetEase, where the server picks the id.
fn created_key(side: Side, call: &RecordedCall) -> String {
    let key = match side {
        Side::Tencent => "GroupId",
        Side::Netease => "name",
    };
    call.body[key].as_str().unwrap_or_default().to_string()
}

fn calls_to(env: &Env, side: Side, op: Op) -> Vec<RecordedCall> {
    let api = side.api(op);
    match side {
        Side::Tencent => env.tencent.calls_to(api),
        Side::Netease => env.netease.calls_to(api),
    }
}

/// Each ChatGroup has exactly one group on the provider (found by its name), and it is
/// the one its status records; on NetEase it carries the ChatGroup's marker.
async fn one_group_each(env: &Env, side: Side, names: &[String]) -> anyhow::Result<Vec<String>> {
    let live = env.sim_groups(side);
    let mut ids = Vec::new();
    for name in names {
        let object = env.groups().get(name).await?;
        let id = group_id(&object).context("a group id in status")?;
        let groups: Vec<_> = live.iter().filter(|g| &g.name == name).collect();
        assert_eq!(
            groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
            vec![id.as_str()],
            "{side:?}: {name} has exactly the one group its status records"
        );
        if side == Side::Netease {
            let uid = object.metadata.uid.clone().unwrap_or_default();
            assert!(
                groups[0].server_extension.contains(&uid),
                "{name}'s team carries its marker: {}",
                groups[0].server_extension
            );
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Every group was created exactly once on the provider and, once deleted, disbanded
/// exactly once; the disbands came from `by`.
async fn delete_all_and_count(
    env: &Env,
    side: Side,
    names: &[String],
    by: &Replica,
    other: &Replica,
) -> anyhow::Result<()> {
    let ids = one_group_each(env, side, names).await?;
    for name in names {
        env.delete_group(name).await?;
    }
    for name in names {
        env.wait_gone(name, WAIT).await?;
    }
    let per_key = |op: Op, key: &dyn Fn(&RecordedCall) -> String| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for call in calls_to(env, side, op).into_iter().filter(|c| c.executed) {
            *counts.entry(key(&call)).or_default() += 1;
        }
        counts
    };
    let creates = per_key(Op::Create, &|c| created_key(side, c));
    let disbands = per_key(Op::Disband, &|c| side.disbanded_id(c));
    assert_eq!(
        env.sim_groups(side).len(),
        0,
        "{side:?}: every group disbanded"
    );
    assert_eq!(
        creates.len(),
        names.len(),
        "{side:?}: one group per ChatGroup: {creates:?}"
    );
    assert!(
        creates.values().all(|n| *n == 1),
        "{side:?}: created twice: {creates:?}"
    );
    let mut expected: Vec<&String> = ids.iter().collect();
    expected.sort();
    assert_eq!(
        disbands.keys().collect::<Vec<_>>(),
        expected,
        "{side:?}: the recorded groups were disbanded"
    );
    assert!(
        disbands.values().all(|n| *n == 1),
        "{side:?}: disbanded twice: {disbands:?}"
    );
    assert_eq!(
        by.sent(side, Op::Disband),
        names.len(),
        "{} disbanded them",
        by.name
    );
    assert_eq!(
        other.sent(side, Op::Disband),
        0,
        "{} disbanded nothing",
        other.name
    );
    Ok(())
}

/// The holder is paused while its creates on `side` are in flight, and resumed after
/// the standby took over.
async fn paused_holder(side: Side) -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let (a, mut b) = pair(&env).await?;
    let mut a = a;
    let names: Vec<String> = (1..=3).map(|i| format!("paused-{i}")).collect();
    env.inject(side, slow_creates(side, names.len() as u32));
    for name in &names {
        env.apply_group(&manifest(side, name)).await?;
    }
    // Every create is on the wire (the proxy forwarded it): freeze the holder.
    e2e::eventually(WAIT, || async {
        (a.sent(side, Op::Create) == names.len()).then_some(())
    })
    .await
    .with_context(|| {
        format!(
            "replica-a did not send the creates; log:\n{}",
            a.process.log()
        )
    })?;
    a.process.pause()?;
    let paused_at = Instant::now();

    wait_holder(&env, "replica-b", LEASE + Duration::from_secs(10)).await?;
    for name in &names {
        env.wait_group(name, WAIT, |g| ready_with(g, "Available"))
            .await
            .with_context(|| format!("replica-b log:\n{}", b.process.log()))?;
    }
    // One more ChatGroup while the old holder is frozen: the new holder creates it;
    // the old one, resumed, must not.
    let mut names = names;
    names.push("paused-late".into());
    env.apply_group(&manifest(side, "paused-late")).await?;
    env.wait_group("paused-late", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let before = statuses(&env, &names).await?;
    let kube_index = env.kube.requests().len();
    let resumed_at = Instant::now();
    assert!(
        resumed_at >= paused_at + RENEW_DEADLINE,
        "the pause outlasted the renew deadline"
    );
    a.process.resume()?;

    // The old holder finds its deadline passed, stops and exits to restart as a
    // candidate.
    let exit = a.process.wait(Duration::from_secs(20)).await;
    let a_log = a.process.log();
    let exit =
        exit.with_context(|| format!("replica-a kept running after its resume; log:\n{a_log}"))?;
    assert!(
        !exit.success(),
        "replica-a exits with an error after losing the lease: {exit:?}\n{a_log}"
    );
    let late = a.writes_since(resumed_at);
    assert!(
        late.is_empty(),
        "replica-a wrote to the provider after its deadline: {late:#?}\n{a_log}"
    );
    let kube_writes = object_writes(&env, &a.user, kube_index);
    assert!(
        kube_writes.is_empty(),
        "replica-a wrote ChatGroups or claims after its deadline: {kube_writes:#?}\n{a_log}"
    );
    assert_eq!(
        statuses(&env, &names).await?,
        before,
        "the new holder's status stands"
    );
    assert_eq!(lease_holder(&env).await.as_deref(), Some("replica-b"));

    delete_all_and_count(&env, side, &names, &b, &a).await?;
    let late = a.writes_since(resumed_at);
    assert!(
        late.is_empty(),
        "replica-a wrote after its deadline: {late:#?}"
    );
    assert!(
        b.process.wait(Duration::ZERO).await.is_none(),
        "replica-b still runs"
    );
    b.process.signal("TERM")?;
    b.process.wait(Duration::from_secs(20)).await;
    Ok(())
}

/// The holder's renewals fail with `failure` while creates on `side` are in flight.
async fn renewals_fail(side: Side, failure: LeaseFailure) -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let (mut a, mut b) = pair(&env).await?;
    let names: Vec<String> = (1..=4).map(|i| format!("renew-{i}")).collect();
    env.inject(side, slow_creates(side, names.len() as u32));
    for name in &names {
        env.apply_group(&manifest(side, name)).await?;
    }
    e2e::eventually(WAIT, || async {
        (a.sent(side, Op::Create) >= 1).then_some(())
    })
    .await
    .with_context(|| format!("replica-a did not send a create; log:\n{}", a.process.log()))?;
    // From here on, no renewal of replica-a succeeds: its last one was sent before.
    env.kube
        .faults()
        .fail_lease_writes(&a.user, Some(LEASE_NAME), failure);
    let failing_since = Instant::now();
    let deadline = failing_since + RENEW_DEADLINE;
    // A ChatGroup that appears after the deadline, before the standby may take
    // over: only the new holder may create it.
    tokio::time::sleep_until(deadline + IN_FLIGHT).await;
    let mut names = names;
    names.push("renew-late".into());
    env.apply_group(&manifest(side, "renew-late")).await?;

    wait_holder(
        &env,
        "replica-b",
        LEASE + RENEW_DEADLINE + Duration::from_secs(10),
    )
    .await
    .with_context(|| format!("replica-a log:\n{}", a.process.log()))?;
    let took_over_at = Instant::now();
    assert!(
        took_over_at >= deadline,
        "the standby took over after the old holder's deadline"
    );
    let kube_index = env.kube.requests().len();
    let exit = a.process.wait(Duration::from_secs(20)).await;
    let a_log = a.process.log();
    let exit =
        exit.with_context(|| format!("replica-a kept running without its lease; log:\n{a_log}"))?;
    assert!(
        !exit.success(),
        "replica-a exits with an error: {exit:?}\n{a_log}"
    );

    for name in &names {
        env.wait_group(name, WAIT, |g| ready_with(g, "Available"))
            .await
            .with_context(|| format!("replica-b log:\n{}", b.process.log()))?;
    }
    let late = a.writes_since(deadline + IN_FLIGHT);
    assert!(
        late.is_empty(),
        "replica-a wrote to the provider after its deadline: {late:#?}\n{a_log}"
    );
    let kube_writes = object_writes(&env, &a.user, kube_index);
    assert!(
        kube_writes.is_empty(),
        "replica-a wrote ChatGroups or claims after the takeover: {kube_writes:#?}\n{a_log}"
    );
    delete_all_and_count(&env, side, &names, &b, &a).await?;
    assert!(
        b.process.wait(Duration::ZERO).await.is_none(),
        "replica-b still runs"
    );
    b.process.signal("TERM")?;
    b.process.wait(Duration::from_secs(20)).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_holder_resumed_after_the_takeover_makes_no_write() -> anyhow::Result<()> {
    paused_holder(Side::Tencent).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_holder_resumed_after_the_takeover_makes_no_write_on_netease() -> anyhow::Result<()>
{
    paused_holder(Side::Netease).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_renewals_conflict_stops_writing_at_its_deadline() -> anyhow::Result<()> {
    renewals_fail(Side::Tencent, LeaseFailure::Conflict).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_renewals_conflict_stops_writing_at_its_deadline_on_netease(
) -> anyhow::Result<()> {
    renewals_fail(Side::Netease, LeaseFailure::Conflict).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_renewals_fail_with_500_stops_writing_at_its_deadline() -> anyhow::Result<()>
{
    renewals_fail(Side::Tencent, LeaseFailure::InternalError).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_renewals_fail_with_500_stops_writing_at_its_deadline_on_netease(
) -> anyhow::Result<()> {
    renewals_fail(Side::Netease, LeaseFailure::InternalError).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_renewals_time_out_stops_writing_at_its_deadline() -> anyhow::Result<()> {
    renewals_fail(Side::Tencent, LeaseFailure::Timeout(Duration::from_secs(5))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_renewals_time_out_stops_writing_at_its_deadline_on_netease(
) -> anyhow::Result<()> {
    renewals_fail(Side::Netease, LeaseFailure::Timeout(Duration::from_secs(5))).await
}
