//! Validation ratcheting on update: failures at values the update did not
//! change are not reported, as with `CRDValidationRatcheting` on a real server.

use kube_sim::admission::{admit, FieldValidation, Rejection};
use serde_json::{json, Value};

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 5},
                    "title": {
                        "type": "string",
                        "x-kubernetes-validations": [{"rule": "self.startsWith('t')", "message": "must start with t"}]
                    },
                    "size": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "members": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["userId"],
                        "items": {"type": "object", "properties": {
                            "userId": {"type": "string"},
                            "role": {"type": "string", "enum": ["Owner", "Member"]}
                        }}
                    },
                    "tags": {"type": "array", "items": {"type": "string", "maxLength": 2}}
                },
                "x-kubernetes-validations": [{
                    "rule": "!has(self.members) || !has(self.limit) || size(self.members) <= self.limit",
                    "message": "too many members",
                    "fieldPath": ".members"
                }]
            }
        }
    })
}

fn obj(spec: Value) -> Value {
    json!({"apiVersion": "x.dev/v1", "kind": "X", "metadata": {"name": "a"}, "spec": spec})
}

/// The `field: message` lines of an update from `old` to `new`.
fn update(old: Value, new: Value) -> Vec<String> {
    let old = obj(old);
    let mut new = obj(new);
    match admit(&schema(), &mut new, Some(&old), FieldValidation::Strict) {
        Ok(_) => vec![],
        Err(Rejection::Invalid(causes)) => causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect(),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn an_unchanged_invalid_field_does_not_block_updating_another_field() {
    let got = update(
        json!({"name": "too-long", "size": 1}),
        json!({"name": "too-long", "size": 2}),
    );
    assert_eq!(got, Vec::<String>::new());
}

#[test]
fn changing_an_invalid_field_to_another_invalid_value_is_refused() {
    let got = update(
        json!({"name": "too-long"}),
        json!({"name": "still-too-long"}),
    );
    assert_eq!(got[0], "spec.name: Too long: may not be more than 5 bytes");
}

#[test]
fn the_same_failure_on_create_is_reported() {
    let mut new = obj(json!({"name": "too-long"}));
    assert!(admit(&schema(), &mut new, None, FieldValidation::Strict).is_err());
}

#[test]
fn an_unchanged_value_failing_a_cel_rule_is_ratcheted() {
    assert_eq!(
        update(
            json!({"title": "x", "size": 1}),
            json!({"title": "x", "size": 2})
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        update(json!({"title": "x"}), json!({"title": "y"})),
        vec![r#"spec.title: Invalid value: "string": must start with t"#]
    );
}

#[test]
fn a_rule_with_field_path_is_ratcheted_by_its_declaring_node_not_the_target() {
    let members = json!([{"userId": "a"}, {"userId": "b"}]);
    let got = update(
        json!({"members": members.clone(), "limit": 5}),
        json!({"members": members, "limit": 1}),
    );
    assert_eq!(
        got,
        vec![r#"spec.members: Invalid value: "object": too many members"#]
    );
}

#[test]
fn list_map_items_are_correlated_by_key_even_when_reordered() {
    let old =
        json!({"members": [{"userId": "a", "role": "Boss"}, {"userId": "b", "role": "Member"}]});
    let reordered =
        json!({"members": [{"userId": "b", "role": "Member"}, {"userId": "a", "role": "Boss"}]});
    assert_eq!(update(old.clone(), reordered), Vec::<String>::new());
    let changed =
        json!({"members": [{"userId": "a", "role": "Chief"}, {"userId": "b", "role": "Member"}]});
    assert_eq!(
        update(old, changed),
        vec![
            r#"spec.members[0].role: Unsupported value: "Chief": supported values: "Owner", "Member""#,
            "<nil>: Invalid value: null: some validation rules were not checked because the object \
             was invalid; correct the existing errors to complete validation",
        ]
    );
}

#[test]
fn items_of_atomic_lists_are_not_correlated_once_the_list_changes() {
    let got = update(json!({"tags": ["long"]}), json!({"tags": ["long", "ok"]}));
    assert_eq!(
        got[0],
        "spec.tags[0]: Too long: may not be more than 2 bytes"
    );
    assert_eq!(
        update(
            json!({"tags": ["long"], "size": 1}),
            json!({"tags": ["long"]})
        ),
        Vec::<String>::new()
    );
}

#[test]
fn type_errors_are_never_ratcheted() {
    let got = update(json!({"size": "one"}), json!({"size": "one", "name": "a"}));
    assert_eq!(
        got[0],
        r#"spec.size: Invalid value: "string": spec.size in body must be of type integer: "string""#
    );
}
