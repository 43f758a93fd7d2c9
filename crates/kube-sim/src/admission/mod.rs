//! Admission for custom resources, as the real API server does it: pruning of
//! unknown fields, defaulting, structural-schema validation and CEL rules.

mod cel;
mod errors;
mod listtype;
mod optional;
mod prune;
mod ratchet;
mod scalar;
mod schema;

use serde_json::{json, Value};

use errors::{FieldError, Kind};

/// The `fieldValidation` query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FieldValidation {
    #[default]
    Strict,
    Warn,
    Ignore,
}

/// One cause of a 422 Invalid answer, shaped like `metav1.StatusCause`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldCause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`,
    /// `FieldValueTooLong`, `FieldValueTypeInvalid`, `FieldValueForbidden`, ...
    pub reason: String,
    /// The field path, e.g. `spec.name`.
    pub field: String,
    pub message: String,
}

/// Why admission refused an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Unknown fields under `fieldValidation=Strict`: 400 BadRequest with this message.
    StrictDecoding(String),
    /// Schema or CEL failures: 422 Invalid with these causes.
    Invalid(Vec<FieldCause>),
}

/// Admits `object` (a whole custom resource, `apiVersion` to `status`) against the
/// version's `openAPIV3Schema`. Prunes and defaults `object` in place. `old` is the
/// stored object on updates (for CEL transition rules using `oldSelf`, and for
/// validation ratcheting). Returns the warnings to send back (`Warning`
/// headers) on success.
///
/// The order is the real server's: pruning of unknown fields and of
/// non-nullable nulls (decoding), defaults, then schema validation, list-type
/// invariants, and CEL rules (skipped when the schema already failed in a way
/// that blocks them). On updates, failures at values the update left
/// unchanged are dropped, as `CRDValidationRatcheting` does.
pub fn admit(
    schema: &Value,
    object: &mut Value,
    old: Option<&Value>,
    field_validation: FieldValidation,
) -> Result<Vec<String>, Rejection> {
    let unknown = prune::prune_unknown(schema, object);
    let unknown: Vec<String> = unknown
        .iter()
        .map(|p| format!("unknown field \"{p}\""))
        .collect();
    let warnings = match field_validation {
        FieldValidation::Strict if !unknown.is_empty() => {
            return Err(Rejection::StrictDecoding(format!(
                "strict decoding error: {}",
                unknown.join(", ")
            )));
        }
        FieldValidation::Ignore => Vec::new(),
        _ => unknown,
    };
    prune::prune_non_nullable_nulls(object, schema, true);
    prune::apply_defaults(object, schema, true);

    let errs = validate(schema, object, old);
    if errs.is_empty() {
        Ok(warnings)
    } else {
        Err(Rejection::Invalid(
            errs.into_iter().map(FieldError::into_cause).collect(),
        ))
    }
}

/// Schema, list-type and CEL validation of an already decoded object; on
/// updates, failures at unchanged values are ratcheted away.
fn validate(schema: &Value, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = schema::validate(schema, object);
    errs.extend(listtype::validate(schema, object));
    if let Some(old) = old {
        errs.retain(|e| {
            !(ratchet::ratchetable(e)
                && ratchet::unchanged(schema, object, old, ratchet::node_path(e)))
        });
    }
    if errs.iter().any(blocks_cel) {
        errs.push(FieldError::invalid(
            "",
            Value::Null,
            "some validation rules were not checked because the object was invalid; \
             correct the existing errors to complete validation",
        ));
    } else {
        for f in cel::validate(schema, object, old) {
            let ratcheted = old
                .zip(f.ratchet_node.as_deref())
                .is_some_and(|(old, node)| ratchet::unchanged(schema, object, old, node));
            if !ratcheted {
                errs.push(f.error);
            }
        }
    }
    errs
}

/// Failures after which the real server does not evaluate CEL rules.
fn blocks_cel(e: &FieldError) -> bool {
    matches!(
        e.kind,
        Kind::NotSupported | Kind::Required | Kind::TooLong | Kind::TooMany | Kind::TypeInvalid
    )
}

/// `Kind.group` (`GroupKind.String()`), or `Kind` for the core group.
fn qualified_kind(kind: &str, group: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// The 422 `Status` the real server answers (`errors.NewInvalid`). The message
/// joins `field: message` of each cause, duplicates once, in brackets when
/// there are several.
pub fn invalid_status(kind: &str, group: &str, name: &str, causes: &[FieldCause]) -> Value {
    let mut parts: Vec<String> = Vec::new();
    for c in causes {
        let part = format!("{}: {}", c.field, c.message);
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    let subject = format!("{} \"{}\" is invalid", qualified_kind(kind, group), name);
    let message = match parts.len() {
        0 => subject,
        1 => format!("{subject}: {}", parts[0]),
        _ => format!("{subject}: [{}]", parts.join(", ")),
    };
    let causes: Vec<Value> = causes
        .iter()
        .map(|c| {
            let mut v = json!({ "reason": c.reason, "message": c.message });
            if !c.field.is_empty() {
                v["field"] = json!(c.field);
            }
            v
        })
        .collect();
    let mut details = json!({ "name": name, "kind": kind, "causes": causes });
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    failure_status(&message, "Invalid", 422, Some(details))
}

/// The 400 `Status` for a `Rejection::StrictDecoding` message. Create and
/// update (`version` given) prefix it like the real server:
/// `ChatGroup in version "v1alpha1" cannot be handled as a ChatGroup: strict
/// decoding error: ...`; patches (`version` empty) answer the message alone.
pub fn strict_decoding_status(kind: &str, version: &str, message: &str) -> Value {
    let message = if version.is_empty() {
        message.to_string()
    } else {
        format!("{kind} in version \"{version}\" cannot be handled as a {kind}: {message}")
    };
    failure_status(&message, "BadRequest", 400, None)
}

fn failure_status(message: &str, reason: &str, code: u16, details: Option<Value>) -> Value {
    let mut v = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        v["details"] = d;
    }
    v
}
