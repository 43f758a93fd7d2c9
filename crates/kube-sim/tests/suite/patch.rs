//! PATCH flavours and server-side apply.

use crate::common;

use common::{configmap, widget, with_widgets, Raw, CONFIGMAPS, WIDGETS};
use kube_sim::KubeSim;
use serde_json::json;

const APPLY: &str = "application/apply-patch+yaml";

#[tokio::test]
async fn json_patch_applies_operations_and_a_null_test_passes_on_a_missing_field() {
    let (_sim, raw) = with_widgets().await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    let ops = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
        {"op": "replace", "path": "/spec/size", "value": 7}
    ]);
    let a = raw
        .patch(&format!("{WIDGETS}/a"), "application/json-patch+json", &ops)
        .await;
    assert_eq!(a.code, 200, "{}", a.body);
    assert_eq!(a.body["metadata"]["finalizers"], json!(["x/y"]));
    assert_eq!(a.body["spec"]["size"], 7);
    let failing = json!([{"op": "test", "path": "/spec/size", "value": 1}]);
    let b = raw
        .patch(
            &format!("{WIDGETS}/a"),
            "application/json-patch+json",
            &failing,
        )
        .await;
    assert_eq!(b.code, 422);
}

#[tokio::test]
async fn merge_patch_with_a_stale_resource_version_conflicts() {
    let (_sim, raw) = with_widgets().await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    let p = json!({"metadata": {"resourceVersion": "1"}, "spec": {"size": 2}});
    let a = raw.merge(&format!("{WIDGETS}/a"), &p).await;
    assert_eq!(a.code, 409);
    assert_eq!(raw.merge(&format!("{WIDGETS}/missing"), &p).await.code, 404);
}

#[tokio::test]
async fn strategic_merge_is_accepted_for_built_ins_and_refused_for_custom_resources() {
    let (_sim, raw) = with_widgets().await;
    raw.post(CONFIGMAPS, &configmap("c", json!({}))).await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    let smp = "application/strategic-merge-patch+json";
    let a = raw
        .patch(
            &format!("{CONFIGMAPS}/c"),
            smp,
            &json!({"data": {"n": "1"}}),
        )
        .await;
    assert_eq!(a.code, 200);
    assert_eq!(a.body["data"], json!({"k": "v", "n": "1"}));
    let b = raw
        .patch(&format!("{WIDGETS}/a"), smp, &json!({"spec": {"size": 3}}))
        .await;
    assert_eq!(b.code, 415);
    assert_eq!(b.body["reason"], "UnsupportedMediaType");
}

#[tokio::test]
async fn server_side_apply_creates_then_replaces_what_the_manager_applies_and_needs_a_field_manager(
) {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let path = format!("{CONFIGMAPS}/app");
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: \"1\"\n";
    let send = |q: &'static str, body: &'static str| {
        let url = format!("{path}{q}");
        let raw = &raw;
        async move {
            raw.send(
                reqwest::Method::PATCH,
                &url,
                APPLY,
                body.as_bytes().to_vec(),
            )
            .await
        }
    };
    let missing = send("", yaml).await;
    assert_eq!(missing.code, 400, "fieldManager is required");
    let created = send("?fieldManager=tester", yaml).await;
    assert_eq!(created.code, 201, "{}", created.body);
    assert_eq!(created.body["data"]["a"], "1");
    let more = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  b: \"2\"\n";
    let merged = send("?fieldManager=tester&force=true", more).await;
    assert_eq!(merged.code, 200);
    // The manager stopped applying `a`, and nobody else owns it: it goes.
    assert_eq!(merged.body["data"], json!({"b": "2"}));
    let log = sim.requests();
    let last = log.last().unwrap();
    assert_eq!(
        (last.verb.as_str(), last.field_manager.as_deref()),
        ("patch", Some("tester"))
    );
    let wrong_kind = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n";
    assert_eq!(send("?fieldManager=tester", wrong_kind).await.code, 400);
}

#[tokio::test]
async fn apply_to_the_status_subresource_sets_status() {
    let (_sim, raw) = with_widgets().await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    let body = json!({
        "apiVersion": "test.kube-sim.dev/v1", "kind": "Widget",
        "metadata": {"name": "a"},
        "status": {"phase": "Ready"}
    });
    let a = raw
        .patch(
            &format!("{WIDGETS}/a/status?fieldManager=ctl&force=true"),
            APPLY,
            &body,
        )
        .await;
    assert_eq!(a.code, 200, "{}", a.body);
    assert_eq!(a.body["status"]["phase"], "Ready");
}
