//! Injected faults: ending watches, failing requests, latency, history compaction.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::status::ApiError;
use crate::store::Store;

#[derive(Clone, Debug, Default)]
pub(crate) struct Faults {
    pub watch_duration: Option<Duration>,
    pub watch_events: Option<usize>,
    pub fail: Option<(f64, u16)>,
    pub latency: Option<Duration>,
}

/// Controls the faults of one running simulator. Cheap to clone.
#[derive(Clone)]
pub struct FaultHandle {
    pub(crate) faults: Arc<Mutex<Faults>>,
    pub(crate) store: Arc<Mutex<Store>>,
}

impl FaultHandle {
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

    /// Removes every fault.
    pub fn clear(&self) {
        self.set(|f| *f = Faults::default());
    }

    pub(crate) fn snapshot(&self) -> Faults {
        self.faults.lock().map(|f| f.clone()).unwrap_or_default()
    }
}

/// The injected failure for this request, if the dice say so.
pub(crate) fn injected_failure(f: &Faults) -> Option<ApiError> {
    let (fraction, code) = f.fail?;
    if rand::random::<f64>() >= fraction {
        return None;
    }
    Some(match code {
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
    })
}
