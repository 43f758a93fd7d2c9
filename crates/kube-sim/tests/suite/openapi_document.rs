//! The OpenAPI v3 documents and index that `kubectl explain` reads.

use kube_sim::openapi::{
    document_hash, group_version_document, index, index_for, schema_name, KindSchema,
};
use serde_json::{json, Value};

fn chatgroup(description: &str) -> KindSchema {
    KindSchema {
        group: "im.chatgroup.dev".into(),
        version: "v1alpha1".into(),
        kind: "ChatGroup".into(),
        plural: "chatgroups".into(),
        namespaced: true,
        schema: json!({
            "type": "object",
            "description": "A chat group.",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {
                    "type": "object",
                    "description": "The desired group.",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 30, "description": description},
                        "members": {"type": "array", "items": {"type": "object", "properties": {
                            "userId": {"type": "string", "description": "The member's account id."}
                        }}}
                    }
                }
            }
        }),
    }
}

fn cluster_kind() -> KindSchema {
    KindSchema {
        group: "im.chatgroup.dev".into(),
        version: "v1alpha1".into(),
        kind: "ChatProvider".into(),
        plural: "chatproviders".into(),
        namespaced: false,
        schema: json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
    }
}

const GV: &str = "apis/im.chatgroup.dev/v1alpha1";

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|c| collect_refs(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}

#[test]
fn crd_schemas_are_named_with_the_reversed_group_and_carry_their_gvk() {
    let doc = group_version_document(GV, &[chatgroup("The group's name.")]);
    let schemas = &doc["components"]["schemas"];
    let gvk = json!([{"group": "im.chatgroup.dev", "version": "v1alpha1", "kind": "ChatGroup"}]);
    assert_eq!(
        schemas["dev.chatgroup.im.v1alpha1.ChatGroup"]["x-kubernetes-group-version-kind"],
        gvk
    );
    assert_eq!(
        schemas["dev.chatgroup.im.v1alpha1.ChatGroupList"]["x-kubernetes-group-version-kind"][0]
            ["kind"],
        "ChatGroupList"
    );
    assert_eq!(doc["openapi"], "3.0.0");
}

#[test]
fn field_descriptions_of_the_crd_schema_are_kept() {
    let doc = group_version_document(GV, &[chatgroup("The group's name.")]);
    let spec =
        &doc["components"]["schemas"]["dev.chatgroup.im.v1alpha1.ChatGroup"]["properties"]["spec"];
    assert_eq!(spec["description"], "The desired group.");
    assert_eq!(
        spec["properties"]["name"]["description"],
        "The group's name."
    );
    assert_eq!(
        spec["properties"]["members"]["items"]["properties"]["userId"]["description"],
        "The member's account id."
    );
    assert_eq!(spec["required"], json!(["name"]));
}

#[test]
fn metadata_refers_to_object_meta_with_documented_fields() {
    let doc = group_version_document(GV, &[chatgroup("n")]);
    let schemas = &doc["components"]["schemas"];
    let meta = &schemas["dev.chatgroup.im.v1alpha1.ChatGroup"]["properties"]["metadata"];
    assert_eq!(
        meta["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    let object_meta = &schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"];
    for field in [
        "name",
        "namespace",
        "labels",
        "annotations",
        "uid",
        "resourceVersion",
        "finalizers",
    ] {
        assert!(
            object_meta[field]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{field}"
        );
    }
    let kind = &schemas["dev.chatgroup.im.v1alpha1.ChatGroup"]["properties"]["kind"];
    assert!(kind["description"]
        .as_str()
        .is_some_and(|d| d.starts_with("Kind is a string value")));
}

#[test]
fn every_reference_in_the_document_resolves() {
    let doc = group_version_document(GV, &[chatgroup("n"), cluster_kind()]);
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 10);
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a components ref");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "unresolved {r}"
        );
    }
}

#[test]
fn paths_cover_the_verbs_of_namespaced_and_cluster_kinds() {
    let doc = group_version_document(GV, &[chatgroup("n"), cluster_kind()]);
    let paths = &doc["paths"];
    let ns = "/apis/im.chatgroup.dev/v1alpha1/namespaces/{namespace}/chatgroups";
    assert_eq!(
        paths[ns]["get"]["operationId"],
        "listImChatgroupDevV1alpha1NamespacedChatGroup"
    );
    assert_eq!(paths[ns]["post"]["x-kubernetes-action"], "post");
    assert_eq!(
        paths[ns]["delete"]["x-kubernetes-action"],
        "deletecollection"
    );
    let item = format!("{ns}/{{name}}");
    for (verb, action) in [
        ("get", "get"),
        ("put", "put"),
        ("patch", "patch"),
        ("delete", "delete"),
    ] {
        assert_eq!(paths[&item][verb]["x-kubernetes-action"], action, "{verb}");
        assert_eq!(
            paths[&item][verb]["x-kubernetes-group-version-kind"]["kind"],
            "ChatGroup"
        );
    }
    assert_eq!(
        paths[&item]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/dev.chatgroup.im.v1alpha1.ChatGroup"
    );
    let all = &paths["/apis/im.chatgroup.dev/v1alpha1/chatgroups"]["get"];
    assert_eq!(
        all["operationId"],
        "listImChatgroupDevV1alpha1ChatGroupForAllNamespaces"
    );
    let cluster = "/apis/im.chatgroup.dev/v1alpha1/chatproviders/{name}";
    assert_eq!(
        paths[cluster]["get"]["operationId"],
        "readImChatgroupDevV1alpha1ChatProvider"
    );
    assert_eq!(
        paths[cluster]["get"]["tags"],
        json!(["imChatgroupDev_v1alpha1"])
    );
}

#[test]
fn built_in_kinds_use_the_go_package_names() {
    assert_eq!(
        schema_name("", "v1", "ConfigMap"),
        "io.k8s.api.core.v1.ConfigMap"
    );
    assert_eq!(
        schema_name("coordination.k8s.io", "v1", "Lease"),
        "io.k8s.api.coordination.v1.Lease"
    );
    assert_eq!(
        schema_name("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
    );
}

#[test]
fn the_index_hash_follows_the_document_and_changes_with_the_schema() {
    let before = index_for(&[chatgroup("The group's name.")]);
    let again = index_for(&[chatgroup("The group's name.")]);
    let after = index_for(&[chatgroup("A different description.")]);
    let url = |v: &Value| {
        v["paths"][GV]["serverRelativeURL"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(url(&before), url(&again));
    assert_ne!(url(&before), url(&after));
    let doc = group_version_document(GV, &[chatgroup("The group's name.")]);
    assert_eq!(
        url(&before),
        format!("/openapi/v3/{GV}?hash={}", document_hash(&doc))
    );
    let hash = document_hash(&doc);
    assert_eq!(hash.len(), 128);
    assert!(hash
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
}

#[test]
fn the_path_only_index_lists_every_group_version() {
    let idx = index(&["api/v1".to_string(), GV.to_string()]);
    let paths = idx["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 2);
    assert!(paths["api/v1"]["serverRelativeURL"]
        .as_str()
        .is_some_and(|u| u.starts_with("/openapi/v3/api/v1?hash=")));
}
