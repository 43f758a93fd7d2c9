//! PATCH: JSON patch, merge patch, strategic merge (as merge patch, built-ins
//! only) and server-side apply (merges the applied configuration; creates when
//! absent).

use json_patch::PatchOperation;
use serde_json::Value;

use super::write::{commit_update, create_locked};
use super::{Reply, Req, Shared};
use crate::fields::Writer;
use crate::object::subject;
use crate::request::flag;
use crate::status::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Json,
    Merge,
    Apply,
}

fn kind_of(req: &Req) -> ApiResult<Kind> {
    let accepted = if req.r.custom {
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    } else {
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
    };
    match req.content_type().as_str() {
        "application/json-patch+json" => Ok(Kind::Json),
        "application/merge-patch+json" => Ok(Kind::Merge),
        "application/strategic-merge-patch+json" if !req.r.custom => Ok(Kind::Merge),
        "application/apply-patch+yaml" => Ok(Kind::Apply),
        _ => Err(ApiError::unsupported_media(accepted)),
    }
}

fn bad_patch(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("error decoding patch: {e}"))
}

/// A JSON patch `test` of `null` passes on a missing path, as the real server's
/// patch library treats missing values as null.
fn json_patch(target: &mut Value, body: &[u8]) -> ApiResult<()> {
    let ops: Vec<PatchOperation> = serde_json::from_slice(body).map_err(bad_patch)?;
    let ops: Vec<PatchOperation> = ops
        .into_iter()
        .filter(|op| match op {
            PatchOperation::Test(t) if t.value.is_null() => target
                .pointer(t.path.as_str())
                .is_some_and(|v| !v.is_null()),
            _ => true,
        })
        .collect();
    json_patch::patch(target, &ops).map_err(|e| ApiError::new(422, "Invalid", e.to_string()))
}

/// The applied configuration: YAML (JSON is YAML too) naming its apiVersion and kind.
fn applied(req: &Req) -> ApiResult<Value> {
    if req.query.get("fieldManager").is_none_or(|m| m.is_empty()) {
        return Err(ApiError::bad_request(
            "PATCH, application/apply-patch+yaml requests require fieldManager to be specified",
        ));
    }
    let mut v: Value = serde_norway::from_slice(&req.body).map_err(bad_patch)?;
    if !v.is_object() || !(v["metadata"].is_object() || v["metadata"].is_null()) {
        return Err(bad_patch(
            "an apply configuration must be an object with object metadata",
        ));
    }
    let api_version = req.r.api_version(&req.version.name);
    if v["apiVersion"].as_str() != Some(&api_version) || v["kind"].as_str() != Some(&req.r.kind) {
        return Err(ApiError::bad_request(format!(
            "error decoding patch: apply configuration must set apiVersion {api_version} and kind {}",
            req.r.kind
        )));
    }
    // The real server takes a missing name from the URL.
    if v["metadata"]["name"].as_str().unwrap_or("").is_empty() {
        v["metadata"]["name"] = Value::String(req.name().to_string());
    }
    let name = v["metadata"]["name"].as_str().unwrap_or("");
    if name != req.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            req.name()
        )));
    }
    Ok(v)
}

pub(super) fn patch(shared: &Shared, req: &Req) -> ApiResult<Reply> {
    let kind = kind_of(req)?;
    let apply = match kind {
        Kind::Apply => Some(applied(req)?),
        _ => None,
    };
    let mut st = shared.lock();
    let Some(old) = st.get(&req.r.id(), req.ns(), req.name()).cloned() else {
        return match apply {
            Some(obj) if !req.status_only() => create_locked(&mut st, req, obj, true),
            _ => Err(ApiError::not_found(&subject(&req.r, req.name()))),
        };
    };
    let mut new = req.present(old.clone());
    match (kind, apply) {
        (Kind::Json, _) => json_patch(&mut new, &req.body)?,
        (Kind::Merge, _) => {
            let p: Value = serde_json::from_slice(&req.body).map_err(bad_patch)?;
            if !p.is_object() {
                return Err(bad_patch("a merge patch must be an object"));
            }
            json_patch::merge(&mut new, &p);
        }
        (Kind::Apply, Some(cfg)) => {
            json_patch::merge(&mut new, &cfg);
            own_apply(req, &old, &cfg, &mut new)?;
        }
        (Kind::Apply, None) => return Err(bad_patch("missing apply configuration")),
    }
    commit_update(&mut st, req, &old, new, kind == Kind::Apply)
}

/// Field ownership of an apply: 409 on conflicts unless `force=true`.
fn own_apply(req: &Req, old: &Value, cfg: &Value, merged: &mut Value) -> ApiResult<()> {
    let (manager, api_version, now) = (
        req.manager(),
        req.r.api_version(&req.version.name),
        crate::object::now(),
    );
    let writer = Writer {
        manager: &manager,
        api_version: &api_version,
        now: &now,
        scope: req.scope(),
    };
    let current = req.present(old.clone());
    let base = &old["metadata"]["managedFields"];
    writer.apply(base, &current, cfg, merged, flag(&req.query, "force"))
}
