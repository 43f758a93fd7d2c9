//! Resource requests: resolving the served kind, decoding bodies, admission, and
//! dispatch to the read, write, patch, delete and watch handlers.

mod crd_cleanup;
mod delete;
mod held;
mod hooks;
mod patch;
mod read;
mod watch;
mod write;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::admission::{self, FieldValidation, Rejection};
use crate::faults::FaultHandle;
use crate::fields::Scope;
use crate::log::RequestLog;
use crate::object;
use crate::protobuf::{self, ProtoError};
use crate::registry::{Resource, Version};
use crate::request::{flag, Query, Target};
use crate::status::{json_response, ApiError, ApiResult, Cause};
use crate::store::Store;

pub(crate) use hooks::{namespace_object as hooks_namespace_object, NAMESPACES as NAMESPACES_ID};

/// State shared by every request.
pub(crate) struct Shared {
    pub store: Arc<Mutex<Store>>,
    pub faults: FaultHandle,
    pub log: RequestLog,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        // A poisoned lock only means an earlier request panicked; the data is still usable.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One resolved resource request.
pub(crate) struct Req {
    pub method: Method,
    pub target: Target,
    pub query: Query,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub r: Resource,
    pub version: Version,
}

impl Req {
    pub fn ns(&self) -> &str {
        self.target.namespace.as_deref().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.target.name.as_deref().unwrap_or("")
    }

    pub fn status_only(&self) -> bool {
        self.target.subresource.as_deref() == Some("status")
    }

    pub fn dry_run(&self) -> bool {
        self.query.get("dryRun").is_some_and(|v| v == "All")
    }

    pub fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    /// The media type of the body, without parameters.
    pub fn content_type(&self) -> String {
        let ct = self.header(header::CONTENT_TYPE);
        ct.split(';').next().unwrap_or("").trim().to_lowercase()
    }

    /// `fieldManager`, else the user agent's product name, as the real server does.
    pub fn manager(&self) -> String {
        if let Some(m) = self.query.get("fieldManager").filter(|m| !m.is_empty()) {
            return m.clone();
        }
        let ua = self.header(header::USER_AGENT);
        match ua.split('/').next().map(str::trim) {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => "unknown".to_string(),
        }
    }

    pub fn scope(&self) -> Scope {
        if self.status_only() {
            Scope::Status
        } else {
            Scope::Main(self.version.status)
        }
    }

    pub fn present(&self, obj: Value) -> Value {
        object::present(obj, &self.r, &self.version.name)
    }
}

/// A successful answer.
pub(crate) struct Reply {
    pub code: u16,
    pub body: Value,
    pub warnings: Vec<String>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply {
            code: 200,
            body,
            warnings: Vec::new(),
        }
    }
}

/// Namespaced paths for namespaced kinds only; cluster-wide paths of
/// namespaced kinds only for lists and watches.
fn check_scope(r: &Resource, target: &Target, method: &Method) -> ApiResult<()> {
    if !r.namespaced && target.namespace.is_some() {
        return Err(ApiError::unknown_resource());
    }
    if r.namespaced && target.namespace.is_none() {
        if target.name.is_some() {
            return Err(ApiError::unknown_resource());
        }
        if method != Method::GET {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not supported on {} across all namespaces",
                r.plural
            )));
        }
    }
    Ok(())
}

fn resolve(
    shared: &Shared,
    method: Method,
    target: Target,
    query: Query,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Req> {
    let st = shared.lock();
    let r = st
        .registry
        .lookup(&target.group, &target.version, &target.plural)
        .cloned()
        .ok_or_else(ApiError::unknown_resource)?;
    drop(st);
    let version = r
        .served_version(&target.version)
        .cloned()
        .ok_or_else(ApiError::unknown_resource)?;
    match target.subresource.as_deref() {
        None => {}
        Some("status")
            if version.status && matches!(method, Method::GET | Method::PUT | Method::PATCH) => {}
        Some("status") if version.status => {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not supported on the status subresource"
            )));
        }
        Some(_) => return Err(ApiError::unknown_resource()),
    }
    check_scope(&r, &target, &method)?;
    Ok(Req {
        method,
        target,
        query,
        headers,
        body,
        r,
        version,
    })
}

/// Answers one resource request.
pub(crate) async fn handle(
    shared: &Shared,
    method: Method,
    target: Target,
    query: Query,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let req = match resolve(shared, method, target, query, headers, body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let named = req.target.name.is_some();
    let result = match req.method {
        Method::GET if flag(&req.query, "watch") => return watch::watch(shared, req),
        Method::GET if named => read::get(shared, &req),
        Method::GET => read::list(shared, &req),
        Method::POST if !named => write::create(shared, &req),
        Method::PUT if named => write::update(shared, &req),
        Method::PATCH if named => patch::patch(shared, &req),
        Method::DELETE if named => delete::delete(shared, &req),
        Method::DELETE => delete::delete_collection(shared, &req),
        ref m => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource: {m}"
        ))),
    };
    match result {
        Ok(reply) => json_response(reply.code, &reply.body, &reply.warnings),
        Err(e) => e.into_response(),
    }
}

/// Decodes a JSON or YAML object body (POST, PUT).
pub(crate) fn decode_object(req: &Req) -> ApiResult<Value> {
    let v: Value = match req.content_type().as_str() {
        "" | "application/json" => {
            serde_json::from_slice(&req.body).map_err(|e| malformed(req, &e.to_string()))?
        }
        "application/yaml" => {
            serde_norway::from_slice(&req.body).map_err(|e| malformed(req, &e.to_string()))?
        }
        "application/vnd.kubernetes.protobuf" => match protobuf::decode(&req.body) {
            Ok(v) => v,
            Err(ProtoError::Malformed) => return Err(malformed(req, "invalid protobuf")),
            Err(ProtoError::Unsupported(_)) => {
                return Err(ApiError::unsupported_media(
                    "application/json, application/yaml",
                ))
            }
        },
        _ => {
            return Err(ApiError::unsupported_media(
                "application/json, application/yaml",
            ))
        }
    };
    if !v.is_object() {
        return Err(malformed(req, "the body is not an object"));
    }
    Ok(v)
}

pub(crate) fn malformed(req: &Req, err: &str) -> ApiError {
    ApiError::bad_request(format!(
        "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {err}",
        req.r.kind
    ))
}

fn field_validation(req: &Req) -> ApiResult<FieldValidation> {
    match req.query.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
        ))),
    }
}

/// Runs admission for custom resources; built-in kinds are accepted as they are.
pub(crate) fn admit(req: &Req, obj: &mut Value, old: Option<&Value>) -> ApiResult<Vec<String>> {
    if !req.r.custom {
        return Ok(Vec::new());
    }
    let fv = field_validation(req)?;
    admission::admit(&req.version.schema, obj, old, fv).map_err(|rej| match rej {
        Rejection::StrictDecoding(msg) => ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: {msg}",
            kind = req.r.kind,
            v = req.version.name
        )),
        Rejection::Invalid(causes) => {
            let causes = causes
                .into_iter()
                .map(|c| Cause {
                    reason: c.reason,
                    field: c.field,
                    message: c.message,
                })
                .collect();
            ApiError::invalid(
                &req.r.kind,
                &req.r.group,
                object::meta_str(obj, "name"),
                causes,
            )
        }
    })
}
