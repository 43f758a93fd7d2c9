//! What built-in kinds do beyond storing: CRDs start or stop serving their
//! resources, namespaces carry a phase and disappear once empty.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{json, Value};

use super::crd_cleanup;
use crate::crd;
use crate::object::{finalizers, is_deleting, meta_str};
use crate::registry::Resource;
use crate::status::{ApiError, ApiResult, Cause};
use crate::store::Store;

const CRD_ID: &str = "apiextensions.k8s.io/customresourcedefinitions";
const NAMESPACE_ID: &str = "/namespaces";

pub(crate) fn is_crd(r: &Resource) -> bool {
    r.id() == CRD_ID
}

pub(crate) fn is_namespace(r: &Resource) -> bool {
    r.id() == NAMESPACE_ID
}

fn reserved_group(st: &Store, res: &Resource, name: &str) -> ApiResult<()> {
    if !st.registry.is_builtin_group(&res.group) {
        return Ok(());
    }
    let cause = Cause {
        reason: "FieldValueInvalid".into(),
        field: "spec.group".into(),
        message: format!(
            "Invalid value: \"{}\": the group is served by a built-in API",
            res.group
        ),
    };
    Err(ApiError::invalid(
        "CustomResourceDefinition",
        "apiextensions.k8s.io",
        name,
        vec![cause],
    ))
}

/// Fills in what the server sets on create; validates CRDs.
pub(crate) fn prepare_create(
    st: &Store,
    r: &Resource,
    obj: &mut Value,
    now: &str,
) -> ApiResult<()> {
    if is_crd(r) {
        let res = crd::resource_of(obj)?;
        reserved_group(st, &res, meta_str(obj, "name"))?;
        crd::set_established(obj, &res, now);
    } else if r.id() == "/secrets" && obj["type"].as_str().unwrap_or("").is_empty() {
        obj["type"] = json!("Opaque");
    } else if is_namespace(r) {
        obj["status"] = json!({ "phase": "Active" });
        if obj["spec"]["finalizers"].is_null() {
            obj["spec"] = json!({ "finalizers": ["kubernetes"] });
        }
    }
    Ok(())
}

/// What the server does to every write of a kind: a Secret's write-only
/// `stringData` is merged into `data` (base64) and dropped.
pub(crate) fn normalize(r: &Resource, obj: &mut Value) {
    if r.id() != "/secrets" {
        return;
    }
    let Some(string_data) = obj.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    let Some(entries) = string_data.as_object() else {
        return;
    };
    if !obj["data"].is_object() {
        obj["data"] = json!({});
    }
    if let Some(data) = obj["data"].as_object_mut() {
        for (k, v) in entries {
            let text = v.as_str().unwrap_or_default();
            data.insert(k.clone(), json!(BASE64.encode(text)));
        }
    }
}

/// Validates a CRD update (names may not move) and refreshes its status.
pub(crate) fn prepare_update(
    r: &Resource,
    old: &Value,
    new: &mut Value,
    status_only: bool,
) -> ApiResult<()> {
    if !is_crd(r) || status_only {
        return Ok(());
    }
    let res = crd::resource_of(new)?;
    if crd::served_id(old) != crd::served_id(new) {
        let cause = Cause {
            reason: "FieldValueInvalid".into(),
            field: "spec.names.plural".into(),
            message: "Invalid value: field is immutable".into(),
        };
        return Err(ApiError::invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            meta_str(new, "name"),
            vec![cause],
        ));
    }
    let since = old["status"]["conditions"][0]["lastTransitionTime"]
        .as_str()
        .unwrap_or("")
        .to_string();
    crd::set_established(new, &res, &since);
    Ok(())
}

/// After an object is stored: a CRD serves what it defines now; an object of
/// a terminating CRD is deleted in turn.
pub(crate) fn after_write(st: &mut Store, r: &Resource, obj: &Value) {
    crd_cleanup::after_object_write(st, r);
    if !is_crd(r) || is_deleting(obj) {
        return;
    }
    if let Ok(res) = crd::resource_of(obj) {
        st.registry.insert(res);
    }
}

/// After an object is gone for good: a CRD stops serving its resource (its
/// objects are gone already, unless someone removed the cleanup finalizer by
/// hand: then they stay stored, unserved, and come back with a new CRD of the
/// same name, as in etcd); a terminating CRD or namespace may now be empty.
pub(crate) fn after_removed(st: &mut Store, r: &Resource, obj: &Value) {
    if is_crd(r) {
        let (group, plural) = crd::served_id(obj);
        st.registry.remove(&group, &plural);
    }
    crd_cleanup::after_object_removed(st, r);
    let ns = meta_str(obj, "namespace").to_string();
    if !ns.is_empty() {
        finish_namespace(st, &ns);
    }
}

/// Removes a terminating namespace once nothing is left in it.
pub(crate) fn finish_namespace(st: &mut Store, ns: &str) {
    let Some(obj) = st.get(NAMESPACE_ID, "", ns) else {
        return;
    };
    if is_deleting(obj) && finalizers(obj).is_empty() && st.namespace_is_empty(ns) {
        st.remove(NAMESPACE_ID, "", ns);
    }
}

/// 404 for a missing namespace, 403 for one being deleted.
pub(crate) fn check_namespace(st: &Store, r: &Resource, ns: &str, name: &str) -> ApiResult<()> {
    if !r.namespaced {
        return Ok(());
    }
    let Some(obj) = st.get(NAMESPACE_ID, "", ns) else {
        return Err(ApiError::not_found(&crate::status::Subject {
            group: String::new(),
            plural: "namespaces".into(),
            name: ns.to_string(),
        }));
    };
    if is_deleting(obj) {
        let why = format!(
            "unable to create new content in namespace {ns} because it is being terminated"
        );
        let subject = crate::object::subject(r, name);
        let message = format!("namespace {ns} is being terminated");
        return Err(ApiError::forbidden(
            &subject,
            &why,
            Some(("NamespaceTerminating", &message)),
        ));
    }
    Ok(())
}

/// A fresh namespace object, as the server creates `default` and `kube-system`.
pub(crate) fn namespace_object(name: &str, now: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": uuid::Uuid::new_v4().to_string(),
            "creationTimestamp": now,
            "labels": { "kubernetes.io/metadata.name": name },
        },
        "spec": { "finalizers": ["kubernetes"] },
        "status": { "phase": "Active" },
    })
}

pub(crate) const NAMESPACES: &str = NAMESPACE_ID;
