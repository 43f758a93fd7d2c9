//! Sample objects against a realistic ChatGroup schema, including CEL rules,
//! plus the shapes of the `Status` answers built from the causes.

use kube_sim::admission::{
    admit, invalid_status, strict_decoding_status, FieldCause, FieldValidation, Rejection,
};
use serde_json::{json, Value};

fn chatgroup_schema() -> Value {
    json!({
        "type": "object",
        "description": "A chat group on an IM provider.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["name", "type"],
                "properties": {
                    "name": {
                        "type": "string",
                        "maxLength": 30,
                        "x-kubernetes-validations": [
                            {"rule": "bytes(self).size() <= 30", "message": "name must be at most 30 bytes"}
                        ]
                    },
                    "type": {"type": "string", "enum": ["Public", "Private", "ChatRoom"]},
                    "groupId": {
                        "type": "string",
                        "x-kubernetes-validations": [
                            {"rule": "self == oldSelf", "message": "groupId is immutable"}
                        ]
                    },
                    "state": {
                        "type": "string",
                        "default": "active",
                        "x-kubernetes-validations": [{
                            "rule": "!(oldSelf == 'disbanded' && self == 'active')",
                            "messageExpression": "'cannot reactivate ' + self + ' group'",
                            "reason": "FieldValueForbidden"
                        }]
                    },
                    "maxMembers": {"type": "integer", "minimum": 2, "default": 200},
                    "members": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["userId"],
                        "items": {
                            "type": "object",
                            "required": ["userId"],
                            "properties": {
                                "userId": {"type": "string"},
                                "role": {"type": "string", "default": "Member", "enum": ["Owner", "Admin", "Member"]}
                            }
                        }
                    }
                },
                "x-kubernetes-validations": [{
                    "rule": "!has(self.members) || size(self.members) <= self.maxMembers",
                    "message": "too many members",
                    "fieldPath": ".members"
                }]
            },
            "status": {"type": "object", "properties": {"groupId": {"type": "string"}}}
        }
    })
}

fn group(spec: Value) -> Value {
    json!({"apiVersion": "im.chatgroup.dev/v1alpha1", "kind": "ChatGroup", "metadata": {"name": "g1"}, "spec": spec})
}

fn admit_spec(spec: Value, old_spec: Option<Value>) -> Result<Value, Vec<FieldCause>> {
    let schema = chatgroup_schema();
    let mut obj = group(spec);
    let old = old_spec.map(group);
    match admit(&schema, &mut obj, old.as_ref(), FieldValidation::Strict) {
        Ok(_) => Ok(obj),
        Err(Rejection::Invalid(causes)) => Err(causes),
        Err(other) => panic!("unexpected rejection {other:?}"),
    }
}

/// `field: message` of each cause.
fn lines(causes: &[FieldCause]) -> Vec<String> {
    causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

#[test]
fn sample_objects_are_admitted_or_refused_like_the_real_server() {
    let not_checked = "<nil>: Invalid value: null: some validation rules were not checked because \
                       the object was invalid; correct the existing errors to complete validation";
    let table: Vec<(&str, Value, Option<Value>, Vec<&str>)> = vec![
        (
            "minimal valid group",
            json!({"name": "team", "type": "Public"}),
            None,
            vec![],
        ),
        (
            "name too long",
            json!({"name": "x".repeat(31), "type": "Public"}),
            None,
            vec![
                "spec.name: Too long: may not be more than 30 bytes",
                not_checked,
            ],
        ),
        (
            "30 characters but more than 30 bytes",
            json!({"name": "群".repeat(11), "type": "Public"}),
            None,
            vec![r#"spec.name: Invalid value: "string": name must be at most 30 bytes"#],
        ),
        (
            "unknown type and missing name",
            json!({"type": "Secret"}),
            None,
            // kube-openapi checks properties before `required`.
            vec![
                r#"spec.type: Unsupported value: "Secret": supported values: "Public", "Private", "ChatRoom""#,
                "spec.name: Required value",
                not_checked,
            ],
        ),
        (
            "groupId changed on update",
            json!({"name": "team", "type": "Public", "groupId": "@TGS#2"}),
            Some(json!({"name": "team", "type": "Public", "groupId": "@TGS#1"})),
            vec![r#"spec.groupId: Invalid value: "string": groupId is immutable"#],
        ),
        (
            "groupId set for the first time on update",
            json!({"name": "team", "type": "Public", "groupId": "@TGS#1"}),
            Some(json!({"name": "team", "type": "Public"})),
            vec![],
        ),
        (
            "disbanded group reactivated",
            json!({"name": "team", "type": "Public", "state": "active"}),
            Some(json!({"name": "team", "type": "Public", "state": "disbanded"})),
            vec!["spec.state: Forbidden: cannot reactivate active group"],
        ),
        (
            "disbanded group stays disbanded",
            json!({"name": "team", "type": "Public", "state": "disbanded"}),
            Some(json!({"name": "team", "type": "Public", "state": "disbanded"})),
            vec![],
        ),
        (
            "more members than maxMembers, rule with fieldPath",
            json!({"name": "team", "type": "Public", "maxMembers": 2,
                   "members": [{"userId": "a"}, {"userId": "b"}, {"userId": "c"}]}),
            None,
            vec![r#"spec.members: Invalid value: "object": too many members"#],
        ),
        (
            "duplicate member keys",
            json!({"name": "team", "type": "Public", "members": [{"userId": "a"}, {"userId": "a"}]}),
            None,
            vec![r#"spec.members[1]: Duplicate value: {"userId":"a"}"#],
        ),
        (
            "maxMembers below minimum",
            json!({"name": "team", "type": "Public", "maxMembers": 1}),
            None,
            vec![
                "spec.maxMembers: Invalid value: 1: spec.maxMembers in body should be greater than or equal to 2",
            ],
        ),
    ];
    for (case, spec, old, want) in table {
        let got = match admit_spec(spec, old) {
            Ok(_) => vec![],
            Err(causes) => lines(&causes),
        };
        assert_eq!(got, want, "case: {case}");
    }
}

#[test]
fn defaults_apply_before_cel_and_reach_items() {
    let obj = admit_spec(
        json!({"name": "team", "type": "Public", "members": [{"userId": "a"}]}),
        None,
    )
    .unwrap();
    assert_eq!(obj["spec"]["state"], "active");
    assert_eq!(obj["spec"]["maxMembers"], 200);
    assert_eq!(obj["spec"]["members"][0]["role"], "Member");
}

#[test]
fn status_subresource_objects_are_defaulted_and_pruned_too() {
    let schema = chatgroup_schema();
    let mut obj = group(json!({"name": "team", "type": "Public"}));
    obj["status"] = json!({"groupId": "@TGS#1", "bogus": 1});
    let warnings = admit(&schema, &mut obj, None, FieldValidation::Warn).unwrap();
    assert_eq!(warnings, vec![r#"unknown field "status.bogus""#]);
    assert_eq!(obj["status"], json!({"groupId": "@TGS#1"}));
}

#[test]
fn invalid_status_is_the_real_422_shape_with_brackets_only_for_several_causes() {
    let cause = |field: &str, message: &str| FieldCause {
        reason: "FieldValueTooLong".into(),
        field: field.into(),
        message: message.into(),
    };
    let one = [cause(
        "spec.name",
        "Too long: may not be more than 30 bytes",
    )];
    let status = invalid_status("ChatGroup", "im.chatgroup.dev", "g1", &one);
    assert_eq!(
        status,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "ChatGroup.im.chatgroup.dev \"g1\" is invalid: spec.name: Too long: may not be more than 30 bytes",
            "reason": "Invalid",
            "details": {"name": "g1", "group": "im.chatgroup.dev", "kind": "ChatGroup", "causes": [
                {"reason": "FieldValueTooLong", "message": "Too long: may not be more than 30 bytes", "field": "spec.name"}
            ]},
            "code": 422
        })
    );
    let two = [
        one[0].clone(),
        cause("spec.x", "Too long: may not be more than 1 byte"),
        one[0].clone(),
    ];
    let status = invalid_status("ChatGroup", "im.chatgroup.dev", "g1", &two);
    assert_eq!(
        status["message"],
        "ChatGroup.im.chatgroup.dev \"g1\" is invalid: [spec.name: Too long: may not be more than 30 bytes, \
         spec.x: Too long: may not be more than 1 byte]"
    );
    assert_eq!(
        status["details"]["causes"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn strict_decoding_status_is_a_400_prefixed_for_create_and_bare_for_patch() {
    let schema = chatgroup_schema();
    let mut obj = group(json!({"name": "team", "type": "Public", "foo": 1}));
    let Err(Rejection::StrictDecoding(msg)) =
        admit(&schema, &mut obj, None, FieldValidation::Strict)
    else {
        panic!("expected a strict decoding rejection");
    };
    let status = strict_decoding_status("ChatGroup", "v1alpha1", &msg);
    assert_eq!(status["code"], 400);
    assert_eq!(status["reason"], "BadRequest");
    assert_eq!(
        status["message"],
        "ChatGroup in version \"v1alpha1\" cannot be handled as a ChatGroup: strict decoding error: unknown field \"spec.foo\""
    );
    assert_eq!(
        strict_decoding_status("ChatGroup", "", &msg)["message"],
        msg.as_str()
    );
}

/// Odd values everywhere: admission must answer, never panic.
#[test]
fn odd_inputs_never_panic() {
    let schema = chatgroup_schema();
    let odd = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1.5e300),
        json!(""),
        json!("\u{0}\u{202e}"),
        json!([]),
        json!([null, [], {}]),
        json!({}),
        json!({"": {"": null}}),
        json!(u64::MAX),
        json!(i64::MIN),
        json!("x".repeat(10_000)),
    ];
    for v in &odd {
        for field in [
            "spec",
            "name",
            "type",
            "groupId",
            "state",
            "maxMembers",
            "members",
            "status",
            "metadata",
        ] {
            let mut obj = group(json!({"name": "team", "type": "Public"}));
            if field == "spec" || field == "status" || field == "metadata" {
                obj[field] = v.clone();
            } else {
                obj["spec"][field] = v.clone();
            }
            let old = group(json!({"name": "team", "type": "Public", "members": v.clone()}));
            let _ = admit(&schema, &mut obj, Some(&old), FieldValidation::Warn);
            let _ = admit(&schema, &mut v.clone(), None, FieldValidation::Strict);
            let _ = admit(v, &mut obj, Some(v), FieldValidation::Ignore);
        }
    }
}
