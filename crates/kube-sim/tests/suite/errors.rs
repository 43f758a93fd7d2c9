//! Bad input gets the Status answers the real API server gives.

use crate::common;

use common::{widget, with_widgets, CONFIGMAPS, WIDGETS};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_json_and_yaml_are_bad_requests() {
    let (_sim, raw) = with_widgets().await;
    for (ctype, body) in [
        ("application/json", "{\"metadata\": "),
        ("application/yaml", "a: [b\n  c: :"),
    ] {
        let a = raw
            .send(Method::POST, CONFIGMAPS, ctype, body.as_bytes().to_vec())
            .await;
        assert_eq!(a.code, 400, "{ctype}");
        assert_eq!(a.body["kind"], "Status");
        assert_eq!(a.body["status"], "Failure");
        assert_eq!(a.body["reason"], "BadRequest");
        assert_eq!(a.body["code"], 400);
    }
    raw.post(WIDGETS, &widget("x", 1)).await;
    let garbage = raw
        .send(
            Method::PATCH,
            &format!("{WIDGETS}/x"),
            "application/merge-patch+json",
            b"{".to_vec(),
        )
        .await;
    assert_eq!(garbage.code, 400);
}

#[tokio::test]
async fn yaml_bodies_are_accepted() {
    let (_sim, raw) = with_widgets().await;
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n";
    let a = raw
        .send(
            Method::POST,
            CONFIGMAPS,
            "application/yaml",
            yaml.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(a.code, 201);
}

#[tokio::test]
async fn unknown_kinds_and_groups_are_not_found() {
    let (_sim, raw) = with_widgets().await;
    for path in [
        "/apis/nothing.example.com/v1/namespaces/default/things",
        "/api/v1/namespaces/default/things",
        "/apis/test.kube-sim.dev/v9/namespaces/default/widgets",
        "/apis/test.kube-sim.dev/v1/namespaces/default/widgets/a/scale",
    ] {
        let a = raw.get(path).await;
        assert_eq!(a.code, 404, "{path}");
        assert_eq!(a.body["reason"], "NotFound");
    }
    let a = raw
        .post(
            "/apis/nothing.example.com/v1/namespaces/default/things",
            &json!({}),
        )
        .await;
    assert_eq!(a.code, 404);
}

#[tokio::test]
async fn wrong_content_types_are_unsupported_media() {
    let (_sim, raw) = with_widgets().await;
    let body = widget("a", 1).to_string().into_bytes();
    let a = raw
        .send(Method::POST, WIDGETS, "text/plain", body.clone())
        .await;
    assert_eq!(a.code, 415);
    assert_eq!(a.body["reason"], "UnsupportedMediaType");
    raw.post(WIDGETS, &widget("a", 1)).await;
    let p = raw
        .send(
            Method::PATCH,
            &format!("{WIDGETS}/a"),
            "application/json",
            body,
        )
        .await;
    assert_eq!(p.code, 415);
}

#[tokio::test]
async fn unsupported_methods_are_method_not_allowed() {
    let (_sim, raw) = with_widgets().await;
    let a = raw.put(WIDGETS, &widget("a", 1)).await;
    assert_eq!(a.code, 405);
    assert_eq!(a.body["reason"], "MethodNotAllowed");
    let b = raw.post(&format!("{WIDGETS}/a"), &widget("a", 1)).await;
    assert_eq!(b.code, 405);
}

#[tokio::test]
async fn mismatched_kind_name_or_namespace_are_bad_requests() {
    let (_sim, raw) = with_widgets().await;
    let mut w = widget("a", 1);
    w["kind"] = json!("Gadget");
    assert_eq!(raw.post(WIDGETS, &w).await.code, 400);
    let mut w = widget("a", 1);
    w["metadata"]["namespace"] = json!("other");
    assert_eq!(raw.post(WIDGETS, &w).await.code, 400);
    raw.post(WIDGETS, &widget("a", 1)).await;
    assert_eq!(
        raw.put(&format!("{WIDGETS}/a"), &widget("b", 1)).await.code,
        400
    );
    let bad_selector = raw
        .get(&format!("{WIDGETS}?fieldSelector=spec.size%3D1"))
        .await;
    assert_eq!(bad_selector.code, 400);
}

#[tokio::test]
async fn odd_shapes_are_refused_without_breaking_the_server() {
    let (_sim, raw) = with_widgets().await;
    let odd_metadata = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"});
    assert_eq!(raw.post(CONFIGMAPS, &odd_metadata).await.code, 400);
    assert_eq!(raw.post(CONFIGMAPS, &json!([1, 2])).await.code, 400);
    raw.post(WIDGETS, &widget("a", 1)).await;
    let path = format!("{WIDGETS}/a");
    let root = json!([{"op": "replace", "path": "", "value": 5}]);
    assert_eq!(
        raw.patch(&path, "application/json-patch+json", &root)
            .await
            .code,
        400
    );
    let meta = raw.merge(&path, &json!({"metadata": "x"})).await;
    assert_eq!(meta.code, 400);
    let apply = raw
        .patch(
            &format!("{path}?fieldManager=m"),
            "application/apply-patch+yaml",
            &json!({"apiVersion": "test.kube-sim.dev/v1", "kind": "Widget", "metadata": 3}),
        )
        .await;
    assert_eq!(apply.code, 400);
    let not_ops = raw
        .patch(&path, "application/json-patch+json", &json!({"op": "add"}))
        .await;
    assert_eq!(not_ops.code, 400);
    let bad_rv = raw
        .get(&format!("{WIDGETS}?watch=true&resourceVersion=abc"))
        .await;
    assert_eq!(bad_rv.code, 400);
    assert_eq!(
        raw.get(&path).await.body["spec"]["size"],
        1,
        "still serving, object intact"
    );
}
