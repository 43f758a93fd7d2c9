//! The chaos soak: N ChatGroups over both providers are created, renamed and deleted
//! while the provider simulators fail about a fifth of the calls (in every way they
//! can), the Kubernetes simulator ends watches, compacts its history and answers some
//! requests with errors, and the operator is killed and started again every few
//! seconds. By default the operator is the `chatgroup-operator` binary in its own
//! process, killed with SIGKILL; [`KillMode::Abort`] runs it as a task of the soak
//! instead and aborts that task (quicker to start, for short runs). Either way what
//! it was doing stops mid-flight and nothing is cleaned up. Then the faults stop and
//! everything must converge within a deadline.
//!
//! Every verdict comes from the simulators' own state and call logs (and the
//! operator's captured log), never from what the operator reports in status.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use chatgroup_operator::api::ChatGroup;
use chatgroup_operator::controller::plan::derived_tencent_group_id;
use chatgroup_operator::provider::{GroupType, MARKER_KEY};
use futures::StreamExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::ResourceExt;
use provider_sim::{Fault, FaultKind, NeteaseSimConfig, RecordedCall, SimGroup, TencentSimConfig};
use tokio::time::Instant;

use crate::replica::OperatorProcess;
use crate::{condition, fixtures, group_id, ready_with, Env, Op, Side, OPERATOR_USER};

/// How the operator is killed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KillMode {
    /// The `chatgroup-operator` binary runs as its own process and gets SIGKILL.
    #[default]
    Sigkill,
    /// The operator runs as a task of the soak's runtime and the task is aborted
    /// (tasks it spawned, read-only NetEase joined-team scans, may finish).
    Abort,
}

/// What the soak does and how hard it shakes.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// ChatGroups, alternately on Tencent and NetEase.
    pub groups: usize,
    /// While the faults are on, the operator is killed and started again this often.
    pub kill_every: Duration,
    /// How the operator runs and is killed.
    pub kill_mode: KillMode,
    /// The operator binary in [`KillMode::Sigkill`]; built next to the running
    /// executable when unset.
    pub operator_binary: Option<PathBuf>,
    /// Share of provider calls that fail, spread over every fault kind the
    /// simulators have.
    pub provider_fault_rate: f64,
    /// Share of Kubernetes requests answered with an error (409, 429, 500 and 503 in
    /// turn, a second each).
    pub kube_fail_fraction: f64,
    /// Watches opened while the faults are on end after this long.
    pub watch_lifetime: Duration,
    /// The Kubernetes simulator's watch history is dropped this often, so watches
    /// resumed from a version they saw get 410 Gone and list again.
    pub compact_every: Duration,
    /// How long a late provider answer is held back (its call took effect at once).
    pub late_answer: Duration,
    /// The faults stop after this long even if not every ChatGroup was deleted under
    /// them; what is left must then converge within `deadline` all the same.
    pub chaos_limit: Duration,
    /// Once the faults stop, every ChatGroup must have been Ready after its update
    /// and be gone within this.
    pub deadline: Duration,
    /// The operator's reconcile concurrency.
    pub concurrency: u16,
    /// The soak's own Kubernetes requests in flight at once (applies, deletes).
    pub apply_concurrency: usize,
    /// Worker threads of the runtime the soak (simulators, operator, driver) runs on.
    pub worker_threads: usize,
    /// `EnvFilter` directives of the log that is searched for secrets: the operator
    /// process's `--log`, or the capture of the soak's runtime.
    pub log_filter: String,
    /// Print a progress line to stderr every few seconds.
    pub progress: bool,
}

impl Default for SoakConfig {
    fn default() -> Self {
        SoakConfig {
            groups: 2000,
            kill_every: Duration::from_secs(10),
            kill_mode: KillMode::default(),
            operator_binary: None,
            provider_fault_rate: 0.2,
            kube_fail_fraction: 0.03,
            watch_lifetime: Duration::from_secs(5),
            compact_every: Duration::from_secs(15),
            late_answer: Duration::from_secs(1),
            chaos_limit: Duration::from_secs(30 * 60),
            deadline: Duration::from_secs(5 * 60),
            concurrency: 16,
            apply_concurrency: 16,
            worker_threads: 2,
            log_filter: "chatgroup_operator=trace,info".into(),
            progress: true,
        }
    }
}

/// How the provider calls of one simulator went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallTally {
    pub calls: usize,
    /// Answered with the throttle code (the simulator's own rate limit included).
    pub throttled: usize,
    /// Answered with a transient server error code.
    pub transient: usize,
    pub http_502: usize,
    /// Connection closed before the call ran.
    pub dropped: usize,
    pub malformed_json: usize,
    /// The call ran, then the connection closed without its answer.
    pub dropped_after_execution: usize,
    /// Refused before running for another reason.
    pub other_refusals: usize,
}

impl CallTally {
    /// Calls whose answer was spoiled (late answers are not visible in the call log).
    pub fn faulted(&self) -> usize {
        self.throttled
            + self.transient
            + self.http_502
            + self.dropped
            + self.malformed_json
            + self.dropped_after_execution
            + self.other_refusals
    }
}

/// The operator's requests to the Kubernetes simulator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeTally {
    pub requests: usize,
    pub watches: usize,
    /// Answers by HTTP status, 400 and above (injected and real ones).
    pub errors: BTreeMap<u16, usize>,
}

/// What the operator logged while the soak ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogTally {
    pub lines: usize,
    pub bytes: usize,
    /// Lines holding a simulator's secret (raw, base64 or URL-encoded).
    pub secret_lines: usize,
    /// Operator runs that ended by themselves with an error (a failed start).
    pub failed_starts: usize,
    /// Operator processes whose log was read (0 in [`KillMode::Abort`]).
    pub processes: usize,
    /// The last warnings and errors, secrets masked (for a report that failed).
    pub last_warnings: Vec<String>,
}

/// The figures and findings of one soak.
#[derive(Clone, Debug, Default)]
pub struct SoakReport {
    pub groups: usize,
    pub kill_every: Duration,
    pub kill_mode: KillMode,
    pub deadline: Duration,
    /// Kills (SIGKILLs of the operator process, or aborts of its task), each
    /// followed by a start.
    pub kills: usize,
    /// Starts of an operator that had ended by itself (a failed start).
    pub restarts_after_exit: usize,
    pub compactions: usize,
    pub tencent: CallTally,
    pub netease: CallTally,
    pub kube: KubeTally,
    pub log: LogTally,
    /// ChatGroups seen Ready/Available after their create, and after their update.
    pub ready_after_create: usize,
    pub ready_after_update: usize,
    /// Deletes the soak sent while the faults were on.
    pub deletes_under_faults: usize,
    /// How long the faults were on.
    pub under_faults: Duration,
    /// From the faults stopping to the last ChatGroup gone; `None` when the deadline
    /// passed first.
    pub converged_in: Option<Duration>,
    pub total: Duration,
    /// Groups created on the providers (creates that took effect) and groups
    /// disbanded (disbands that took effect).
    pub groups_created: usize,
    pub groups_disbanded: usize,
    /// ChatGroups still there when the deadline passed, with what their status said.
    pub not_converged: Vec<String>,
    /// ChatGroups that disappeared before the soak deleted them.
    pub vanished: Vec<String>,
    /// ChatGroups Ready for their update whose group did not carry the new name.
    pub stale_ready: Vec<String>,
    /// ChatGroups seen with a Ready=True (Available) condition whose own
    /// observedGeneration was their updated generation while their group did not have
    /// the update yet: what `kubectl wait --for=condition=Ready` would take for done.
    /// Reported, not a failure of the soak (its checks are about groups).
    pub misleading_ready: Vec<String>,
    /// Groups left on a simulator whose ChatGroup is gone, or that no ChatGroup made.
    pub leaked: Vec<String>,
    /// ChatGroups for which more than one create took effect.
    pub duplicate_creates: Vec<String>,
    /// Creates that took effect for no ChatGroup of this soak.
    pub unattributed_creates: Vec<String>,
    /// Groups disbanded successfully more than once.
    pub double_disbands: Vec<String>,
    /// ChatGroups that were gone while their group still existed on the provider
    /// (their finalizer was released before a confirmed disband).
    pub early_releases: Vec<String>,
}

impl SoakReport {
    /// Every check that failed, in words; empty when the soak passed.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.converged_in.is_none() {
            failures.push(format!(
                "did not converge within {:?} after the faults stopped: {} ChatGroups left, e.g. {}",
                self.deadline,
                self.not_converged.len(),
                sample(&self.not_converged)
            ));
        }
        if self.ready_after_update < self.groups {
            failures.push(format!(
                "{} of {} ChatGroups were never seen Ready/Available after their update",
                self.groups - self.ready_after_update,
                self.groups
            ));
        }
        let checks = [
            (
                "ChatGroups that vanished before they were deleted",
                &self.vanished,
            ),
            (
                "Ready ChatGroups whose group lacked the update",
                &self.stale_ready,
            ),
            ("leaked groups", &self.leaked),
            ("duplicate creates", &self.duplicate_creates),
            ("creates for no ChatGroup", &self.unattributed_creates),
            ("double disbands", &self.double_disbands),
            (
                "finalizers released before a confirmed disband",
                &self.early_releases,
            ),
        ];
        for (what, found) in checks {
            if !found.is_empty() {
                failures.push(format!("{what}: {}: {}", found.len(), sample(found)));
            }
        }
        if self.log.secret_lines > 0 {
            failures.push(format!(
                "secrets in log lines: {} lines hold a simulator's key",
                self.log.secret_lines
            ));
        }
        // A soak in which nothing was shaken proves nothing.
        if self.log.lines == 0 {
            failures.push("no operator log was captured: the secret check saw nothing".into());
        }
        if self.kills == 0 {
            failures.push(
                "the operator was never killed: raise the group count or lower the kill interval"
                    .into(),
            );
        }
        if self.tencent.faulted() == 0 || self.netease.faulted() == 0 {
            failures.push("no provider fault fired on one of the simulators".into());
        }
        failures
    }
}

fn sample(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > SHOWN {
        text.push_str(&format!("; and {} more", items.len() - SHOWN));
    }
    text
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let calls = |t: &CallTally| {
            format!(
                "{} calls, {} faulted ({:.1}%): throttled {}, transient code {}, HTTP 502 {}, dropped {}, malformed JSON {}, dropped after execution {}, other refusals {} (late answers are not in the call log)",
                t.calls,
                t.faulted(),
                100.0 * t.faulted() as f64 / t.calls.max(1) as f64,
                t.throttled,
                t.transient,
                t.http_502,
                t.dropped,
                t.malformed_json,
                t.dropped_after_execution,
                t.other_refusals
            )
        };
        writeln!(f, "chatgroup-soak")?;
        writeln!(
            f,
            "  groups                      {} (Tencent {}, NetEase {})",
            self.groups,
            self.groups.div_ceil(2),
            self.groups / 2
        )?;
        writeln!(
            f,
            "  operator kills              {} ({} every {}), restarts after a failed start {}",
            self.kills,
            match self.kill_mode {
                KillMode::Sigkill => "SIGKILL of the operator process",
                KillMode::Abort => "in-process abort of its task",
            },
            secs(self.kill_every),
            self.restarts_after_exit
        )?;
        writeln!(f, "  Tencent                     {}", calls(&self.tencent))?;
        writeln!(f, "  NetEase                     {}", calls(&self.netease))?;
        writeln!(
            f,
            "  Kubernetes (operator)       {} requests, {} watches, error answers {:?}, history compactions {}",
            self.kube.requests, self.kube.watches, self.kube.errors, self.compactions
        )?;
        writeln!(
            f,
            "  faults on for               {} ({} of {} deletes sent under faults)",
            secs(self.under_faults),
            self.deletes_under_faults,
            self.groups
        )?;
        match self.converged_in {
            Some(d) => writeln!(
                f,
                "  converged                   {} after the faults stopped (deadline {})",
                secs(d),
                secs(self.deadline)
            )?,
            None => writeln!(
                f,
                "  converged                   NO: {} ChatGroups left at the deadline ({})",
                self.not_converged.len(),
                secs(self.deadline)
            )?,
        }
        writeln!(f, "  total                       {}", secs(self.total))?;
        writeln!(
            f,
            "  Ready after create / update {} / {} of {}",
            self.ready_after_create, self.ready_after_update, self.groups
        )?;
        writeln!(
            f,
            "  groups created / disbanded  {} / {}",
            self.groups_created, self.groups_disbanded
        )?;
        let counts = [
            ("leaked groups", self.leaked.len()),
            ("duplicate creates", self.duplicate_creates.len()),
            ("creates for no ChatGroup", self.unattributed_creates.len()),
            ("double disbands", self.double_disbands.len()),
            ("early finalizer releases", self.early_releases.len()),
            ("vanished ChatGroups", self.vanished.len()),
            ("stale Ready", self.stale_ready.len()),
            ("misleading Ready (info)", self.misleading_ready.len()),
            ("secrets in log lines", self.log.secret_lines),
        ];
        for (what, n) in counts {
            writeln!(f, "  {what:<27} {n}")?;
        }
        if !self.misleading_ready.is_empty() {
            writeln!(
                f,
                "  note: a Ready condition claimed a generation not yet applied, e.g. {}",
                sample(&self.misleading_ready[..1])
            )?;
        }
        writeln!(
            f,
            "  operator log                {} lines searched ({} bytes, {} processes), failed starts {}",
            self.log.lines, self.log.bytes, self.log.processes, self.log.failed_starts
        )?;
        let failures = self.failures();
        if failures.is_empty() {
            writeln!(f, "  result                      PASS")?;
        } else {
            writeln!(f, "  result                      FAIL")?;
            for failure in failures {
                writeln!(f, "    - {failure}")?;
            }
            if !self.log.last_warnings.is_empty() {
                writeln!(f, "  last operator warnings:")?;
                for line in &self.log.last_warnings {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        Ok(())
    }
}

/// Runs a soak. The simulators, the driver and (in [`KillMode::Abort`]) the
/// operator run on a runtime of their own, whose threads all log into the capture
/// that is searched for secrets; every operator process's log is fed to it too.
pub async fn run(config: SoakConfig) -> anyhow::Result<SoakReport> {
    let capture = Capture::new(secret_forms());
    // With the operator in its own process, the soak's threads run only the
    // simulators and the driver: their warnings are searched, their chatter is not
    // counted as the operator's.
    let filter = match config.kill_mode {
        KillMode::Abort => config.log_filter.as_str(),
        KillMode::Sigkill => "warn",
    };
    let dispatch = capture.dispatch(filter)?;
    let runtime = {
        let dispatch = dispatch.clone();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("chatgroup-soak")
            .enable_all()
            .on_thread_start(move || {
                let guard = tracing::dispatcher::set_default(&dispatch);
                THREAD_LOG.with(|slot| *slot.borrow_mut() = Some(guard));
            })
            .on_thread_stop(|| {
                THREAD_LOG.with(|slot| slot.borrow_mut().take());
            })
            .build()?
    };
    let (done, report) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("chatgroup-soak".into())
        .spawn(move || {
            let result = {
                let _log = tracing::dispatcher::set_default(&dispatch);
                runtime.block_on(soak(config, capture))
            };
            runtime.shutdown_timeout(Duration::from_secs(5));
            let _ = done.send(result);
        })?;
    report
        .await
        .context("the soak's thread ended without a report (it panicked)")?
}

thread_local! {
    /// The capture, as the default subscriber of a runtime thread for its lifetime.
    static THREAD_LOG: std::cell::RefCell<Option<tracing::dispatcher::DefaultGuard>> =
        const { std::cell::RefCell::new(None) };
}

/// The simulators' secrets, in the forms a log line could carry them.
fn secret_forms() -> Vec<String> {
    let secrets = [
        TencentSimConfig::default().secret_key,
        NeteaseSimConfig::default().app_secret,
    ];
    let mut forms = Vec::new();
    for secret in secrets {
        let engine = &base64::engine::general_purpose::STANDARD;
        forms.push(engine.encode(secret.as_bytes()));
        forms.push(url_encode(&secret));
        forms.push(secret);
    }
    forms.sort();
    forms.dedup();
    forms
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Warnings kept for a report that failed.
const WARNINGS_KEPT: usize = 30;

#[derive(Default)]
struct LogScan {
    tally: LogTally,
    warnings: VecDeque<String>,
}

/// A log sink that searches every line as it is written and keeps only counts and
/// the last warnings (with secrets masked), so a long soak holds no log in memory.
#[derive(Clone)]
struct Capture {
    scan: Arc<Mutex<LogScan>>,
    secrets: Arc<Vec<String>>,
}

impl Capture {
    fn new(secrets: Vec<String>) -> Self {
        Capture {
            scan: Arc::default(),
            secrets: Arc::new(secrets),
        }
    }

    fn dispatch(&self, filter: &str) -> anyhow::Result<tracing::Dispatch> {
        let filter = tracing_subscriber::EnvFilter::try_new(filter)
            .with_context(|| format!("log filter {filter:?}"))?;
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || CaptureWriter(sink.clone()))
            .finish();
        Ok(tracing::Dispatch::new(subscriber))
    }

    /// One formatted event (the fmt layer writes each event whole).
    fn take(&self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let leaks = self.secrets.iter().any(|s| text.contains(s.as_str()));
        let mut scan = lock(&self.scan);
        scan.tally.lines += text.lines().count().max(1);
        scan.tally.bytes += bytes.len();
        if leaks {
            scan.tally.secret_lines += 1;
        }
        if text.contains("operator stopped with an error") {
            scan.tally.failed_starts += 1;
        }
        if text.contains(" WARN ") || text.contains(" ERROR ") {
            let mut line = text.trim_end().to_string();
            for secret in self.secrets.iter() {
                line = line.replace(secret.as_str(), "<secret>");
            }
            if scan.warnings.len() == WARNINGS_KEPT {
                scan.warnings.pop_front();
            }
            scan.warnings.push_back(line);
        }
    }

    /// A log written elsewhere (an operator process's), line by line.
    fn take_text(&self, text: &str) {
        for line in text.lines() {
            self.take(line.as_bytes());
        }
    }

    fn tally(&self) -> LogTally {
        let scan = lock(&self.scan);
        LogTally {
            last_warnings: scan.warnings.iter().cloned().collect(),
            ..scan.tally.clone()
        }
    }
}

struct CaptureWriter(Capture);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.take(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where one ChatGroup is in its lifecycle, as the soak drives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Applied; waiting for Ready after the create.
    Creating,
    /// Renamed; waiting for Ready after the update.
    Updating,
    /// Deleted; waiting for it to be gone.
    Deleting,
    Gone,
}

struct Tracked {
    side: Side,
    name: String,
    uid: String,
    stage: Stage,
    /// Seen with a Ready that claimed an update the provider did not have yet.
    misleading_ready: bool,
}

impl Tracked {
    fn new_name(&self) -> String {
        format!("{}-v2", self.name)
    }

    /// The manifest with the group renamed.
    fn updated(&self) -> String {
        let owner = if self.side == Side::Netease {
            "owner: alice\n"
        } else {
            ""
        };
        let spec = format!("name: {}\n{owner}", self.new_name());
        fixtures::group(
            &self.name,
            self.side.provider(),
            self.side.group_type(),
            &spec,
        )
    }
}

/// The ChatGroups of a soak and how a provider group is traced back to one: the
/// Tencent id derived from its UID, the NetEase marker (its UID) in the team's
/// `server_extension`.
struct Objects {
    all: Vec<Tracked>,
    by_tencent_id: HashMap<String, usize>,
    by_uid: HashMap<String, usize>,
}

impl Objects {
    fn new(all: Vec<Tracked>) -> Self {
        let by_tencent_id = all
            .iter()
            .enumerate()
            .filter(|(_, t)| t.side == Side::Tencent)
            .map(|(i, t)| (derived_tencent_group_id(&t.uid, GroupType::Public), i))
            .collect();
        let by_uid = all
            .iter()
            .enumerate()
            .map(|(i, t)| (t.uid.clone(), i))
            .collect();
        Objects {
            all,
            by_tencent_id,
            by_uid,
        }
    }

    /// The ChatGroup a provider group belongs to, from the group's own id or marker.
    fn owner_of(&self, side: Side, group: &SimGroup) -> Option<usize> {
        match side {
            Side::Tencent => self.by_tencent_id.get(&group.id).copied(),
            Side::Netease => self.by_marker(&group.server_extension),
        }
    }

    /// The ChatGroup a create that took effect was for.
    fn create_for(&self, side: Side, call: &RecordedCall) -> Option<usize> {
        match side {
            Side::Tencent => self
                .by_tencent_id
                .get(call.body["GroupId"].as_str().unwrap_or_default())
                .copied(),
            Side::Netease => {
                self.by_marker(call.body["server_extension"].as_str().unwrap_or_default())
            }
        }
    }

    fn by_marker(&self, extension: &str) -> Option<usize> {
        let value: serde_json::Value = serde_json::from_str(extension).ok()?;
        self.by_uid.get(value[MARKER_KEY].as_str()?).copied()
    }

    fn count(&self, stage: Stage) -> usize {
        self.all.iter().filter(|t| t.stage == stage).count()
    }
}

/// The live groups of both simulators that belong to a ChatGroup, by ChatGroup (the
/// others are counted as leaks at the end).
#[derive(Default)]
struct Snapshot {
    owned: HashMap<usize, Vec<(Side, SimGroup)>>,
}

fn snapshot(env: &Mutex<Env>, objects: &Objects) -> Snapshot {
    let groups: Vec<(Side, SimGroup)> = {
        let env = lock(env);
        Side::BOTH
            .iter()
            .flat_map(|side| env.sim_groups(*side).into_iter().map(|g| (*side, g)))
            .collect()
    };
    let mut snapshot = Snapshot::default();
    for (side, group) in groups {
        if let Some(i) = objects.owner_of(side, &group) {
            snapshot.owned.entry(i).or_default().push((side, group));
        }
    }
    snapshot
}

/// Counters the supervisor keeps.
#[derive(Default)]
struct Chaos {
    on: AtomicBool,
    kills: AtomicUsize,
    restarts_after_exit: AtomicUsize,
    compactions: AtomicUsize,
}

/// The error codes injected Kubernetes failures answer with, a second each.
const KUBE_CODES: [u16; 4] = [409, 429, 500, 503];

fn throttle_code(side: Side) -> i64 {
    match side {
        Side::Tencent => 60007,
        Side::Netease => 416,
    }
}

fn transient_code(side: Side) -> i64 {
    match side {
        Side::Tencent => 10002,
        Side::Netease => 503,
    }
}

/// Every fault kind of the provider simulators, their probabilities adding up to
/// `rate` (the first fatal rule that fires wins, so slightly fewer calls fail).
fn provider_faults(side: Side, rate: f64, late: Duration) -> Vec<Fault> {
    let shares = [
        (FaultKind::Code(throttle_code(side)), 0.20),
        (FaultKind::Code(transient_code(side)), 0.20),
        (FaultKind::Http502, 0.15),
        (FaultKind::DropConnection, 0.15),
        (FaultKind::MalformedJson, 0.15),
        (FaultKind::DropAfterExecution, 0.10),
        (FaultKind::LatencyAfterExecution(late), 0.05),
    ];
    shares
        .into_iter()
        .map(|(kind, share)| Fault {
            api: None,
            kind,
            probability: (rate * share).clamp(0.0, 1.0),
            remaining: None,
        })
        .collect()
}

fn faults_on(env: &Env, config: &SoakConfig, chaos: &Chaos) {
    for side in Side::BOTH {
        for fault in provider_faults(side, config.provider_fault_rate, config.late_answer) {
            env.inject(side, fault);
        }
    }
    let faults = env.kube.faults();
    faults.end_watches_after(Some(config.watch_lifetime));
    faults.fail_fraction(config.kube_fail_fraction, KUBE_CODES[0]);
    chaos.on.store(true, Ordering::SeqCst);
}

fn faults_off(env: &Env, chaos: &Chaos) {
    chaos.on.store(false, Ordering::SeqCst);
    env.tencent.clear_faults();
    env.netease.clear_faults();
    env.kube.faults().clear();
}

/// Kills and starts the operator on schedule while the faults are on, turns the
/// Kubernetes faults, and, like a Deployment, starts an operator that ended by
/// itself again (after a second). Runs until dropped.
async fn supervise(
    env: &Mutex<Env>,
    operator: &Mutex<Operator>,
    config: &SoakConfig,
    chaos: &Chaos,
) {
    let started = Instant::now();
    let mut next_kill = started + config.kill_every;
    let mut next_compaction = started + config.compact_every;
    let mut next_turn = started + Duration::from_secs(1);
    let mut turn = 0;
    let mut exited_at: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = Instant::now();
        let mut env = lock(env);
        let mut operator = lock(operator);
        if operator.running(&mut env) {
            exited_at = None;
        } else if now >= *exited_at.get_or_insert(now) + Duration::from_secs(1) {
            operator.kill(&mut env);
            operator.start(&mut env);
            chaos.restarts_after_exit.fetch_add(1, Ordering::Relaxed);
            exited_at = None;
        }
        if !chaos.on.load(Ordering::SeqCst) {
            continue;
        }
        if now >= next_kill {
            operator.kill(&mut env);
            operator.start(&mut env);
            chaos.kills.fetch_add(1, Ordering::Relaxed);
            next_kill = now + config.kill_every;
        }
        if now >= next_compaction {
            env.kube.faults().compact_history();
            chaos.compactions.fetch_add(1, Ordering::Relaxed);
            next_compaction = now + config.compact_every;
        }
        if now >= next_turn {
            turn += 1;
            let code = KUBE_CODES[turn % KUBE_CODES.len()];
            env.kube
                .faults()
                .fail_fraction(config.kube_fail_fraction, code);
            next_turn = now + Duration::from_secs(1);
        }
    }
}

/// The operator under test: a task of the soak's runtime (kept in [`Env`]), or the
/// binary as a process.
enum Operator {
    Task,
    Process(Box<Processes>),
}

/// The operator processes of a soak: the running one, and every one that ended
/// (killed, or exited by itself), kept until the end so their logs can be read whole.
struct Processes {
    binary: PathBuf,
    args: Vec<String>,
    current: Option<OperatorProcess>,
    ended: Vec<OperatorProcess>,
    /// Processes found exited without having been killed (a failed start).
    exited: usize,
}

impl Operator {
    fn new(config: &SoakConfig, binary: Option<PathBuf>) -> Operator {
        let Some(binary) = binary else {
            return Operator::Task;
        };
        let args = [
            "--concurrency",
            &config.concurrency.to_string(),
            "--resync-interval",
            "1h",
            "--late-create-bound",
            "2s",
            "--secret-refresh",
            "1s",
            "--max-deletion-backoff",
            "2s",
            "--metrics-addr",
            "127.0.0.1:0",
            "--log",
            &config.log_filter,
            "--log-format",
            "text",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        Operator::Process(Box::new(Processes {
            binary,
            args,
            current: None,
            ended: Vec::new(),
            exited: 0,
        }))
    }

    fn running(&mut self, env: &mut Env) -> bool {
        match self {
            Operator::Task => env.operator_running(),
            Operator::Process(p) => {
                let Some(process) = p.current.as_mut() else {
                    return false;
                };
                if !process.exited() {
                    return true;
                }
                p.exited += 1;
                p.ended.extend(p.current.take());
                false
            }
        }
    }

    /// Kills the operator at once, mid-reconcile if need be.
    fn kill(&mut self, env: &mut Env) {
        match self {
            Operator::Task => env.kill_operator(),
            Operator::Process(p) => {
                if let Some(mut process) = p.current.take() {
                    if let Err(error) = process.kill() {
                        tracing::warn!(%error, "could not kill the operator process");
                    }
                    p.ended.push(process);
                }
            }
        }
    }

    /// Starts an operator; a process that fails to spawn counts as one that ended
    /// by itself, and is started again like one.
    fn start(&mut self, env: &mut Env) {
        match self {
            Operator::Task => env.start_operator(),
            Operator::Process(p) => {
                if p.current.is_some() {
                    return;
                }
                let url = env.kube.url();
                match OperatorProcess::spawn(&p.binary, &url, OPERATOR_USER, None, &p.args) {
                    Ok(process) => p.current = Some(process),
                    Err(error) => tracing::warn!(%error, "could not start the operator process"),
                }
            }
        }
    }

    /// Stops the operator the way SIGTERM does, so in-flight reconciles finish and
    /// nothing changes while the simulators are read; then every process's log goes
    /// to `capture`.
    async fn stop(self, env: &mut Env, capture: &Capture) -> anyhow::Result<()> {
        let mut p = match self {
            Operator::Task => {
                env.stop_operator().await;
                return Ok(());
            }
            Operator::Process(p) => *p,
        };
        if let Some(mut process) = p.current.take() {
            // It may have exited by itself just now: then there is nothing to signal.
            let _ = process.signal("TERM");
            if process.wait(Duration::from_secs(30)).await.is_none() {
                tracing::warn!("the operator process did not exit within 30 s of SIGTERM");
                process.kill()?;
            }
            p.ended.push(process);
        }
        let processes = p.ended.len();
        for mut process in p.ended {
            // A killed process may still be dying; its log is complete once it is gone.
            process.wait(Duration::from_secs(10)).await;
            capture.take_text(&process.log());
        }
        lock(&capture.scan).tally.processes += processes;
        lock(&capture.scan).tally.failed_starts += p.exited;
        Ok(())
    }
}

/// How long the soak's own requests are retried through injected failures.
const HARNESS_RETRY: Duration = Duration::from_secs(120);

/// Calls `call` until it succeeds; the soak's requests meet the injected failures too.
async fn persist<T, F, Fut>(what: &str, call: F) -> anyhow::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let deadline = Instant::now() + HARNESS_RETRY;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if Instant::now() >= deadline => {
                return Err(error).with_context(|| what.to_string())
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn apply(api: &Api<ChatGroup>, yaml: &str) -> anyhow::Result<ChatGroup> {
    let value: serde_json::Value = serde_norway::from_str(yaml)?;
    let name = value["metadata"]["name"]
        .as_str()
        .context("metadata.name")?
        .to_string();
    let params = PatchParams::apply("chatgroup-soak").force();
    let patch = Patch::Apply(&value);
    persist(&format!("apply ChatGroup {name}"), || {
        api.patch(&name, &params, &patch)
    })
    .await
}

async fn delete(api: &Api<ChatGroup>, name: &str) -> anyhow::Result<()> {
    persist(&format!("delete ChatGroup {name}"), || async {
        match api.delete(name, &DeleteParams::default()).await {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            other => other.map(|_| ()),
        }
    })
    .await
}

/// What the driver saw while it drove every ChatGroup through its lifecycle.
#[derive(Default)]
struct Driven {
    ready_after_create: usize,
    ready_after_update: usize,
    deletes_under_faults: usize,
    under_faults: Duration,
    converged_in: Option<Duration>,
    not_converged: Vec<String>,
    vanished: Vec<String>,
    stale_ready: Vec<String>,
    misleading_ready: Vec<String>,
    early_releases: Vec<String>,
}

/// Ready/Available for the current generation, and the reconcile that said so
/// succeeded: a failed reconcile keeps a True Ready from the generation before while
/// `status.observedGeneration` moves on.
fn settled(group: &ChatGroup) -> bool {
    ready_with(group, "Available")
        && condition(group, "Synced") == Some(("True".into(), "ReconcileSuccess".into()))
        && group_id(group).is_some()
}

/// A True Ready (Available) whose own `observedGeneration` is the current one: what
/// `kubectl wait --for=condition=Ready` accepts.
fn ready_claims_current(group: &ChatGroup) -> bool {
    let generation = group.metadata.generation;
    group.status.iter().flat_map(|s| &s.conditions).any(|c| {
        c.type_ == "Ready"
            && c.status == "True"
            && c.reason == "Available"
            && c.observed_generation == generation
    })
}

fn describe(group: &ChatGroup) -> String {
    let status = group.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| format!("Ready={} {}: {}", c.status, c.reason, c.message))
        .unwrap_or_else(|| "no Ready condition".into());
    format!(
        "{} (generation {}, observed {}, deleting {}, {ready})",
        group.name_any(),
        group.metadata.generation.unwrap_or_default(),
        status.observed_generation.unwrap_or_default(),
        group.metadata.deletion_timestamp.is_some()
    )
}

/// Creates every ChatGroup, renames each once it is Ready, deletes each once it is
/// Ready after the rename, and checks at every step against the simulators.
async fn drive(
    env: &Mutex<Env>,
    config: &SoakConfig,
    chaos: &Chaos,
    objects: &mut Option<Objects>,
) -> anyhow::Result<Driven> {
    let started = Instant::now();
    let api: Api<ChatGroup> = lock(env).groups();
    faults_on(&lock(env), config, chaos);
    let plan: Vec<(Side, String)> = (0..config.groups)
        .map(|i| {
            let side = Side::BOTH[i % 2];
            let letter = if side == Side::Tencent { 't' } else { 'n' };
            (side, format!("soak-{letter}-{i:05}"))
        })
        .collect();
    let applied: Vec<anyhow::Result<ChatGroup>> = futures::stream::iter(&plan)
        .map(|(side, name)| {
            let api = &api;
            async move { apply(api, &side.manifest(name, "")).await }
        })
        .buffered(config.apply_concurrency.max(1))
        .collect()
        .await;
    let mut all = Vec::with_capacity(plan.len());
    for ((side, name), group) in plan.into_iter().zip(applied) {
        let uid = group?.uid().context("an applied ChatGroup has a UID")?;
        all.push(Tracked {
            side,
            name,
            uid,
            stage: Stage::Creating,
            misleading_ready: false,
        });
    }
    let objects = objects.insert(Objects::new(all));
    if config.progress {
        eprintln!(
            "[soak {:>7}] {} ChatGroups applied",
            secs(started.elapsed()),
            objects.all.len()
        );
    }

    let mut driven = Driven::default();
    let mut faults_stopped: Option<Instant> = None;
    let tick = Duration::from_millis(200 + config.groups as u64 / 4);
    let mut next_progress = Instant::now();
    let list = ListParams::default();
    loop {
        let listed = persist("list ChatGroups", || api.list(&list)).await?;
        let live: HashMap<String, ChatGroup> = listed
            .items
            .into_iter()
            .map(|g| (g.name_any(), g))
            .collect();
        // Read after the list: a group disbanded before its object went away is
        // already gone here.
        let sims = snapshot(env, objects);
        let (mut updates, mut deletes) = (Vec::new(), Vec::new());
        for (i, t) in objects.all.iter_mut().enumerate() {
            let group = live.get(&t.name);
            match (t.stage, group) {
                (Stage::Gone, _) => {}
                (Stage::Deleting, None) => {
                    t.stage = Stage::Gone;
                    for (side, g) in sims.owned.get(&i).into_iter().flatten() {
                        driven.early_releases.push(format!(
                            "{}: gone while {side:?} group {} still existed",
                            t.name, g.id
                        ));
                    }
                }
                (_, None) => {
                    driven.vanished.push(t.name.clone());
                    t.stage = Stage::Gone;
                }
                (Stage::Creating, Some(g)) => {
                    if settled(g) {
                        driven.ready_after_create += 1;
                        updates.push(i);
                    }
                }
                (Stage::Updating, Some(g)) => {
                    let renamed = g.spec.name == t.new_name() && g.metadata.generation >= Some(2);
                    let id = group_id(g).unwrap_or_default();
                    let on_provider = sims
                        .owned
                        .get(&i)
                        .into_iter()
                        .flatten()
                        .find(|(_, s)| s.id == id)
                        .map(|(_, s)| s.name.as_str());
                    let updated = on_provider == Some(t.new_name().as_str());
                    if renamed && settled(g) {
                        driven.ready_after_update += 1;
                        if !updated {
                            driven.stale_ready.push(format!(
                                "{}: Ready and Synced for its update, but group {id} is named {:?}",
                                t.name,
                                on_provider.unwrap_or("(not on the provider)")
                            ));
                        }
                        deletes.push(i);
                    } else if renamed && ready_claims_current(g) && !updated && !t.misleading_ready
                    {
                        t.misleading_ready = true;
                        driven.misleading_ready.push(format!(
                            "{}: Ready=True (Available) at generation {} while group {id} is still named {:?}; Synced: {:?}",
                            t.name,
                            g.metadata.generation.unwrap_or_default(),
                            on_provider.unwrap_or("(not on the provider)"),
                            condition(g, "Synced").unwrap_or_default()
                        ));
                    }
                }
                (Stage::Deleting, Some(_)) => {}
            }
        }

        let concurrency = config.apply_concurrency.max(1);
        let renamed: Vec<(usize, anyhow::Result<ChatGroup>)> = futures::stream::iter(updates)
            .map(|i| {
                let (api, yaml) = (&api, objects.all[i].updated());
                async move { (i, apply(api, &yaml).await) }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (i, result) in renamed {
            result?;
            objects.all[i].stage = Stage::Updating;
        }
        let deleted: Vec<(usize, anyhow::Result<()>)> = futures::stream::iter(deletes)
            .map(|i| {
                let (api, name) = (&api, objects.all[i].name.clone());
                async move { (i, delete(api, &name).await) }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (i, result) in deleted {
            result?;
            objects.all[i].stage = Stage::Deleting;
            if faults_stopped.is_none() {
                driven.deletes_under_faults += 1;
            }
        }

        let gone = objects.count(Stage::Gone);
        let all_deleted = gone + objects.count(Stage::Deleting) == objects.all.len();
        if faults_stopped.is_none() && (all_deleted || started.elapsed() >= config.chaos_limit) {
            faults_off(&lock(env), chaos);
            faults_stopped = Some(Instant::now());
            driven.under_faults = started.elapsed();
            if config.progress {
                eprintln!("[soak {:>7}] faults off", secs(started.elapsed()));
            }
        }
        if config.progress && Instant::now() >= next_progress {
            eprintln!(
                "[soak {:>7}] faults {} | creating {} updating {} deleting {} gone {} | kills {}",
                secs(started.elapsed()),
                if faults_stopped.is_none() {
                    "on"
                } else {
                    "off"
                },
                objects.count(Stage::Creating),
                objects.count(Stage::Updating),
                objects.count(Stage::Deleting),
                gone,
                chaos.kills.load(Ordering::Relaxed)
            );
            next_progress = Instant::now() + Duration::from_secs(5);
        }
        if let Some(stopped) = faults_stopped {
            if gone == objects.all.len() {
                driven.converged_in = Some(stopped.elapsed());
                return Ok(driven);
            }
            if stopped.elapsed() >= config.deadline {
                driven.not_converged = objects
                    .all
                    .iter()
                    .filter(|t| t.stage != Stage::Gone)
                    .map(|t| match live.get(&t.name) {
                        Some(g) => describe(g),
                        None => t.name.clone(),
                    })
                    .collect();
                return Ok(driven);
            }
        }
        tokio::time::sleep(tick).await;
    }
}

fn tally_calls(side: Side, calls: &[RecordedCall]) -> CallTally {
    let mut tally = CallTally {
        calls: calls.len(),
        ..CallTally::default()
    };
    for call in calls {
        match (call.executed, call.dropped) {
            (true, true) => tally.dropped_after_execution += 1,
            (false, true) => tally.dropped += 1,
            (true, false) => {}
            (false, false) => match call.code {
                502 => tally.http_502 += 1,
                // No real answer of an unexecuted call is 200: the body was not JSON.
                200 => tally.malformed_json += 1,
                c if c == throttle_code(side) => tally.throttled += 1,
                c if c == transient_code(side) => tally.transient += 1,
                _ => tally.other_refusals += 1,
            },
        }
    }
    tally
}

/// The verdicts from the simulators' call logs and the groups left on them.
fn audit(env: &Env, objects: &Objects, report: &mut SoakReport) {
    let mut creates: BTreeMap<usize, usize> = BTreeMap::new();
    let mut disbands: BTreeMap<(String, String), usize> = BTreeMap::new();
    for side in Side::BOTH {
        let calls = match side {
            Side::Tencent => env.tencent.calls(),
            Side::Netease => env.netease.calls(),
        };
        let tally = tally_calls(side, &calls);
        match side {
            Side::Tencent => report.tencent = tally,
            Side::Netease => report.netease = tally,
        }
        let took_effect = |c: &&RecordedCall| c.executed && c.code == side.success_code();
        for call in calls.iter().filter(took_effect) {
            if call.api == side.api(Op::Create) {
                report.groups_created += 1;
                match objects.create_for(side, call) {
                    Some(i) => *creates.entry(i).or_default() += 1,
                    None => report.unattributed_creates.push(format!(
                        "{side:?} create of {:?}",
                        call.body["GroupId"]
                            .as_str()
                            .or(call.body["name"].as_str())
                            .unwrap_or_default()
                    )),
                }
            } else if call.api == side.api(Op::Disband) {
                report.groups_disbanded += 1;
                let key = (format!("{side:?}"), side.disbanded_id(call));
                *disbands.entry(key).or_default() += 1;
            }
        }
    }
    report.duplicate_creates = creates
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(i, n)| format!("{}: {n} groups created", objects.all[*i].name))
        .collect();
    report.double_disbands = disbands
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((side, id), n)| format!("{side} group {id} disbanded {n} times"))
        .collect();
    for side in Side::BOTH {
        for group in env.sim_groups(side) {
            let owner = objects.owner_of(side, &group);
            let leaked = match owner {
                Some(i) => objects.all[i].stage == Stage::Gone,
                None => true,
            };
            if leaked {
                let whose = owner.map_or("no ChatGroup".to_string(), |i| {
                    format!("deleted ChatGroup {}", objects.all[i].name)
                });
                report
                    .leaked
                    .push(format!("{side:?} group {} of {whose}", group.id));
            }
        }
    }
    let mut kube = KubeTally::default();
    for request in env.kube.requests() {
        if request.user.as_deref() != Some(OPERATOR_USER) {
            continue;
        }
        kube.requests += 1;
        if request.verb == "watch" {
            kube.watches += 1;
        }
        if request.code >= 400 {
            *kube.errors.entry(request.code).or_default() += 1;
        }
    }
    report.kube = kube;
}

async fn soak(config: SoakConfig, capture: Capture) -> anyhow::Result<SoakReport> {
    let binary = match (config.kill_mode, &config.operator_binary) {
        (KillMode::Abort, _) => None,
        (KillMode::Sigkill, Some(binary)) => Some(binary.clone()),
        (KillMode::Sigkill, None) => Some(crate::replica::operator_binary().await?),
    };
    let started = Instant::now();
    let mut settings = crate::test_settings();
    settings.concurrency = config.concurrency;
    let mut env = Env::without_operator(settings).await?;
    let mut operator = Operator::new(&config, binary);
    operator.start(&mut env);
    let env = Mutex::new(env);
    let operator = Mutex::new(operator);
    let chaos = Chaos::default();
    let mut objects = None;
    let driven = tokio::select! {
        driven = drive(&env, &config, &chaos, &mut objects) => driven,
        () = supervise(&env, &operator, &config, &chaos) => unreachable!("the supervisor runs until dropped"),
    };
    let mut env = env.into_inner().unwrap_or_else(|e| e.into_inner());
    let operator = operator.into_inner().unwrap_or_else(|e| e.into_inner());
    faults_off(&env, &chaos);
    let stopped = operator.stop(&mut env, &capture).await;
    let driven = driven?;
    stopped?;
    let objects = objects.context("no ChatGroup was applied")?;

    let mut report = SoakReport {
        groups: config.groups,
        kill_every: config.kill_every,
        kill_mode: config.kill_mode,
        deadline: config.deadline,
        kills: chaos.kills.load(Ordering::Relaxed),
        restarts_after_exit: chaos.restarts_after_exit.load(Ordering::Relaxed),
        compactions: chaos.compactions.load(Ordering::Relaxed),
        ready_after_create: driven.ready_after_create,
        ready_after_update: driven.ready_after_update,
        deletes_under_faults: driven.deletes_under_faults,
        under_faults: driven.under_faults,
        converged_in: driven.converged_in,
        not_converged: driven.not_converged,
        vanished: driven.vanished,
        stale_ready: driven.stale_ready,
        misleading_ready: driven.misleading_ready,
        early_releases: driven.early_releases,
        ..SoakReport::default()
    };
    audit(&env, &objects, &mut report);
    report.log = capture.tally();
    report.total = started.elapsed();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(api: &str, code: i64, executed: bool, dropped: bool) -> RecordedCall {
        RecordedCall {
            api: api.into(),
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            body: serde_json::Value::Null,
            code,
            executed,
            trace_id: None,
            dropped,
            at: std::time::Instant::now(),
        }
    }

    #[test]
    fn the_capture_counts_lines_holding_a_secret_in_any_form_and_masks_them() {
        let key = TencentSimConfig::default().secret_key;
        let capture = Capture::new(secret_forms());
        let dispatch = capture.dispatch("trace").expect("filter");
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!("nothing to see");
            tracing::warn!(secret = %key, "a raw key");
            let encoded = base64::engine::general_purpose::STANDARD.encode(&key);
            tracing::info!("an encoded key: {encoded}");
            tracing::error!("operator stopped with an error");
        });
        let tally = capture.tally();
        assert_eq!(tally.lines, 4);
        assert_eq!(tally.secret_lines, 2);
        assert_eq!(tally.failed_starts, 1);
        assert_eq!(tally.last_warnings.len(), 2);
        assert!(tally.last_warnings.iter().all(|l| !l.contains(&key)));
    }

    #[test]
    fn calls_are_tallied_by_how_their_answer_was_spoiled() {
        let calls = [
            call("create", 200, true, false),
            call("create", 200, true, true),
            call("get", 0, false, true),
            call("get", 502, false, false),
            call("get", 200, false, false),
            call("get", 416, false, false),
            call("get", 503, false, false),
            call("get", 414, false, false),
        ];
        let tally = tally_calls(Side::Netease, &calls);
        let expected = CallTally {
            calls: 8,
            throttled: 1,
            transient: 1,
            http_502: 1,
            dropped: 1,
            malformed_json: 1,
            dropped_after_execution: 1,
            other_refusals: 1,
        };
        assert_eq!(tally, expected);
        assert_eq!(tally.faulted(), 7);
    }

    #[test]
    fn provider_groups_and_creates_are_traced_back_to_their_chatgroup() {
        let tracked = |side, name: &str, uid: &str| Tracked {
            side,
            name: name.into(),
            uid: uid.into(),
            stage: Stage::Creating,
            misleading_ready: false,
        };
        let objects = Objects::new(vec![
            tracked(Side::Tencent, "t", "0b9f3c1e-5d7a-4c2b-9e8f-1a2b3c4d5e6f"),
            tracked(Side::Netease, "n", "11111111-2222-3333-4444-555555555555"),
        ]);
        let tencent = SimGroup {
            id: "cg-0b9f3c1e5d7a4c2b9e8f1a2b3c4d5e6f".into(),
            ..SimGroup::default()
        };
        let extension =
            serde_json::json!({ MARKER_KEY: "11111111-2222-3333-4444-555555555555" }).to_string();
        let netease = SimGroup {
            id: "6000000001".into(),
            server_extension: extension.clone(),
            ..SimGroup::default()
        };
        assert_eq!(objects.owner_of(Side::Tencent, &tencent), Some(0));
        assert_eq!(objects.owner_of(Side::Netease, &netease), Some(1));
        let stranger = SimGroup {
            id: "cg-other".into(),
            server_extension: "{}".into(),
            ..SimGroup::default()
        };
        assert_eq!(objects.owner_of(Side::Tencent, &stranger), None);
        assert_eq!(objects.owner_of(Side::Netease, &stranger), None);

        let mut create = call("create_group", 0, true, false);
        create.body = serde_json::json!({"GroupId": tencent.id});
        assert_eq!(objects.create_for(Side::Tencent, &create), Some(0));
        let mut create = call("create", 200, true, false);
        create.body = serde_json::json!({ "server_extension": extension });
        assert_eq!(objects.create_for(Side::Netease, &create), Some(1));
    }

    #[test]
    fn the_provider_faults_cover_every_kind_and_add_up_to_the_rate() {
        let faults = provider_faults(Side::Tencent, 0.2, Duration::from_secs(1));
        let total: f64 = faults.iter().map(|f| f.probability).sum();
        assert!((total - 0.2).abs() < 1e-9, "{total}");
        assert_eq!(faults.len(), 7);
        assert!(faults.iter().any(|f| f.kind == FaultKind::Code(60007)));
        assert!(faults
            .iter()
            .any(|f| f.kind == FaultKind::DropAfterExecution));
    }
}
