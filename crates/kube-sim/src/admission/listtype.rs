//! `x-kubernetes-list-type: set` and `map` invariants, as the real server's
//! `structurallisttype.ValidateListSetsAndMaps` checks them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::errors::{FieldError, Kind};

pub(crate) fn validate(schema: &Value, data: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    walk(schema, data, "", &mut errs);
    errs
}

fn walk(s: &Value, d: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match d {
        Value::Object(map) => {
            let props = s.get("properties").and_then(Value::as_object);
            let ap = s.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map {
                if let Some(ps) = props.and_then(|p| p.get(k)) {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(ps, v, &p, errs);
                } else if let Some(ap) = ap {
                    // Map entries are keys in a field path: `spec.labels[app]`.
                    walk(ap, v, &format!("{path}[{k}]"), errs);
                }
            }
        }
        Value::Array(items) => {
            match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => set_duplicates(items, path, errs),
                Some("map") => map_duplicates(s, items, path, errs),
                _ => {}
            }
            if let Some(is) = s.get("items") {
                for (i, v) in items.iter().enumerate() {
                    walk(is, v, &format!("{path}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}

/// Indices where a value is seen for the second time (each value once).
fn duplicate_indices(values: &[Value]) -> Vec<usize> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let count = seen.entry(v.to_string()).or_insert(0);
        *count += 1;
        if *count == 2 {
            out.push(i);
        }
    }
    out
}

fn duplicate(path: &str, i: usize, bad: Value) -> FieldError {
    FieldError::new(Kind::Duplicate, &format!("{path}[{i}]"), bad, "")
}

fn set_duplicates(items: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    for i in duplicate_indices(items) {
        errs.push(duplicate(path, i, items[i].clone()));
    }
}

/// Duplicate keys; the bad value is the key fields alone, `{"name":"a"}`.
fn map_duplicates(s: &Value, items: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    if let Some(i) = items.iter().position(|x| !x.is_null() && !x.is_object()) {
        let msg = "must be an object for an array of list-type map";
        errs.push(FieldError::invalid(
            &format!("{path}[{i}]"),
            items[i].clone(),
            msg,
        ));
        return;
    }
    if items.len() <= 1 {
        return;
    }
    let key_fields: Vec<&str> = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let keys: Vec<Value> = items
        .iter()
        .map(|x| {
            let mut key = Map::new();
            for f in &key_fields {
                if let Some(v) = x.get(*f) {
                    key.insert((*f).to_string(), v.clone());
                }
            }
            Value::Object(key)
        })
        .collect();
    for i in duplicate_indices(&keys) {
        errs.push(duplicate(path, i, keys[i].clone()));
    }
}
