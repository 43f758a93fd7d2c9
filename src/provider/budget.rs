//! The client-side rate budget: one token bucket per provider API of one app, plus an
//! adaptive cooldown when the provider answers with a frequency-control code.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use tokio::time::Instant;

use super::circuit::AuthCircuit;
use super::config::{ProviderConfig, RateConfig};
use super::ProviderKind;

/// First cooldown after a throttle code; doubles with each further throttle.
const BASE_COOLDOWN: Duration = Duration::from_millis(200);
/// Longest cooldown from the exponential backoff alone.
const MAX_COOLDOWN: Duration = Duration::from_secs(8);
/// Default bound on the total time one call spends waiting out throttles.
pub const DEFAULT_MAX_THROTTLE_WAIT: Duration = Duration::from_secs(30);

/// Counters the metrics layer can read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetStats {
    /// Calls that had to wait for a token or for a cooldown to end.
    pub waits: u64,
    /// Throttle codes received from the provider.
    pub throttles: u64,
    /// Calls that gave up with `Throttled` after the bounded wait.
    pub gave_up: u64,
}

#[derive(Debug, Default)]
struct Counters {
    waits: AtomicU64,
    throttles: AtomicU64,
    gave_up: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> BudgetStats {
        BudgetStats {
            waits: self.waits.load(Ordering::Relaxed),
            throttles: self.throttles.load(Ordering::Relaxed),
            gave_up: self.gave_up.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Default)]
struct Cooldown {
    until: Option<Instant>,
    /// When the current cooldown was set; throttles of calls sent before it do not
    /// lengthen the backoff again (they belong to the same burst).
    set_at: Option<Instant>,
    streak: u32,
}

struct Api {
    /// Callers take turns (first come, first served) before they ask the limiter:
    /// one waits on it at a time, instead of every waiter waking at each token and
    /// all but one going back to sleep.
    turn: tokio::sync::Mutex<()>,
    limiter: DefaultDirectRateLimiter,
    cooldown: Mutex<Cooldown>,
    counters: Counters,
}

/// The request budget of one provider app. Shared by the app's client and readable
/// by metrics; see [`RateBudget::stats`].
pub struct RateBudget {
    kind: ProviderKind,
    rate: RateConfig,
    max_throttle_wait: Duration,
    apis: Mutex<HashMap<&'static str, Arc<Api>>>,
    /// A cooldown of the whole app (Tencent 70050 locks every API for a minute).
    app_until: Mutex<Option<Instant>>,
    totals: Counters,
    /// Pauses the app's calls after repeated authentication failures.
    auth: AuthCircuit,
}

impl std::fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateBudget")
            .field("kind", &self.kind)
            .field("rate", &self.rate)
            .field("max_throttle_wait", &self.max_throttle_wait)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Why [`RateBudget::acquire`] did not grant a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OverBudget;

/// The largest share of the configured rate the budget sends at (the room kept for
/// arrival jitter, see [`paced_per_second`], often takes it lower). A call sent near
/// the end of one second may arrive in the next: the rest is room for that drift, so
/// a provider counting whole seconds never counts more than the configured rate in
/// one.
pub const PACE_SHARE: f64 = 0.975;

/// How far apart calls sent evenly may arrive at the provider (network and
/// scheduling jitter) without one whole second counting more than the rate.
pub const ARRIVAL_JITTER: Duration = Duration::from_millis(30);

/// Calls one whole second must keep free at `rate` for [`ARRIVAL_JITTER`]: what
/// arrives in that time, and at least one call.
fn jitter_room(rate: u32) -> f64 {
    (f64::from(rate) * ARRIVAL_JITTER.as_secs_f64())
        .round()
        .max(1.0)
}

/// Calls per second the budget sends at for a configured `rate`: [`PACE_SHARE`] of
/// it at most, and low enough to keep [`jitter_room`] free. Calls paced at `p` per
/// second with one slot of catch-up (see [`limiter_burst`]) put at most ⌊p⌋ + 2 in
/// one whole second, so `p` stays below `rate - room - 1`. Never below half the
/// rate, so the lowest rates still send.
fn paced_per_second(rate: u32) -> f64 {
    let room = jitter_room(rate);
    let rate = f64::from(rate.max(1));
    // Just below `rate - room - 1`: at that integer itself one more call would fit.
    (rate * PACE_SHARE).min(rate - room - 1.05).max(rate / 2.0)
}

/// The limiter's burst for a configured `burst`. With 1 (calls evenly spaced) the
/// limiter still allows one slot of catch-up where the rate leaves room for it: a
/// call that leaves late (the timer woke late, the task was scheduled late) does not
/// push every later call back, which would lose a few percent of the rate. A larger
/// configured burst already absorbs lateness.
fn limiter_burst(rate: u32, burst: u32) -> NonZeroU32 {
    let room_for_catch_up = paced_per_second(rate).floor() + 2.0 < f64::from(rate);
    let burst = if burst <= 1 && room_for_catch_up {
        2
    } else {
        burst
    };
    NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN)
}

/// One call every 1 / [`paced_per_second`] s, with [`limiter_burst`] allowed at once.
fn paced(rate: RateConfig) -> Quota {
    let period = Duration::from_secs_f64(1.0 / paced_per_second(rate.requests_per_second));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(limiter_burst(rate.requests_per_second, rate.burst))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RateBudget {
    pub fn new(kind: ProviderKind, rate: RateConfig) -> RateBudget {
        RateBudget {
            kind,
            rate,
            max_throttle_wait: DEFAULT_MAX_THROTTLE_WAIT,
            apis: Mutex::new(HashMap::new()),
            app_until: Mutex::new(None),
            totals: Counters::default(),
            auth: AuthCircuit::default(),
        }
    }

    /// Bounds the total time one call waits out throttles before it returns `Throttled`.
    pub fn with_max_throttle_wait(mut self, wait: Duration) -> RateBudget {
        self.max_throttle_wait = wait;
        self
    }

    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    pub fn rate(&self) -> RateConfig {
        self.rate
    }

    pub fn max_throttle_wait(&self) -> Duration {
        self.max_throttle_wait
    }

    /// The app's authentication circuit.
    pub fn auth(&self) -> &AuthCircuit {
        &self.auth
    }

    /// Totals over every API.
    pub fn stats(&self) -> BudgetStats {
        self.totals.snapshot()
    }

    /// Counters per API (Tencent command or NetEase operation name), sorted by name.
    pub fn stats_per_api(&self) -> Vec<(&'static str, BudgetStats)> {
        let mut all: Vec<_> = lock(&self.apis)
            .iter()
            .map(|(name, api)| (*name, api.counters.snapshot()))
            .collect();
        all.sort_by_key(|(name, _)| *name);
        all
    }

    fn api(&self, name: &'static str) -> Arc<Api> {
        let mut apis = lock(&self.apis);
        apis.entry(name)
            .or_insert_with(|| {
                Arc::new(Api {
                    turn: tokio::sync::Mutex::new(()),
                    limiter: RateLimiter::direct(paced(self.rate)),
                    cooldown: Mutex::new(Cooldown::default()),
                    counters: Counters::default(),
                })
            })
            .clone()
    }

    /// Waits until `api` may be called: past any cooldown, then for a token. Fails
    /// without waiting when the cooldown ends after `deadline`.
    pub(crate) async fn acquire(
        &self,
        api: &'static str,
        deadline: Instant,
    ) -> Result<(), OverBudget> {
        let state = self.api(api);
        let mut waited = false;
        let _turn = match state.turn.try_lock() {
            Ok(turn) => turn,
            Err(_) => {
                waited = true;
                state.turn.lock().await
            }
        };
        loop {
            let api_until = lock(&state.cooldown).until;
            let until = api_until.max(*lock(&self.app_until));
            match until {
                Some(until) if until > deadline => return Err(self.give_up(&state)),
                Some(until) if until > Instant::now() => {
                    waited = true;
                    tokio::time::sleep_until(until).await;
                }
                _ => break,
            }
        }
        if state.limiter.check().is_err() {
            waited = true;
            state.limiter.until_ready().await;
        }
        if waited {
            state.counters.waits.fetch_add(1, Ordering::Relaxed);
            self.totals.waits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn give_up(&self, state: &Api) -> OverBudget {
        state.counters.gave_up.fetch_add(1, Ordering::Relaxed);
        self.totals.gave_up.fetch_add(1, Ordering::Relaxed);
        OverBudget
    }

    /// Records a throttle code for a call sent at `sent_at`: the API cools down with
    /// exponential backoff plus jitter, at least `floor` (e.g. 60 s for Tencent 70050).
    pub(crate) fn throttled(&self, api: &'static str, sent_at: Instant, floor: Duration) {
        let state = self.api(api);
        state.counters.throttles.fetch_add(1, Ordering::Relaxed);
        self.totals.throttles.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut cooldown = lock(&state.cooldown);
        let same_burst = cooldown.set_at.is_some_and(|set_at| sent_at < set_at);
        if same_burst && cooldown.until.is_some_and(|until| until >= now + floor) {
            return;
        }
        if !same_burst {
            cooldown.streak = cooldown.streak.saturating_add(1);
        }
        let backoff = backoff(cooldown.streak).max(floor);
        cooldown.until = Some(now + backoff);
        cooldown.set_at = Some(now);
    }

    /// Holds back every API of the app for `duration` (a lock of the whole app).
    pub(crate) fn lock_app(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut app_until = lock(&self.app_until);
        *app_until = Some(app_until.map_or(until, |current| current.max(until)));
    }

    /// Records an answer that was not a throttle: the backoff starts over.
    pub(crate) fn succeeded(&self, api: &'static str) {
        lock(&self.api(api).cooldown).streak = 0;
    }
}

/// Exponential backoff for the `streak`-th throttle in a row, with up to 50% jitter.
fn backoff(streak: u32) -> Duration {
    let exp = streak.saturating_sub(1).min(16);
    let base = BASE_COOLDOWN.saturating_mul(1u32 << exp).min(MAX_COOLDOWN);
    let jitter = rand::rng().random_range(0.0..0.5);
    base.mul_f64(1.0 + jitter)
}

/// The rate budgets of every app seen, one per app and rate.
#[derive(Debug, Default)]
pub struct BudgetBook(Mutex<HashMap<String, Arc<RateBudget>>>);

impl BudgetBook {
    pub fn for_config(&self, config: &ProviderConfig) -> Arc<RateBudget> {
        let mut budgets = self.0.lock().expect("budget lock");
        let entry = budgets.entry(budget_key(config));
        entry
            .or_insert_with(|| Arc::new(RateBudget::new(config.kind(), config.rate())))
            .clone()
    }

    /// Every budget, with its key, for metrics.
    pub fn snapshot(&self) -> Vec<(String, Arc<RateBudget>)> {
        let budgets = self.0.lock().expect("budget lock");
        budgets
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// One budget per app and rate: clients rebuilt for new credentials share it.
pub fn budget_key(config: &ProviderConfig) -> String {
    let rate = config.rate();
    let app = match config {
        ProviderConfig::Tencent(c) => c.sdk_app_id.to_string(),
        ProviderConfig::Netease(c) => c.app_key.clone(),
    };
    format!(
        "{}:{app}:{}:{}",
        config.kind(),
        rate.requests_per_second,
        rate.burst
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls a caller that always has one ready gets through `quota` in each whole
    /// second of `seconds`, when every wait for the limiter ends `late` (a timer's
    /// slack, a task scheduled late).
    fn calls_per_whole_second(quota: Quota, seconds: u64, late: Duration) -> Vec<u32> {
        use governor::clock::Clock;
        let clock = governor::clock::FakeRelativeClock::default();
        let start = clock.now();
        let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
        let mut counts = vec![0; seconds as usize];
        loop {
            let now = clock.now().as_u64() - start.as_u64();
            let second = (now / 1_000_000_000) as usize;
            if second >= counts.len() {
                return counts;
            }
            match limiter.check() {
                Ok(()) => counts[second] += 1,
                Err(not_until) => clock.advance(not_until.wait_time_from(clock.now()) + late),
            }
        }
    }

    #[test]
    fn the_pace_leaves_room_for_drift_in_every_whole_second() {
        for rate in (1..=300).chain([997, 1000, 2000, 10_000]) {
            let config = RateConfig {
                requests_per_second: rate,
                burst: 1,
            };
            let pace = paced_per_second(rate);
            assert!(pace >= f64::from(rate) / 2.0, "{rate}/s: paced at {pace}");
            let counts = calls_per_whole_second(paced(config), 3, Duration::ZERO);
            let worst = counts.iter().copied().max().unwrap_or_default();
            // Room for the calls that arrive within the jitter, where the rate has
            // room for one at all.
            let room = (jitter_room(rate) as u32).min(rate.saturating_sub(2));
            assert!(
                worst + room <= rate,
                "{rate}/s: {counts:?} in whole seconds"
            );
        }
        assert_eq!(paced_per_second(200), 192.95);
        assert_eq!(paced_per_second(100), 95.95);
        assert_eq!(paced_per_second(40), 37.95);
    }

    #[test]
    fn a_call_that_leaves_late_does_not_slow_the_pace() {
        // Each wait for the limiter ends 0.2 ms late (a timer's slack): without
        // catch-up, 200/s paced at 192.95 would send about 186 a second.
        let late = Duration::from_micros(200);
        for (rate, burst, at_least) in [(200, 1, 192), (100, 1, 95), (40, 1, 37), (200, 5, 192)] {
            let config = RateConfig {
                requests_per_second: rate,
                burst,
            };
            let counts = calls_per_whole_second(paced(config), 4, late);
            // The first second holds the initial burst: the later ones show the pace.
            for count in &counts[1..] {
                assert!(*count >= at_least, "{rate}/s: {counts:?}");
                assert!(*count < rate, "{rate}/s: {counts:?}");
            }
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) >= BASE_COOLDOWN && backoff(1) < BASE_COOLDOWN * 2);
        assert!(backoff(3) >= BASE_COOLDOWN * 4);
        assert!(backoff(30) <= MAX_COOLDOWN.mul_f64(1.5));
    }

    #[tokio::test]
    async fn a_cooldown_past_the_deadline_gives_up_at_once() {
        let budget = RateBudget::new(ProviderKind::Tencent, RateConfig::TENCENT_DEFAULT);
        budget.throttled("destroy_group", Instant::now(), Duration::from_secs(60));
        let started = Instant::now();
        let result = budget
            .acquire("destroy_group", Instant::now() + Duration::from_secs(1))
            .await;
        assert_eq!(result, Err(OverBudget));
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(budget.stats().gave_up, 1);
        // Other APIs are not affected.
        let other = budget
            .acquire("get_group_info", Instant::now() + Duration::from_secs(1))
            .await;
        assert_eq!(other, Ok(()));
        budget.lock_app(Duration::from_secs(60));
        let locked = budget
            .acquire("get_group_info", Instant::now() + Duration::from_secs(1))
            .await;
        assert_eq!(
            locked,
            Err(OverBudget),
            "an app-wide lock holds back every API"
        );
    }

    #[tokio::test]
    async fn throttles_of_one_burst_count_once_toward_the_backoff() {
        let budget = RateBudget::new(ProviderKind::NetEase, RateConfig::NETEASE_DEFAULT);
        let sent = Instant::now();
        budget.throttled("disband", sent, Duration::ZERO);
        budget.throttled("disband", sent, Duration::ZERO);
        budget.throttled("disband", sent, Duration::ZERO);
        let streak = lock(&budget.api("disband").cooldown).streak;
        assert_eq!(streak, 1);
        assert_eq!(budget.stats().throttles, 3);
    }
}
