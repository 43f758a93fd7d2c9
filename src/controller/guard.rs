//! A blast-radius guard: at most N disbands per hour across the operator. A bad
//! commit, a removed CRD or a deleted namespace can ask for hundreds of irreversible
//! disbands at once; past the budget they wait (finalizers kept, a condition and an
//! Event say why) instead of going through. Only disbands the provider confirmed
//! count: a reservation whose call failed is given back.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
struct Ledger {
    /// When each confirmed disband of the last hour happened, oldest first.
    done: VecDeque<Instant>,
    /// Disbands reserved and not yet confirmed or given back.
    in_flight: u32,
}

/// Disbands allowed per hour; `None` means unlimited.
#[derive(Debug)]
pub struct DisbandGuard {
    per_hour: Option<NonZeroU32>,
    ledger: Mutex<Ledger>,
}

/// A reserved disband; [`confirm`](Reservation::confirm) it once the provider answered,
/// or drop it to give the reservation back.
pub struct Reservation<'a> {
    guard: Option<&'a DisbandGuard>,
}

impl DisbandGuard {
    pub fn new(per_hour: Option<NonZeroU32>) -> Self {
        DisbandGuard {
            per_hour,
            ledger: Mutex::default(),
        }
    }

    pub fn per_hour(&self) -> u32 {
        self.per_hour.map_or(0, NonZeroU32::get)
    }

    /// Reserves one disband, or says how long until one is free.
    pub fn reserve(&self) -> Result<Reservation<'_>, Duration> {
        let Some(limit) = self.per_hour else {
            return Ok(Reservation { guard: None });
        };
        let now = Instant::now();
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        while ledger
            .done
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            ledger.done.pop_front();
        }
        if ledger.done.len() as u32 + ledger.in_flight >= limit.get() {
            let oldest = ledger.done.front().map_or(now, |t| *t);
            return Err((oldest + WINDOW)
                .saturating_duration_since(now)
                .max(Duration::from_secs(1)));
        }
        ledger.in_flight += 1;
        Ok(Reservation { guard: Some(self) })
    }

    fn settle(&self, confirmed: bool) {
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        ledger.in_flight = ledger.in_flight.saturating_sub(1);
        if confirmed {
            ledger.done.push_back(Instant::now());
        }
    }
}

impl Reservation<'_> {
    /// The provider confirmed the disband: it counts toward the hour.
    pub fn confirm(mut self) {
        if let Some(guard) = self.guard.take() {
            guard.settle(true);
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            guard.settle(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlimited_guard_never_holds_a_disband() {
        let guard = DisbandGuard::new(None);
        assert!((0..1000).all(|_| guard.reserve().map(Reservation::confirm).is_ok()));
    }

    #[test]
    fn the_disband_past_the_budget_is_held_for_most_of_the_hour() {
        let guard = DisbandGuard::new(NonZeroU32::new(3));
        for _ in 0..3 {
            guard.reserve().expect("within budget").confirm();
        }
        let wait = guard
            .reserve()
            .err()
            .expect("the fourth disband in an hour is held");
        assert!(wait > Duration::from_secs(3500), "{wait:?}");
    }

    #[test]
    fn a_failed_disband_gives_its_reservation_back() {
        let guard = DisbandGuard::new(NonZeroU32::new(1));
        drop(guard.reserve().expect("within budget"));
        guard
            .reserve()
            .expect("the failed attempt did not count")
            .confirm();
        assert!(guard.reserve().is_err());
    }

    #[test]
    fn reservations_in_flight_count_against_the_budget() {
        let guard = DisbandGuard::new(NonZeroU32::new(1));
        let first = guard.reserve().expect("within budget");
        assert!(
            guard.reserve().is_err(),
            "a concurrent second disband waits"
        );
        first.confirm();
    }
}
