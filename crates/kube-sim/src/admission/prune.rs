//! Decoding-time coercion of a custom resource, as the real server's
//! `structuralpruning` and `structuraldefaulting` packages do it: pruning of
//! unknown fields, dropping of non-nullable nulls, then schema defaults.

use serde_json::{Map, Value};

/// Fields an embedded resource (and the resource root) keeps whatever its schema.
const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool) == Some(true)
}

fn props(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// `additionalProperties` as a schema; `true` counts as an empty schema.
fn additional(schema: &Value) -> Option<&Value> {
    match schema.get("additionalProperties") {
        Some(Value::Bool(true)) => Some(&Value::Bool(true)),
        Some(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Prunes fields the schema does not know. Returns the pruned paths, sorted,
/// like `spec.foo` and `spec.members[0].bar`. The root keeps `apiVersion`,
/// `kind` and `metadata` (metadata is the server's business).
pub(crate) fn prune_unknown(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    prune(obj, Some(schema), "", true, &mut pruned);
    pruned.sort();
    pruned
}

fn prune(x: &mut Value, s: Option<&Value>, path: &str, root: bool, out: &mut Vec<String>) {
    if s.is_some_and(|s| *s == Value::Bool(true)) {
        return;
    }
    if let Some(s) = s.filter(|s| flag(s, "x-kubernetes-preserve-unknown-fields")) {
        return skip_prune(x, s, path, root, out);
    }
    match x {
        Value::Object(map) => {
            let embedded = root || s.is_some_and(|s| flag(s, "x-kubernetes-embedded-resource"));
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let p = child_path(path, &k);
                let known = s.and_then(|s| props(s).and_then(|pr| pr.get(&k)));
                match (known, s.and_then(additional)) {
                    (Some(ps), _) | (None, Some(ps)) => {
                        if let Some(v) = map.get_mut(&k) {
                            prune(v, Some(ps), &p, false, out);
                        }
                    }
                    (None, None) => {
                        map.remove(&k);
                        out.push(p);
                    }
                }
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.get("items"));
            for (i, v) in items.iter_mut().enumerate() {
                prune(v, item_schema, &format!("{path}[{i}]"), false, out);
            }
        }
        _ => {}
    }
}

/// Under `x-kubernetes-preserve-unknown-fields` unknown fields stay, but
/// specified properties are still pruned below.
fn skip_prune(x: &mut Value, s: &Value, path: &str, root: bool, out: &mut Vec<String>) {
    match x {
        Value::Object(map) => {
            let embedded = root || flag(s, "x-kubernetes-embedded-resource");
            for (k, v) in map.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let p = child_path(path, k);
                if let Some(ps) = props(s).and_then(|pr| pr.get(k)).or_else(|| additional(s)) {
                    prune(v, Some(ps), &p, false, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for (i, v) in items.iter_mut().enumerate() {
                    skip_prune(v, is, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

/// Drops `null` values of properties that are neither nullable nor defaulted.
pub(crate) fn prune_non_nullable_nulls(x: &mut Value, s: &Value, root: bool) {
    match x {
        Value::Object(map) => {
            let Some(pr) = props(s) else {
                if let Some(ap) = additional(s) {
                    map.values_mut()
                        .for_each(|v| prune_non_nullable_nulls(v, ap, false));
                }
                return;
            };
            map.retain(|k, v| {
                let Some(ps) = pr.get(k) else { return true };
                !(v.is_null() && ps.get("default").is_none() && !flag(ps, "nullable"))
            });
            for (k, v) in map.iter_mut() {
                if root && k == "metadata" {
                    continue;
                }
                if let Some(ps) = pr.get(k) {
                    prune_non_nullable_nulls(v, ps, false);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                items
                    .iter_mut()
                    .for_each(|v| prune_non_nullable_nulls(v, is, false));
            }
        }
        _ => {}
    }
}

fn is_non_nullable_null(v: &Value, s: &Value) -> bool {
    v.is_null() && !flag(s, "nullable")
}

/// Applies `default`s to missing properties (and non-nullable nulls), then
/// recurses, so objects created by a default get their own nested defaults.
pub(crate) fn apply_defaults(x: &mut Value, s: &Value, root: bool) {
    match x {
        Value::Object(map) => {
            if let Some(pr) = props(s) {
                for (k, ps) in pr {
                    let Some(d) = ps.get("default") else { continue };
                    let missing = map.get(k).is_none_or(|v| is_non_nullable_null(v, ps));
                    if missing && !(root && k == "metadata") {
                        map.insert(k.clone(), d.clone());
                    }
                }
            }
            let ap = s.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map.iter_mut() {
                if root && k == "metadata" {
                    continue;
                }
                if let Some(ps) = props(s).and_then(|pr| pr.get(k)) {
                    apply_defaults(v, ps, false);
                } else if let Some(ap) = ap {
                    default_in_place(v, ap);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                items.iter_mut().for_each(|v| default_in_place(v, is));
            }
        }
        _ => {}
    }
}

/// A map value or list item: a non-nullable null takes the default, then recurse.
fn default_in_place(v: &mut Value, s: &Value) {
    if is_non_nullable_null(v, s) {
        if let Some(d) = s.get("default") {
            *v = d.clone();
        }
    }
    apply_defaults(v, s, false);
}
