//! The write fence of a leader: provider writes are allowed only until the renew
//! deadline, the instant the last successful Lease renewal was *sent* plus
//! `renew_deadline`. A standby takes the Lease over no earlier than `lease_duration`
//! after it saw that renewal land, so with `renew_deadline < lease_duration` (minus
//! the longest provider call and clock-rate skew) the old holder has stopped
//! starting writes before anyone else may start them.
//!
//! [`Fence::check`] reads the monotonic clock on every call, so a process that was
//! stopped (SIGSTOP, swapped out, a long GC-like stall) sees its deadline passed
//! before its next write, not only when a timer fires. Once closed (deadline passed,
//! lease lost, shutdown), a fence stays closed for good.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::{Error, Result};

/// Whether this replica may start provider writes. Cheap to clone; every clone shares
/// one state.
#[derive(Clone, Debug)]
pub struct Fence {
    /// `None`: no leader election, writes are always allowed.
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    renew_deadline: Duration,
    /// How long past the deadline a write started before it may still run: the time
    /// until a standby may take the Lease over, less an allowance for clock-rate skew.
    write_margin: Option<Duration>,
    state: Mutex<State>,
    closed: watch::Sender<bool>,
}

/// The pure part: a deadline and, once closed, why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct State {
    /// Writes are allowed strictly before this instant; `None` before the first renewal.
    deadline: Option<Instant>,
    /// Set once; never cleared.
    closed: Option<String>,
}

impl State {
    /// Closes the fence when the deadline has passed at `now`; the error when closed.
    fn check_at(&mut self, now: Instant) -> std::result::Result<(), String> {
        if let Some(why) = &self.closed {
            return Err(why.clone());
        }
        match self.deadline {
            Some(deadline) if now < deadline => Ok(()),
            Some(deadline) => Err(self.close(format!(
                "the renew deadline passed {:?} ago without a successful Lease renewal",
                now.duration_since(deadline)
            ))),
            None => Err(self.close("the Lease was never acquired".into())),
        }
    }

    /// A renewal sent at `sent` succeeded; seen at `now`. It moves the deadline to
    /// `sent + renew_deadline` only while the fence is still open: a renewal that
    /// lands after the deadline does not reopen it. `false` when the fence is closed.
    fn renewed_at(&mut self, sent: Instant, renew_deadline: Duration, now: Instant) -> bool {
        if self.closed.is_some() {
            return false;
        }
        if self.deadline.is_some() && self.check_at(now).is_err() {
            return false;
        }
        let next = sent + renew_deadline;
        if next <= now {
            // The renewal took the whole renew deadline: it proves nothing for now.
            return self.check_at(now).is_ok();
        }
        self.deadline = Some(self.deadline.map_or(next, |d| d.max(next)));
        true
    }

    /// Closes with `why` (the first reason is kept); returns the reason in force.
    fn close(&mut self, why: String) -> String {
        self.closed.get_or_insert(why).clone()
    }
}

impl Fence {
    /// No leader election: writes are always allowed and the fence never closes.
    pub fn open() -> Fence {
        Fence { inner: None }
    }

    /// A leader's fence, closed until the first [`renewed`](Self::renewed).
    pub fn leased(renew_deadline: Duration) -> Fence {
        let (closed, _) = watch::channel(false);
        Fence {
            inner: Some(Arc::new(Inner {
                renew_deadline,
                write_margin: None,
                state: Mutex::new(State::default()),
                closed,
            })),
        }
    }

    /// A leader's fence whose writes must end before a standby may take the Lease
    /// over: `lease_duration` after the last renewal, less 5% for clock-rate skew
    /// between replicas.
    pub fn for_lease(renew_deadline: Duration, lease_duration: Duration) -> Fence {
        let margin = lease_duration.mul_f64(0.95).saturating_sub(renew_deadline);
        let (closed, _) = watch::channel(false);
        Fence {
            inner: Some(Arc::new(Inner {
                renew_deadline,
                write_margin: Some(margin),
                state: Mutex::new(State::default()),
                closed,
            })),
        }
    }

    /// Like [`check`](Self::check), and how long a write starting now may run: until
    /// the deadline plus the write margin (`None`: unbounded).
    pub fn write_window(&self) -> Result<Option<Duration>> {
        self.check()?;
        let Some(inner) = &self.inner else {
            return Ok(None);
        };
        let (Some(margin), Some(deadline)) = (inner.write_margin, inner.lock().deadline) else {
            return Ok(None);
        };
        Ok(Some(
            (deadline + margin).saturating_duration_since(Instant::now()),
        ))
    }

    /// `Ok` while provider writes may start; [`Error::Fenced`] once the renew deadline
    /// passed or leadership was lost (and from then on, for good). Call it right
    /// before every provider write: it reads the clock, it does not wait for a timer.
    pub fn check(&self) -> Result<()> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let result = inner.lock().check_at(Instant::now());
        result.map_err(|why| {
            inner.closed.send_replace(true);
            Error::Fenced(why)
        })
    }

    /// Whether [`check`](Self::check) passes now.
    pub fn is_open(&self) -> bool {
        self.check().is_ok()
    }

    /// A Lease renewal (or the acquisition) sent at `sent` succeeded: writes are
    /// allowed until `sent + renew_deadline`. `false` when the fence had already
    /// closed; it stays closed.
    pub fn renewed(&self, sent: Instant) -> bool {
        let Some(inner) = &self.inner else {
            return true;
        };
        let open = inner
            .lock()
            .renewed_at(sent, inner.renew_deadline, Instant::now());
        if !open {
            inner.closed.send_replace(true);
        }
        open
    }

    /// Closes the fence for good (the lease was lost, or the replica is stopping).
    /// No effect on an [`open`](Self::open) fence.
    pub fn close(&self, why: impl Into<String>) {
        if let Some(inner) = &self.inner {
            inner.lock().close(why.into());
            inner.closed.send_replace(true);
        }
    }

    /// Until when writes are allowed; `None` for an open fence or before the first
    /// renewal.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.as_ref().and_then(|i| i.lock().deadline)
    }

    /// Resolves once the fence is closed, whether by [`close`](Self::close), a check
    /// past the deadline, or the deadline passing while nobody checked (a timer
    /// watches it). Never resolves for an [`open`](Self::open) fence.
    pub async fn closed(&self) {
        let Some(inner) = &self.inner else {
            return futures::future::pending().await;
        };
        let mut closed = inner.closed.subscribe();
        loop {
            if *closed.borrow_and_update() || self.check().is_err() {
                return;
            }
            // An open check means a deadline is set; wake at it unless it moves.
            let Some(deadline) = self.deadline() else {
                return;
            };
            let wake = tokio::time::Instant::from_std(deadline);
            tokio::select! {
                changed = closed.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

/// The provider clients ask the fence right before every write they send, after any
/// wait for the rate budget or the disband guard.
impl crate::provider::WriteGate for Fence {
    fn may_write(&self) -> std::result::Result<Option<Duration>, String> {
        self.write_window().map_err(|e| e.to_string())
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two plain fields: a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINE: Duration = Duration::from_secs(10);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn closed_before_the_first_renewal() {
        let mut state = State::default();
        assert!(state.check_at(Instant::now()).is_err());
        assert!(state.closed.is_some());
    }

    #[test]
    fn writes_are_allowed_until_the_deadline_counted_from_when_the_renewal_was_sent() {
        let t0 = Instant::now();
        let mut state = State::default();
        // Sent at t0, answered at t0 + 3 s: the deadline is t0 + 10 s, not t0 + 13 s.
        assert!(state.renewed_at(t0, DEADLINE, t0 + secs(3)));
        assert_eq!(state.deadline, Some(t0 + DEADLINE));
        assert!(state.check_at(t0 + secs(9)).is_ok());
        assert!(
            state.check_at(t0 + DEADLINE).is_err(),
            "the deadline itself is out"
        );
    }

    #[test]
    fn a_renewal_extends_the_deadline() {
        let t0 = Instant::now();
        let mut state = State::default();
        assert!(state.renewed_at(t0, DEADLINE, t0));
        assert!(state.renewed_at(t0 + secs(8), DEADLINE, t0 + secs(9)));
        assert!(state.check_at(t0 + secs(17)).is_ok());
        assert!(state.check_at(t0 + secs(18)).is_err());
    }

    #[test]
    fn an_older_renewal_answered_late_never_moves_the_deadline_back() {
        let t0 = Instant::now();
        let mut state = State::default();
        assert!(state.renewed_at(t0 + secs(5), DEADLINE, t0 + secs(5)));
        assert!(state.renewed_at(t0 + secs(2), DEADLINE, t0 + secs(6)));
        assert_eq!(state.deadline, Some(t0 + secs(15)));
    }

    #[test]
    fn a_pause_past_the_deadline_closes_the_fence_at_the_next_check() {
        let t0 = Instant::now();
        let mut state = State::default();
        assert!(state.renewed_at(t0, DEADLINE, t0));
        // Stopped at t0 + 1 s, resumed at t0 + 30 s: no timer had a chance to fire.
        let error = state.check_at(t0 + secs(30)).unwrap_err();
        assert!(error.contains("renew deadline passed 20s ago"), "{error}");
    }

    #[test]
    fn once_closed_it_stays_closed_even_when_a_renewal_lands() {
        let t0 = Instant::now();
        let mut state = State::default();
        assert!(state.renewed_at(t0, DEADLINE, t0));
        assert!(state.check_at(t0 + secs(11)).is_err());
        // A renewal sent after the deadline (the process was paused, then renewed).
        assert!(!state.renewed_at(t0 + secs(12), DEADLINE, t0 + secs(12)));
        assert!(state.check_at(t0 + secs(13)).is_err());
    }

    #[test]
    fn a_renewal_that_lands_after_the_deadline_does_not_reopen_it() {
        let t0 = Instant::now();
        let mut state = State::default();
        assert!(state.renewed_at(t0, DEADLINE, t0));
        // Sent before the deadline, answered after it: nobody checked in between.
        assert!(!state.renewed_at(t0 + secs(9), DEADLINE, t0 + secs(11)));
        assert!(state.check_at(t0 + secs(12)).is_err());
    }

    #[test]
    fn a_renewal_that_took_the_whole_deadline_proves_nothing() {
        let t0 = Instant::now();
        let mut state = State::default();
        assert!(!state.renewed_at(t0, DEADLINE, t0 + DEADLINE));
        assert!(state.closed.is_some());
    }

    #[test]
    fn the_first_reason_to_close_is_kept() {
        let mut state = State::default();
        state.close("lease taken by replica-b".into());
        state.close("shutting down".into());
        assert_eq!(
            state.check_at(Instant::now()).unwrap_err(),
            "lease taken by replica-b"
        );
    }

    #[test]
    fn an_open_fence_always_allows_writes() {
        let fence = Fence::open();
        assert!(fence.check().is_ok());
        fence.close("ignored");
        assert!(fence.check().is_ok());
        assert_eq!(fence.deadline(), None);
    }

    #[test]
    fn clones_share_one_state_and_the_error_is_fenced() {
        let fence = Fence::leased(DEADLINE);
        let clone = fence.clone();
        assert!(fence.renewed(Instant::now()));
        assert!(clone.check().is_ok());
        fence.close("lost the lease to replica-b");
        match clone.check() {
            Err(Error::Fenced(why)) => assert_eq!(why, "lost the lease to replica-b"),
            other => panic!("{other:?}"),
        }
        assert!(!clone.renewed(Instant::now()));
    }

    #[test]
    fn a_write_may_run_until_a_standby_could_take_over_less_skew() {
        // Lease 20 s, renew deadline 10 s: a write may run until 19 s after the
        // renewal was sent (20 s less 5% for clock-rate skew).
        let fence = Fence::for_lease(secs(10), secs(20));
        let sent = Instant::now();
        assert!(fence.renewed(sent));
        let window = fence.write_window().expect("open").expect("bounded");
        assert!(window <= secs(19) && window > secs(18), "{window:?}");
        // Without leader election there is no bound; a closed fence gives no window.
        assert_eq!(Fence::open().write_window().expect("open"), None);
        fence.close("lost");
        assert!(fence.write_window().is_err());
    }

    #[tokio::test]
    async fn closed_resolves_when_the_deadline_passes_without_a_check() {
        let fence = Fence::leased(Duration::from_millis(50));
        assert!(fence.renewed(Instant::now()));
        tokio::time::timeout(Duration::from_secs(5), fence.closed())
            .await
            .expect("closed() resolves at the deadline");
        assert!(fence.check().is_err());
    }

    #[tokio::test]
    async fn closed_resolves_on_close() {
        let fence = Fence::leased(Duration::from_secs(60));
        assert!(fence.renewed(Instant::now()));
        let waiting = tokio::spawn({
            let fence = fence.clone();
            async move { fence.closed().await }
        });
        tokio::task::yield_now().await;
        fence.close("stopping");
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("closed() resolves on close")
            .unwrap();
    }
}
