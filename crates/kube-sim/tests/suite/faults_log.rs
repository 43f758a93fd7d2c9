//! The request log and injected faults.

use crate::common;

use std::time::{Duration, Instant};

use common::{configmap, rv, widget, with_widgets, Raw, Watch, CONFIGMAPS, WIDGETS};
use kube_sim::KubeSim;
use serde_json::json;

#[tokio::test]
async fn the_log_records_rbac_verbs_codes_and_field_managers() {
    let (sim, raw) = with_widgets().await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    raw.get(&format!("{WIDGETS}/a")).await;
    raw.get(WIDGETS).await;
    let mut w = Watch::open(&raw, &format!("{WIDGETS}?watch=true&timeoutSeconds=1")).await;
    w.next().await;
    let a = raw.get(&format!("{WIDGETS}/a")).await.body;
    raw.put(&format!("{WIDGETS}/a"), &a).await;
    raw.merge(
        &format!("{WIDGETS}/a/status?fieldManager=me"),
        &json!({"status": {"phase": "x"}}),
    )
    .await;
    raw.delete(&format!("{WIDGETS}/missing")).await;
    raw.delete(WIDGETS).await;
    let log: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.resource == "widgets")
        .collect();
    let verbs: Vec<&str> = log.iter().map(|r| r.verb.as_str()).collect();
    assert_eq!(
        verbs,
        [
            "create",
            "get",
            "list",
            "watch",
            "get",
            "update",
            "patch",
            "delete",
            "deletecollection"
        ]
    );
    let patch = &log[6];
    assert_eq!(patch.subresource.as_deref(), Some("status"));
    assert_eq!(patch.field_manager.as_deref(), Some("me"));
    assert_eq!(
        (patch.group.as_str(), patch.version.as_str()),
        ("test.kube-sim.dev", "v1")
    );
    assert_eq!(log[0].namespace.as_deref(), Some("default"));
    assert_eq!(log[1].name.as_deref(), Some("a"));
    assert_eq!(log[0].code, 201);
    assert_eq!(log[7].code, 404);
}

#[tokio::test]
async fn fail_fraction_answers_with_the_chosen_status() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    for (code, reason) in [
        (500, "InternalError"),
        (429, "TooManyRequests"),
        (503, "ServiceUnavailable"),
    ] {
        sim.faults().fail_fraction(1.0, code);
        let a = raw.get(CONFIGMAPS).await;
        assert_eq!(a.code, code);
        assert_eq!(a.body["kind"], "Status");
        assert_eq!(a.body["reason"], reason);
    }
    sim.faults().fail_fraction(0.5, 500);
    let mut failed = 0;
    for _ in 0..200 {
        if raw.get(CONFIGMAPS).await.code == 500 {
            failed += 1;
        }
    }
    assert!((40..=160).contains(&failed), "about half fail: {failed}");
    sim.faults().clear();
    assert_eq!(raw.get(CONFIGMAPS).await.code, 200);
    assert_eq!(sim.requests().last().unwrap().code, 200);
}

#[tokio::test]
async fn latency_delays_resource_requests() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    sim.faults().latency(Some(Duration::from_millis(300)));
    let start = Instant::now();
    raw.get(CONFIGMAPS).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    sim.faults().latency(None);
    let start = Instant::now();
    raw.get(CONFIGMAPS).await;
    assert!(start.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn watches_end_after_a_duration_or_a_number_of_events() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    sim.faults()
        .end_watches_after(Some(Duration::from_millis(300)));
    let mut w = Watch::open(&raw, &format!("{CONFIGMAPS}?watch=true")).await;
    assert!(w.ends_within(Duration::from_secs(3)).await);
    sim.faults().clear();
    sim.faults().end_watches_after_events(Some(2));
    let mut w = Watch::open(&raw, &format!("{CONFIGMAPS}?watch=true")).await;
    for i in 0..3 {
        raw.post(CONFIGMAPS, &configmap(&format!("c{i}"), json!({})))
            .await;
    }
    assert!(w.next().await.is_some());
    assert!(w.next().await.is_some());
    assert!(
        w.next_within(Duration::from_secs(1)).await.is_none(),
        "ended after two events"
    );
}

#[tokio::test]
async fn compacting_history_ends_watches_and_old_versions_get_410() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let c = raw.post(CONFIGMAPS, &configmap("c", json!({}))).await.body;
    let mut w = Watch::open(
        &raw,
        &format!("{CONFIGMAPS}?watch=true&resourceVersion={}", rv(&c)),
    )
    .await;
    sim.faults().compact_history();
    assert!(
        w.ends_within(Duration::from_secs(2)).await,
        "open watches end"
    );
    let mut w = Watch::open(
        &raw,
        &format!("{CONFIGMAPS}?watch=true&resourceVersion={}", rv(&c)),
    )
    .await;
    assert_eq!(w.next().await.unwrap()["object"]["code"], 410);
    let list_rv = rv(&raw.get(CONFIGMAPS).await.body);
    let mut w = Watch::open(
        &raw,
        &format!("{CONFIGMAPS}?watch=true&resourceVersion={list_rv}"),
    )
    .await;
    raw.post(CONFIGMAPS, &configmap("d", json!({}))).await;
    assert_eq!(
        w.next().await.unwrap()["type"],
        "ADDED",
        "a fresh list's version resumes"
    );
}
