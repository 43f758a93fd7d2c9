//! Prometheus metrics: reconciles, errors by reason, reconcile duration, provider
//! calls by provider / operation / outcome, rate-budget waits and groups by state.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::api::{ChatGroup, Lifecycle};
use crate::provider::budget::BudgetBook;
use crate::provider::{CallObserver, ProviderKind};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: String,
    operation: String,
    outcome: String,
}

/// The counters the controller updates as it works.
#[derive(Debug)]
pub struct Metrics {
    reconciles: Family<ResultLabels, Counter>,
    reconcile_errors: Family<ReasonLabels, Counter>,
    reconcile_duration: Histogram,
    provider_calls: Family<CallLabels, Counter>,
    leader: Gauge,
    disband_budget: Gauge,
}

impl Metrics {
    /// Registers the metrics in `registry` under the `chatgroup` prefix.
    pub fn register(registry: &mut Registry) -> Metrics {
        let metrics = Metrics {
            reconciles: Family::default(),
            reconcile_errors: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            provider_calls: Family::default(),
            leader: Gauge::default(),
            disband_budget: Gauge::default(),
        };
        let registry = registry.sub_registry_with_prefix("chatgroup");
        registry.register(
            "leader",
            "1 while this replica runs the controllers (it holds the lease, or leader election is off)",
            metrics.leader.clone(),
        );
        registry.register(
            "disband_budget_per_hour",
            "Disbands allowed per hour across the operator (--max-disbands-per-hour; 0: unlimited)",
            metrics.disband_budget.clone(),
        );
        registry.register(
            "reconciles",
            "ChatGroup reconciles by result",
            metrics.reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Failed ChatGroup reconciles by reason",
            metrics.reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "How long one ChatGroup reconcile took",
            metrics.reconcile_duration.clone(),
        );
        registry.register(
            "provider_calls",
            "Provider calls by provider, operation and outcome",
            metrics.provider_calls.clone(),
        );
        metrics
    }

    pub fn reconciled(&self, error_reason: Option<&'static str>, took: Duration) {
        let result = if error_reason.is_some() {
            "error"
        } else {
            "success"
        };
        self.reconciles
            .get_or_create(&ResultLabels { result })
            .inc();
        if let Some(reason) = error_reason {
            self.reconcile_errors
                .get_or_create(&ReasonLabels { reason })
                .inc();
        }
        self.reconcile_duration.observe(took.as_secs_f64());
    }
}

impl Metrics {
    /// The blast-radius guard's hourly budget (0: unlimited).
    pub fn disband_budget(&self, per_hour: u32) {
        self.disband_budget.set(i64::from(per_hour));
    }

    /// Whether this replica runs the controllers now.
    pub fn leading(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }
}

impl CallObserver for Metrics {
    fn observe(&self, provider: ProviderKind, operation: &'static str, outcome: &'static str) {
        let labels = CallLabels {
            provider: provider.to_string(),
            operation: operation.into(),
            outcome: outcome.into(),
        };
        self.provider_calls.get_or_create(&labels).inc();
    }
}

/// Numbers read at scrape time: rate-budget waits and throttles per app and API, and
/// ChatGroups by state.
pub struct ScrapeTimeCollector {
    pub groups: Store<ChatGroup>,
    /// Which of the cached ChatGroups this process handles (its shard's).
    pub own: Box<dyn Fn(&ChatGroup) -> bool + Send + Sync>,
    pub budgets: Arc<BudgetBook>,
}

impl std::fmt::Debug for ScrapeTimeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeTimeCollector")
            .finish_non_exhaustive()
    }
}

impl Collector for ScrapeTimeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let budgets = self.budgets.snapshot();
        for (name, help, pick) in [
            (
                "chatgroup_rate_budget_waits",
                "Provider calls that waited for the rate budget",
                0,
            ),
            (
                "chatgroup_rate_budget_throttles",
                "Throttle answers from the provider",
                1,
            ),
        ] {
            let probe = ConstCounter::new(0u64);
            let mut family = encoder.encode_descriptor(name, help, None, probe.metric_type())?;
            for (app, budget) in &budgets {
                for (api, stats) in budget.stats_per_api() {
                    let labels = [
                        ("provider", budget.kind().to_string()),
                        ("budget", app.clone()),
                        ("api", api.to_string()),
                    ];
                    let value = if pick == 0 {
                        stats.waits
                    } else {
                        stats.throttles
                    };
                    ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let mut groups = self.groups.state();
        groups.retain(|g| (self.own)(g));
        let mut counts: std::collections::BTreeMap<&'static str, i64> =
            Lifecycle::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for group in &groups {
            *counts
                .entry(Lifecycle::of(group.status.as_ref()).as_str())
                .or_default() += 1;
        }
        let attention = Attention::of(&groups, k8s_openapi::jiff::Timestamp::now());
        for (name, help, value) in [
            (
                "chatgroup_oldest_deletion_seconds",
                "Age of the oldest ChatGroup being deleted (its finalizer held until the disband is confirmed); 0 when none is",
                attention.oldest_deletion_seconds,
            ),
            (
                "chatgroup_stalled_groups",
                "ChatGroups with Stalled=True (a terminal error: they wait for a change)",
                attention.stalled,
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let probe = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "chatgroup_groups",
            "ChatGroups by state",
            None,
            probe.metric_type(),
        )?;
        for (state, count) in counts {
            ConstGauge::new(count).encode(family.encode_family(&[("state", state)])?)?;
        }
        Ok(())
    }
}

/// What needs a person, over all ChatGroups: no label per object, so the alerts say
/// where to look (Events) instead.
#[derive(Debug, Default, PartialEq, Eq)]
struct Attention {
    oldest_deletion_seconds: i64,
    stalled: i64,
}

/// Whether `group` says it is stalled: waiting for a change only a user can make.
pub(crate) fn is_stalled(group: &ChatGroup) -> bool {
    let conditions = group.status.as_ref().map(|s| s.conditions.as_slice());
    conditions
        .and_then(|c| crate::api::conditions::find(c, crate::api::conditions::STALLED))
        .is_some_and(|c| c.status == "True")
}

impl Attention {
    fn of(groups: &[Arc<ChatGroup>], now: k8s_openapi::jiff::Timestamp) -> Attention {
        let oldest_deletion_seconds = groups
            .iter()
            .filter_map(|g| g.metadata.deletion_timestamp.as_ref())
            .map(|t| now.duration_since(t.0).as_secs().max(0))
            .max()
            .unwrap_or(0);
        let stalled = groups.iter().filter(|g| is_stalled(g)).count() as i64;
        Attention {
            oldest_deletion_seconds,
            stalled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{self, Desired, STALLED};
    use crate::api::ChatGroupStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::{SignedDuration, Timestamp};

    fn deleted(ago: i64, now: Timestamp) -> Arc<ChatGroup> {
        let mut group = ChatGroup::test().named(&format!("d{ago}")).build();
        group.metadata.deletion_timestamp = Some(Time(now - SignedDuration::from_secs(ago)));
        Arc::new(group)
    }

    fn stalled() -> Arc<ChatGroup> {
        let status = ChatGroupStatus {
            conditions: conditions::merge(
                &[],
                &[Desired::new(STALLED, true, "ProviderRejected", "")],
                Some(1),
                &Time(Timestamp::now()),
            ),
            ..ChatGroupStatus::default()
        };
        Arc::new(ChatGroup::test().named("s").with_status(status).build())
    }

    #[test]
    fn attention_counts_stalled_groups_and_the_oldest_deletion() {
        let now = Timestamp::now();
        let cases = [
            ("nothing", vec![], Attention::default()),
            (
                "two deletions: the oldest counts",
                vec![deleted(30, now), deleted(700, now)],
                Attention {
                    oldest_deletion_seconds: 700,
                    stalled: 0,
                },
            ),
            (
                "a stalled group beside an active one",
                vec![stalled(), Arc::new(ChatGroup::test().build())],
                Attention {
                    oldest_deletion_seconds: 0,
                    stalled: 1,
                },
            ),
        ];
        for (case, groups, expected) in cases {
            assert_eq!(Attention::of(&groups, now), expected, "{case}");
        }
    }
}
