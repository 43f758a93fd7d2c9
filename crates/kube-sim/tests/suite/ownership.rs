//! Server-side apply field ownership: conflicts between managers, force,
//! shared ownership, removal of fields an applier stops applying.

use crate::common;

use common::{with_widgets, Answer, Raw, WIDGETS};
use reqwest::Method;
use serde_json::{json, Value};

const APPLY: &str = "application/apply-patch+yaml";

fn cfg(spec: Value) -> Value {
    json!({"apiVersion": "test.kube-sim.dev/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": spec})
}

async fn apply(raw: &Raw, manager: &str, force: bool, body: Value) -> Answer {
    let path = format!("{WIDGETS}/a?fieldManager={manager}&force={force}");
    raw.send(Method::PATCH, &path, APPLY, body.to_string().into_bytes())
        .await
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap().to_string(),
                        e["operation"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_second_manager_setting_an_owned_field_conflicts_unless_forced() {
    let (_sim, raw) = with_widgets().await;
    assert_eq!(
        apply(&raw, "alice", false, cfg(json!({"size": 1})))
            .await
            .code,
        201
    );
    let clash = apply(&raw, "bob", false, cfg(json!({"size": 2}))).await;
    assert_eq!(clash.code, 409);
    assert_eq!(clash.body["reason"], "Conflict");
    assert_eq!(
        clash.body["message"],
        "Apply failed with 1 conflict: conflict with \"alice\": .spec.size"
    );
    assert_eq!(clash.body["details"]["causes"][0]["field"], ".spec.size");
    assert_eq!(
        clash.body["details"]["causes"][0]["reason"],
        "FieldManagerConflict"
    );
    let forced = apply(&raw, "bob", true, cfg(json!({"size": 2}))).await;
    assert_eq!(forced.code, 200);
    assert_eq!(forced.body["spec"]["size"], 2);
    assert_eq!(
        managers(&forced.body),
        [("bob".to_string(), "Apply".to_string())]
    );
    assert_eq!(
        forced.body["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:spec": {"f:size": {}}})
    );
}

#[tokio::test]
async fn applying_the_same_value_shares_ownership_without_conflict() {
    let (_sim, raw) = with_widgets().await;
    apply(&raw, "alice", false, cfg(json!({"size": 1}))).await;
    let same = apply(&raw, "bob", false, cfg(json!({"size": 1}))).await;
    assert_eq!(same.code, 200);
    let mut m = managers(&same.body);
    m.sort();
    assert_eq!(
        m,
        [
            ("alice".into(), "Apply".into()),
            ("bob".into(), "Apply".into())
        ]
    );
}

#[tokio::test]
async fn fields_an_applier_stops_applying_are_removed_unless_someone_else_owns_them() {
    let (_sim, raw) = with_widgets().await;
    apply(
        &raw,
        "alice",
        false,
        cfg(json!({"size": 1, "color": "red"})),
    )
    .await;
    let dropped = apply(&raw, "alice", false, cfg(json!({"size": 1}))).await;
    assert_eq!(dropped.code, 200);
    assert!(
        dropped.body["spec"].get("color").is_none(),
        "{}",
        dropped.body
    );
    apply(
        &raw,
        "alice",
        false,
        cfg(json!({"size": 1, "color": "red"})),
    )
    .await;
    apply(&raw, "bob", false, cfg(json!({"color": "red"}))).await;
    let kept = apply(&raw, "alice", false, cfg(json!({"size": 1}))).await;
    assert_eq!(kept.body["spec"]["color"], "red", "bob still owns color");
}

#[tokio::test]
async fn updates_take_ownership_of_what_they_change() {
    let (_sim, raw) = with_widgets().await;
    apply(&raw, "alice", false, cfg(json!({"size": 1}))).await;
    let edit = raw
        .merge(
            &format!("{WIDGETS}/a?fieldManager=editor"),
            &json!({"spec": {"size": 5}}),
        )
        .await;
    let mut m = managers(&edit.body);
    m.sort();
    assert_eq!(
        m,
        [("editor".to_string(), "Update".to_string())],
        "alice lost spec.size"
    );
    let clash = apply(&raw, "alice", false, cfg(json!({"size": 1}))).await;
    assert_eq!(clash.code, 409);
    assert!(clash.body["message"]
        .as_str()
        .unwrap()
        .contains("conflict with \"editor\""));
    let noop = raw
        .merge(
            &format!("{WIDGETS}/a?fieldManager=editor"),
            &json!({"spec": {"size": 5}}),
        )
        .await;
    assert_eq!(
        noop.body["metadata"]["resourceVersion"],
        edit.body["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn a_parent_left_empty_by_dropped_fields_goes_too() {
    let (_sim, raw) = with_widgets().await;
    let path = "/api/v1/namespaces/default/configmaps/c?fieldManager=alice";
    let send = |body: Value| raw.send(Method::PATCH, path, APPLY, body.to_string().into_bytes());
    let full = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"k": "v"}});
    assert_eq!(send(full).await.code, 201);
    let slim = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
    let after = send(slim).await;
    assert_eq!(after.code, 200);
    assert!(
        after.body["metadata"].get("labels").is_none(),
        "{}",
        after.body
    );
}
