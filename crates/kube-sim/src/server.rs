//! The HTTP front: discovery and OpenAPI routes, and resource requests with
//! faults applied and every request logged.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use axum::Router;
use serde_json::Value;

use crate::discovery;
use crate::faults::{answer_lease_write, injected_failure, lease_failure, LeaseFailure};
use crate::handlers::{self, Shared};
use crate::log::RequestRecord;
use crate::request::{self, parse_query, Route, Target};
use crate::status::{json_response, ApiError};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // The real server accepts request bodies of up to 3 MiB.
    Router::new()
        .fallback(handle)
        .layer(axum::extract::DefaultBodyLimit::max(3 * 1024 * 1024))
        .with_state(shared)
}

fn found(v: Option<Value>) -> Response<Body> {
    match v {
        Some(v) => json_response(200, &v, &[]),
        None => ApiError::unknown_resource().into_response(),
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let route = request::route(uri.path());
    if let Route::Resource(t) = route {
        return resource(&shared, method, t, &uri, headers, body).await;
    }
    if method != Method::GET {
        return ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource: {method}"
        ))
        .into_response();
    }
    let st = shared.lock();
    let reg = &st.registry;
    match route {
        Route::Version => found(Some(discovery::version())),
        Route::CoreVersions => found(Some(discovery::core_versions())),
        Route::Groups => found(Some(discovery::groups(reg))),
        Route::Group(g) => found(discovery::group(reg, &g)),
        Route::Discovery { group, version } => {
            found(discovery::resource_list(reg, &group, &version))
        }
        Route::OpenApiV3Index => found(Some(discovery::openapi_index(reg))),
        Route::OpenApiV3(path) => found(discovery::openapi_document(reg, &path)),
        Route::OpenApiV2 => openapi_v2(),
        Route::Resource(_) | Route::Unknown => found(None),
    }
}

/// An empty OpenAPI v2 document: the empty protobuf message. kubectl falls back
/// to it for client-side validation when a group/version's OpenAPI v3 document
/// does not advertise `fieldValidation`; with no schemas there it validates nothing.
fn openapi_v2() -> Response<Body> {
    let mut resp = Response::new(Body::empty());
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
        ),
    );
    resp
}

/// The user a request is attributed to: its bearer token (no real authentication).
fn bearer_user(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Bearer ")
        .map(|token| token.trim().to_string())
}

async fn resource(
    shared: &Shared,
    method: Method,
    t: Target,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let query = parse_query(uri.query());
    let faults = shared.faults.snapshot();
    if let Some(d) = faults.latency {
        tokio::time::sleep(d).await;
    }
    let mut record = RequestRecord {
        verb: request::verb(&method, &t, &query).to_string(),
        group: t.group.clone(),
        version: t.version.clone(),
        resource: t.plural.clone(),
        subresource: t.subresource.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        code: 0,
        field_manager: query.get("fieldManager").cloned(),
        user: bearer_user(&headers),
    };
    let (injected, lease) = (injected_failure(&faults), lease_failure(&faults, &record));
    let disconnects = injected.is_none() && matches!(lease, Some(LeaseFailure::Disconnect(_)));
    let resp = match (injected, lease) {
        (Some(err), _) => err.into_response(),
        (None, Some(failure)) => {
            answer_lease_write(failure, record.name.as_deref().unwrap_or("")).await
        }
        (None, None) => handlers::handle(shared, method, t, query, headers, body).await,
    };
    // No answer at all: logged with code 0.
    record.code = if disconnects {
        0
    } else {
        resp.status().as_u16()
    };
    shared.log.push(record);
    resp
}
