//! Per-API request rate limits (token buckets from `governor`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::faults::lock;

/// One bucket per API, created on first use; `per_second == 0` rejects every call.
#[derive(Debug)]
pub(crate) struct RateLimits {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    default_per_second: u32,
    /// Fixed per-API rates that do not follow the default (e.g. 1/s list calls).
    overrides: HashMap<String, u32>,
    buckets: HashMap<String, Option<DefaultDirectRateLimiter>>,
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
                buckets: HashMap::new(),
            }),
        }
    }

    /// Changes the default rate for every API and refills all buckets.
    pub fn set_default(&self, per_second: u32) {
        let mut inner = lock(&self.inner);
        inner.default_per_second = per_second;
        inner.buckets.clear();
    }

    /// Takes one token for `api`; false when the API is over its rate.
    pub fn try_acquire(&self, api: &str) -> bool {
        let mut inner = lock(&self.inner);
        let default = inner.default_per_second;
        let rate = inner
            .overrides
            .get(api)
            .map_or(default, |&n| n.min(default));
        let bucket = inner.buckets.entry(api.to_string()).or_insert_with(|| {
            NonZeroU32::new(rate).map(|n| RateLimiter::direct(Quota::per_second(n)))
        });
        match bucket {
            Some(limiter) => limiter.check().is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_of_rate_passes_then_next_call_is_limited_per_api() {
        let limits = RateLimits::new(3, &[]);
        assert!((0..3).all(|_| limits.try_acquire("a")));
        assert!(!limits.try_acquire("a"));
        assert!(limits.try_acquire("b"), "buckets are per API");
    }

    #[test]
    fn override_and_zero_rate() {
        let limits = RateLimits::new(100, &[("list", 1)]);
        assert!(limits.try_acquire("list"));
        assert!(!limits.try_acquire("list"));
        limits.set_default(0);
        assert!(!limits.try_acquire("a"));
        limits.set_default(5);
        assert!(limits.try_acquire("a"));
    }
}
