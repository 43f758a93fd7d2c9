//! A per-app circuit for authentication failures. A wrong key answered again and
//! again can lock the app's admin account (Tencent 70050 after too many failed
//! UserSig checks), so after a few failures in a row calls to the app pause, for a
//! time that doubles with each further failure, up to a bound. The first call after a
//! pause goes through: a success closes the circuit, a failure pauses again. New
//! credentials close it at once.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::CallInfo;

/// Failures in a row (with no success between) that open the circuit.
pub const FAILURES_TO_OPEN: u32 = 3;
/// The first pause; each further failure doubles it.
pub const FIRST_PAUSE: Duration = Duration::from_secs(30);
/// The longest pause.
pub const MAX_PAUSE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    last: Option<CallInfo>,
}

/// The authentication circuit of one provider app.
#[derive(Debug, Default)]
pub struct AuthCircuit(Mutex<State>);

/// The pause after `failures` failures in a row, `None` below the threshold.
pub fn pause_after(failures: u32) -> Option<Duration> {
    let beyond = failures.checked_sub(FAILURES_TO_OPEN)?;
    let factor = 2u32.saturating_pow(beyond.min(16));
    Some(FIRST_PAUSE.saturating_mul(factor).min(MAX_PAUSE))
}

impl AuthCircuit {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err` with what to report while calls are paused.
    pub fn check(&self) -> Result<(), CallInfo> {
        let state = self.state();
        let Some(until) = state.open_until else {
            return Ok(());
        };
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        let last = state.last.as_ref().map_or_else(String::new, |l| {
            format!(" (last: code {}: {})", l.code, l.message)
        });
        Err(CallInfo {
            code: super::NO_CODE,
            message: format!(
                "calls to this app are paused for {}s after {} authentication failures in a row{last}; fix the key in the Secret, the change is picked up without a restart",
                (until - now).as_secs().max(1),
                state.failures
            ),
            request_id: None,
        })
    }

    /// An answer that refused the app's credentials.
    pub fn failed(&self, info: &CallInfo) {
        let mut state = self.state();
        state.failures += 1;
        state.last = Some(info.clone());
        state.open_until = pause_after(state.failures).map(|pause| Instant::now() + pause);
    }

    /// Any answer that was not an authentication failure.
    pub fn succeeded(&self) {
        let mut state = self.state();
        if state.failures > 0 || state.open_until.is_some() {
            *state = State::default();
        }
    }

    /// New credentials: whatever failed before says nothing about them.
    pub fn reset(&self) {
        *self.state() = State::default();
    }

    /// Whether calls are paused now.
    pub fn is_open(&self) -> bool {
        self.check().is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_starts_at_the_threshold_doubles_and_is_bounded() {
        let cases = [
            (0, None),
            (FAILURES_TO_OPEN - 1, None),
            (FAILURES_TO_OPEN, Some(FIRST_PAUSE)),
            (FAILURES_TO_OPEN + 1, Some(FIRST_PAUSE * 2)),
            (FAILURES_TO_OPEN + 4, Some(FIRST_PAUSE * 16)),
            (FAILURES_TO_OPEN + 5, Some(MAX_PAUSE)),
            (u32::MAX, Some(MAX_PAUSE)),
        ];
        for (failures, expected) in cases {
            assert_eq!(pause_after(failures), expected, "{failures} failures");
        }
    }

    fn refused() -> CallInfo {
        CallInfo {
            code: 70009,
            message: "wrong key".into(),
            request_id: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failures_in_a_row_pause_calls_until_the_pause_ends() {
        let circuit = AuthCircuit::default();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            circuit.failed(&refused());
            assert!(circuit.check().is_ok(), "below the threshold");
        }
        circuit.failed(&refused());
        let paused = circuit.check().expect_err("open");
        assert!(paused.message.contains("code 70009"), "{}", paused.message);
        tokio::time::advance(FIRST_PAUSE).await;
        assert!(circuit.check().is_ok(), "one call may try again");
        circuit.failed(&refused());
        tokio::time::advance(FIRST_PAUSE).await;
        assert!(circuit.is_open(), "the second pause is twice as long");
        tokio::time::advance(FIRST_PAUSE).await;
        assert!(!circuit.is_open());
    }

    #[test]
    fn a_success_or_new_credentials_close_it() {
        for close in [AuthCircuit::succeeded, AuthCircuit::reset] {
            let circuit = AuthCircuit::default();
            for _ in 0..FAILURES_TO_OPEN {
                circuit.failed(&refused());
            }
            assert!(circuit.is_open());
            close(&circuit);
            assert!(!circuit.is_open());
            circuit.failed(&refused());
            assert!(!circuit.is_open(), "the count starts again");
        }
    }
}
