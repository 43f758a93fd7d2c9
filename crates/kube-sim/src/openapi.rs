//! OpenAPI v3 documents for the served group/versions, built from CRD schemas, so
//! that `kubectl explain` and client-side tooling work.
//!
//! The shapes follow the real server's CRD builder
//! (`apiextensions-apiserver/pkg/controller/openapi/builder`): schemas named
//! with the reversed group (`im.chatgroup.dev` → `dev.chatgroup.im.v1alpha1.ChatGroup`),
//! `x-kubernetes-group-version-kind` on schemas and operations, `metadata` as a
//! reference to `ObjectMeta`, and list/get/create/replace/patch/delete paths.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

mod meta;

use meta::{add_type_meta, meta_schemas};

/// What the OpenAPI builder needs to know about one served kind.
#[derive(Clone, Debug)]
pub struct KindSchema {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// The CRD version's `openAPIV3Schema`, or a minimal schema for built-in kinds.
    pub schema: Value,
}

/// The package of the meta/v1 schemas every document refers to.
pub(crate) const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";
pub(crate) const CONVENTIONS: &str =
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md";

/// The `/openapi/v3` index for paths like `api/v1` and
/// `apis/im.chatgroup.dev/v1alpha1`. Without the documents the hash can only
/// name the path; prefer [`index_for`], whose hashes change with the schemas.
pub fn index(group_versions: &[String]) -> Value {
    let docs: Vec<(String, String)> = group_versions
        .iter()
        .map(|gv| (gv.clone(), document_hash(&json!(gv))))
        .collect();
    index_from_hashes(&docs)
}

/// The `/openapi/v3` index for every group/version the kinds belong to, each
/// URL carrying the hash of the document [`group_version_document`] builds,
/// so clients that cache by URL refetch when a schema changes.
pub fn index_for(kinds: &[KindSchema]) -> Value {
    let mut by_gv: BTreeMap<String, Vec<KindSchema>> = BTreeMap::new();
    for k in kinds {
        by_gv
            .entry(gv_path(&k.group, &k.version))
            .or_default()
            .push(k.clone());
    }
    let docs: Vec<(String, String)> = by_gv
        .iter()
        .map(|(gv, ks)| (gv.clone(), document_hash(&group_version_document(gv, ks))))
        .collect();
    index_from_hashes(&docs)
}

fn index_from_hashes(docs: &[(String, String)]) -> Value {
    let paths: Map<String, Value> = docs
        .iter()
        .map(|(gv, hash)| {
            let url = format!("/openapi/v3/{gv}?hash={hash}");
            (gv.clone(), json!({ "serverRelativeURL": url }))
        })
        .collect();
    json!({ "paths": paths })
}

/// The hash the real server puts in `?hash=`: SHA-512 of the document, upper-case hex.
pub fn document_hash(document: &Value) -> String {
    let bytes = serde_json::to_vec(document).unwrap_or_default();
    Sha512::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// `api/v1` for the core group, `apis/{group}/{version}` otherwise.
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The `components.schemas` key of a kind: the reversed group for custom
/// resources, the Go package name the real server uses for built-in kinds.
pub fn schema_name(group: &str, version: &str, kind: &str) -> String {
    let package = match group {
        "" => "io.k8s.api.core".to_string(),
        "apiextensions.k8s.io" => "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".into(),
        g if !g.contains('.') || g.ends_with(".k8s.io") => {
            let short = g.split('.').next().unwrap_or(g);
            format!("io.k8s.api.{short}")
        }
        g => g.split('.').rev().collect::<Vec<_>>().join("."),
    };
    format!("{package}.{version}.{kind}")
}

pub(crate) fn schema_ref(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

/// The document served at `/openapi/v3/{gv_path}`.
pub fn group_version_document(gv_path: &str, kinds: &[KindSchema]) -> Value {
    let _ = gv_path; // the kinds carry their group/version
    let mut schemas: Map<String, Value> = meta_schemas();
    let mut paths = Map::new();
    for k in kinds {
        let name = schema_name(&k.group, &k.version, &k.kind);
        let list_name = format!("{name}List");
        schemas.insert(name.clone(), kind_schema(k));
        schemas.insert(list_name.clone(), list_schema(k, &name));
        for (path, item) in kind_paths(k, &name, &list_name) {
            paths.insert(path, item);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": "unversioned" },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "BearerToken": {
                "type": "apiKey", "description": "Bearer Token authentication",
                "name": "authorization", "in": "header"
            }}
        },
        "security": [{ "BearerToken": [] }],
    })
}

fn gvk(k: &KindSchema, kind: &str) -> Value {
    json!({ "group": k.group, "version": k.version, "kind": kind })
}

/// The CRD schema with type meta, `metadata` as an `ObjectMeta` reference and the GVK.
fn kind_schema(k: &KindSchema) -> Value {
    let mut s = match &k.schema {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    s.entry("type").or_insert_with(|| json!("object"));
    let props = s.entry("properties").or_insert_with(|| json!({}));
    if let Value::Object(props) = props {
        add_type_meta(props);
        props.insert(
            "metadata".into(),
            json!({
                "allOf": [{ "$ref": schema_ref(&format!("{META}.ObjectMeta")) }],
                "description": format!("Standard object's metadata. More info: {CONVENTIONS}#metadata"),
            }),
        );
    }
    s.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([gvk(k, &k.kind)]),
    );
    Value::Object(s)
}

fn list_schema(k: &KindSchema, item_name: &str) -> Value {
    let mut props = Map::new();
    add_type_meta(&mut props);
    props.insert(
        "items".into(),
        json!({
            "type": "array",
            "description": format!("List of {}. More info: {CONVENTIONS}", k.plural),
            "items": { "$ref": schema_ref(item_name) },
        }),
    );
    props.insert(
        "metadata".into(),
        json!({
            "allOf": [{ "$ref": schema_ref(&format!("{META}.ListMeta")) }],
            "description": format!("Standard list metadata. More info: {CONVENTIONS}#types-kinds"),
        }),
    );
    json!({
        "type": "object",
        "description": format!("{}List is a list of {}", k.kind, k.kind),
        "required": ["items"],
        "properties": props,
        "x-kubernetes-group-version-kind": [gvk(k, &format!("{}List", k.kind))],
    })
}

/// `listImChatgroupDevV1alpha1NamespacedChatGroup`, as kube-openapi's
/// `GetOperationIDAndTags` builds it; also returns the tag.
fn operation_id(k: &KindSchema, verb: &str, rest: &str) -> (String, String) {
    let group = if k.group.is_empty() {
        "core"
    } else {
        k.group.trim_end_matches(".k8s.io")
    };
    let id_part = |s: &str, cap: bool| {
        let mut out = String::new();
        let mut upper = cap;
        for (i, c) in s.chars().enumerate() {
            if c.is_alphabetic() || c == '_' || (i != 0 && c.is_ascii_digit()) {
                out.extend(if upper {
                    c.to_uppercase().collect::<Vec<_>>()
                } else {
                    vec![c]
                });
                upper = false;
            } else {
                upper = true;
            }
        }
        out
    };
    let id = format!(
        "{verb}{}{}{rest}",
        id_part(group, true),
        id_part(&k.version, true)
    );
    let tag = format!("{}_{}", id_part(group, false), id_part(&k.version, false));
    (id, tag)
}

fn content(schema_name: &str) -> Value {
    let schema = json!({ "$ref": schema_ref(schema_name) });
    json!({ "application/json": { "schema": schema }, "application/yaml": { "schema": schema } })
}

/// One operation object.
fn operation(
    k: &KindSchema,
    action: &str,
    verb: &str,
    rest: &str,
    doc: &str,
    returns: &str,
) -> Value {
    let (id, tag) = operation_id(k, verb, rest);
    let mut op = json!({
        "tags": [tag],
        "description": doc,
        "operationId": id,
        "responses": {
            "200": { "description": "OK", "content": content(returns) },
            "401": { "description": "Unauthorized" }
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(k, &k.kind),
    });
    let body = |types: &[&str], schema: &str| {
        let c: Map<String, Value> = types
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    json!({ "schema": { "$ref": schema_ref(schema) } }),
                )
            })
            .collect();
        json!({ "content": c, "required": true })
    };
    match action {
        "post" | "put" => op["requestBody"] = body(&["*/*"], returns),
        "patch" => {
            let types = [
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ];
            op["requestBody"] = body(&types, &format!("{META}.Patch"));
        }
        "list" | "deletecollection" => op["parameters"] = list_parameters(),
        _ => {}
    }
    op
}

fn query(name: &str, kind: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "description": description, "schema": { "type": kind, "uniqueItems": true } })
}

fn list_parameters() -> Value {
    json!([
        query(
            "continue",
            "string",
            "The continue option should be set when retrieving more results from the server."
        ),
        query(
            "fieldSelector",
            "string",
            "A selector to restrict the list of returned objects by their fields. Defaults to everything."
        ),
        query(
            "labelSelector",
            "string",
            "A selector to restrict the list of returned objects by their labels. Defaults to everything."
        ),
        query(
            "limit",
            "integer",
            "limit is a maximum number of responses to return for a list call."
        ),
        query(
            "resourceVersion",
            "string",
            "resourceVersion sets a constraint on what resource versions a request may be served from."
        ),
        query(
            "timeoutSeconds",
            "integer",
            "Timeout for the list/watch call."
        ),
        query(
            "watch",
            "boolean",
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."
        ),
    ])
}

fn path_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "description": description, "required": true, "schema": { "type": "string", "uniqueItems": true } })
}

/// The list, collection and item paths of one kind (plus the all-namespaces list).
fn kind_paths(k: &KindSchema, name: &str, list_name: &str) -> Vec<(String, Value)> {
    let base = format!("/{}", gv_path(&k.group, &k.version));
    let ns = if k.namespaced { "Namespaced" } else { "" };
    let pretty = query(
        "pretty",
        "string",
        "If 'true', then the output is pretty printed.",
    );
    let article = if k.kind.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    let status = format!("{META}.Status");
    let mut out = Vec::new();
    let (collection, mut params) = if k.namespaced {
        let all = json!({
            "get": operation(k, "list", "list", &format!("{}ForAllNamespaces", k.kind), &format!("list objects of kind {}", k.kind), list_name),
            "parameters": [pretty.clone()],
        });
        out.push((format!("{base}/{}", k.plural), all));
        let ns_param = path_param(
            "namespace",
            "object name and auth scope, such as for teams and projects",
        );
        (
            format!("{base}/namespaces/{{namespace}}/{}", k.plural),
            vec![ns_param, pretty],
        )
    } else {
        (format!("{base}/{}", k.plural), vec![pretty])
    };
    let kind_rest = format!("{ns}{}", k.kind);
    out.push((collection.clone(), json!({
        "get": operation(k, "list", "list", &kind_rest, &format!("list objects of kind {}", k.kind), list_name),
        "post": operation(k, "post", "create", &kind_rest, &format!("create {article} {}", k.kind), name),
        "delete": operation(k, "deletecollection", "deletecollection", &kind_rest, &format!("delete collection of {}", k.kind), &status),
        "parameters": params.clone(),
    })));
    params.insert(0, path_param("name", &format!("name of the {}", k.kind)));
    out.push((format!("{collection}/{{name}}"), json!({
        "get": operation(k, "get", "read", &kind_rest, &format!("read the specified {}", k.kind), name),
        "put": operation(k, "put", "replace", &kind_rest, &format!("replace the specified {}", k.kind), name),
        "patch": operation(k, "patch", "patch", &kind_rest, &format!("partially update the specified {}", k.kind), name),
        "delete": operation(k, "delete", "delete", &kind_rest, &format!("delete {article} {}", k.kind), &status),
        "parameters": params,
    })));
    out
}
