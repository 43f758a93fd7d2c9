//! The project's own CRDs (`crds/crds.yaml`) and examples through admission:
//! the examples are admitted, and the CEL rules the CRDs declare behave.

use std::path::PathBuf;

use kube_sim::admission::{admit, FieldValidation, Rejection};
use serde::Deserialize;
use serde_json::{json, Value};

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn documents(rel: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo_file(rel)).expect("readable file");
    serde_norway::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The `openAPIV3Schema` of the CRD's first version for `kind`.
fn schema_of(kind: &str) -> Value {
    documents("crds/crds.yaml")
        .into_iter()
        .find(|crd| crd["spec"]["names"]["kind"] == kind)
        .map(|crd| crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone())
        .expect("the CRD is in crds/crds.yaml")
}

fn refusal(schema: &Value, obj: &mut Value, old: Option<&Value>) -> Vec<String> {
    match admit(schema, obj, old, FieldValidation::Strict) {
        Ok(_) => vec![],
        Err(Rejection::Invalid(causes)) => causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect(),
        Err(Rejection::StrictDecoding(m)) => vec![m],
    }
}

#[test]
fn every_example_is_admitted_by_its_crd() {
    let mut seen = 0;
    for file in [
        "examples/tencent/group.yaml",
        "examples/tencent/provider.yaml",
        "examples/netease/group.yaml",
        "examples/netease/provider.yaml",
    ] {
        for mut obj in documents(file) {
            let kind = obj["kind"].as_str().unwrap_or_default().to_string();
            let schema = schema_of(&kind);
            assert_eq!(
                refusal(&schema, &mut obj, None),
                Vec::<String>::new(),
                "{file} {kind}"
            );
            seen += 1;
        }
    }
    assert!(seen >= 4);
}

fn group(spec: Value) -> Value {
    json!({"apiVersion": "im.chatgroup.dev/v1alpha1", "kind": "ChatGroup",
           "metadata": {"name": "g1", "namespace": "chat"}, "spec": spec})
}

#[test]
fn a_tencent_name_over_30_bytes_is_refused_at_spec_name() {
    let schema = schema_of("ChatGroup");
    let mut obj =
        group(json!({"providerRef": {"name": "t"}, "type": "Public", "name": "群".repeat(11)}));
    let got = refusal(&schema, &mut obj, None);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("spec.name: Invalid value: \"object\": "),
        "{got:?}"
    );
}

#[test]
fn the_type_cannot_change_and_state_cannot_return_to_active() {
    let schema = schema_of("ChatGroup");
    let spec =
        json!({"providerRef": {"name": "t"}, "type": "Public", "name": "g", "state": "disbanded"});
    let old = group(spec.clone());
    let mut changed = spec;
    changed["type"] = json!("Private");
    changed["state"] = json!("active");
    let got = refusal(&schema, &mut group(changed), Some(&old));
    assert!(
        got.iter()
            .any(|l| l.starts_with("spec.type: Invalid value: \"string\": ")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|l| l.starts_with("spec.state: Invalid value: \"string\": ")),
        "{got:?}"
    );
}

#[test]
fn an_unknown_spec_field_fails_strict_decoding() {
    let schema = schema_of("ChatGroup");
    let mut obj = group(
        json!({"providerRef": {"name": "t"}, "type": "Public", "name": "g", "colour": "red"}),
    );
    assert_eq!(
        refusal(&schema, &mut obj, None),
        vec![r#"strict decoding error: unknown field "spec.colour""#]
    );
}
