//! The served kinds: one table of built-in kinds plus the kinds that CRDs define.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// How object names are validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most kinds).
    Subdomain,
    /// RFC 1123 label (namespaces).
    Label,
    /// Any path segment (RBAC kinds allow `system:...`).
    PathSegment,
}

/// One `additionalPrinterColumns` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// One served (or stored) version of a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    pub name: String,
    pub served: bool,
    pub storage: bool,
    /// `openAPIV3Schema` for custom resources; minimal for built-ins.
    pub schema: Value,
    pub status: bool,
    pub columns: Vec<Column>,
}

/// One resource (`group` + `plural`), whatever its versions.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub group: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub versions: Vec<Version>,
    pub name_rule: NameRule,
    /// Defined by a CRD: admission runs against its schema.
    pub custom: bool,
}

impl Resource {
    /// The store key of this resource, `group/plural`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    pub fn served_version(&self, version: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.name == version && v.served)
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }

    /// The version clients should prefer: the storage version if served, else the first served.
    pub fn preferred_version(&self) -> Option<&Version> {
        let served = || self.versions.iter().filter(|v| v.served);
        served().find(|v| v.storage).or_else(|| served().next())
    }
}

/// group, version, plural, singular, kind, namespaced, short names, categories, status, name rule.
type BuiltIn = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    &'static [&'static str],
    bool,
    NameRule,
);

/// Every built-in kind. Adding one here is all it takes to serve it.
#[rustfmt::skip]
const BUILT_INS: &[BuiltIn] = &[
    ("", "v1", "namespaces", "namespace", "Namespace", false, &["ns"], &[], true, NameRule::Label),
    ("", "v1", "configmaps", "configmap", "ConfigMap", true, &["cm"], &[], false, NameRule::Subdomain),
    ("", "v1", "secrets", "secret", "Secret", true, &[], &[], false, NameRule::Subdomain),
    ("", "v1", "events", "event", "Event", true, &["ev"], &[], false, NameRule::Subdomain),
    ("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, &["sa"], &[], false, NameRule::Subdomain),
    ("", "v1", "services", "service", "Service", true, &["svc"], &["all"], true, NameRule::Label),
    ("events.k8s.io", "v1", "events", "event", "Event", true, &["ev"], &[], false, NameRule::Subdomain),
    ("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, &[], &[], false, NameRule::Subdomain),
    ("apps", "v1", "deployments", "deployment", "Deployment", true, &["deploy"], &["all"], true, NameRule::Subdomain),
    ("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, &["sts"], &["all"], true, NameRule::Subdomain),
    ("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, &[], &[], false, NameRule::PathSegment),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true, &[], &[], false, NameRule::PathSegment),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false, &[], &[], false, NameRule::PathSegment),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, &[], &[], false, NameRule::PathSegment),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition", "CustomResourceDefinition", false, &["crd", "crds"], &["api-extensions"], true, NameRule::Subdomain),
];

/// The schema given to the OpenAPI builder for built-in kinds.
pub fn minimal_schema() -> Value {
    json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn column(name: &str, json_path: &str, type_: &str) -> Column {
    Column {
        name: name.into(),
        type_: type_.into(),
        format: String::new(),
        description: String::new(),
        priority: 0,
        json_path: json_path.into(),
    }
}

/// The columns `kubectl get` shows for a few built-in kinds, as the real
/// server prints them; the others get Name and Age.
fn built_in_columns(group: &str, plural: &str) -> Vec<Column> {
    let extra = match (group, plural) {
        ("", "namespaces") => vec![column("Status", ".status.phase", "string")],
        ("", "secrets") => vec![column("Type", ".type", "string")],
        ("", "services") => vec![
            column("Type", ".spec.type", "string"),
            column("Cluster-IP", ".spec.clusterIP", "string"),
        ],
        ("coordination.k8s.io", "leases") => {
            vec![column("Holder", ".spec.holderIdentity", "string")]
        }
        _ => return Vec::new(),
    };
    let age = column("Age", ".metadata.creationTimestamp", "date");
    extra.into_iter().chain(std::iter::once(age)).collect()
}

fn built_in(b: &BuiltIn) -> Resource {
    let (group, version, plural, singular, kind, namespaced, short, cats, status, rule) = *b;
    Resource {
        group: group.into(),
        plural: plural.into(),
        singular: singular.into(),
        kind: kind.into(),
        list_kind: format!("{kind}List"),
        namespaced,
        short_names: strings(short),
        categories: strings(cats),
        versions: vec![Version {
            name: version.into(),
            served: true,
            storage: true,
            schema: minimal_schema(),
            status,
            columns: built_in_columns(group, plural),
        }],
        name_rule: rule,
        custom: false,
    }
}

/// Served resources keyed by `group/plural`.
#[derive(Clone, Debug)]
pub struct Registry {
    resources: BTreeMap<String, Resource>,
}

impl Default for Registry {
    fn default() -> Self {
        let resources = BUILT_INS
            .iter()
            .map(built_in)
            .map(|r| (r.id(), r))
            .collect();
        Registry { resources }
    }
}

impl Registry {
    pub fn get(&self, group: &str, plural: &str) -> Option<&Resource> {
        self.resources.get(&format!("{group}/{plural}"))
    }

    /// The resource serving `group/version/plural`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&Resource> {
        self.get(group, plural)
            .filter(|r| r.served_version(version).is_some())
    }

    /// Whether the resource with store key `id` (`group/plural`) is served.
    pub fn serves(&self, id: &str) -> bool {
        self.resources.contains_key(id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    /// Whether `group` is owned by a built-in kind (CRDs may not use it).
    pub fn is_builtin_group(&self, group: &str) -> bool {
        self.resources
            .values()
            .any(|r| !r.custom && r.group == group)
    }

    pub fn insert(&mut self, r: Resource) {
        self.resources.insert(r.id(), r);
    }

    pub fn remove(&mut self, group: &str, plural: &str) -> Option<Resource> {
        self.resources.remove(&format!("{group}/{plural}"))
    }

    /// Served group/versions in discovery order: `(group, [versions], preferred)`.
    pub fn groups(&self) -> Vec<(String, Vec<String>, String)> {
        let mut out: Vec<(String, Vec<String>, String)> = Vec::new();
        for r in self.resources.values() {
            let Some(pref) = r.preferred_version() else {
                continue;
            };
            let idx = match out.iter().position(|g| g.0 == r.group) {
                Some(i) => i,
                None => {
                    out.push((r.group.clone(), Vec::new(), pref.name.clone()));
                    out.len() - 1
                }
            };
            for v in r.versions.iter().filter(|v| v.served) {
                if !out[idx].1.contains(&v.name) {
                    out[idx].1.push(v.name.clone());
                }
            }
        }
        out
    }
}
