//! The crash test of issue 14: 100 ChatGroups over both providers, created over a
//! few seconds while every create answer arrives 300 ms after the create took effect
//! (and some never arrive), the operator binary SIGKILLed twice while creates are in
//! flight and restarted each time. From the simulators' own records: every ChatGroup
//! got exactly one group, its status names it, and after the delete every group
//! created was disbanded exactly once: no duplicate, no leak.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context as _};
use chatgroup_operator::api::ChatGroup;
use e2e::replica::{operator_binary, OperatorProcess};
use e2e::{group_id, ready_with, Env, Op, Side, OPERATOR_USER};
use kube::api::ListParams;
use kube::ResourceExt;
use provider_sim::{Fault, FaultKind, RecordedCall};
use tokio::time::Instant;

/// ChatGroups per provider.
const PER_SIDE: usize = 50;
/// How long a create's answer is held back after the create took effect.
const ANSWER_LATE: Duration = Duration::from_millis(300);
/// Share of creates whose answer never arrives (the connection drops after the create).
const DROPPED: f64 = 0.1;
/// Pause between two applies: the 100 ChatGroups arrive over a few seconds.
const APPLY_GAP: Duration = Duration::from_millis(10);
/// Creates that must have taken effect (since the last start) before a kill.
const CREATES_BEFORE_KILL: usize = 20;
const WAIT: Duration = Duration::from_secs(60);
/// How late a create may take effect, for the operator's NetEase recovery: short,
/// so a create killed before it was sent is re-sent within the test.
const LATE_CREATE_BOUND: &str = "5s";

fn names(side: Side) -> Vec<String> {
    let prefix = match side {
        Side::Tencent => "crash-t",
        Side::Netease => "crash-n",
    };
    (0..PER_SIDE).map(|i| format!("{prefix}-{i:02}")).collect()
}

fn calls_to(env: &Env, side: Side, api: &str) -> Vec<RecordedCall> {
    match side {
        Side::Tencent => env.tencent.calls_to(api),
        Side::Netease => env.netease.calls_to(api),
    }
}

/// Creates that took effect on the provider (each made one group), answered or not.
fn effective_creates(env: &Env, side: Side) -> Vec<RecordedCall> {
    calls_to(env, side, side.api(Op::Create))
        .into_iter()
        .filter(|c| c.executed && c.code == side.success_code())
        .collect()
}

/// The group name a create was made with.
fn created_name(side: Side, call: &RecordedCall) -> String {
    let key = match side {
        Side::Tencent => "Name",
        Side::Netease => "name",
    };
    call.body[key].as_str().unwrap_or_default().to_string()
}

fn total_effective_creates(env: &Env) -> usize {
    Side::BOTH
        .iter()
        .map(|side| effective_creates(env, *side).len())
        .sum()
}

/// The operator binary as its own process, the way a Deployment runs it.
fn spawn_operator(env: &Env, binary: &Path) -> anyhow::Result<OperatorProcess> {
    let args: Vec<String> = [
        "--concurrency",
        "16",
        "--late-create-bound",
        LATE_CREATE_BOUND,
        "--resync-interval",
        "1h",
        "--metrics-addr",
        "127.0.0.1:0",
        "--log",
        "info",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    OperatorProcess::spawn(binary, &env.kube.url(), OPERATOR_USER, None, &args)
}

/// Applies every ChatGroup, alternating providers, [`APPLY_GAP`] apart.
async fn apply_all(env: &Env) -> anyhow::Result<()> {
    let (tencent, netease) = (names(Side::Tencent), names(Side::Netease));
    for (t, n) in tencent.iter().zip(&netease) {
        env.apply_group(&Side::Tencent.manifest(t, "")).await?;
        tokio::time::sleep(APPLY_GAP).await;
        env.apply_group(&Side::Netease.manifest(n, "")).await?;
        tokio::time::sleep(APPLY_GAP).await;
    }
    Ok(())
}

/// ChatGroups whose group took effect on the provider but whose status does not
/// name it yet: the creates the crash caught in flight.
async fn unrecorded(env: &Env) -> anyhow::Result<Vec<String>> {
    let recorded: BTreeSet<String> = env
        .groups()
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|g| group_id(g).is_some())
        .map(ResourceExt::name_any)
        .collect();
    let mut caught = Vec::new();
    for side in Side::BOTH {
        for call in effective_creates(env, side) {
            let name = created_name(side, &call);
            if !recorded.contains(&name) {
                caught.push(name);
            }
        }
    }
    Ok(caught)
}

/// Waits until at least `more` creates took effect after `base` did and one took
/// effect within the last poll (its answer is still held back), then SIGKILLs the
/// operator. Returns its log and the ChatGroups whose creates it left in flight.
async fn kill_in_flight(
    env: &Env,
    operator: &mut OperatorProcess,
    base: usize,
    more: usize,
) -> anyhow::Result<(String, Vec<String>)> {
    let deadline = Instant::now() + WAIT;
    let mut last = total_effective_creates(env);
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = total_effective_creates(env);
        if now >= base + more && now > last {
            break;
        }
        last = now;
        if Instant::now() >= deadline {
            bail!(
                "only {now} creates took effect ({base} before this start); operator log:\n{}",
                operator.log()
            );
        }
    }
    operator.signal("KILL")?;
    let status = operator
        .wait(Duration::from_secs(10))
        .await
        .context("the SIGKILLed operator did not exit")?;
    ensure!(!status.success(), "SIGKILL ended the operator: {status:?}");
    Ok((operator.log(), unrecorded(env).await?))
}

/// Polls the ChatGroups until `done` accepts the list or [`WAIT`] passes.
async fn wait_all(
    env: &Env,
    what: &str,
    done: impl Fn(&[ChatGroup]) -> bool,
) -> anyhow::Result<Vec<ChatGroup>> {
    let deadline = Instant::now() + WAIT;
    loop {
        let groups = env.groups().list(&ListParams::default()).await?.items;
        if done(&groups) {
            return Ok(groups);
        }
        if Instant::now() >= deadline {
            let stuck: Vec<_> = groups
                .iter()
                .filter(|g| !ready_with(g, "Available"))
                .map(|g| (g.name_any(), g.status.clone()))
                .take(5)
                .collect();
            bail!("{what} within {WAIT:?}; some not Ready: {stuck:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sigkilled_twice_while_late_creates_are_in_flight_makes_no_duplicate_and_leaks_nothing(
) -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let binary = operator_binary().await?;
    let started = Instant::now();
    for side in Side::BOTH {
        let api = Some(side.api(Op::Create));
        env.inject(
            side,
            Fault::always(api, FaultKind::LatencyAfterExecution(ANSWER_LATE)),
        );
        env.inject(
            side,
            Fault {
                probability: DROPPED,
                ..Fault::always(api, FaultKind::DropAfterExecution)
            },
        );
    }

    let mut operator = spawn_operator(&env, &binary)?;
    let mut logs = Vec::new();
    let crashes = async {
        let mut caught = Vec::new();
        let mut kill_times = Vec::new();
        for _ in 0..2 {
            let base = total_effective_creates(&env);
            let (log, in_flight) =
                kill_in_flight(&env, &mut operator, base, CREATES_BEFORE_KILL).await?;
            logs.push(log);
            caught.push(in_flight);
            kill_times.push(started.elapsed());
            operator = spawn_operator(&env, &binary)?;
        }
        anyhow::Ok((caught, kill_times))
    };
    let applying = async {
        apply_all(&env).await?;
        anyhow::Ok(started.elapsed())
    };
    let (applied, crashed) = tokio::join!(applying, crashes);
    let applied_in = applied?;
    let (caught, kill_times) = crashed?;
    for (i, in_flight) in caught.iter().enumerate() {
        assert!(
            !in_flight.is_empty(),
            "kill {}: no create was in flight; log:\n{}",
            i + 1,
            tail(&logs[i], 40)
        );
    }
    for side in Side::BOTH {
        match side {
            Side::Tencent => env.tencent.clear_faults(),
            Side::Netease => env.netease.clear_faults(),
        }
    }

    let total = 2 * PER_SIDE;
    let groups = wait_all(&env, "all ChatGroups Ready", |groups| {
        groups.len() == total && groups.iter().all(|g| ready_with(g, "Available"))
    })
    .await
    .with_context(|| format!("operator log:\n{}", tail(&operator.log(), 60)))?;
    let converged_at = started.elapsed();

    // NetEase creates caught by a kill can only be recorded through the joined-teams
    // search: it ran, and completed.
    let netease_caught = caught
        .iter()
        .flatten()
        .filter(|n| names(Side::Netease).contains(n))
        .count();
    assert!(
        netease_caught > 0,
        "a NetEase create was in flight at a kill: {caught:?}"
    );
    let searches = env
        .netease
        .calls_to("joined_teams")
        .into_iter()
        .filter(|c| c.executed && c.code == Side::Netease.success_code())
        .count();
    assert!(
        searches > 0,
        "the lost-create search ran for the {netease_caught} NetEase creates caught by a kill"
    );

    // Exactly one group per ChatGroup, and its status names it.
    let by_name: BTreeMap<String, &ChatGroup> = groups.iter().map(|g| (g.name_any(), g)).collect();
    let mut recorded: Vec<BTreeSet<String>> = Vec::new();
    for side in Side::BOTH {
        let expected: BTreeSet<String> = names(side).into_iter().collect();
        let mut per_name: BTreeMap<String, usize> = BTreeMap::new();
        for call in effective_creates(&env, side) {
            *per_name.entry(created_name(side, &call)).or_default() += 1;
        }
        let twice: BTreeMap<_, _> = per_name.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "{side:?}: created more than once (a duplicate): {twice:?}"
        );
        assert_eq!(
            per_name.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{side:?}: one create took effect for every ChatGroup"
        );
        let live = env.sim_groups(side);
        let mut live_names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for group in &live {
            live_names
                .entry(group.name.clone())
                .or_default()
                .push(group.id.clone());
        }
        assert_eq!(
            live.len(),
            PER_SIDE,
            "{side:?}: one live group per ChatGroup: {live_names:?}"
        );
        assert_eq!(
            live_names.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{side:?}: the live groups carry the ChatGroups' names"
        );
        let mut ids = BTreeSet::new();
        for name in &expected {
            let group = by_name[name.as_str()];
            let id = group_id(group).with_context(|| format!("{name}: no status.groupId"))?;
            let sim = env
                .sim_group(side, &id)
                .with_context(|| format!("{name}: status.groupId {id} names no live group"))?;
            assert_eq!(&sim.name, name, "{name}: status.groupId {id} is its group");
            if side == Side::Netease {
                let marker = format!("\"{}\"", group.uid().unwrap_or_default());
                assert!(
                    sim.server_extension.contains(&marker),
                    "{name}: team {id} carries this object's marker: {}",
                    sim.server_extension
                );
            }
            assert!(ids.insert(id.clone()), "{name}: {id} recorded twice");
        }
        recorded.push(ids);
        let disbands = calls_to(&env, side, side.api(Op::Disband));
        assert!(
            disbands.is_empty(),
            "{side:?}: nothing disbanded before the delete: {disbands:#?}"
        );
    }

    // Delete everything: every group created is disbanded, once.
    for name in by_name.keys() {
        env.delete_group(name).await?;
    }
    wait_all(&env, "all ChatGroups gone", <[ChatGroup]>::is_empty)
        .await
        .with_context(|| format!("operator log:\n{}", tail(&operator.log(), 60)))?;
    for (side, recorded) in Side::BOTH.into_iter().zip(&recorded) {
        let leaked = env.sim_groups(side);
        assert!(leaked.is_empty(), "{side:?}: groups leaked: {leaked:#?}");
        let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
        for call in calls_to(&env, side, side.api(Op::Disband))
            .into_iter()
            .filter(|c| c.executed)
        {
            *per_id.entry(side.disbanded_id(&call)).or_default() += 1;
        }
        let twice: BTreeMap<_, _> = per_id.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{side:?}: disbanded twice: {twice:?}");
        assert_eq!(
            per_id.keys().cloned().collect::<BTreeSet<_>>(),
            *recorded,
            "{side:?}: exactly the recorded groups were disbanded"
        );
    }
    let status = operator.stop(Duration::from_secs(20)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "the operator stops cleanly on SIGTERM: {status:?}"
    );
    eprintln!("applied in {applied_in:?}; killed at {kill_times:?}");
    eprintln!(
        "in flight at the kills: {caught:?}; dropped answers: {:?}; joined-team searches: {}; all Ready after {converged_at:?}, all gone after {:?}",
        Side::BOTH.map(|side| effective_creates(&env, side).iter().filter(|c| c.dropped).count()),
        env.netease.calls_to("joined_teams").len(),
        started.elapsed()
    );
    Ok(())
}
