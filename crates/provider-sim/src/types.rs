//! Public data types shared by both simulators.

use std::collections::BTreeMap;
use std::time::Duration;

/// One request the simulator received, in arrival order.
#[derive(Clone, PartialEq)]
pub struct RecordedCall {
    /// Tencent command name (`create_group`, ...) or NetEase op name (`create`, ...).
    pub api: String,
    pub method: String,
    pub path: String,
    /// Raw query string (Debug output hides the `usersig` value).
    pub query: String,
    /// Parsed request body (`Null` if none or unparsable).
    pub body: serde_json::Value,
    /// Business code answered, or the HTTP status for injected HTTP faults
    /// (502, 200 for malformed JSON, 0 for a dropped connection).
    pub code: i64,
    /// True when the call reached the business logic (read or changed state).
    pub executed: bool,
    /// NetEase `X-custom-traceid`.
    pub trace_id: Option<String>,
    /// True when the connection was closed without an answer (an injected
    /// [`FaultKind::DropConnection`] or [`FaultKind::DropAfterExecution`]).
    /// After execution, `code` is the code of the answer that never arrived.
    pub dropped: bool,
    /// When the request arrived.
    pub at: std::time::Instant,
}

// Hand-written so a failing assertion never prints a UserSig.
impl std::fmt::Debug for RecordedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedCall")
            .field("api", &self.api)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &redact_usersig(&self.query))
            .field("body", &self.body)
            .field("code", &self.code)
            .field("executed", &self.executed)
            .field("trace_id", &self.trace_id)
            .field("dropped", &self.dropped)
            .finish()
    }
}

fn redact_usersig(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("usersig", _)) => "usersig=<redacted>",
            _ => pair,
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The simulator-only, read-only route that lists every group a simulator holds, for
/// people trying the operator by hand (the real services have no such path).
pub const LISTING_PATH: &str = "/sim/groups";

/// A group (Tencent) or team (NetEase) as the simulator stores it.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct SimGroup {
    pub id: String,
    /// Tencent `Type` ("Public", ...); NetEase team_type "1" | "2".
    pub group_type: String,
    pub name: String,
    pub owner: Option<String>,
    pub introduction: String,
    pub notification: String,
    pub face_url: String,
    pub max_members: u32,
    /// Tencent ApplyJoinOption; NetEase join_mode as "0" | "1" | "2".
    pub join_option: String,
    /// Tencent AppDefinedData.
    pub custom_data: BTreeMap<String, String>,
    /// NetEase server_extension (raw string).
    pub server_extension: String,
    pub members: Vec<String>,
}

/// A fault rule; see [`FaultKind`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// API (Tencent command / NetEase op) the rule applies to; `None` = every API.
    pub api: Option<String>,
    pub kind: FaultKind,
    /// Chance of firing per matching call, 0.0..=1.0.
    pub probability: f64,
    /// Stop after this many hits; `None` = forever.
    pub remaining: Option<u32>,
}

impl Fault {
    /// A rule that always fires on `api` (or every API) until removed.
    pub fn always(api: Option<&str>, kind: FaultKind) -> Fault {
        Fault {
            api: api.map(str::to_string),
            kind,
            probability: 1.0,
            remaining: None,
        }
    }

    /// A rule that fires on the next `n` matching calls.
    pub fn times(api: Option<&str>, kind: FaultKind, n: u32) -> Fault {
        Fault {
            remaining: Some(n),
            ..Fault::always(api, kind)
        }
    }
}

/// What an injected fault does to a call.
///
/// The first five act before the call runs; the `*AfterExecution` kinds let the
/// call take effect at once and then spoil only its answer, which is how a
/// provider looks when a create succeeded but its answer was lost or late.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer this business code without executing the call.
    Code(i64),
    /// Delay the call, then execute it normally (latency before execution).
    Latency(Duration),
    /// Close the connection without any response; the call is not executed.
    DropConnection,
    /// HTTP 502 with a non-JSON body; the call is not executed.
    Http502,
    /// HTTP 200 with a body that is not JSON; the call is not executed.
    MalformedJson,
    /// Execute the call at once (its effect is visible to other calls
    /// immediately), then hold its answer back for this long.
    LatencyAfterExecution(Duration),
    /// Execute the call, then close the connection without answering.
    /// Logged with `executed: true` and `dropped: true`.
    DropAfterExecution,
}

impl FaultKind {
    /// True for the kinds that let the call run and act on its answer only.
    pub fn is_after_execution(&self) -> bool {
        matches!(
            self,
            FaultKind::LatencyAfterExecution(_) | FaultKind::DropAfterExecution
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_usersig() {
        let call = RecordedCall {
            api: "create_group".into(),
            method: "POST".into(),
            path: "/v4/group_open_http_svc/create_group".into(),
            query: "sdkappid=1&usersig=SECRETSIG&random=2".into(),
            body: serde_json::Value::Null,
            code: 0,
            executed: true,
            trace_id: None,
            dropped: false,
            at: std::time::Instant::now(),
        };
        let text = format!("{call:?}");
        assert!(!text.contains("SECRETSIG"), "{text}");
        assert!(
            text.contains("sdkappid=1&usersig=<redacted>&random=2"),
            "{text}"
        );
    }
}
