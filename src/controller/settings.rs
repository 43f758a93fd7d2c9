//! How the controllers run: the settings and the leader-election timings.

use std::time::Duration;

use crate::{Error, Result};

/// How the controllers run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Watch only this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// The most ChatGroups reconciled at once: a ceiling, not the pace. Each app's
    /// rate budget sets the pace, and calls in flight follow it (rate × latency);
    /// reconciles waiting for the budget cost no provider call. The default leaves
    /// room for two apps at their documented caps with reconciles of ~150 ms.
    pub concurrency: u16,
    /// How often groups are read back from the provider (in batches) to catch drift.
    pub resync_interval: Duration,
    /// How long a terminal error waits before a retry when the spec does not change.
    pub terminal_retry: Duration,
    /// Shortest and longest per-object backoff after retryable errors.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// The name events are reported under (reportingInstance) and the lease holder identity.
    pub instance: String,
    /// Where whoever runs the operator (`main`, the test harness) serves `/metrics`,
    /// `/healthz` and `/readyz`; not served when `None`. The controller serves nothing.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Reconcile only while holding this Lease.
    pub leader_election: Option<LeaderElection>,
    /// At most this many disbands per hour across the operator; unlimited when `None`.
    pub max_disbands_per_hour: Option<std::num::NonZeroU32>,
    /// How late a create may still take effect on the provider after it was sent. A
    /// create whose answer was lost is re-created (or, on delete, given up) only after
    /// searches past this bound found nothing.
    pub late_create_bound: Duration,
    /// The longest a reconcile may run; past it, it is cancelled and retried.
    pub reconcile_timeout: Duration,
    /// Where the operator keeps its own state (the disband ledger): its namespace.
    pub state_namespace: String,
    /// How long a Secret that was read serves before it is read again (a rotation is
    /// picked up within it; an authentication failure reads it again at once).
    pub secret_refresh: Duration,
    /// The longest wait between retries of a deletion stopped by a terminal error.
    pub max_deletion_backoff: Duration,
    /// Which apps this process handles when the work is split over shards.
    pub shard: super::shard::Shard,
}

/// Leader election through a coordination.k8s.io/v1 Lease.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    pub lease_name: String,
    pub lease_namespace: String,
    /// How long a lease holds without renewal; a dead leader is replaced within it.
    pub lease_duration: Duration,
    /// The holder starts no provider write later than this after the last
    /// successful renewal was sent. Below `lease_duration` by at least the longest
    /// provider call plus an allowance for clock-rate skew between replicas.
    pub renew_deadline: Duration,
    /// How often the holder renews, and a candidate retries.
    pub retry_period: Duration,
}

impl Default for LeaderElection {
    /// client-go's timings: lease 15 s, renew deadline 10 s, retry 2 s.
    fn default() -> Self {
        LeaderElection {
            lease_name: "chatgroup-operator".into(),
            lease_namespace: "default".into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl LeaderElection {
    /// The timings fit together: a renewal every `retry_period` within the renew
    /// deadline, which ends before the Lease can expire for the others.
    pub fn validate(&self) -> Result<()> {
        let fail = |message: String| Err(Error::Leadership(message));
        if self.lease_duration < Duration::from_secs(1) {
            return fail(format!(
                "--lease-duration ({:?}) must be at least 1s",
                self.lease_duration
            ));
        }
        // The writes started before the deadline run until a standby may take over,
        // less 5% for clock-rate skew: at least a tenth of the lease is left for them.
        if self.renew_deadline.as_secs_f64() > self.lease_duration.as_secs_f64() * 0.9 {
            return fail(format!(
                "--lease-renew-deadline ({:?}) must be at most 90% of --lease-duration ({:?}): the rest is the time provider writes already started may take, and the clock skew allowed between replicas",
                self.renew_deadline, self.lease_duration
            ));
        }
        if self.retry_period.is_zero() || self.retry_period >= self.renew_deadline {
            return fail(format!(
                "--lease-retry-period ({:?}) must be above zero and shorter than --lease-renew-deadline ({:?})",
                self.retry_period, self.renew_deadline
            ));
        }
        Ok(())
    }
}

/// The highest `--concurrency`: a ceiling on reconciles at once, far above what any
/// provider budget keeps busy.
pub const MAX_CONCURRENCY: u16 = 4096;

/// A duration setting's allowed range, in words for the error.
struct Range {
    flag: &'static str,
    value: Duration,
    min: Duration,
    max: Duration,
}

impl Range {
    fn check(&self) -> Result<()> {
        if (self.min..=self.max).contains(&self.value) {
            return Ok(());
        }
        Err(Error::InvalidSetting {
            flag: self.flag,
            message: format!(
                "{} is out of range: allowed from {} to {}",
                humantime::format_duration(self.value),
                humantime::format_duration(self.min),
                humantime::format_duration(self.max)
            ),
        })
    }
}

impl Settings {
    /// Every setting within its range, checked before anything starts: a zero or
    /// absurd value would be a busy loop, a stuck queue or a wait of years.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(Error::InvalidSetting {
                flag: "--concurrency",
                message: format!(
                    "{} is out of range: allowed from 1 to {MAX_CONCURRENCY} (a ceiling; the providers' rate budgets set the pace below it)",
                    self.concurrency
                ),
            });
        }
        let secs = Duration::from_secs;
        let day = secs(24 * 3600);
        let ranges = [
            ("--resync-interval", self.resync_interval, secs(1), 7 * day),
            (
                "--reconcile-timeout",
                self.reconcile_timeout,
                secs(1),
                secs(3600),
            ),
            ("--secret-refresh", self.secret_refresh, secs(1), day),
            ("--late-create-bound", self.late_create_bound, secs(1), day),
            (
                "--max-deletion-backoff",
                self.max_deletion_backoff,
                secs(1),
                day,
            ),
        ];
        for (flag, value, min, max) in ranges {
            Range {
                flag,
                value,
                min,
                max,
            }
            .check()?;
        }
        if let Some(election) = &self.leader_election {
            election.validate()?;
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            namespace: None,
            concurrency: 64,
            resync_interval: Duration::from_secs(600),
            terminal_retry: Duration::from_secs(3600),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
            instance: "chatgroup-operator".into(),
            metrics_addr: None,
            leader_election: None,
            max_disbands_per_hour: None,
            late_create_bound: Duration::from_secs(120),
            reconcile_timeout: Duration::from_secs(60),
            state_namespace: "default".into(),
            secret_refresh: super::clients::DEFAULT_SECRET_REFRESH,
            max_deletion_backoff: Duration::from_secs(15 * 60),
            shard: super::shard::Shard::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_range_are_refused_naming_the_flag_and_the_range() {
        let ok = Settings::default();
        assert!(ok.validate().is_ok(), "the defaults are valid");
        let secs = Duration::from_secs;
        let cases: Vec<(&str, Settings)> = vec![
            (
                "--concurrency",
                Settings {
                    concurrency: 0,
                    ..Settings::default()
                },
            ),
            (
                "--concurrency",
                Settings {
                    concurrency: MAX_CONCURRENCY + 1,
                    ..Settings::default()
                },
            ),
            (
                "--resync-interval",
                Settings {
                    resync_interval: Duration::ZERO,
                    ..Settings::default()
                },
            ),
            (
                "--resync-interval",
                Settings {
                    resync_interval: secs(365 * 24 * 3600),
                    ..Settings::default()
                },
            ),
            (
                "--reconcile-timeout",
                Settings {
                    reconcile_timeout: Duration::ZERO,
                    ..Settings::default()
                },
            ),
            (
                "--secret-refresh",
                Settings {
                    secret_refresh: Duration::from_millis(10),
                    ..Settings::default()
                },
            ),
            (
                "--late-create-bound",
                Settings {
                    late_create_bound: Duration::ZERO,
                    ..Settings::default()
                },
            ),
            (
                "--max-deletion-backoff",
                Settings {
                    max_deletion_backoff: secs(30 * 24 * 3600),
                    ..Settings::default()
                },
            ),
            (
                "--lease-renew-deadline",
                Settings {
                    leader_election: Some(LeaderElection {
                        renew_deadline: secs(20),
                        ..LeaderElection::default()
                    }),
                    ..Settings::default()
                },
            ),
        ];
        for (flag, settings) in cases {
            let message = settings.validate().expect_err(flag).to_string();
            assert!(
                message.starts_with(flag) || message.contains(flag),
                "{flag}: {message}"
            );
            assert!(
                message.contains("allowed") || message.contains("must"),
                "{flag}: {message}"
            );
        }
        let edges = [
            Settings {
                concurrency: 1,
                ..Settings::default()
            },
            Settings {
                concurrency: MAX_CONCURRENCY,
                ..Settings::default()
            },
            Settings {
                resync_interval: secs(1),
                ..Settings::default()
            },
        ];
        for settings in edges {
            assert!(settings.validate().is_ok(), "{settings:?}");
        }
    }
}
