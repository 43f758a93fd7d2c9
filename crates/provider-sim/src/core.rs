//! Pieces both simulators share: the call log, fault rules, rate limits and
//! the request plumbing around them.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::faults::{lock, FaultDecision, FaultSet};
use crate::ratelimit::RateLimits;
use crate::server::ConnAbort;
use crate::types::{FaultKind, RecordedCall};

/// Largest request body read; bigger bodies are answered as malformed.
const MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct SimCore {
    calls: Mutex<Vec<RecordedCall>>,
    pub faults: FaultSet,
    pub limits: RateLimits,
}

impl SimCore {
    pub fn new(limits: RateLimits) -> SimCore {
        SimCore {
            calls: Mutex::new(Vec::new()),
            faults: FaultSet::default(),
            limits,
        }
    }

    pub fn record(&self, call: RecordedCall) {
        lock(&self.calls).push(call);
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.calls).clone()
    }

    pub fn calls_to(&self, api: &str) -> Vec<RecordedCall> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.api == api)
            .cloned()
            .collect()
    }
}

/// A request taken apart, body read.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// False when the body could not be read (too large / broken stream).
    pub body_ok: bool,
    pub abort: Option<ConnAbort>,
}

impl Incoming {
    pub async fn read(req: Request) -> Incoming {
        let (parts, body) = req.into_parts();
        let (body, body_ok) = match to_bytes(body, MAX_BODY).await {
            Ok(b) => (b, true),
            Err(_) => (Bytes::new(), false),
        };
        Incoming {
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            method: parts.method,
            headers: parts.headers,
            body,
            body_ok,
            abort: parts.extensions.get::<ConnAbort>().cloned(),
        }
    }

    /// Query parameters, percent-decoded; the first value of a repeated name wins.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The body as JSON: `Ok(Null)` when empty, `Err` when present but not JSON.
    pub fn json(&self) -> Result<serde_json::Value, ()> {
        if !self.body_ok {
            return Err(());
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|_| ())
    }

    /// A call-log entry for this request; the caller fills in code and executed.
    pub fn call(&self, api: &str) -> RecordedCall {
        RecordedCall {
            api: api.to_string(),
            method: self.method.to_string(),
            path: self.path.clone(),
            query: self.query.clone(),
            body: self.json().unwrap_or(serde_json::Value::Null),
            code: 0,
            executed: false,
            trace_id: None,
            dropped: false,
            at: std::time::Instant::now(),
        }
    }
}

/// What a handler decided to send back, before the after-execution faults.
pub(crate) enum Answer {
    Body(Response),
    /// An injected transport fault that replaces the answer.
    Transport(FaultKind),
}

/// Logs the call, then delivers its answer as the fault decision says: at
/// once, late (`latency_after`), or never (`drop_after`). The call is logged
/// before any delay, so its effect and its log entry are visible at once.
pub(crate) async fn finish(
    core: &SimCore,
    mut call: RecordedCall,
    answer: Answer,
    decision: &FaultDecision,
    req: &Incoming,
) -> Response {
    let dropped_now = matches!(answer, Answer::Transport(FaultKind::DropConnection));
    call.dropped = dropped_now || decision.drop_after;
    core.record(call);
    let response = match answer {
        Answer::Transport(kind) => transport_fault_response(&kind, req).await,
        Answer::Body(response) => response,
    };
    if !decision.latency_after.is_zero() {
        tokio::time::sleep(decision.latency_after).await;
    }
    match (&req.abort, decision.drop_after) {
        (Some(abort), true) => abort.abort().await,
        _ => response,
    }
}

/// The HTTP-level code logged for a transport fault; `None` for business faults.
pub(crate) fn transport_fault_code(kind: &FaultKind) -> Option<i64> {
    match kind {
        FaultKind::Http502 => Some(502),
        FaultKind::MalformedJson => Some(200),
        FaultKind::DropConnection => Some(0),
        FaultKind::Code(_)
        | FaultKind::Latency(_)
        | FaultKind::LatencyAfterExecution(_)
        | FaultKind::DropAfterExecution => None,
    }
}

/// The answer for a transport fault. Record the call first: a dropped
/// connection never returns from here.
async fn transport_fault_response(kind: &FaultKind, req: &Incoming) -> Response {
    match (kind, &req.abort) {
        (FaultKind::DropConnection, Some(abort)) => abort.abort().await,
        (FaultKind::MalformedJson, _) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"ActionStatus\":\"OK\",\"code\":20<html>truncated",
        )
            .into_response(),
        _ => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
    }
}

pub(crate) fn now_unix() -> i64 {
    now_ms() / 1000
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
