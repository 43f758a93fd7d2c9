//! Structural-schema validation, one rule at a time, with the real messages.

use kube_sim::admission::{admit, FieldCause, FieldValidation, Rejection};
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

fn causes(schema: &Value, spec: Value) -> Vec<FieldCause> {
    let mut obj = object_with_spec(spec);
    match admit(schema, &mut obj, None, FieldValidation::Strict) {
        Err(Rejection::Invalid(c)) => c,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn cause(reason: &str, field: &str, message: &str) -> FieldCause {
    FieldCause {
        reason: reason.into(),
        field: field.into(),
        message: message.into(),
    }
}

const NOT_CHECKED: &str = "Invalid value: null: some validation rules were not checked \
     because the object was invalid; correct the existing errors to complete validation";

fn not_checked() -> FieldCause {
    cause("FieldValueInvalid", "<nil>", NOT_CHECKED)
}

#[test]
fn a_missing_required_field_is_required_value_and_blocks_cel() {
    let schema = schema_with_spec(
        json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}),
    );
    assert_eq!(
        causes(&schema, json!({})),
        vec![
            cause("FieldValueRequired", "spec.name", "Required value"),
            not_checked()
        ]
    );
}

#[test]
fn a_wrong_type_is_type_invalid_with_the_kube_openapi_message() {
    let schema =
        schema_with_spec(json!({"type": "object", "properties": {"x": {"type": "integer"}}}));
    let got = causes(&schema, json!({"x": "seven"}));
    let msg = r#"Invalid value: "string": spec.x in body must be of type integer: "string""#;
    assert_eq!(
        got,
        vec![cause("FieldValueTypeInvalid", "spec.x", msg), not_checked()]
    );
}

#[test]
fn integral_floats_pass_as_integers_and_integers_pass_as_numbers() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {
        "i": {"type": "integer"}, "n": {"type": "number"}
    }}));
    let mut obj = object_with_spec(json!({"i": 3.0, "n": 2}));
    assert!(admit(&schema, &mut obj, None, FieldValidation::Strict).is_ok());
}

#[test]
fn a_value_outside_the_enum_is_unsupported_with_the_supported_list() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {
        "type": {"type": "string", "enum": ["Public", "Private"]}
    }}));
    let got = causes(&schema, json!({"type": "Secret"}));
    let msg = r#"Unsupported value: "Secret": supported values: "Public", "Private""#;
    assert_eq!(got[0], cause("FieldValueNotSupported", "spec.type", msg));
}

#[test]
fn max_length_counts_characters_and_says_too_long() {
    let schema = schema_with_spec(
        json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 3}}}),
    );
    let mut ok = object_with_spec(json!({"name": "群聊天"}));
    assert!(admit(&schema, &mut ok, None, FieldValidation::Strict).is_ok());
    let got = causes(&schema, json!({"name": "abcd"}));
    assert_eq!(
        got[0],
        cause(
            "FieldValueTooLong",
            "spec.name",
            "Too long: may not be more than 3 bytes"
        )
    );
}

#[test]
fn min_length_and_pattern_are_invalid_values_naming_the_rule() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {
        "a": {"type": "string", "minLength": 2},
        "b": {"type": "string", "pattern": "^[a-z]+$"}
    }}));
    let got = causes(&schema, json!({"a": "x", "b": "B1"}));
    assert_eq!(
        got,
        vec![
            cause(
                "FieldValueInvalid",
                "spec.a",
                r#"Invalid value: "x": spec.a in body should be at least 2 chars long"#
            ),
            cause(
                "FieldValueInvalid",
                "spec.b",
                r#"Invalid value: "B1": spec.b in body should match '^[a-z]+$'"#
            ),
        ]
    );
}

#[test]
fn numeric_bounds_report_the_value_and_the_bound() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {
        "lo": {"type": "integer", "minimum": 1},
        "hi": {"type": "number", "maximum": 2.5, "exclusiveMaximum": true},
        "m": {"type": "integer", "multipleOf": 5}
    }}));
    let got = causes(&schema, json!({"lo": 0, "hi": 2.5, "m": 7}));
    let msgs: Vec<&str> = got.iter().map(|c| c.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "Invalid value: 2.5: spec.hi in body should be less than 2.5",
            "Invalid value: 0: spec.lo in body should be greater than or equal to 1",
            "Invalid value: 7: spec.m in body should be a multiple of 5",
        ]
    );
}

#[test]
fn int32_overflow_is_a_fieldless_range_error() {
    let schema = schema_with_spec(
        json!({"type": "object", "properties": {"n": {"type": "integer", "format": "int32"}}}),
    );
    let got = causes(&schema, json!({"n": 4_000_000_000_i64}));
    let msg =
        r#"Invalid value: "": Checked value must be of type integer with format int32 in spec.n"#;
    assert_eq!(got, vec![cause("FieldValueInvalid", "<nil>", msg)]);
}

#[test]
fn string_formats_reject_malformed_values() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"},
        "id": {"type": "string", "format": "uuid"}
    }}));
    let got = causes(
        &schema,
        json!({"at": "yesterday", "id": "123e4567-e89b-12d3-a456-426614174000"}),
    );
    let msg =
        r#"Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday""#;
    assert_eq!(got[0], cause("FieldValueTypeInvalid", "spec.at", msg));
    assert_eq!(got.len(), 2);
}

#[test]
fn too_many_items_and_properties_show_the_count() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {
        "list": {"type": "array", "maxItems": 1, "items": {"type": "string"}},
        "few": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "map": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}
    }}));
    let got = causes(
        &schema,
        json!({"list": ["a", "b"], "few": [], "map": {"a": "1", "b": "2"}}),
    );
    assert_eq!(
        got[0],
        cause(
            "FieldValueInvalid",
            "spec.few",
            "Invalid value: 0: spec.few in body should have at least 1 items"
        )
    );
    assert_eq!(
        got[1],
        cause(
            "FieldValueTooMany",
            "spec.list",
            "Too many: 2: must have at most 1 item"
        )
    );
    assert_eq!(
        got[2],
        cause(
            "FieldValueTooMany",
            "spec.map",
            "Too many: 2: must have at most 1 item"
        )
    );
}

#[test]
fn additional_properties_validate_each_map_value() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 2}}
    }}));
    let got = causes(&schema, json!({"labels": {"ok": "ab", "bad": "abc"}}));
    assert_eq!(
        got[0],
        cause(
            "FieldValueTooLong",
            "spec.labels.bad",
            "Too long: may not be more than 2 bytes"
        )
    );
}

#[test]
fn nullable_fields_accept_null_and_others_report_null() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {
        "arr": {"type": "array", "items": {"type": "string"}}
    }}));
    let got = causes(&schema, json!({"arr": ["a", null]}));
    let msg = r#"Invalid value: "null": spec.arr[1] in body must be of type string: "null""#;
    assert_eq!(got[0], cause("FieldValueTypeInvalid", "spec.arr[1]", msg));
}

#[test]
fn one_of_failures_are_fieldless_and_carry_the_closest_branch_errors() {
    let schema = schema_with_spec(json!({
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}]
    }));
    let got = causes(&schema, json!({}));
    let msg = r#"Invalid value: "": "spec" must validate one and only one schema (oneOf). Found none valid"#;
    assert_eq!(got[0], cause("FieldValueInvalid", "<nil>", msg));
    assert_eq!(
        got[1],
        cause("FieldValueRequired", "spec.a", "Required value")
    );
    let two = causes(&schema, json!({"a": "x", "b": "y"}));
    assert!(
        two[0].message.ends_with("Found 2 valid alternatives"),
        "{two:?}"
    );
}

#[test]
fn int_or_string_accepts_both_and_rejects_others_as_any_of() {
    let schema = schema_with_spec(
        json!({"type": "object", "properties": {"port": {"x-kubernetes-int-or-string": true}}}),
    );
    for ok in [json!(8080), json!("http")] {
        let mut obj = object_with_spec(json!({"port": ok}));
        assert!(admit(&schema, &mut obj, None, FieldValidation::Strict).is_ok());
    }
    let got = causes(&schema, json!({"port": true}));
    assert_eq!(
        got[0].message,
        r#"Invalid value: "": "spec.port" must validate at least one schema (anyOf)"#
    );
    assert_eq!(got[1].reason, "FieldValueTypeInvalid");
}

#[test]
fn not_rejects_values_matching_the_forbidden_schema() {
    let schema = schema_with_spec(
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "not": {"required": ["a"]}}),
    );
    let got = causes(&schema, json!({"a": "x"}));
    assert_eq!(
        got[0].message,
        r#"Invalid value: "": "spec" must not validate the schema (not)"#
    );
}

#[test]
fn list_map_duplicates_name_the_index_and_the_key() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {"members": {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["userId"],
        "items": {"type": "object", "properties": {"userId": {"type": "string"}, "role": {"type": "string"}}}
    }}}));
    let got = causes(
        &schema,
        json!({"members": [{"userId": "u1"}, {"userId": "u2"}, {"userId": "u1", "role": "admin"}]}),
    );
    assert_eq!(
        got,
        vec![cause(
            "FieldValueDuplicate",
            "spec.members[2]",
            r#"Duplicate value: {"userId":"u1"}"#
        )]
    );
}

#[test]
fn list_set_duplicates_are_reported_once_per_value() {
    let schema = schema_with_spec(json!({"type": "object", "properties": {"tags": {
        "type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}
    }}}));
    let got = causes(&schema, json!({"tags": ["a", "b", "a", "a"]}));
    assert_eq!(
        got,
        vec![cause(
            "FieldValueDuplicate",
            "spec.tags[2]",
            r#"Duplicate value: "a""#
        )]
    );
}
