//! Create (POST) and update (PUT), and the update rules every write path shares.

use serde_json::{json, Value};

use super::{admit, crd_cleanup, decode_object, hooks, Reply, Req, Shared};
use crate::fields::Writer;
use crate::object::{
    self, check_no_new_finalizers, finalizers, generation_changed, is_deleting,
    keep_server_metadata, meta_str, subject,
};
use crate::status::{ApiError, ApiResult};
use crate::store::{EventType, Store};

/// kind and apiVersion, when given, must be the ones of the URL.
fn check_type(req: &Req, obj: &mut Value) -> ApiResult<()> {
    let api_version = req.r.api_version(&req.version.name);
    let kind = obj["kind"].as_str().unwrap_or("");
    let av = obj["apiVersion"].as_str().unwrap_or("");
    if (!kind.is_empty() && kind != req.r.kind) || (!av.is_empty() && av != api_version) {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({api_version}) or the kind ({kind}) is not {}",
            req.r.kind
        )));
    }
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(req.r.kind);
    Ok(())
}

/// Namespace of the body must be the URL's; cluster-scoped objects have none.
fn place(req: &Req, obj: &mut Value) -> ApiResult<()> {
    match &obj["metadata"] {
        Value::Object(_) => {}
        Value::Null => obj["metadata"] = json!({}),
        _ => return Err(ApiError::bad_request("metadata must be an object")),
    }
    let body_ns = object::meta_str(obj, "namespace").to_string();
    if req.r.namespaced {
        if !body_ns.is_empty() && body_ns != req.ns() {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        obj["metadata"]["namespace"] = json!(req.ns());
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("namespace");
    }
    Ok(())
}

pub(super) fn create(shared: &Shared, req: &Req) -> ApiResult<Reply> {
    let mut st = shared.lock();
    crd_cleanup::check_create_allowed(&st, &req.r)?;
    let obj = decode_object(req)?;
    create_locked(&mut st, req, obj, false)
}

/// Creates `obj` (already decoded) — also the path of an apply to a missing object.
pub(super) fn create_locked(
    st: &mut Store,
    req: &Req,
    mut obj: Value,
    apply: bool,
) -> ApiResult<Reply> {
    check_type(req, &mut obj)?;
    place(req, &mut obj)?;
    if meta_str(&obj, "name").is_empty() {
        let prefix = meta_str(&obj, "generateName").to_string();
        if !prefix.is_empty() {
            obj["metadata"]["name"] = json!(object::generate_name(&prefix));
        }
    }
    let name = meta_str(&obj, "name").to_string();
    object::validate_name(&req.r, &name)?;
    hooks::check_namespace(st, &req.r, req.ns(), &name)?;
    if st.get(&req.r.id(), req.ns(), &name).is_some() {
        return Err(ApiError::already_exists(&subject(&req.r, &name)));
    }
    let now = object::now();
    if let Some(m) = obj["metadata"].as_object_mut() {
        for k in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
            "managedFields",
        ] {
            m.remove(k);
        }
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now));
        m.insert("generation".into(), json!(1));
    }
    if req.version.status {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    hooks::normalize(&req.r, &mut obj);
    hooks::prepare_create(st, &req.r, &mut obj, &now)?;
    let applied = obj.clone();
    let warnings = admit(req, &mut obj, None)?;
    let (manager, api_version) = (req.manager(), req.r.api_version(&req.version.name));
    let writer = Writer {
        manager: &manager,
        api_version: &api_version,
        now: &now,
        scope: req.scope(),
    };
    if apply {
        writer.apply(&Value::Null, &Value::Null, &applied, &mut obj, true)?;
    } else {
        writer.update(&Value::Null, &Value::Null, &mut obj);
    }
    if req.dry_run() {
        return Ok(Reply {
            code: 201,
            body: req.present(obj),
            warnings,
        });
    }
    let stored = st.put(&req.r.id(), EventType::Added, obj, None);
    hooks::after_write(st, &req.r, &stored);
    Ok(Reply {
        code: 201,
        body: req.present(stored),
        warnings,
    })
}

pub(super) fn update(shared: &Shared, req: &Req) -> ApiResult<Reply> {
    let mut obj = decode_object(req)?;
    check_type(req, &mut obj)?;
    let body_name = meta_str(&obj, "name");
    if !body_name.is_empty() && body_name != req.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            req.name()
        )));
    }
    let mut st = shared.lock();
    let old = st
        .get(&req.r.id(), req.ns(), req.name())
        .cloned()
        .ok_or_else(|| ApiError::not_found(&subject(&req.r, req.name())))?;
    commit_update(&mut st, req, &old, obj, false)
}

/// Takes status from `new` only (status subresource), or everything but status
/// (main resource of a kind with a status subresource).
fn split_status(req: &Req, old: &Value, new: Value) -> Value {
    if req.status_only() {
        let mut merged = old.clone();
        match new.get("status") {
            Some(s) => merged["status"] = s.clone(),
            None => {
                if let Some(m) = merged.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        return merged;
    }
    let mut new = new;
    if req.version.status {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    new
}

/// The update rules: optimistic concurrency, status split, immutable metadata,
/// finalizer rules, admission, generation, and deletion once finalizers are gone.
pub(super) fn commit_update(
    st: &mut Store,
    req: &Req,
    old: &Value,
    new: Value,
    owned: bool,
) -> ApiResult<Reply> {
    let name = meta_str(old, "name").to_string();
    if !new.is_object() || !new["metadata"].is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): metadata must be an object",
            req.r.kind
        )));
    }
    let rv = meta_str(&new, "resourceVersion");
    if !rv.is_empty() && rv != meta_str(old, "resourceVersion") {
        return Err(ApiError::conflict(&subject(&req.r, &name)));
    }
    let sent_fields = new["metadata"].get("managedFields").cloned();
    let mut new = split_status(req, old, new);
    if req.status_only() {
        new["metadata"] = old["metadata"].clone();
    }
    keep_server_metadata(old, &mut new);
    new["apiVersion"] = json!(req.r.api_version(&req.version.name));
    new["kind"] = json!(req.r.kind);
    hooks::normalize(&req.r, &mut new);
    check_no_new_finalizers(&req.r, old, &new)?;
    hooks::prepare_update(&req.r, old, &mut new, req.status_only())?;
    let old_view = req.present(old.clone());
    let warnings = admit(req, &mut new, Some(&old_view))?;
    own_update(req, old, &mut new, sent_fields, owned);
    if generation_changed(old, &new, req.version.status) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
        new["metadata"]["generation"] = json!(g + 1);
    }
    if new == old_view || req.dry_run() {
        return Ok(Reply {
            code: 200,
            body: req.present(new),
            warnings,
        });
    }
    let body = store_update(st, req, old, new);
    Ok(Reply {
        code: 200,
        body: req.present(body),
        warnings,
    })
}

/// Records who owns what after an update: an apply already computed it (and
/// sent it along); other writes take the fields they change, starting from the
/// managedFields the client sent, if it changed them, else the stored ones.
fn own_update(req: &Req, old: &Value, new: &mut Value, sent: Option<Value>, owned: bool) {
    let stored = old["metadata"].get("managedFields").cloned();
    if owned {
        match sent {
            Some(mf) => new["metadata"]["managedFields"] = mf,
            None => drop(
                new["metadata"]
                    .as_object_mut()
                    .map(|m| m.remove("managedFields")),
            ),
        }
        return;
    }
    let base = match sent {
        Some(mf) if !req.status_only() && Some(&mf) != stored.as_ref() => mf,
        _ => stored.unwrap_or(Value::Null),
    };
    let (manager, api_version, now) = (
        req.manager(),
        req.r.api_version(&req.version.name),
        object::now(),
    );
    let writer = Writer {
        manager: &manager,
        api_version: &api_version,
        now: &now,
        scope: req.scope(),
    };
    writer.update(&base, old, new);
}

/// Stores the update, or deletes the object when its last finalizer went away.
fn store_update(st: &mut Store, req: &Req, old: &Value, new: Value) -> Value {
    let id = req.r.id();
    if is_deleting(&new) && finalizers(&new).is_empty() && !hooks::is_namespace(&req.r) {
        let gone = st.remove_as(&id, new);
        hooks::after_removed(st, &req.r, &gone);
        return gone;
    }
    let stored = st.put(&id, EventType::Modified, new, Some(old.clone()));
    if hooks::is_namespace(&req.r) {
        hooks::finish_namespace(st, meta_str(old, "name"));
    }
    hooks::after_write(st, &req.r, &stored);
    stored
}
