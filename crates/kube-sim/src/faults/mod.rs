//! Injected faults: ending watches, failing requests, latency, history
//! compaction, holding back watch events of chosen objects, and failing one
//! client's Lease writes.

mod holds;
mod lease;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::status::ApiError;
use crate::store::Store;

pub use holds::{ObjectMatch, WatchHold};
pub use lease::LeaseFailure;

pub(crate) use holds::{hold_for, HoldRule, HoldRules};
pub(crate) use lease::{answer as answer_lease_write, lease_failure, LeaseRule};

#[derive(Clone, Debug, Default)]
pub(crate) struct Faults {
    pub watch_duration: Option<Duration>,
    pub watch_events: Option<usize>,
    pub fail: Option<(f64, u16)>,
    pub latency: Option<Duration>,
    pub lease_writes: Vec<LeaseRule>,
}

/// Controls the faults of one running simulator. Cheap to clone.
#[derive(Clone)]
pub struct FaultHandle {
    pub(crate) faults: Arc<Mutex<Faults>>,
    pub(crate) store: Arc<Mutex<Store>>,
    /// Watch-event holds; open watch streams follow changes as they happen.
    holds: Arc<watch::Sender<HoldRules>>,
}

impl FaultHandle {
    pub(crate) fn new(store: Arc<Mutex<Store>>) -> Self {
        let (holds, _) = watch::channel(HoldRules::default());
        FaultHandle {
            faults: Arc::default(),
            store,
            holds: Arc::new(holds),
        }
    }

    fn set(&self, f: impl FnOnce(&mut Faults)) {
        if let Ok(mut g) = self.faults.lock() {
            f(&mut g);
        }
    }

    /// Watches opened from now on end after `d` (None: no limit).
    pub fn end_watches_after(&self, d: Option<Duration>) {
        self.set(|f| f.watch_duration = d);
    }

    /// Watches opened from now on end after sending `n` events (None: no limit).
    pub fn end_watches_after_events(&self, n: Option<usize>) {
        self.set(|f| f.watch_events = n);
    }

    /// Fails `fraction` (0.0–1.0) of resource requests with `code` (500, 429 or 503).
    pub fn fail_fraction(&self, fraction: f64, code: u16) {
        self.set(|f| f.fail = (fraction > 0.0).then_some((fraction.min(1.0), code)));
    }

    /// Delays every resource request by `d`.
    pub fn latency(&self, d: Option<Duration>) {
        self.set(|f| f.latency = d);
    }

    /// Drops the watch history and ends the open watches, so clients resuming from
    /// any resourceVersion they have seen get 410 Gone and must list again.
    pub fn compact_history(&self) {
        if let Ok(mut s) = self.store.lock() {
            s.compact();
        }
    }

    /// Holds back the watch events of the objects `objects` matches, on open
    /// watches and on those opened later: delayed by a duration (then sent in
    /// order) or dropped. GET and LIST still answer the current objects. A hold
    /// for the same `objects` replaces the previous one.
    pub fn hold_watch_events(&self, objects: ObjectMatch, hold: WatchHold) {
        self.holds.send_modify(|rules| {
            let mut next: Vec<HoldRule> = rules
                .iter()
                .filter(|r| r.objects != objects)
                .cloned()
                .collect();
            next.push(HoldRule { objects, hold });
            *rules = Arc::new(next);
        });
    }

    /// Ends the hold given for exactly these `objects`; events it delayed that
    /// are still waiting are sent now, in order. Dropped events stay dropped.
    pub fn release_watch_events(&self, objects: &ObjectMatch) {
        self.holds.send_modify(|rules| {
            let next: Vec<HoldRule> = rules
                .iter()
                .filter(|r| &r.objects != objects)
                .cloned()
                .collect();
            *rules = Arc::new(next);
        });
    }

    /// Makes update and patch requests of `user` (the bearer token, see
    /// [`crate::RequestRecord::user`]) on coordination.k8s.io Leases — only the
    /// Lease named `lease` when given — fail with `failure`. Other users' Lease
    /// writes and every read are unaffected. Replaces an earlier failure for the
    /// same user and lease.
    pub fn fail_lease_writes(&self, user: &str, lease: Option<&str>, failure: LeaseFailure) {
        let rule = LeaseRule {
            user: user.to_string(),
            lease: lease.map(String::from),
            failure,
        };
        self.set(|f| {
            f.lease_writes
                .retain(|r| (r.user.as_str(), r.lease.as_deref()) != (user, lease));
            f.lease_writes.push(rule);
        });
    }

    /// Lets every Lease write of `user` through again.
    pub fn restore_lease_writes(&self, user: &str) {
        self.set(|f| f.lease_writes.retain(|r| r.user != user));
    }

    /// Removes every fault (watch-event holds included).
    pub fn clear(&self) {
        self.set(|f| *f = Faults::default());
        self.holds.send_replace(HoldRules::default());
    }

    pub(crate) fn snapshot(&self) -> Faults {
        self.faults.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// The watch-event holds now and as they change.
    pub(crate) fn holds(&self) -> watch::Receiver<HoldRules> {
        self.holds.subscribe()
    }
}

/// The injected failure for this request, if the dice say so.
pub(crate) fn injected_failure(f: &Faults) -> Option<ApiError> {
    let (fraction, code) = f.fail?;
    if rand::random::<f64>() >= fraction {
        return None;
    }
    Some(status_error(code))
}

/// The Status a failing server answers with `code` (500, 429 or 503).
pub(crate) fn status_error(code: u16) -> ApiError {
    match code {
        429 => ApiError::new(
            429,
            "TooManyRequests",
            "too many requests, please try again later",
        ),
        503 => ApiError::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        other => ApiError::new(
            other,
            "InternalError",
            "Internal error occurred: injected fault",
        ),
    }
}
