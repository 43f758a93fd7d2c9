//! DELETE and deletecollection: finalizers, namespace termination, CRD
//! termination (in `crd_cleanup`).

use serde_json::{json, Value};

use super::read::selector;
use super::{crd_cleanup, hooks, Reply, Req, Shared};
use crate::object::{finalizers, is_deleting, meta_str, now, subject};
use crate::registry::Resource;
use crate::status::{ApiError, ApiResult};
use crate::store::{EventType, Store};

/// `DeleteOptions.preconditions`, checked against the stored object.
fn check_preconditions(req: &Req, obj: &Value) -> ApiResult<()> {
    if req.body.is_empty() {
        return Ok(());
    }
    let opts: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
    let pre = &opts["preconditions"];
    for key in ["uid", "resourceVersion"] {
        if let Some(want) = pre[key].as_str() {
            if want != meta_str(obj, key) {
                let mut err = ApiError::conflict(&subject(&req.r, req.name()));
                err.message = format!(
                    "Precondition failed: {key} in precondition: {want}, {key} in object meta: {}",
                    meta_str(obj, key)
                );
                return Err(err);
            }
        }
    }
    Ok(())
}

pub(super) fn delete(shared: &Shared, req: &Req) -> ApiResult<Reply> {
    let mut st = shared.lock();
    let obj = st
        .get(&req.r.id(), req.ns(), req.name())
        .cloned()
        .ok_or_else(|| ApiError::not_found(&subject(&req.r, req.name())))?;
    check_preconditions(req, &obj)?;
    if req.dry_run() {
        return Ok(Reply::ok(req.present(obj)));
    }
    let after = delete_object(&mut st, &req.r, obj);
    Ok(Reply::ok(req.present(after)))
}

pub(super) fn delete_collection(shared: &Shared, req: &Req) -> ApiResult<Reply> {
    let sel = selector(req)?;
    let mut st = shared.lock();
    let targets: Vec<Value> = st
        .list(&req.r.id(), req.target.namespace.as_deref())
        .into_iter()
        .filter(|o| sel.matches(o))
        .collect();
    let items: Vec<Value> = targets
        .into_iter()
        .map(|o| req.present(delete_object(&mut st, &req.r, o)))
        .collect();
    Ok(Reply::ok(json!({
        "kind": req.r.list_kind,
        "apiVersion": req.r.api_version(&req.version.name),
        "metadata": { "resourceVersion": st.current_rv().to_string() },
        "items": items,
    })))
}

/// Marks the object deleted (finalizers present) or removes it. Returns its
/// state afterwards.
pub(crate) fn delete_object(st: &mut Store, r: &Resource, obj: Value) -> Value {
    if hooks::is_namespace(r) {
        return delete_namespace(st, r, obj);
    }
    if hooks::is_crd(r) {
        return crd_cleanup::delete_crd(st, obj);
    }
    if !finalizers(&obj).is_empty() {
        if is_deleting(&obj) {
            return obj;
        }
        let marked = mark_deleting(&obj);
        return st.put(&r.id(), EventType::Modified, marked, Some(obj));
    }
    let (ns, name) = (
        meta_str(&obj, "namespace").to_string(),
        meta_str(&obj, "name").to_string(),
    );
    let gone = st.remove(&r.id(), &ns, &name).unwrap_or(obj);
    hooks::after_removed(st, r, &gone);
    gone
}

fn mark_deleting(obj: &Value) -> Value {
    let mut marked = obj.clone();
    marked["metadata"]["deletionTimestamp"] = json!(now());
    marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    let g = obj["metadata"]["generation"].as_i64().unwrap_or(0);
    if g > 0 {
        marked["metadata"]["generation"] = json!(g + 1);
    }
    marked
}

/// Sets the namespace Terminating, deletes what is in it, and removes it once empty.
fn delete_namespace(st: &mut Store, r: &Resource, obj: Value) -> Value {
    let name = meta_str(&obj, "name").to_string();
    let mut last = obj.clone();
    if !is_deleting(&obj) {
        let mut marked = mark_deleting(&obj);
        match marked["status"].as_object_mut() {
            Some(status) => drop(status.insert("phase".into(), json!("Terminating"))),
            None => marked["status"] = json!({ "phase": "Terminating" }),
        }
        last = st.put(&r.id(), EventType::Modified, marked, Some(obj));
    }
    let namespaced: Vec<Resource> = st
        .registry
        .all()
        .filter(|x| x.namespaced)
        .cloned()
        .collect();
    for res in namespaced {
        for o in st.list(&res.id(), Some(&name)) {
            delete_object(st, &res, o);
        }
    }
    hooks::finish_namespace(st, &name);
    // Gone already when it was empty: answer with its last state.
    st.get(&r.id(), "", &name).cloned().unwrap_or(last)
}
