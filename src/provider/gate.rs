//! The last check before a provider write leaves the process. A client asks its gate
//! right before it sends each request that changes something on the provider, after
//! any wait for the rate budget, a throttle cooldown or a retry, so a replica that
//! lost the right to write while it waited never starts the write.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::http::NO_CODE;
use super::{CallInfo, FailureClass, Operation, ProviderError, ProviderKind};

/// Whether a write may start now, and for how long it may run. Implemented above the
/// provider layer (the leader's fence); the provider layer only asks.
pub trait WriteGate: Send + Sync + fmt::Debug {
    /// `Err` with the reason when no provider write may start now; otherwise the
    /// longest the write may take (`None`: no bound beyond the client's timeout). A
    /// write cut short by it has an unknown outcome, like any timeout.
    fn may_write(&self) -> Result<Option<Duration>, String>;
}

/// The gate of a process that always may write (no leader election).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysOpen;

impl WriteGate for AlwaysOpen {
    fn may_write(&self) -> Result<Option<Duration>, String> {
        Ok(None)
    }
}

/// The default gate of a client.
pub fn always_open() -> Arc<dyn WriteGate> {
    Arc::new(AlwaysOpen)
}

/// Asks `gate` before a write: how long the write may take, or the error of a write
/// that was not sent. Transient, so nothing is concluded from it; the replica's
/// controllers stop on their own.
pub(crate) fn check(
    gate: &dyn WriteGate,
    provider: ProviderKind,
    operation: Operation,
) -> Result<Option<Duration>, ProviderError> {
    gate.may_write().map_err(|why| ProviderError {
        provider,
        operation,
        class: FailureClass::Transient,
        info: CallInfo {
            code: NO_CODE,
            message: format!("not sent: this replica may no longer write ({why})"),
            request_id: None,
        },
    })
}
