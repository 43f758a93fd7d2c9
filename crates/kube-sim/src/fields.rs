//! Simplified field ownership (`metadata.managedFields`) for server-side apply:
//! leaf fields owned per (manager, operation, subresource), lists owned whole.
//! Apply conflicts with other managers owning a field it sets to a different
//! value; updates take the fields they change; fields an applier stops
//! applying are removed when nobody else owns them.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::status::ApiError;

type Path = Vec<String>;

/// Which part of an object a write may touch.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource; `true` when status belongs to a status subresource.
    Main(bool),
    Status,
}

impl Scope {
    fn subresource(self) -> Option<&'static str> {
        matches!(self, Scope::Status).then_some("status")
    }

    fn includes(self, top: &str) -> bool {
        match self {
            Scope::Status => top == "status",
            Scope::Main(split) => {
                !(matches!(top, "apiVersion" | "kind") || (split && top == "status"))
            }
        }
    }
}

struct Entry {
    manager: String,
    operation: String,
    subresource: Option<String>,
    api_version: String,
    time: String,
    fields: BTreeSet<Path>,
}

/// Every leaf path of `v` below `prefix`; empty objects and lists are leaves.
fn collect(v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                prefix.push(k.clone());
                collect(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            out.insert(prefix.clone());
        }
    }
}

/// The fields of `obj` a manager can own in `scope`.
fn leaves(obj: &Value, scope: Scope) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    let Some(m) = obj.as_object() else {
        return out;
    };
    for (k, v) in m.iter().filter(|(k, _)| scope.includes(k)) {
        if k == "metadata" {
            for mk in ["labels", "annotations", "finalizers", "ownerReferences"] {
                if let Some(mv) = v.get(mk) {
                    collect(mv, &mut vec![k.clone(), mk.to_string()], &mut out);
                }
            }
        } else {
            collect(v, &mut vec![k.clone()], &mut out);
        }
    }
    out
}

fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k.as_str()))
}

/// Removes the field at `path`, and the objects above it it leaves empty, as
/// an applier owns the parents of the fields it applies.
fn remove(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let parent = parents
        .iter()
        .try_fold(&mut *v, |cur, k| cur.get_mut(k.as_str()));
    let Some(Value::Object(m)) = parent else {
        return;
    };
    m.remove(last);
    if m.is_empty() && parents.len() > 1 {
        remove(v, parents);
    }
}

fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn decode_fields(v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    let Some(m) = v.as_object().filter(|m| !m.is_empty()) else {
        out.insert(prefix.clone());
        return;
    };
    if m.keys().any(|k| !k.starts_with("f:") && k != ".") {
        // List keys and values (`k:`, `v:`, `i:`): the list is owned whole.
        out.insert(prefix.clone());
        return;
    }
    for (k, c) in m.iter().filter(|(k, _)| k.starts_with("f:")) {
        prefix.push(k[2..].to_string());
        decode_fields(c, prefix, out);
        prefix.pop();
    }
}

fn encode_fields(fields: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for p in fields {
        let mut cur = &mut root;
        for k in p {
            let slot = cur.entry(format!("f:{k}")).or_insert_with(|| json!({}));
            match slot.as_object_mut() {
                Some(m) => cur = m,
                None => break,
            }
        }
    }
    Value::Object(root)
}

fn parse(managed: &Value) -> Vec<Entry> {
    let s = |e: &Value, k: &str| e[k].as_str().unwrap_or("").to_string();
    managed
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let mut fields = BTreeSet::new();
                    decode_fields(&e["fieldsV1"], &mut Vec::new(), &mut fields);
                    fields.remove(&Vec::new());
                    Entry {
                        manager: s(e, "manager"),
                        operation: s(e, "operation"),
                        subresource: e["subresource"].as_str().map(String::from),
                        api_version: s(e, "apiVersion"),
                        time: s(e, "time"),
                        fields,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the entries into `obj.metadata.managedFields` (absent when empty).
fn store(obj: &mut Value, entries: &[Entry]) {
    let rendered = render(entries);
    let empty = rendered.as_array().is_none_or(|a| a.is_empty());
    if let Some(meta) = obj["metadata"].as_object_mut() {
        if empty {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), rendered);
        }
    }
}

fn render(entries: &[Entry]) -> Value {
    let out: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": encode_fields(&e.fields),
            });
            if let Some(s) = &e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    json!(out)
}

/// One write's identity: manager, operation, API version, time.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub now: &'a str,
    pub scope: Scope,
}

impl Writer<'_> {
    /// The entry for this writer and `operation`, created when missing.
    fn entry<'e>(&self, entries: &'e mut Vec<Entry>, operation: &str) -> &'e mut Entry {
        let sub = self.scope.subresource().map(String::from);
        let found = entries.iter().position(|e| {
            e.manager == self.manager && e.operation == operation && e.subresource == sub
        });
        let i = found.unwrap_or_else(|| {
            entries.push(Entry {
                manager: self.manager.to_string(),
                operation: operation.to_string(),
                subresource: sub,
                api_version: self.api_version.to_string(),
                time: self.now.to_string(),
                fields: BTreeSet::new(),
            });
            entries.len() - 1
        });
        &mut entries[i]
    }

    fn set_fields(&self, e: &mut Entry, fields: BTreeSet<Path>) {
        if e.fields != fields {
            e.time = self.now.to_string();
            e.api_version = self.api_version.to_string();
            e.fields = fields;
        }
    }

    /// Ownership after a create, update or non-apply patch from `old` (Null on
    /// create) to `new`; the result goes into `new.metadata.managedFields`.
    pub fn update(&self, base: &Value, old: &Value, new: &mut Value) {
        let mut entries = parse(base);
        let (before, after) = (leaves(old, self.scope), leaves(new, self.scope));
        let changed: BTreeSet<Path> = after
            .iter()
            .filter(|p| get(old, p) != get(new, p))
            .cloned()
            .collect();
        let gone: Vec<&Path> = before.difference(&after).collect();
        for e in entries.iter_mut() {
            e.fields.retain(|p| {
                !changed
                    .iter()
                    .chain(gone.iter().copied())
                    .any(|c| overlaps(c, p))
            });
        }
        if !changed.is_empty() {
            let e = self.entry(&mut entries, "Update");
            let fields = e.fields.union(&changed).cloned().collect();
            self.set_fields(e, fields);
        }
        store(new, &entries);
    }

    /// Fields other managers own that the apply sets to another value, and
    /// fields of the last client-side apply, which move to the applier freely.
    fn conflicts(
        &self,
        entries: &[Entry],
        csa: &BTreeSet<Path>,
        current: &Value,
        applied: &Value,
        paths: &BTreeSet<Path>,
    ) -> (Vec<(String, Path)>, Vec<Path>) {
        let (mut conflicts, mut taken) = (Vec::new(), Vec::new());
        for e in entries.iter().filter(|e| e.manager != self.manager) {
            for p in paths
                .iter()
                .filter(|p| e.fields.iter().any(|f| overlaps(f, p)))
            {
                if e.manager == CSA_MANAGER && csa.iter().any(|c| overlaps(c, p)) {
                    taken.push(p.clone());
                } else if get(current, p) != get(applied, p) {
                    conflicts.push((e.manager.clone(), p.clone()));
                }
            }
        }
        (conflicts, taken)
    }

    /// Ownership for an apply of `applied` to `current`, giving `merged`:
    /// 409 on conflicts unless `force`, and removal of fields this manager no
    /// longer applies that nobody else owns.
    pub fn apply(
        &self,
        base: &Value,
        current: &Value,
        applied: &Value,
        merged: &mut Value,
        force: bool,
    ) -> Result<(), ApiError> {
        let mut entries = parse(base);
        let paths = leaves(applied, self.scope);
        let csa = client_side_applied(current);
        let (conflicts, mut taken) = self.conflicts(&entries, &csa, current, applied, &paths);
        if !conflicts.is_empty() && !force {
            return Err(conflict_error(&conflicts));
        }
        taken.extend(conflicts.into_iter().map(|(_, p)| p));
        for e in entries.iter_mut().filter(|e| e.manager != self.manager) {
            e.fields.retain(|f| !taken.iter().any(|p| overlaps(f, p)));
        }
        if self.manager == "kubectl" && !csa.is_empty() {
            // Keep the annotation current so a later client-side apply diffs right.
            let mut cfg = applied.clone();
            if let Some(a) = cfg["metadata"]["annotations"].as_object_mut() {
                a.remove(LAST_APPLIED);
            }
            if let Some(a) = merged["metadata"]["annotations"].as_object_mut() {
                a.insert(LAST_APPLIED.into(), json!(cfg.to_string()));
            }
        }
        let previous = self.entry(&mut entries, "Apply").fields.clone();
        for dropped in previous.difference(&paths) {
            let others = entries.iter().any(|e| {
                !(e.manager == self.manager && e.operation == "Apply")
                    && e.fields.iter().any(|f| overlaps(f, dropped))
            });
            if !others {
                remove(merged, dropped);
            }
        }
        let e = self.entry(&mut entries, "Apply");
        self.set_fields(e, paths);
        store(merged, &entries);
        Ok(())
    }
}

const CSA_MANAGER: &str = "kubectl-client-side-apply";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The fields of `kubectl apply`'s last-applied-configuration annotation.
fn client_side_applied(obj: &Value) -> BTreeSet<Path> {
    obj["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .map(|cfg| leaves(&cfg, Scope::Main(false)))
        .unwrap_or_default()
}

fn conflict_error(conflicts: &[(String, Path)]) -> ApiError {
    let field = |p: &Path| format!(".{}", p.join("."));
    let n = conflicts.len();
    let detail = if n == 1 {
        format!(
            "conflict with \"{}\": {}",
            conflicts[0].0,
            field(&conflicts[0].1)
        )
    } else {
        let lines: Vec<String> = conflicts
            .iter()
            .map(|(m, p)| format!("conflict with \"{m}\": {}", field(p)))
            .collect();
        lines.join("\n")
    };
    let plural = if n == 1 { "" } else { "s" };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": field(p)}))
        .collect();
    ApiError::new(
        409,
        "Conflict",
        format!("Apply failed with {n} conflict{plural}: {detail}"),
    )
    .with_details(json!({ "causes": causes }))
}
