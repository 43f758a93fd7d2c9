//! Custom resources pass through admission with the CRD version's schema and
//! the `fieldValidation` parameter; answers are shaped like the real server's.

use crate::common;

use common::{widget, with_widgets, WIDGETS};
use serde_json::json;

fn with_unknown_field() -> serde_json::Value {
    let mut w = widget("a", 1);
    w["spec"]["bogus"] = json!(true);
    w
}

#[tokio::test]
async fn strict_field_validation_rejects_unknown_fields_with_400() {
    let (_sim, raw) = with_widgets().await;
    let a = raw
        .post(
            &format!("{WIDGETS}?fieldValidation=Strict"),
            &with_unknown_field(),
        )
        .await;
    assert_eq!(a.code, 400);
    assert_eq!(a.body["reason"], "BadRequest");
    assert_eq!(
        a.body["message"],
        "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.bogus\""
    );
}

#[tokio::test]
async fn the_server_default_warns_and_drops_unknown_fields() {
    let (sim, raw) = with_widgets().await;
    let a = raw.post(WIDGETS, &with_unknown_field()).await;
    assert_eq!(a.code, 201);
    assert_eq!(a.warnings(), ["299 - \"unknown field \\\"spec.bogus\\\"\""]);
    let stored = sim
        .object("test.kube-sim.dev", "v1", "widgets", Some("default"), "a")
        .unwrap();
    assert!(stored["spec"].get("bogus").is_none(), "pruned");
    let ignore = raw
        .post(&format!("{WIDGETS}?fieldValidation=Ignore"), &{
            let mut w = with_unknown_field();
            w["metadata"]["name"] = json!("b");
            w
        })
        .await;
    assert_eq!(ignore.code, 201);
    assert!(ignore.warnings().is_empty());
    let bad = raw
        .post(&format!("{WIDGETS}?fieldValidation=Loose"), &widget("c", 1))
        .await;
    assert_eq!(bad.code, 400);
}

#[tokio::test]
async fn schema_violations_are_422_invalid_with_causes() {
    let (_sim, raw) = with_widgets().await;
    let mut w = widget("a", 1);
    w["spec"]["size"] = json!("big");
    let a = raw.post(WIDGETS, &w).await;
    assert_eq!(a.code, 422, "{}", a.body);
    assert_eq!(a.body["reason"], "Invalid");
    let msg = a.body["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Widget.test.kube-sim.dev \"a\" is invalid: "),
        "{msg}"
    );
    assert!(
        msg.contains(
            "spec.size: Invalid value: \"string\": spec.size in body must be of type integer"
        ),
        "{msg}"
    );
    assert_eq!(a.body["details"]["kind"], "Widget");
    assert_eq!(a.body["details"]["group"], "test.kube-sim.dev");
    assert_eq!(a.body["details"]["causes"][0]["field"], "spec.size");
}

#[tokio::test]
async fn updates_and_status_writes_are_validated_too() {
    let (_sim, raw) = with_widgets().await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    let path = format!("{WIDGETS}/a");
    assert_eq!(
        raw.merge(&path, &json!({"spec": {"size": "x"}})).await.code,
        422
    );
    let status = raw
        .merge(&format!("{path}/status"), &json!({"status": {"phase": 7}}))
        .await;
    assert_eq!(status.code, 422, "{}", status.body);
    assert_eq!(status.body["details"]["causes"][0]["field"], "status.phase");
    assert_eq!(raw.get(&path).await.body["spec"]["size"], 1);
}
