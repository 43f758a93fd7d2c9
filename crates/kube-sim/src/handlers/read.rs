//! GET of one object and LIST with selectors, `limit` and `continue`.

use axum::http::header;
use serde_json::{json, Value};

use super::{Reply, Req, Shared};
use crate::object::subject;
use crate::selectors::Selector;
use crate::status::{ApiError, ApiResult};
use crate::store::key_of;
use crate::table::{self, Include};

fn wants_table(req: &Req) -> bool {
    table::wants_table(&req.header(header::ACCEPT))
}

fn wants_metadata(req: &Req) -> bool {
    table::wants_metadata(&req.header(header::ACCEPT))
}

fn include(req: &Req) -> Include {
    Include::parse(req.query.get("includeObject").map(String::as_str))
}

pub(super) fn get(shared: &Shared, req: &Req) -> ApiResult<Reply> {
    let obj = shared
        .lock()
        .get(&req.r.id(), req.ns(), req.name())
        .cloned()
        .ok_or_else(|| ApiError::not_found(&subject(&req.r, req.name())))?;
    let obj = req.present(obj);
    if wants_table(req) {
        let rv = json!({ "resourceVersion": obj["metadata"]["resourceVersion"] });
        return Ok(Reply::ok(table::table(
            &req.version,
            &[obj],
            rv,
            include(req),
            true,
        )));
    }
    if wants_metadata(req) {
        return Ok(Reply::ok(table::partial(&obj)));
    }
    Ok(Reply::ok(obj))
}

pub(super) fn selector(req: &Req) -> ApiResult<Selector> {
    let q = |k: &str| req.query.get(k).map(String::as_str);
    Selector::parse(q("labelSelector"), q("fieldSelector")).map_err(ApiError::bad_request)
}

/// The continue token: the namespace and name of the last item returned.
fn token_of(obj: &Value) -> String {
    let (ns, name) = key_of(obj);
    format!("{ns}/{name}")
}

/// One page of `items` after the `continue` token, and the next token.
fn page(req: &Req, items: Vec<Value>) -> ApiResult<(Vec<Value>, Option<String>, usize)> {
    let after = match req.query.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(tok) => Some(
            tok.split_once('/')
                .map(|(ns, n)| (ns.to_string(), n.to_string()))
                .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?,
        ),
    };
    let rest: Vec<Value> = items
        .into_iter()
        .filter(|o| after.as_ref().is_none_or(|a| key_of(o) > *a))
        .collect();
    let limit = match req.query.get("limit").map(|l| l.parse::<usize>()) {
        None => 0,
        Some(Ok(l)) => l,
        Some(Err(_)) => return Err(ApiError::bad_request("limit must be an integer")),
    };
    if limit == 0 || rest.len() <= limit {
        return Ok((rest, None, 0));
    }
    let remaining = rest.len() - limit;
    let page: Vec<Value> = rest.into_iter().take(limit).collect();
    let next = page.last().map(token_of);
    Ok((page, next, remaining))
}

pub(super) fn list(shared: &Shared, req: &Req) -> ApiResult<Reply> {
    let sel = selector(req)?;
    let (items, rv) = {
        let st = shared.lock();
        let ns = req.target.namespace.as_deref();
        let items: Vec<Value> = st
            .list(&req.r.id(), ns)
            .into_iter()
            .filter(|o| sel.matches(o))
            .collect();
        (items, st.current_rv())
    };
    let (items, next, remaining) = page(req, items)?;
    let mut meta = json!({ "resourceVersion": rv.to_string() });
    if let Some(next) = next {
        meta["continue"] = json!(next);
        meta["remainingItemCount"] = json!(remaining);
    }
    let items: Vec<Value> = items.into_iter().map(|o| req.present(o)).collect();
    if wants_table(req) {
        return Ok(Reply::ok(table::table(
            &req.version,
            &items,
            meta,
            include(req),
            true,
        )));
    }
    if wants_metadata(req) {
        let items: Vec<Value> = items.iter().map(table::partial).collect();
        return Ok(Reply::ok(json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "items": items,
        })));
    }
    Ok(Reply::ok(json!({
        "kind": req.r.list_kind,
        "apiVersion": req.r.api_version(&req.version.name),
        "metadata": meta,
        "items": items,
    })))
}
