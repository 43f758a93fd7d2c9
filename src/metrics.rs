//! Prometheus metrics: reconciles, errors by reason, reconcile duration, provider
//! calls by provider / operation / outcome, rate-budget waits and groups by state.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
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
}

impl Metrics {
    /// Registers the metrics in `registry` under the `chatgroup` prefix.
    pub fn register(registry: &mut Registry) -> Metrics {
        let metrics = Metrics {
            reconciles: Family::default(),
            reconcile_errors: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            provider_calls: Family::default(),
        };
        let registry = registry.sub_registry_with_prefix("chatgroup");
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
#[derive(Debug)]
pub struct ScrapeTimeCollector {
    pub groups: Store<ChatGroup>,
    pub budgets: Arc<BudgetBook>,
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
        let mut counts: std::collections::BTreeMap<&'static str, i64> =
            Lifecycle::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for group in self.groups.state() {
            *counts
                .entry(Lifecycle::of(group.status.as_ref()).as_str())
                .or_default() += 1;
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
