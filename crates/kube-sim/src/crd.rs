//! CustomResourceDefinitions: turning one into a served [`Resource`] and its status.

/// The finalizer a CRD's DELETE adds; removed once its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

use serde_json::{json, Value};

use crate::registry::{Column, NameRule, Resource, Version};
use crate::status::{ApiError, ApiResult, Cause};

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn str_list(v: &Value, ptr: &str) -> Vec<String> {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired".into(),
        field: field.into(),
        message: "Required value".into(),
    }
}

fn invalid(field: &str, value: &str, why: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        field: field.into(),
        message: format!("Invalid value: \"{value}\": {why}"),
    }
}

fn column(c: &Value) -> Column {
    Column {
        name: str_at(c, "/name").into(),
        type_: str_at(c, "/type").into(),
        format: str_at(c, "/format").into(),
        description: str_at(c, "/description").into(),
        priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
        json_path: str_at(c, "/jsonPath").into(),
    }
}

fn version(v: &Value) -> Version {
    let columns = v
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
        .map(|cols| cols.iter().map(column).collect())
        .unwrap_or_default();
    Version {
        name: str_at(v, "/name").into(),
        served: v.get("served").and_then(Value::as_bool).unwrap_or(false),
        storage: v.get("storage").and_then(Value::as_bool).unwrap_or(false),
        schema: v
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_else(
                || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            ),
        status: v.pointer("/subresources/status").is_some(),
        columns,
    }
}

fn check_causes(crd: &Value, res: &Resource) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = str_at(crd, "/metadata/name");
    for (field, value) in [
        ("spec.group", &res.group),
        ("spec.names.plural", &res.plural),
        ("spec.names.kind", &res.kind),
    ] {
        if value.is_empty() {
            causes.push(required(field));
        }
    }
    let expected = format!("{}.{}", res.plural, res.group);
    if name != expected {
        causes.push(invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if !res.group.contains('.') {
        causes.push(invalid(
            "spec.group",
            &res.group,
            "should be a domain with at least one dot",
        ));
    }
    let scope = str_at(crd, "/spec/scope");
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause {
            reason: "FieldValueNotSupported".into(),
            field: "spec.scope".into(),
            message: format!(
                "Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""
            ),
        });
    }
    if res.versions.is_empty() {
        causes.push(required("spec.versions"));
    } else if res.versions.iter().filter(|v| v.storage).count() != 1 {
        causes.push(invalid(
            "spec.versions",
            "",
            "must have exactly one version marked as storage version",
        ));
    }
    causes
}

/// The resource a CRD defines, or 422 Invalid when the CRD is malformed.
pub fn resource_of(crd: &Value) -> ApiResult<Resource> {
    let kind = str_at(crd, "/spec/names/kind").to_string();
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().map(version).collect())
        .unwrap_or_default();
    let list_kind = match str_at(crd, "/spec/names/listKind") {
        "" => format!("{kind}List"),
        lk => lk.to_string(),
    };
    let singular = match str_at(crd, "/spec/names/singular") {
        "" => kind.to_lowercase(),
        s => s.to_string(),
    };
    let res = Resource {
        group: str_at(crd, "/spec/group").into(),
        plural: str_at(crd, "/spec/names/plural").into(),
        singular,
        kind,
        list_kind,
        namespaced: str_at(crd, "/spec/scope") != "Cluster",
        short_names: str_list(crd, "/spec/names/shortNames"),
        categories: str_list(crd, "/spec/names/categories"),
        versions,
        name_rule: NameRule::Subdomain,
        custom: true,
    };
    let causes = check_causes(crd, &res);
    if causes.is_empty() {
        Ok(res)
    } else {
        let name = str_at(crd, "/metadata/name");
        Err(ApiError::invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            name,
            causes,
        ))
    }
}

/// Sets the status a real API server reports once the names are accepted,
/// keeping conditions of other types (such as `Terminating`).
pub fn set_established(crd: &mut Value, res: &Resource, now: &str) {
    let others: Vec<Value> = crd["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter(|c| !matches!(c["type"].as_str(), Some("NamesAccepted" | "Established")))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let accepted = json!({
        "plural": res.plural,
        "singular": res.singular,
        "kind": res.kind,
        "listKind": res.list_kind,
        "shortNames": res.short_names,
        "categories": res.categories,
    });
    let condition = |t: &str, reason: &str, message: &str| {
        json!({
            "type": t,
            "status": "True",
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        })
    };
    let stored: Vec<&str> = res
        .versions
        .iter()
        .filter(|v| v.storage)
        .map(|v| v.name.as_str())
        .collect();
    let mut conditions = vec![
        condition("NamesAccepted", "NoConflicts", "no conflicts found"),
        condition(
            "Established",
            "InitialNamesAccepted",
            "the initial names have been accepted",
        ),
    ];
    conditions.extend(others);
    crd["status"] = json!({
        "acceptedNames": accepted,
        "conditions": conditions,
        "storedVersions": stored,
    });
}

/// One status condition of a CRD.
pub struct Condition<'a> {
    pub type_: &'a str,
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

/// Adds or updates a condition as the server's `SetCRDCondition` does: the
/// transition time moves only when the status changes. False when nothing changed.
pub fn set_condition(crd: &mut Value, c: &Condition<'_>, now: &str) -> bool {
    if !crd["status"].is_object() {
        crd["status"] = json!({});
    }
    if !crd["status"]["conditions"].is_array() {
        crd["status"]["conditions"] = json!([]);
    }
    let Some(list) = crd["status"]["conditions"].as_array_mut() else {
        return false;
    };
    let fresh = json!({
        "type": c.type_,
        "status": c.status,
        "lastTransitionTime": now,
        "reason": c.reason,
        "message": c.message,
    });
    let Some(old) = list.iter_mut().find(|x| x["type"] == c.type_) else {
        list.push(fresh);
        return true;
    };
    if old["status"] == c.status && old["reason"] == c.reason && old["message"] == c.message {
        return false;
    }
    let since = old["lastTransitionTime"].clone();
    let same_status = old["status"] == c.status;
    *old = fresh;
    if same_status {
        old["lastTransitionTime"] = since;
    }
    true
}

/// Whether the CRD has condition `type_` with status True.
pub fn condition_true(crd: &Value, type_: &str) -> bool {
    crd["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == type_ && c["status"] == "True")
    })
}

/// The CRD's `spec.group` and `spec.names.plural`, to find what it serves.
pub fn served_id(crd: &Value) -> (String, String) {
    (
        str_at(crd, "/spec/group").to_string(),
        str_at(crd, "/spec/names/plural").to_string(),
    )
}
