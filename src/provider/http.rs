//! Transport shared by both clients: send a request, turn every way it can fail into
//! a message that names the HTTP status but never the URL (whose query may hold a
//! UserSig) or a header (which may hold a CheckSum).

use std::error::Error as _;

use super::config::ConfigError;
use super::{CallInfo, FailureClass};

/// `CallInfo::code` when the provider gave no code: transport failures, HTTP errors,
/// malformed answers and requests refused before sending.
pub const NO_CODE: i64 = -1;

/// The largest answer read. Group calls answer in a few KiB; anything past this is
/// not the API answering (a proxy's page, a runaway body) and is never held whole.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Builds the HTTP client of one provider app: every call times out after `timeout`,
/// redirects are not followed (they would resend the signed query elsewhere).
pub(crate) fn client(timeout: std::time::Duration) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            ConfigError::new(
                "endpoint",
                format!("cannot build the HTTPS client: {}", e.without_url()),
            )
        })
}

/// A request that times out within `window` when that is shorter than `timeout`.
pub(crate) fn within(
    request: reqwest::RequestBuilder,
    timeout: std::time::Duration,
    window: Option<std::time::Duration>,
) -> reqwest::RequestBuilder {
    match window {
        Some(window) if window < timeout => request.timeout(window),
        _ => request,
    }
}

/// A provider's message for a failing code, or a placeholder when it gave none, so
/// a reported error always says something.
pub(crate) fn described(failing: bool, message: String) -> String {
    if failing && message.trim().is_empty() {
        "the provider gave no message".to_string()
    } else {
        message
    }
}

/// The error of a call that gave up waiting out throttles.
pub(crate) fn gave_up(last_throttle: Option<CallInfo>, waited: std::time::Duration) -> CallInfo {
    let mut info = last_throttle.unwrap_or(CallInfo {
        code: NO_CODE,
        message: "the API is cooling down after throttles".to_string(),
        request_id: None,
    });
    info.message = format!(
        "{} (still throttled after waiting up to {waited:?})",
        info.message
    );
    info
}

/// Why a request got no usable envelope. `class` is Transient except for an HTTP
/// 404 or 405 (no such path or method: retrying cannot help), which is Terminal.
#[derive(Debug)]
pub(crate) struct SendError {
    pub class: FailureClass,
    pub message: String,
}

impl SendError {
    fn transient(message: String) -> SendError {
        SendError {
            class: FailureClass::Transient,
            message,
        }
    }
}

/// Sends `request` and parses the body as a JSON object. A transport error, timeout,
/// non-200 status or a body that is not a JSON object is Transient; HTTP 404 / 405 is
/// Terminal and names the method and path (never the query, which may hold a UserSig).
pub(crate) async fn send_json(
    request: reqwest::RequestBuilder,
) -> Result<serde_json::Value, SendError> {
    let (client, request) = request.build_split();
    let request = request.map_err(|e| SendError {
        class: FailureClass::Terminal,
        message: format!("the request could not be built: {}", describe(e)),
    })?;
    let target = format!("{} {}", request.method(), request.url().path());
    let response = client
        .execute(request)
        .await
        .map_err(|e| SendError::transient(describe(e)))?;
    let status = response.status().as_u16();
    let bytes = read_bounded(response, status).await?;
    if matches!(status, 404 | 405) {
        return Err(SendError {
            class: FailureClass::Terminal,
            message: format!(
                "HTTP {status} for {target}: the provider has no such API (wrong path or method; \
                 not retried): {}",
                snippet(&bytes)
            ),
        });
    }
    if status != 200 {
        return Err(SendError::transient(format!(
            "HTTP {status}: {}",
            snippet(&bytes)
        )));
    }
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(body) if body.is_object() => Ok(body),
        _ => Err(SendError::transient(format!(
            "HTTP {status}: the answer is not the documented JSON envelope: {}",
            snippet(&bytes)
        ))),
    }
}

/// The body, read chunk by chunk up to [`MAX_ANSWER_BYTES`]; a larger one is a
/// transient failure (the next attempt may meet the API itself).
async fn read_bounded(mut response: reqwest::Response, status: u16) -> Result<Vec<u8>, SendError> {
    let too_large = || {
        SendError::transient(format!(
            "HTTP {status}: the answer is larger than {MAX_ANSWER_BYTES} bytes; not read"
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        let chunk = response.chunk().await.map_err(|e| {
            SendError::transient(format!(
                "HTTP {status}: failed to read the body: {}",
                describe(e)
            ))
        })?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
}

/// A reqwest error as text, without the URL, with its chain of causes.
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    let error = error.without_url();
    let mut text = format!("{kind}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The start of a body, for a message (bodies of gateway errors can be large pages).
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(120).collect();
    if text.chars().count() > 120 {
        out.push('…');
    }
    out.replace(['\n', '\r'], " ")
}
