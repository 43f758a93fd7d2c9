//! Per-API request rate limits, counted in whole wall-clock seconds: at most `rate`
//! calls of one API are accepted within each second, and the count starts again at
//! the next. The documentation gives a per-second cap without saying how it is
//! counted (unconfirmed); whole seconds are the reading that punishes a client whose
//! calls bunch up across a second's boundary, which a token bucket would forgive.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::faults::lock;

/// One counter per API, created on first use; `per_second == 0` rejects every call.
#[derive(Debug)]
pub(crate) struct RateLimits {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    default_per_second: u32,
    /// Fixed per-API rates that do not follow the default (e.g. 1/s list calls).
    overrides: HashMap<String, u32>,
    /// Per API: the second being counted and the calls accepted in it.
    windows: HashMap<String, (u64, u32)>,
}

fn current_second() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl RateLimits {
    pub fn new(default_per_second: u32, overrides: &[(&str, u32)]) -> RateLimits {
        let overrides = overrides
            .iter()
            .map(|(api, n)| (api.to_string(), *n))
            .collect();
        RateLimits {
            inner: Mutex::new(Inner {
                default_per_second,
                overrides,
                windows: HashMap::new(),
            }),
        }
    }

    /// Changes the default rate for every API and starts every count again.
    pub fn set_default(&self, per_second: u32) {
        let mut inner = lock(&self.inner);
        inner.default_per_second = per_second;
        inner.windows.clear();
    }

    /// Counts one call of `api`; false when the API is over its rate this second.
    pub fn try_acquire(&self, api: &str) -> bool {
        self.try_acquire_at(api, current_second())
    }

    fn try_acquire_at(&self, api: &str, second: u64) -> bool {
        let mut inner = lock(&self.inner);
        let default = inner.default_per_second;
        let rate = inner
            .overrides
            .get(api)
            .map_or(default, |&n| n.min(default));
        let window = inner.windows.entry(api.to_string()).or_insert((second, 0));
        if window.0 != second {
            *window = (second, 0);
        }
        if window.1 >= rate {
            return false;
        }
        window.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_second_accepts_the_rate_per_api_and_no_more() {
        let limits = RateLimits::new(3, &[]);
        assert!((0..3).all(|_| limits.try_acquire_at("a", 10)));
        assert!(!limits.try_acquire_at("a", 10));
        assert!(limits.try_acquire_at("b", 10), "counted per API");
        assert!(
            (0..3).all(|_| limits.try_acquire_at("a", 11)),
            "the next second counts again"
        );
        assert!(!limits.try_acquire_at("a", 11));
    }

    #[test]
    fn override_and_zero_rate() {
        let limits = RateLimits::new(100, &[("list", 1)]);
        assert!(limits.try_acquire_at("list", 1));
        assert!(!limits.try_acquire_at("list", 1));
        limits.set_default(0);
        assert!(!limits.try_acquire_at("a", 1));
        limits.set_default(5);
        assert!(limits.try_acquire_at("a", 1));
    }
}
