//! Decoding-time behaviour: unknown fields (Strict/Warn/Ignore), pruning and defaults.

use kube_sim::admission::{admit, FieldValidation, Rejection};
use serde_json::{json, Value};

/// A resource whose `spec` has the given schema.
fn schema_with_spec(spec: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec
        }
    })
}

fn object_with_spec(spec: Value) -> Value {
    json!({"apiVersion": "x.dev/v1", "kind": "X", "metadata": {"name": "a"}, "spec": spec})
}

#[test]
fn strict_unknown_fields_fail_with_every_path_sorted() {
    let schema =
        schema_with_spec(json!({"type": "object", "properties": {"a": {"type": "string"}}}));
    let mut obj = object_with_spec(json!({"a": "x", "foo": 1, "bar": {"z": 1}}));
    let got = admit(&schema, &mut obj, None, FieldValidation::Strict);
    assert_eq!(
        got,
        Err(Rejection::StrictDecoding(
            r#"strict decoding error: unknown field "spec.bar", unknown field "spec.foo""#.into()
        ))
    );
}

#[test]
fn warn_prunes_unknown_fields_and_returns_one_warning_each() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}}}}
    }));
    let mut obj = object_with_spec(json!({"items": [{"n": "a", "x": 1}], "y": true}));
    let warnings = admit(&schema, &mut obj, None, FieldValidation::Warn).unwrap();
    assert_eq!(
        warnings,
        vec![
            r#"unknown field "spec.items[0].x""#,
            r#"unknown field "spec.y""#
        ]
    );
    assert_eq!(obj["spec"], json!({"items": [{"n": "a"}]}));
}

#[test]
fn ignore_prunes_silently_and_keeps_root_metadata_and_type_fields() {
    let schema = schema_with_spec(json!({"type": "object"}));
    let mut obj = object_with_spec(json!({"gone": 1}));
    obj["metadata"]["labels"] = json!({"a": "b"});
    obj["extra"] = json!(1);
    assert_eq!(
        admit(&schema, &mut obj, None, FieldValidation::Ignore),
        Ok(vec![])
    );
    assert_eq!(obj["spec"], json!({}));
    assert_eq!(obj["metadata"]["labels"], json!({"a": "b"}));
    assert_eq!(obj["apiVersion"], "x.dev/v1");
    assert!(obj.get("extra").is_none());
}

#[test]
fn preserve_unknown_fields_keeps_unknown_but_prunes_below_known_properties() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}
    }));
    let mut obj = object_with_spec(json!({"free": {"any": [1, 2]}, "known": {"a": "x", "b": "y"}}));
    let warnings = admit(&schema, &mut obj, None, FieldValidation::Warn).unwrap();
    assert_eq!(warnings, vec![r#"unknown field "spec.known.b""#]);
    assert_eq!(obj["spec"]["free"], json!({"any": [1, 2]}));
}

#[test]
fn embedded_resources_keep_api_version_kind_and_metadata() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"template": {
            "type": "object",
            "x-kubernetes-embedded-resource": true,
            "properties": {"spec": {"type": "object"}}
        }}
    }));
    let template = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}, "junk": 1});
    let mut obj = object_with_spec(json!({"template": template}));
    let warnings = admit(&schema, &mut obj, None, FieldValidation::Warn).unwrap();
    assert_eq!(warnings, vec![r#"unknown field "spec.template.junk""#]);
    assert_eq!(obj["spec"]["template"]["kind"], "Pod");
}

#[test]
fn defaults_fill_missing_fields_recursively_and_replace_non_nullable_nulls() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {
            "mode": {"type": "string", "default": "fast"},
            "limits": {"type": "object", "default": {}, "properties": {
                "max": {"type": "integer", "default": 10}
            }},
            "tags": {"type": "array", "items": {"type": "object", "properties": {
                "weight": {"type": "integer", "default": 1}
            }}},
            "note": {"type": "string"},
            "kept": {"type": "string", "nullable": true}
        }
    }));
    let mut obj = object_with_spec(json!({"mode": null, "tags": [{}], "note": null, "kept": null}));
    admit(&schema, &mut obj, None, FieldValidation::Strict).unwrap();
    assert_eq!(
        obj["spec"],
        json!({"mode": "fast", "limits": {"max": 10}, "tags": [{"weight": 1}], "kept": null})
    );
}
