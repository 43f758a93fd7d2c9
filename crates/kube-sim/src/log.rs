//! The request log: one record per resource request, with its RBAC verb.

use std::sync::{Arc, Mutex};

/// One resource request as an authorizer would see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// get list watch create update patch delete deletecollection
    pub verb: String,
    /// "" for the core group.
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The HTTP status answered; 0 when the connection was closed without an
    /// answer ([`crate::LeaseFailure::Disconnect`]).
    pub code: u16,
    pub field_manager: Option<String>,
    /// Who sent it: the bearer token's value (the simulator's stand-in for an
    /// authenticated user name), or `None` for anonymous requests.
    pub user: Option<String>,
}

/// Shared, append-only request log.
#[derive(Clone, Default)]
pub(crate) struct RequestLog(Arc<Mutex<Vec<RequestRecord>>>);

impl RequestLog {
    pub fn push(&self, r: RequestRecord) {
        if let Ok(mut v) = self.0.lock() {
            v.push(r);
        }
    }

    pub fn all(&self) -> Vec<RequestRecord> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}
