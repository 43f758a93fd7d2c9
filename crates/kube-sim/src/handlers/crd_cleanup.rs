//! Deleting a CRD as kube-apiserver does. The DELETE only marks it: it sets
//! `deletionTimestamp`, adds the cleanup finalizer and the `Terminating`
//! condition (apiextensions-apiserver `registry/customresourcedefinition/etcd.go`).
//! The CRD finalizer controller (`controller/finalizer/crd_finalizer.go`) then
//! deletes every object of the CRD, honouring their finalizers, and removes the
//! cleanup finalizer once none is left, which removes the CRD and its API.
//! Here the controller's work happens at once, within the request that made
//! progress possible (the DELETE, or the write that removed an object's last
//! finalizer), instead of polling every 5 s.

use serde_json::{json, Value};

use super::delete::delete_object;
use super::hooks;
use crate::crd::{self, condition_true, Condition, CLEANUP_FINALIZER};
use crate::object::{finalizers, is_deleting, meta_str, now};
use crate::registry::Resource;
use crate::status::{ApiError, ApiResult};
use crate::store::{EventType, Store};

const CRD_ID: &str = "apiextensions.k8s.io/customresourcedefinitions";

/// The name of the CRD serving `r`.
fn crd_name(r: &Resource) -> String {
    format!("{}.{}", r.plural, r.group)
}

/// DELETE of a CRD: marks it Terminating and starts the cleanup. Returns its
/// state as marked (a later DELETE of a marked CRD changes nothing).
pub(crate) fn delete_crd(st: &mut Store, crd: Value) -> Value {
    if is_deleting(&crd) {
        return crd;
    }
    let now = now();
    let mut marked = crd.clone();
    marked["metadata"]["deletionTimestamp"] = json!(now);
    let mut fins = finalizers(&crd);
    if !fins.iter().any(|f| f == CLEANUP_FINALIZER) {
        fins.push(CLEANUP_FINALIZER.to_string());
    }
    marked["metadata"]["finalizers"] = json!(fins);
    let pending = Condition {
        type_: "Terminating",
        status: "True",
        reason: "InstanceDeletionPending",
        message:
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
    };
    crd::set_condition(&mut marked, &pending, &now);
    let stored = st.put(CRD_ID, EventType::Modified, marked, Some(crd));
    sync(st, meta_str(&stored, "name"));
    stored
}

/// The CRD named `name` when it is being deleted and still has the cleanup finalizer.
fn cleaning(st: &Store, name: &str) -> Option<Value> {
    let crd = st.get(CRD_ID, "", name)?;
    let pending = is_deleting(crd) && finalizers(crd).iter().any(|f| f == CLEANUP_FINALIZER);
    pending.then(|| crd.clone())
}

/// Stores a changed `Terminating` condition (no write when it is already so).
fn set_terminating(st: &mut Store, crd: Value, c: &Condition<'_>) -> Value {
    let mut next = crd.clone();
    if !crd::set_condition(&mut next, c, &now()) {
        return crd;
    }
    st.put(CRD_ID, EventType::Modified, next, Some(crd))
}

/// The finalizer controller's sync of one CRD: deletes the objects not yet
/// being deleted, then finishes when none is left.
pub(crate) fn sync(st: &mut Store, name: &str) {
    let Some(crd) = cleaning(st, name) else {
        return;
    };
    let in_progress = Condition {
        type_: "Terminating",
        status: "True",
        reason: "InstanceDeletionInProgress",
        message: "CustomResource deletion is in progress",
    };
    let crd = set_terminating(st, crd, &in_progress);
    let (group, plural) = crd::served_id(&crd);
    if let Some(res) = st.registry.get(&group, &plural).cloned() {
        for obj in st.list(&res.id(), None) {
            delete_object(st, &res, obj);
        }
    }
    finish_if_empty(st, name);
}

/// Once no object of the CRD is left: `Terminating` False, the cleanup
/// finalizer gone, and the CRD removed when that was its last finalizer.
pub(crate) fn finish_if_empty(st: &mut Store, name: &str) {
    let Some(crd) = cleaning(st, name) else {
        return;
    };
    let (group, plural) = crd::served_id(&crd);
    if !st.list(&format!("{group}/{plural}"), None).is_empty() {
        return;
    }
    let mut done = crd.clone();
    let completed = Condition {
        type_: "Terminating",
        status: "False",
        reason: "InstanceDeletionCompleted",
        message: "removed all instances",
    };
    crd::set_condition(&mut done, &completed, &now());
    let rest: Vec<String> = finalizers(&crd)
        .into_iter()
        .filter(|f| f != CLEANUP_FINALIZER)
        .collect();
    done["metadata"]["finalizers"] = json!(rest);
    if !rest.is_empty() {
        st.put(CRD_ID, EventType::Modified, done, Some(crd));
        return;
    }
    let gone = st.remove_as(CRD_ID, done);
    if let Some(r) = st
        .registry
        .get("apiextensions.k8s.io", "customresourcedefinitions")
    {
        let r = r.clone();
        hooks::after_removed(st, &r, &gone);
    }
    // The real server tears down the resource's storage (`crdHandler.tearDown`),
    // which ends its open watches; a client's re-list is then answered 404.
    // Watches here do not know which resource they serve once it is unserved,
    // so every watch ends: a client resumes the others from its last
    // resourceVersion, as after any server-side close.
    st.close_watches();
}

/// After an object of a custom resource is stored: the cleanup of a
/// terminating CRD goes on, so an object an apply created meanwhile is
/// deleted too, as the controller's next sync would.
pub(crate) fn after_object_write(st: &mut Store, r: &Resource) {
    if r.custom {
        sync(st, &crd_name(r));
    }
}

/// After an object of a custom resource is gone: maybe it was the last one.
pub(crate) fn after_object_removed(st: &mut Store, r: &Resource) {
    if r.custom {
        finish_if_empty(st, &crd_name(r));
    }
}

/// 405 for a create while the resource's CRD is terminating, as the real
/// server's custom resource handler answers (apply and update still work).
pub(crate) fn check_create_allowed(st: &Store, r: &Resource) -> ApiResult<()> {
    if !r.custom {
        return Ok(());
    }
    let terminating = st
        .get(CRD_ID, "", &crd_name(r))
        .is_some_and(|crd| condition_true(crd, "Terminating"));
    if !terminating {
        return Ok(());
    }
    Err(ApiError::method_not_allowed(
        "create not allowed while custom resource definition is terminating",
    )
    .with_details(json!({ "group": r.group, "kind": r.plural })))
}
