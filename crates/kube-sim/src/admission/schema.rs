//! Structural-schema validation with kube-openapi's rules and messages
//! (`k8s.io/kube-openapi/pkg/validation/validate`), mapped to field errors as
//! `apiextensions-apiserver`'s `ValidateCustomResource` maps them.

use serde_json::{Map, Value};

use super::errors::{fmt_num, json_type, FieldError, Kind};
use super::scalar;

/// Validates `data` against `schema`; paths read like `spec.members[0].name`.
pub(crate) fn validate(schema: &Value, data: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    node(schema, data, "", &mut errs);
    errs
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn u64_of(s: &Value, key: &str) -> Option<u64> {
    s.get(key).and_then(Value::as_u64)
}

/// One schema node: kube-openapi's validator chain in its order (type,
/// combinators, string, format, number, array, enum, object).
fn node(s: &Value, d: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if !s.is_object() {
        return;
    }
    if d.is_null() {
        check_type(s, d, path, errs);
        check_enum(s, d, path, errs);
        return;
    }
    check_type(s, d, path, errs);
    combinators(s, d, path, errs);
    match d {
        Value::String(text) => {
            scalar::string(s, text, path, errs);
            scalar::format(s, text, path, errs);
        }
        Value::Number(_) => scalar::number(s, d, path, errs),
        Value::Array(items) => array(s, items, path, errs),
        _ => {}
    }
    check_enum(s, d, path, errs);
    if let Value::Object(map) = d {
        object(s, map, path, errs);
    }
}

/// The declared type, `nullable`, and JSON's integer/number leniency.
fn check_type(s: &Value, d: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(want) = s
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return;
    };
    let got = json_type(d);
    let ok = match (want, got) {
        (_, "null") => s.get("nullable").and_then(Value::as_bool) == Some(true),
        ("number", "integer") => true,
        ("integer", "number") => d.as_f64().is_some_and(|f| f.fract() == 0.0),
        (w, g) => w == g,
    };
    if !ok {
        let msg = format!("{path} in body must be of type {want}: \"{got}\"");
        errs.push(FieldError::new(
            Kind::TypeInvalid,
            path,
            Value::from(got),
            msg,
        ));
    }
}

fn enum_matches(candidate: &Value, d: &Value) -> bool {
    match (candidate, d) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

fn check_enum(s: &Value, d: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(allowed) = s
        .get("enum")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return;
    };
    if !allowed.iter().any(|a| enum_matches(a, d)) {
        let names: Vec<String> = allowed
            .iter()
            .map(|a| match a {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        errs.push(FieldError::not_supported(path, d.clone(), &names));
    }
}

/// A failure kube-openapi reports without a field (`errors.New`): the real
/// server shows it as `<nil>: Invalid value: "": ...`.
fn fieldless(message: String) -> FieldError {
    FieldError::invalid("", Value::from(""), message)
}

/// Validates `d` against each branch, returning each branch's errors.
fn branches(list: &[Value], d: &Value, path: &str) -> Vec<Vec<FieldError>> {
    list.iter()
        .map(|b| {
            let mut e = Vec::new();
            node(b, d, path, &mut e);
            e
        })
        .collect()
}

/// The failing branch with the fewest errors (kube-openapi's "best failures").
fn best(results: Vec<Vec<FieldError>>) -> Vec<FieldError> {
    results.into_iter().min_by_key(Vec::len).unwrap_or_default()
}

/// `anyOf`, `oneOf`, `allOf`, `not`, and `x-kubernetes-int-or-string`
/// (validated as `anyOf: [{type: integer}, {type: string}]`).
fn combinators(s: &Value, d: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let int_or_string = s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    let implied = [
        serde_json::json!({"type": "integer"}),
        serde_json::json!({"type": "string"}),
    ];
    let any_of = match s.get("anyOf").and_then(Value::as_array) {
        Some(list) => Some(list.as_slice()),
        None if int_or_string => Some(&implied[..]),
        None => None,
    };
    if let Some(list) = any_of.filter(|l| !l.is_empty()) {
        let results = branches(list, d, path);
        if !results.iter().any(Vec::is_empty) {
            errs.push(fieldless(format!(
                "\"{path}\" must validate at least one schema (anyOf)"
            )));
            errs.extend(best(results));
        }
    }
    if let Some(list) = s
        .get("oneOf")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    {
        let results = branches(list, d, path);
        let valid = results.iter().filter(|r| r.is_empty()).count();
        if valid != 1 {
            let found = match valid {
                0 => "Found none valid".to_string(),
                n => format!("Found {n} valid alternatives"),
            };
            errs.push(fieldless(format!(
                "\"{path}\" must validate one and only one schema (oneOf). {found}"
            )));
            if valid == 0 {
                errs.extend(best(results));
            }
        }
    }
    if let Some(list) = s
        .get("allOf")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    {
        let results = branches(list, d, path);
        let valid = results.iter().filter(|r| r.is_empty()).count();
        errs.extend(results.into_iter().flatten());
        if valid != list.len() {
            let none = if valid == 0 { ". None validated" } else { "" };
            errs.push(fieldless(format!(
                "\"{path}\" must validate all the schemas (allOf){none}"
            )));
        }
    }
    if let Some(not) = s.get("not").filter(|n| n.is_object()) {
        let mut e = Vec::new();
        node(not, d, path, &mut e);
        if e.is_empty() {
            errs.push(fieldless(format!(
                "\"{path}\" must not validate the schema (not)"
            )));
        }
    }
}

fn array(s: &Value, items: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    let size = items.len();
    if let Some(min) = u64_of(s, "minItems").filter(|m| (size as u64) < *m) {
        let msg = format!("{path} in body should have at least {min} items");
        errs.push(FieldError::invalid(path, Value::from(size), msg));
    }
    if let Some(max) = u64_of(s, "maxItems").filter(|m| (size as u64) > *m) {
        errs.push(FieldError::too_many(path, size, max));
    }
    if let Some(item_schema) = s.get("items") {
        for (i, item) in items.iter().enumerate() {
            node(item_schema, item, &format!("{path}[{i}]"), errs);
        }
    }
}

fn object(s: &Value, map: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    let n = map.len();
    if let Some(min) = u64_of(s, "minProperties").filter(|m| (n as u64) < *m) {
        let msg = format!("{path} in body should have at least {min} properties");
        errs.push(FieldError::invalid(path, Value::from(n), msg));
    }
    if let Some(max) = u64_of(s, "maxProperties").filter(|m| (n as u64) > *m) {
        errs.push(FieldError::too_many(path, n, max));
    }
    let props = s.get("properties").and_then(Value::as_object);
    if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
        for (k, v) in map {
            if props.is_none_or(|p| !p.contains_key(k)) {
                node(ap, v, &child(path, k), errs);
            }
        }
    }
    if let Some(props) = props {
        for (k, ps) in props {
            if let Some(v) = map.get(k) {
                node(ps, v, &child(path, k), errs);
            }
        }
    }
    for req in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(k) = req.as_str().filter(|k| !map.contains_key(*k)) {
            errs.push(FieldError::required(&child(path, k), ""));
        }
    }
}

/// `Checked value must be of type integer with format int32 in spec.x`.
pub(crate) fn range_error(want: &str, format: &str, path: &str) -> FieldError {
    fieldless(format!(
        "Checked value must be of type {want} with format {format} in {path}"
    ))
}

/// `spec.x in body should be less than or equal to 10`.
pub(crate) fn bound_message(path: &str, relation: &str, bound: f64) -> String {
    format!("{path} in body should be {relation} {}", fmt_num(bound))
}
