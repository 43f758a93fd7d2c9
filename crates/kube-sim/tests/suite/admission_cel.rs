//! `x-kubernetes-validations` failures worded like the real server's.

use kube_sim::admission::{admit, FieldValidation, Rejection};
use serde_json::{json, Value};

/// A resource whose `spec.x` has the given schema.
fn schema_with_x(x: Value) -> Value {
    json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"x": x}}
    }})
}

fn lines(schema: &Value, x: Value, old_x: Option<Value>) -> Vec<String> {
    let mut obj = json!({"apiVersion": "x.dev/v1", "kind": "X", "spec": {"x": x}});
    let old = old_x.map(|o| json!({"apiVersion": "x.dev/v1", "kind": "X", "spec": {"x": o}}));
    match admit(schema, &mut obj, old.as_ref(), FieldValidation::Strict) {
        Ok(_) => vec![],
        Err(Rejection::Invalid(causes)) => causes
            .iter()
            .map(|c| format!("{} {}: {}", c.reason, c.field, c.message))
            .collect(),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

fn rule(rule: Value) -> Value {
    json!({"type": "string", "x-kubernetes-validations": [rule]})
}

#[test]
fn a_rule_without_message_reports_the_failed_rule() {
    let schema = schema_with_x(rule(json!({"rule": "self != 'bad'"})));
    assert_eq!(
        lines(&schema, json!("bad"), None),
        vec![r#"FieldValueInvalid spec.x: Invalid value: "string": failed rule: self != 'bad'"#]
    );
}

#[test]
fn message_expression_builds_the_message_from_the_value() {
    let schema = schema_with_x(rule(
        json!({"rule": "self.size() < 3", "messageExpression": "'got ' + string(self.size()) + ' chars'"}),
    ));
    assert_eq!(
        lines(&schema, json!("abcd"), None),
        vec![r#"FieldValueInvalid spec.x: Invalid value: "string": got 4 chars"#]
    );
}

#[test]
fn reasons_choose_the_cause_type_and_its_wording() {
    let cases = [
        (
            "FieldValueForbidden",
            "FieldValueForbidden spec.x: Forbidden: no",
        ),
        (
            "FieldValueRequired",
            "FieldValueRequired spec.x: Required value: no",
        ),
        (
            "FieldValueDuplicate",
            r#"FieldValueDuplicate spec.x: Duplicate value: "string""#,
        ),
        (
            "FieldValueInvalid",
            r#"FieldValueInvalid spec.x: Invalid value: "string": no"#,
        ),
    ];
    for (reason, want) in cases {
        let schema = schema_with_x(rule(
            json!({"rule": "false", "message": "no", "reason": reason}),
        ));
        assert_eq!(lines(&schema, json!("v"), None), vec![want], "{reason}");
    }
}

#[test]
fn runtime_errors_name_the_rule_that_failed_to_evaluate() {
    let schema = schema_with_x(
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-validations": [{"rule": "self.missing == 1"}]}),
    );
    assert_eq!(
        lines(&schema, json!({}), None),
        vec![
            r#"FieldValueInvalid spec.x: Invalid value: "object": no such key: missing evaluating rule: self.missing == 1"#
        ]
    );
}

#[test]
fn failures_in_map_values_name_the_key_in_brackets() {
    let schema = schema_with_x(json!({"type": "object", "additionalProperties":
        rule(json!({"rule": "self.size() <= 2", "message": "short values only"}))}));
    assert_eq!(
        lines(&schema, json!({"app": "long"}), None),
        vec![r#"FieldValueInvalid spec.x[app]: Invalid value: "string": short values only"#]
    );
}

#[test]
fn transition_rules_run_only_when_the_old_value_exists() {
    let schema = schema_with_x(rule(
        json!({"rule": "self == oldSelf", "message": "immutable"}),
    ));
    assert_eq!(lines(&schema, json!("a"), None), Vec::<String>::new());
    assert_eq!(
        lines(&schema, json!("a"), Some(json!("a"))),
        Vec::<String>::new()
    );
    assert_eq!(
        lines(&schema, json!("b"), Some(json!("a"))),
        vec![r#"FieldValueInvalid spec.x: Invalid value: "string": immutable"#]
    );
}

#[test]
fn optional_old_self_rules_see_old_self_as_an_optional() {
    let schema = schema_with_x(rule(json!({
        "rule": "!oldSelf.hasValue() || self == oldSelf.value()",
        "optionalOldSelf": true,
        "message": "immutable once set"
    })));
    assert_eq!(lines(&schema, json!("a"), None), Vec::<String>::new());
    assert_eq!(
        lines(&schema, json!("a"), Some(json!("a"))),
        Vec::<String>::new()
    );
    assert_eq!(
        lines(&schema, json!("b"), Some(json!("a"))),
        vec![r#"FieldValueInvalid spec.x: Invalid value: "string": immutable once set"#]
    );
}

#[test]
fn optional_old_self_or_value_falls_back_and_failures_show_the_rule_as_written() {
    let written = "self.startsWith(oldSelf.orValue('a('))";
    let schema = schema_with_x(rule(json!({"rule": written, "optionalOldSelf": true})));
    assert_eq!(lines(&schema, json!("a(bc"), None), Vec::<String>::new());
    assert_eq!(
        lines(&schema, json!("xyz"), None),
        vec![format!(
            r#"FieldValueInvalid spec.x: Invalid value: "string": failed rule: {written}"#
        )]
    );
    assert_eq!(
        lines(&schema, json!("xyz"), Some(json!("x"))),
        Vec::<String>::new()
    );
}
