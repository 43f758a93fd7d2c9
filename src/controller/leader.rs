//! Leader election through a coordination.k8s.io/v1 Lease, with a write fence.
//!
//! The protocol is client-go's: the holder renews `renewTime` every `retry_period`
//! with a replace under a resourceVersion precondition; a candidate takes the Lease
//! over when its record has not changed for `leaseDurationSeconds` *as the
//! candidate observed it on its own monotonic clock* (so clock skew between
//! replicas does not matter, only clock rates), or when it is free.
//!
//! The holder's [`Fence`] allows provider writes until the instant its last
//! successful renewal was sent plus `renew_deadline`. A renewal that fails for any
//! reason (409, 5xx, a timeout: every attempt is bounded) does not move it, and once
//! it has passed the fence stays closed: the controllers stop and the process exits
//! to be restarted as a candidate.
//!
//! kube-lease-manager, used before, reports only a leader flag: it cannot tell when
//! a renewal was sent, counts in whole seconds, and bounds no request.

use std::future::Future;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::Client;

use super::fence::Fence;
use super::LeaderElection;
use crate::{Error, Result};

/// The field manager of this operator's Lease writes.
const FIELD_MANAGER: &str = "chatgroup-operator";

/// Waits for the lease, then runs `work` with the [`Fence`] and a future that
/// resolves once the fence closed (renew deadline passed, lease lost). The lease is
/// renewed while `work` runs, also while it drains after `shutdown`. Returns an error
/// when leadership was lost (the caller exits and is restarted), `Ok` when `shutdown`
/// ended the work; the lease is released on the way out when this replica still
/// holds it.
pub async fn run_while_leader<W, Fut>(
    client: Client,
    identity: String,
    election: LeaderElection,
    shutdown: impl Future<Output = ()>,
    work: W,
) -> Result<()>
where
    W: FnOnce(Fence, BoxFuture<'static, ()>) -> Fut,
    Fut: Future<Output = ()>,
{
    election.validate()?;
    let mut elector = Elector::new(client, identity, election);
    let fence = Fence::for_lease(
        elector.election.renew_deadline,
        elector.election.lease_duration,
    );
    let shutdown = shutdown.fuse();
    futures::pin_mut!(shutdown);
    tokio::select! {
        sent = elector.acquire() => {
            fence.renewed(sent);
        }
        _ = &mut shutdown => return Ok(()),
    }
    tracing::info!(
        lease = %elector.election.lease_name,
        identity = %elector.identity,
        "acquired the lease; reconciling"
    );
    let lost = {
        let fence = fence.clone();
        async move { fence.closed().await }.boxed()
    };
    let working = work(fence.clone(), lost);
    futures::pin_mut!(working);
    let lost_why = tokio::select! {
        // Shutdown, or the controllers saw the fence closed before a renewal did.
        _ = &mut working => fence.check().err().map(|e| e.to_string()),
        why = elector.keep(&fence) => {
            // The controllers see the fence closed and stop; wait for them.
            working.await;
            Some(why)
        }
    };
    // Nothing runs any more, no write is in flight: the lease may be handed on (a
    // no-op when another replica holds it already).
    fence.close("the controllers stopped");
    elector.release().await;
    match lost_why {
        None => Ok(()),
        Some(why) => Err(Error::Leadership(format!(
            "stopped leading (lease {}): {why}; exiting so this replica restarts as a candidate",
            elector.election.lease_name
        ))),
    }
}

/// What a candidate or holder does with the Lease it just read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// No Lease yet: create it holding it.
    Create,
    /// Ours: renew it.
    Renew,
    /// Free (released) or expired: take it over under its resourceVersion.
    TakeOver,
    /// Another replica holds it and renewed it recently: wait.
    Wait {
        holder: String,
        expires_in: Duration,
    },
}

/// When a Lease record was first seen in its current version, on this replica's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Observed {
    pub resource_version: String,
    pub since: Instant,
}

impl Observed {
    /// Notes `lease` as seen at `now`: its record's age restarts when it changed.
    pub(crate) fn see(previous: Option<Observed>, lease: &Lease, now: Instant) -> Observed {
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        match previous {
            Some(seen) if seen.resource_version == version => seen,
            _ => Observed {
                resource_version: version,
                since: now,
            },
        }
    }
}

/// The pure decision: `lease` as read now (`None`: not found), how long its current
/// version has been observed unchanged, who we are. `default_duration` counts when
/// the Lease names no duration.
pub(crate) fn decide(
    lease: Option<&Lease>,
    observed: Option<&Observed>,
    identity: &str,
    default_duration: Duration,
    now: Instant,
) -> Decision {
    let Some(lease) = lease else {
        return Decision::Create;
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.unwrap_or_default();
    if holder.is_empty() {
        return Decision::TakeOver;
    }
    if holder == identity {
        return Decision::Renew;
    }
    let duration = spec
        .lease_duration_seconds
        .filter(|s| *s > 0)
        .map_or(default_duration, |s| {
            Duration::from_secs(s.unsigned_abs().into())
        });
    // Never seen before: its age starts now, whatever renewTime says.
    let since = observed.map_or(now, |o| o.since);
    let age = now.saturating_duration_since(since);
    if age >= duration {
        Decision::TakeOver
    } else {
        Decision::Wait {
            holder,
            expires_in: duration - age,
        }
    }
}

/// Why a renewal did not extend the fence.
#[derive(Debug)]
enum Renewal {
    /// Someone else holds the Lease now: leadership is lost for good.
    Lost(String),
    /// This attempt failed; the next may succeed before the renew deadline.
    Failed(String),
}

struct Elector {
    api: Api<Lease>,
    identity: String,
    election: LeaderElection,
    /// The Lease as this replica last wrote it while holding it; `None` when unsure.
    held: Option<Lease>,
}

impl Elector {
    fn new(client: Client, identity: String, election: LeaderElection) -> Elector {
        Elector {
            api: Api::namespaced(client, &election.lease_namespace),
            identity,
            election,
            held: None,
        }
    }

    /// Bounds one attempt: within the renew deadline, with room for a second try.
    fn attempt_timeout(&self) -> Duration {
        (self.election.renew_deadline / 2).max(Duration::from_millis(100))
    }

    fn lease_seconds(&self) -> i32 {
        let millis = self.election.lease_duration.as_millis().max(1000);
        i32::try_from(millis.div_ceil(1000)).unwrap_or(i32::MAX)
    }

    /// Tries until this replica holds the Lease; the instant the winning request
    /// was sent.
    async fn acquire(&mut self) -> Instant {
        let mut observed = None;
        let mut waiting_for = None;
        loop {
            let sent = Instant::now();
            let attempt =
                tokio::time::timeout(self.attempt_timeout(), self.try_acquire(&mut observed));
            match attempt.await {
                Ok(Ok(None)) => return sent,
                Ok(Ok(Some(holder))) => {
                    if waiting_for.as_ref() != Some(&holder) {
                        tracing::info!(lease = %self.election.lease_name, %holder, "standing by: another replica holds the lease");
                        waiting_for = Some(holder);
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.election.lease_name, %error, "could not acquire the lease")
                }
                Err(_) => {
                    tracing::warn!(lease = %self.election.lease_name, timeout = ?self.attempt_timeout(), "a lease request timed out")
                }
            }
            tokio::time::sleep(self.election.retry_period).await;
        }
    }

    /// One acquisition attempt: `Ok(None)` when it won, `Ok(Some(holder))` when
    /// another replica holds the Lease.
    async fn try_acquire(&mut self, observed: &mut Option<Observed>) -> Result<Option<String>> {
        let name = &self.election.lease_name;
        let current = self
            .api
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("read Lease {name}"), e))?;
        let now = Instant::now();
        if let Some(lease) = &current {
            *observed = Some(Observed::see(observed.take(), lease, now));
        }
        let decision = decide(
            current.as_ref(),
            observed.as_ref(),
            &self.identity,
            self.election.lease_duration,
            now,
        );
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        let written = match (decision, current) {
            (Decision::Wait { holder, .. }, _) => return Ok(Some(holder)),
            (Decision::Create, _) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        namespace: Some(self.election.lease_namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.taken(None)),
                };
                self.api.create(&params, &lease).await
            }
            (Decision::Renew | Decision::TakeOver, Some(mut lease)) => {
                lease.spec = Some(self.taken(lease.spec.take()));
                self.api.replace(name, &params, &lease).await
            }
            (Decision::Renew | Decision::TakeOver, None) => {
                return Err(Error::Internal("a lease decision without a lease"))
            }
        };
        match written {
            Ok(lease) => {
                self.held = Some(lease);
                Ok(None)
            }
            // Another replica created or took it first.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Some("(racing)".into())),
            Err(e) => Err(Error::kube(format!("take Lease {name}"), e)),
        }
    }

    /// The spec of a Lease this replica takes or keeps: `previous` when it renews its
    /// own, a new acquisition otherwise.
    fn taken(&self, previous: Option<LeaseSpec>) -> LeaseSpec {
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let previous = previous.unwrap_or_default();
        let ours = previous.holder_identity.as_deref() == Some(self.identity.as_str());
        let transitions = previous.lease_transitions.unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_seconds()),
            acquire_time: if ours {
                previous.acquire_time.clone()
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(if ours || previous.holder_identity.is_none() {
                transitions
            } else {
                transitions.saturating_add(1)
            }),
            ..previous
        }
    }

    /// Renews every `retry_period` until the fence closes; why it closed.
    async fn keep(&mut self, fence: &Fence) -> String {
        loop {
            let next = tokio::time::Instant::now() + self.election.retry_period;
            match fence.deadline() {
                Some(deadline) => {
                    let deadline = tokio::time::Instant::from_std(deadline);
                    tokio::time::sleep_until(next.min(deadline)).await;
                }
                None => tokio::time::sleep_until(next).await,
            }
            if let Err(error) = fence.check() {
                return error.to_string();
            }
            let sent = Instant::now();
            let left = fence
                .deadline()
                .map_or(Duration::ZERO, |d| d.saturating_duration_since(sent));
            let limit = self.attempt_timeout().min(left);
            match tokio::time::timeout(limit, self.renew()).await {
                Ok(Ok(())) => {
                    fence.renewed(sent);
                }
                Ok(Err(Renewal::Lost(holder))) => {
                    let why = format!("the lease is held by {holder} now");
                    fence.close(why.clone());
                    self.held = None;
                    return why;
                }
                Ok(Err(Renewal::Failed(error))) => {
                    tracing::warn!(lease = %self.election.lease_name, %error, deadline_in = ?left, "could not renew the lease");
                }
                Err(_) => {
                    self.held = None;
                    tracing::warn!(lease = %self.election.lease_name, timeout = ?limit, deadline_in = ?left, "renewing the lease timed out");
                }
            }
        }
    }

    /// One renewal: a replace of the Lease as last written (re-read first when that
    /// is not known), so a takeover in between makes it fail with 409.
    async fn renew(&mut self) -> std::result::Result<(), Renewal> {
        let name = self.election.lease_name.clone();
        let lease = match self.held.take() {
            Some(lease) => lease,
            None => match self.api.get_opt(&name).await {
                Ok(Some(lease)) => lease,
                Ok(None) => return Err(Renewal::Lost("nobody (it was deleted)".into())),
                Err(e) => return Err(Renewal::Failed(format!("read Lease {name}: {e}"))),
            },
        };
        let holder = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.clone())
            .unwrap_or_default();
        if holder != self.identity {
            return Err(Renewal::Lost(if holder.is_empty() {
                "nobody (it was released)".into()
            } else {
                holder
            }));
        }
        let mut renewed = lease;
        renewed.spec = Some(self.taken(renewed.spec.take()));
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        match self.api.replace(&name, &params, &renewed).await {
            Ok(lease) => {
                self.held = Some(lease);
                Ok(())
            }
            // `held` stays empty: the next attempt reads the Lease again.
            Err(e) => Err(Renewal::Failed(format!("replace Lease {name}: {e}"))),
        }
    }

    /// Hands the Lease back (holder cleared) if this replica still holds it, so a
    /// standby takes over at once. Bounded; a failure only delays the handover.
    async fn release(&mut self) {
        let name = self.election.lease_name.clone();
        let limit = self.attempt_timeout();
        let release = async {
            let lease = match self.held.take() {
                Some(lease) => lease,
                None => self.api.get(&name).await?,
            };
            let spec = lease.spec.clone().unwrap_or_default();
            if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
                return Ok(());
            }
            let mut released = lease;
            released.spec = Some(LeaseSpec {
                holder_identity: None,
                lease_duration_seconds: Some(1),
                renew_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::now())),
                ..spec
            });
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            self.api
                .replace(&name, &params, &released)
                .await
                .map(|_| ())
        };
        match tokio::time::timeout(limit, release).await {
            Ok(Ok(())) => tracing::info!(lease = %name, "released the lease"),
            Ok(Err(error)) => tracing::warn!(lease = %name, %error, "could not release the lease"),
            Err(_) => tracing::warn!(lease = %name, "releasing the lease timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "replica-a";
    const DURATION: Duration = Duration::from_secs(15);

    fn lease(holder: Option<&str>, seconds: Option<i32>, version: &str) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some("l".into()),
                resource_version: Some(version.into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(String::from),
                lease_duration_seconds: seconds,
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn the_decision_table() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let seen = |at: Instant| Observed {
            resource_version: "1".into(),
            since: at,
        };
        let mine = lease(Some(ME), Some(15), "1");
        let other = lease(Some("replica-b"), Some(15), "1");
        let released = lease(None, Some(1), "1");
        let emptied = lease(Some(""), Some(15), "1");
        let short = lease(Some("replica-b"), Some(3), "1");
        type Case<'a> = (
            &'a str,
            Option<&'a Lease>,
            Option<Observed>,
            Instant,
            Decision,
        );
        let cases: Vec<Case> = vec![
            ("missing", None, None, t0, Decision::Create),
            (
                "held by me and fresh",
                Some(&mine),
                Some(seen(t0)),
                t0 + secs(1),
                Decision::Renew,
            ),
            // Ours even when it looks expired: renew (a restart under the same name).
            (
                "held by me and stale",
                Some(&mine),
                Some(seen(t0)),
                t0 + secs(60),
                Decision::Renew,
            ),
            (
                "held by another and fresh",
                Some(&other),
                Some(seen(t0)),
                t0 + secs(5),
                Decision::Wait {
                    holder: "replica-b".into(),
                    expires_in: secs(10),
                },
            ),
            (
                "held by another, first seen now",
                Some(&other),
                None,
                t0,
                Decision::Wait {
                    holder: "replica-b".into(),
                    expires_in: DURATION,
                },
            ),
            (
                "held by another, unchanged for its duration",
                Some(&other),
                Some(seen(t0)),
                t0 + DURATION,
                Decision::TakeOver,
            ),
            (
                "the holder's own duration counts",
                Some(&short),
                Some(seen(t0)),
                t0 + secs(3),
                Decision::TakeOver,
            ),
            ("released", Some(&released), None, t0, Decision::TakeOver),
            (
                "holder emptied",
                Some(&emptied),
                None,
                t0,
                Decision::TakeOver,
            ),
        ];
        for (name, lease, observed, now, expected) in cases {
            assert_eq!(
                decide(lease, observed.as_ref(), ME, DURATION, now),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn the_timings_are_validated_naming_the_flag() {
        let ok = LeaderElection::default();
        assert!(ok.validate().is_ok(), "client-go's defaults fit");
        let message = |e: LeaderElection| e.validate().unwrap_err().to_string();
        let long_deadline = LeaderElection {
            renew_deadline: Duration::from_secs(15),
            ..LeaderElection::default()
        };
        assert!(message(long_deadline).contains(
            "--lease-renew-deadline (15s) must be at most 90% of --lease-duration (15s)"
        ));
        let no_room_for_writes = LeaderElection {
            renew_deadline: Duration::from_secs(14),
            ..LeaderElection::default()
        };
        assert!(message(no_room_for_writes).contains("at most 90%"));
        let slow_retry = LeaderElection {
            retry_period: Duration::from_secs(10),
            ..LeaderElection::default()
        };
        assert!(message(slow_retry).contains("--lease-retry-period"));
        let short_lease = LeaderElection {
            lease_duration: Duration::from_millis(900),
            renew_deadline: Duration::from_millis(500),
            retry_period: Duration::from_millis(100),
            ..LeaderElection::default()
        };
        assert!(message(short_lease).contains("--lease-duration"));
    }

    #[test]
    fn a_lease_without_a_duration_uses_ours() {
        let t0 = Instant::now();
        let other = lease(Some("replica-b"), None, "1");
        let seen = Observed {
            resource_version: "1".into(),
            since: t0,
        };
        assert!(matches!(
            decide(
                Some(&other),
                Some(&seen),
                ME,
                DURATION,
                t0 + Duration::from_secs(14)
            ),
            Decision::Wait { .. }
        ));
        assert_eq!(
            decide(Some(&other), Some(&seen), ME, DURATION, t0 + DURATION),
            Decision::TakeOver
        );
    }

    #[test]
    fn a_changed_record_restarts_its_age_and_an_unchanged_one_keeps_it() {
        let t0 = Instant::now();
        let first = Observed::see(None, &lease(Some("b"), Some(15), "7"), t0);
        assert_eq!(first.since, t0);
        let same = Observed::see(
            Some(first.clone()),
            &lease(Some("b"), Some(15), "7"),
            t0 + Duration::from_secs(9),
        );
        assert_eq!(
            same, first,
            "a renewTime in the past does not age a record we saw change"
        );
        let renewed = Observed::see(
            Some(same),
            &lease(Some("b"), Some(15), "8"),
            t0 + Duration::from_secs(10),
        );
        assert_eq!(renewed.since, t0 + Duration::from_secs(10));
    }
}
