//! `x-kubernetes-validations` through kube-cel, with failures worded as the
//! real server's `apiextensions-apiserver/pkg/apiserver/schema/cel` words them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use kube_cel::{CompiledSchema, ErrorKind, ValidationError};
use serde_json::Value;

use super::errors::{FieldError, Kind};
use super::optional::rewrite_schema;
use super::ratchet::{segments, Segment};

/// The schema node at a path like `spec.members[0]`, following properties,
/// map values and list items.
fn node_at<'a>(schema: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = schema;
    for seg in segments(path)? {
        node = match seg {
            Segment::Name(name) => node
                .get("properties")
                .and_then(|p| p.get(&name))
                .or_else(|| node.get("additionalProperties"))?,
            Segment::Index(_) => node.get("items")?,
        };
    }
    Some(node)
}

/// The real server's CEL paths name map entries as keys (`spec.labels[app]`);
/// kube-cel joins them with dots.
fn keyed_path(schema: &Value, path: &str) -> String {
    let Some(segs) = segments(path) else {
        return path.to_string();
    };
    let mut node = Some(schema);
    let mut out = String::new();
    for seg in segs {
        match seg {
            Segment::Name(name) => {
                let prop = node
                    .and_then(|n| n.get("properties"))
                    .and_then(|p| p.get(&name));
                if prop.is_none() && node.is_some_and(|n| n.get("additionalProperties").is_some()) {
                    out.push_str(&format!("[{name}]"));
                    node = node.and_then(|n| n.get("additionalProperties"));
                } else {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&name);
                    node = prop;
                }
            }
            Segment::Index(i) => {
                out.push_str(&format!("[{i}]"));
                node = node.and_then(|n| n.get("items"));
            }
        }
    }
    out
}

/// The rules a node declares, its own and those of its allOf/anyOf/oneOf branches.
fn rules_of(node: &Value) -> Vec<&Value> {
    let own = node
        .get("x-kubernetes-validations")
        .and_then(Value::as_array);
    let branches = ["allOf", "anyOf", "oneOf"]
        .into_iter()
        .filter_map(|k| node.get(k).and_then(Value::as_array))
        .flatten()
        .flat_map(rules_of);
    own.into_iter().flatten().chain(branches).collect()
}

/// A failed rule's declaring node: its path and schema. The failure path is
/// the node's path plus the rule's `fieldPath`, so each prefix of the failure
/// path is tried.
struct Declaring<'a> {
    path: String,
    node: &'a Value,
}

fn declaring<'a>(schema: &'a Value, e: &ValidationError) -> Option<Declaring<'a>> {
    let path = e.field_path.as_str();
    let cuts = path
        .char_indices()
        .filter(|(_, c)| *c == '.' || *c == '[')
        .map(|(i, _)| i)
        .chain([0, path.len()]);
    let mut prefixes: Vec<usize> = cuts.collect();
    prefixes.sort_unstable_by(|a, b| b.cmp(a));
    prefixes.dedup();
    prefixes.into_iter().find_map(|cut| {
        let node_path = &path[..cut];
        let node = node_at(schema, node_path)?;
        rules_of(node).into_iter().find_map(|r| {
            let field_path = r.get("fieldPath").and_then(Value::as_str).unwrap_or("");
            let same_rule = r.get("rule").and_then(Value::as_str) == Some(e.rule.as_str());
            (same_rule && declaring_node(path, field_path) == node_path).then(|| Declaring {
                path: node_path.to_string(),
                node,
            })
        })
    })
}

/// A schema's rules compiled, with the rules `rewrite_schema` renamed.
type Compiled = Rc<(CompiledSchema, Vec<(String, String)>)>;

thread_local! {
    /// Compiled schemas by the hash of their JSON text: compiling every rule of a
    /// CRD on every write made validation most of the simulator's CPU time.
    static COMPILED: RefCell<HashMap<u64, Compiled>> = RefCell::new(HashMap::new());
}

fn compiled(schema: &Value) -> Compiled {
    let mut hasher = std::hash::DefaultHasher::new();
    schema.to_string().hash(&mut hasher);
    let key = hasher.finish();
    COMPILED.with(|cache| {
        cache
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                let (eval_schema, renamed) = rewrite_schema(schema);
                Rc::new((kube_cel::compile_schema(&eval_schema), renamed))
            })
            .clone()
    })
}

/// A failed rule, with the path of the node declaring it when the failure may
/// be ratcheted (rules that do not use `oldSelf`).
pub(crate) struct Failure {
    pub error: FieldError,
    pub ratchet_node: Option<String>,
}

/// Evaluates every rule; transition rules (those using `oldSelf`) run only
/// when `old` has a value at that node, unless `optionalOldSelf` is set.
pub(crate) fn validate(schema: &Value, object: &Value, old: Option<&Value>) -> Vec<Failure> {
    let compiled = compiled(schema);
    let (compiled, renamed) = (&compiled.0, &compiled.1);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        kube_cel::validate_compiled(compiled, object, old)
    }));
    let mut failures = match outcome {
        Ok(Ok(())) => return Vec::new(),
        Ok(Err(errors)) => errors.into_vec(),
        Err(_) => {
            let msg = "failed to evaluate x-kubernetes-validations rules";
            let error = FieldError::new(Kind::Internal, "", Value::Null, msg);
            return vec![Failure {
                error,
                ratchet_node: None,
            }];
        }
    };
    for e in &mut failures {
        restore_rule(e, renamed);
    }
    failures
        .iter()
        .map(|e| {
            let d = declaring(schema, e);
            let ratchetable = e.kind == ErrorKind::ValidationFailure && !e.rule.contains("oldSelf");
            let node_type = d
                .as_ref()
                .and_then(|d| d.node.get("type").and_then(Value::as_str))
                .unwrap_or("");
            let mut error = to_field_error(e, node_type);
            if error.field != super::errors::NIL_PATH {
                error.field = keyed_path(schema, &error.field);
            }
            Failure {
                error,
                ratchet_node: d.filter(|_| ratchetable).map(|d| d.path),
            }
        })
        .collect()
}

/// The path of the node declaring a rule: the failure path without the
/// rule's `fieldPath`.
fn declaring_node(path: &str, field_path: &str) -> String {
    if field_path.is_empty() {
        return path.to_string();
    }
    let suffix = if field_path.starts_with('.') {
        field_path.to_string()
    } else {
        format!(".{field_path}")
    };
    match path.strip_suffix(&suffix) {
        Some(base) => base.to_string(),
        None => path.strip_suffix(field_path).unwrap_or(path).to_string(),
    }
}

/// The real server reports the declaring node's type as the bad value
/// (`Invalid value: "string": ...`).
fn to_field_error(e: &ValidationError, node_type: &str) -> FieldError {
    let bad = Value::from(node_type);
    let path = e.field_path.as_str();
    match e.kind {
        ErrorKind::ValidationFailure => {
            let message = e.message.trim();
            match e.reason.as_deref() {
                Some("FieldValueForbidden") => {
                    FieldError::new(Kind::Forbidden, path, Value::Null, message)
                }
                Some("FieldValueRequired") => FieldError::required(path, message),
                Some("FieldValueDuplicate") => FieldError::new(Kind::Duplicate, path, bad, ""),
                _ => FieldError::invalid(path, bad, message),
            }
        }
        ErrorKind::EvaluationError => {
            let cause = e
                .message
                .strip_prefix("rule evaluation error: ")
                .unwrap_or(&e.message);
            let (cause, rule) = (go_cel_error(cause), e.rule.trim());
            let msg = if cause.starts_with("no such overload") {
                format!("'{cause}': call arguments did not match a supported operator, function or macro signature for rule: {rule}")
            } else {
                format!("{cause} evaluating rule: {rule}")
            };
            FieldError::invalid(path, bad, msg)
        }
        _ => FieldError::invalid(path, bad, e.message.clone()),
    }
}

/// cel-go's wording of common runtime errors (`no such key: x`,
/// `division by zero`) for cel-rust's (`No such key: x`, `Division by zero of Int(1)`).
fn go_cel_error(cause: &str) -> String {
    if cause.starts_with("Division by zero") {
        return "division by zero".to_string();
    }
    let mut chars = cause.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reports a rewritten `optionalOldSelf` rule with its original text.
fn restore_rule(e: &mut ValidationError, renamed: &[(String, String)]) {
    if let Some((new, original)) = renamed.iter().find(|(new, _)| *new == e.rule) {
        if e.message == format!("failed rule: {new}") {
            e.message = format!("failed rule: {original}");
        }
        e.rule = original.clone();
    }
}
