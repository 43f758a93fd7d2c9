//! Legacy discovery (`/version`, `/api`, `/apis`, group/version resource lists)
//! and the OpenAPI documents built from the served kinds.

use serde_json::{json, Value};

use crate::openapi::{self, KindSchema};
use crate::registry::{Registry, Resource};

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-kube-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    })
}

fn group_entry(name: &str, versions: &[String], preferred: &str) -> Value {
    let gv = |v: &str| json!({ "groupVersion": format!("{name}/{v}"), "version": v });
    json!({
        "name": name,
        "versions": versions.iter().map(|v| gv(v)).collect::<Vec<_>>(),
        "preferredVersion": gv(preferred),
    })
}

pub fn groups(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .groups()
        .iter()
        .filter(|(g, _, _)| !g.is_empty())
        .map(|(g, vs, pref)| group_entry(g, vs, pref))
        .collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `/apis/{group}`, or None for an unknown group.
pub fn group(reg: &Registry, name: &str) -> Option<Value> {
    let groups = reg.groups();
    let (g, vs, pref) = groups.iter().find(|(g, _, _)| g == name && !g.is_empty())?;
    let mut v = group_entry(g, vs, pref);
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    Some(v)
}

fn resource_entries(r: &Resource, version: &str) -> Vec<Value> {
    let mut main = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": VERBS,
    });
    if !r.short_names.is_empty() {
        main["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        main["categories"] = json!(r.categories);
    }
    let mut out = vec![main];
    if r.served_version(version).is_some_and(|v| v.status) {
        out.push(json!({
            "name": format!("{}/status", r.plural),
            "singularName": "",
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["get", "patch", "update"],
        }));
    }
    out
}

/// `/api/v1` or `/apis/{group}/{version}`, or None when nothing is served there.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Value> = reg
        .all()
        .filter(|r| r.group == group && r.served_version(version).is_some())
        .flat_map(|r| resource_entries(r, version))
        .collect();
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Every served kind with its schema, one entry per served version.
pub fn kind_schemas(reg: &Registry) -> Vec<KindSchema> {
    reg.all()
        .flat_map(|r| {
            r.versions.iter().filter(|v| v.served).map(|v| KindSchema {
                group: r.group.clone(),
                version: v.name.clone(),
                kind: r.kind.clone(),
                plural: r.plural.clone(),
                namespaced: r.namespaced,
                schema: v.schema.clone(),
            })
        })
        .collect()
}

pub fn openapi_index(reg: &Registry) -> Value {
    let mut paths: Vec<String> = reg
        .groups()
        .iter()
        .flat_map(|(g, vs, _)| vs.iter().map(|v| gv_path(g, v)).collect::<Vec<_>>())
        .collect();
    paths.sort();
    openapi::index(&paths)
}

/// `/openapi/v3/{gv_path}`, or None for a group/version that is not served.
pub fn openapi_document(reg: &Registry, path: &str) -> Option<Value> {
    let kinds: Vec<KindSchema> = kind_schemas(reg)
        .into_iter()
        .filter(|k| gv_path(&k.group, &k.version) == path)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    Some(openapi::group_version_document(path, &kinds))
}
