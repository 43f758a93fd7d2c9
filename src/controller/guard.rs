//! A blast-radius guard: at most N disbands per hour across the operator. A bad
//! commit, a removed CRD or a deleted namespace can ask for hundreds of irreversible
//! disbands at once; past the budget they wait (finalizers kept, a condition and an
//! Event say why) instead of going through.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Disbands allowed per hour; `None` means unlimited.
#[derive(Debug)]
pub struct DisbandGuard {
    limiter: Option<DefaultDirectRateLimiter>,
    per_hour: u32,
}

impl DisbandGuard {
    pub fn new(per_hour: Option<NonZeroU32>) -> Self {
        DisbandGuard {
            limiter: per_hour.map(|n| RateLimiter::direct(Quota::per_hour(n).allow_burst(n))),
            per_hour: per_hour.map_or(0, NonZeroU32::get),
        }
    }

    /// Takes one disband from the budget, or says how long until one is free.
    pub fn take(&self) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check().map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }

    pub fn per_hour(&self) -> u32 {
        self.per_hour
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlimited_guard_never_holds_a_disband() {
        let guard = DisbandGuard::new(None);
        assert!((0..1000).all(|_| guard.take().is_ok()));
    }

    #[test]
    fn the_disband_past_the_budget_is_held() {
        let guard = DisbandGuard::new(NonZeroU32::new(3));
        assert!((0..3).all(|_| guard.take().is_ok()));
        let wait = guard
            .take()
            .expect_err("the fourth disband in an hour is held");
        assert!(wait > Duration::from_secs(60), "{wait:?}");
    }
}
