//! `/metrics` as Prometheus reads it: the official parser accepts the text and the
//! families count the work done, with no secret in them.

use anyhow::{ensure, Context as _};
use e2e::{ready_with, Env, Side};
use provider_sim::{Fault, FaultKind, NeteaseSimConfig};

use super::support::{scrape_until, Scrape};
use super::{manifest, WAIT};

fn secrets() -> [String; 2] {
    [
        provider_sim::tencent::SAMPLE_SECRET_KEY.to_string(),
        NeteaseSimConfig::default().app_secret,
    ]
}

fn check_no_secret(scrape: &Scrape) -> anyhow::Result<()> {
    for secret in secrets() {
        ensure!(!secret.is_empty(), "the simulator secret is empty");
        ensure!(
            !scrape.text.contains(&secret),
            "a provider secret appears in /metrics"
        );
    }
    Ok(())
}

fn check_groups(scrape: &Scrape, available: f64, disbanded: f64) -> anyhow::Result<()> {
    let family = scrape.family("chatgroup_groups")?;
    ensure!(
        family.kind == "gauge",
        "chatgroup_groups is a {}",
        family.kind
    );
    for state in ["pending", "error", "externally_disbanded"] {
        ensure!(
            scrape
                .matching("chatgroup_groups", &[("state", state)])
                .len()
                == 1
        );
    }
    let count = |state| scrape.sum("chatgroup_groups", &[("state", state)]);
    ensure!(
        (count("available"), count("disbanded")) == (available, disbanded),
        "groups by state: want available {available}, disbanded {disbanded}"
    );
    Ok(())
}

fn check_reconciles(scrape: &Scrape) -> anyhow::Result<()> {
    ensure!(scrape.family("chatgroup_reconciles")?.kind == "counter");
    let success = scrape.sum("chatgroup_reconciles_total", &[("result", "success")]);
    let errors = scrape.sum("chatgroup_reconciles_total", &[("result", "error")]);
    ensure!(success > 0.0, "no successful reconcile counted");
    ensure!(errors >= 1.0, "the failed create is not counted");
    let unavailable = [("reason", "ProviderUnavailable")];
    ensure!(scrape.family("chatgroup_reconcile_errors")?.kind == "counter");
    ensure!(scrape.sum("chatgroup_reconcile_errors_total", &unavailable) >= 1.0);
    let all_errors = scrape.sum("chatgroup_reconcile_errors_total", &[]);
    ensure!(
        all_errors == errors,
        "errors by reason {all_errors} != {errors}"
    );
    check_histogram(scrape, success + errors)
}

/// Buckets ascend to `+Inf`, which equals `_count`, which equals the reconciles.
fn check_histogram(scrape: &Scrape, reconciles: f64) -> anyhow::Result<()> {
    let name = "chatgroup_reconcile_duration_seconds";
    ensure!(scrape.family(name)?.kind == "histogram");
    let buckets = scrape.matching(&format!("{name}_bucket"), &[]);
    ensure!(buckets.len() > 2, "too few buckets");
    let mut last = (f64::NEG_INFINITY, 0.0);
    for bucket in &buckets {
        let le: f64 = bucket.labels["le"].replace("+Inf", "inf").parse()?;
        ensure!(
            le > last.0 && bucket.value >= last.1,
            "buckets not cumulative"
        );
        last = (le, bucket.value);
    }
    let count = scrape.sum(&format!("{name}_count"), &[]);
    ensure!(
        last.0.is_infinite() && last.1 == count,
        "+Inf bucket != count"
    );
    ensure!(
        count == reconciles,
        "{count} durations for {reconciles} reconciles"
    );
    ensure!(scrape.sum(&format!("{name}_sum"), &[]) > 0.0);
    Ok(())
}

fn calls(scrape: &Scrape, provider: &str, operation: &str, outcome: &str) -> f64 {
    let labels = [
        ("provider", provider),
        ("operation", operation),
        ("outcome", outcome),
    ];
    scrape.sum("chatgroup_provider_calls_total", &labels)
}

fn check_provider_calls(scrape: &Scrape) -> anyhow::Result<()> {
    ensure!(scrape.family("chatgroup_provider_calls")?.kind == "counter");
    ensure!(calls(scrape, "tencent", "create", "Created") == 1.0);
    ensure!(calls(scrape, "tencent", "create", "ProviderUnavailable") >= 1.0);
    ensure!(calls(scrape, "netease", "create", "Created") == 1.0);
    Ok(())
}

fn check_budgets(scrape: &Scrape) -> anyhow::Result<()> {
    for family in [
        "chatgroup_rate_budget_waits",
        "chatgroup_rate_budget_throttles",
    ] {
        ensure!(scrape.family(family)?.kind == "counter", "{family} type");
        let sample = format!("{family}_total");
        for provider in ["tencent", "netease"] {
            let samples = scrape.matching(&sample, &[("provider", provider)]);
            ensure!(!samples.is_empty(), "{family}: nothing for {provider}");
            for s in samples {
                ensure!(s.labels.contains_key("budget") && s.labels.contains_key("api"));
            }
        }
    }
    let create = [("provider", "tencent"), ("api", "create_group")];
    let throttles = scrape.sum("chatgroup_rate_budget_throttles_total", &create);
    ensure!(throttles >= 1.0, "the throttle answer is not counted");
    // The call after the throttle waits out the cooldown.
    let waits = scrape.sum("chatgroup_rate_budget_waits_total", &create);
    ensure!(waits >= 1.0, "the wait after the throttle is not counted");
    Ok(())
}

/// Every metric the chart's alert rules and dashboard read is exported; the alerts'
/// own gauges read "nothing to worry about" in a healthy run.
fn check_alert_metrics(scrape: &Scrape) -> anyhow::Result<()> {
    let rules = crate::alerts::metrics_in_rules();
    let dashboard = crate::alerts::metrics_in_dashboard();
    ensure!(
        rules.len() >= 6 && dashboard.len() >= 9,
        "{rules:?} {dashboard:?}"
    );
    for name in rules.iter().chain(&dashboard) {
        let family = ["_total", "_bucket"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        scrape
            .family(family)
            .with_context(|| format!("the alert rules or the dashboard read {name}"))?;
    }
    ensure!(
        scrape.sum("chatgroup_leader", &[]) == 1.0,
        "this replica leads"
    );
    ensure!(scrape.sum("chatgroup_oldest_deletion_seconds", &[]) == 0.0);
    ensure!(scrape.sum("chatgroup_stalled_groups", &[]) == 0.0);
    Ok(())
}

#[tokio::test]
async fn metrics_pass_the_official_prometheus_parser_and_count_the_work() -> anyhow::Result<()> {
    let addr = super::support::free_addr()?;
    let mut settings = e2e::test_settings();
    settings.metrics_addr = Some(addr);
    let env = Env::start_with(settings).await?;
    // The first Tencent create fails (transient), the second is throttled.
    let create = Some("create_group");
    env.inject(
        Side::Tencent,
        Fault::times(create, FaultKind::Code(10002), 1),
    );
    env.inject(
        Side::Tencent,
        Fault::times(create, FaultKind::Code(60007), 1),
    );
    for side in Side::BOTH {
        env.apply_group(&manifest(side, &name(side), "")).await?;
    }
    for side in Side::BOTH {
        env.wait_group(&name(side), WAIT, |g| ready_with(g, "Available"))
            .await?;
    }
    let scrape = scrape_until(addr, WAIT, |s| {
        check_groups(s, 2.0, 0.0)?;
        check_reconciles(s)?;
        check_provider_calls(s)?;
        check_budgets(s)
    })
    .await?;
    check_no_secret(&scrape)?;
    check_alert_metrics(&scrape)?;

    let tombstone = manifest(Side::Tencent, &name(Side::Tencent), "state: disbanded\n");
    env.apply_group(&tombstone).await?;
    env.wait_group(&name(Side::Tencent), WAIT, |g| ready_with(g, "Disbanded"))
        .await?;
    let scrape = scrape_until(addr, WAIT, |s| {
        check_groups(s, 1.0, 1.0)?;
        ensure!(calls(s, "tencent", "disband", "Disbanded") == 1.0);
        check_reconciles(s)
    })
    .await
    .context("after the disband")?;
    check_no_secret(&scrape)?;
    Ok(())
}

fn name(side: Side) -> String {
    format!("metrics-{side:?}").to_lowercase()
}
