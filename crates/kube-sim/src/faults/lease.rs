//! Failing the Lease writes (leader-election renewals) of one client.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::Response;
use serde_json::json;

use super::{status_error, Faults};
use crate::log::RequestRecord;
use crate::status::{ApiError, Subject};

const LEASE_GROUP: &str = "coordination.k8s.io";

/// How a failed Lease write answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseFailure {
    /// 409 Conflict, as when another client wrote the Lease first.
    Conflict,
    /// 500 InternalError.
    InternalError,
    /// 503 ServiceUnavailable with `Retry-After: 1`.
    Unavailable,
    /// Hangs for the duration, then answers 504 Timeout as the server's request
    /// timeout does.
    Timeout(Duration),
    /// Hangs for the duration, then closes the connection without answering
    /// (logged with code 0).
    Disconnect(Duration),
}

/// One failing client: its Lease writes (only those to `lease`, when set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LeaseRule {
    pub user: String,
    pub lease: Option<String>,
    pub failure: LeaseFailure,
}

/// The failure for this request when it is an update or patch of a Lease by a
/// user whose Lease writes fail.
pub(crate) fn lease_failure(f: &Faults, r: &RequestRecord) -> Option<LeaseFailure> {
    let write = matches!(r.verb.as_str(), "update" | "patch");
    if !write || r.group != LEASE_GROUP || r.resource != "leases" || r.subresource.is_some() {
        return None;
    }
    let user = r.user.as_deref()?;
    let name = r.name.as_deref().unwrap_or("");
    f.lease_writes
        .iter()
        .find(|rule| rule.user == user && rule.lease.as_deref().is_none_or(|l| l == name))
        .map(|rule| rule.failure)
}

/// Answers (or, for [`LeaseFailure::Disconnect`], doesn't) a failed Lease write.
pub(crate) async fn answer(failure: LeaseFailure, name: &str) -> Response<Body> {
    match failure {
        LeaseFailure::Conflict => ApiError::conflict(&Subject {
            group: LEASE_GROUP.into(),
            plural: "leases".into(),
            name: name.to_string(),
        })
        .into_response(),
        LeaseFailure::InternalError => status_error(500).into_response(),
        LeaseFailure::Unavailable => status_error(503).into_response(),
        LeaseFailure::Timeout(d) => {
            tokio::time::sleep(d).await;
            ApiError::new(
                504,
                "Timeout",
                "Timeout: request did not complete within requested timeout - context deadline exceeded",
            )
            .with_details(json!({}))
            .into_response()
        }
        LeaseFailure::Disconnect(d) => {
            tokio::time::sleep(d).await;
            disconnect()
        }
    }
}

/// A response whose body fails before anything is written: the server then
/// drops the connection, so the client sees it close without an answer.
fn disconnect() -> Response<Body> {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("injected disconnect"))
    });
    Response::new(Body::from_stream(failing))
}
