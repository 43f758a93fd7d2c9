//! NetEase Yunxin IM v2 / v2.1 REST client for team management.

pub mod codes;
mod member_wire;
mod members;
mod ops;
mod read;
mod scan;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::Value;
use sha1::{Digest, Sha1};
use tokio::time::Instant;

use super::budget::RateBudget;
use super::config::{ConfigError, NeteaseConfig};
use super::gate::{self, WriteGate};
use super::http::{self, NO_CODE};
use super::secret::scrub;
use super::{CallInfo, FailureClass, Operation, ProviderError, ProviderKind, ProviderResult};
use codes::{AUTH_CODES, THROTTLE_CODE};

/// `CheckSum` = lowercase hex SHA1(AppSecret + Nonce + CurTime).
pub fn checksum(app_secret: &str, nonce: &str, cur_time: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(app_secret.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(cur_time.as_bytes());
    hex::encode(hasher.finalize())
}

/// The client of one AppKey. Cheap to share behind an `Arc`.
pub struct NeteaseClient {
    config: NeteaseConfig,
    base_url: String,
    http: reqwest::Client,
    budget: Arc<RateBudget>,
    gate: Arc<dyn WriteGate>,
    /// Joined-teams scans shared by concurrent marker searches of one owner.
    scans: scan::SharedScans,
}

impl fmt::Debug for NeteaseClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NeteaseClient")
            .field("app_key", &self.config.app_key)
            .field("base_url", &self.base_url)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// One answer with the documented envelope; `info.request_id` is the trace id sent.
#[derive(Debug)]
pub(crate) struct Reply {
    pub code: i64,
    pub info: CallInfo,
    pub data: Value,
}

/// One request: method, path below the host, query and optional JSON body.
pub(crate) struct Request<'a> {
    pub api: &'static str,
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<&'a Value>,
}

impl NeteaseClient {
    /// Validates `config` and builds the client; no call is made.
    pub fn new(
        config: NeteaseConfig,
        budget: Arc<RateBudget>,
    ) -> Result<NeteaseClient, ConfigError> {
        config.validate()?;
        Ok(NeteaseClient {
            base_url: config.base_url(),
            http: http::client(config.timeout)?,
            budget,
            gate: gate::always_open(),
            scans: scan::SharedScans::default(),
            config,
        })
    }

    pub fn budget(&self) -> &Arc<RateBudget> {
        &self.budget
    }

    /// Asks `gate` right before every write (any method but GET) is sent.
    pub fn with_write_gate(mut self, gate: Arc<dyn WriteGate>) -> NeteaseClient {
        self.gate = gate;
        self
    }

    pub(crate) fn error(
        &self,
        operation: Operation,
        class: FailureClass,
        info: CallInfo,
    ) -> ProviderError {
        ProviderError {
            provider: ProviderKind::NetEase,
            operation,
            class,
            info,
        }
    }

    /// `text` from the provider with this app's AppSecret, and anything shaped like a
    /// credential, removed.
    pub(crate) fn scrub(&self, text: &str) -> String {
        scrub(text, &[self.config.app_secret.expose()])
    }

    pub(crate) fn rejected(&self, operation: Operation, error: &ConfigError) -> ProviderError {
        ProviderError::refused(ProviderKind::NetEase, operation, error)
    }

    /// Sends `request` within the rate budget; 416 answers are waited out and retried
    /// under a fresh trace id (the provider did not execute them) up to the budget's
    /// bound. Any other answer with the envelope is returned for the caller.
    pub(crate) async fn call(
        &self,
        operation: Operation,
        request: &Request<'_>,
    ) -> ProviderResult<Reply> {
        let deadline = Instant::now() + self.budget.max_throttle_wait();
        let mut last_throttle: Option<CallInfo> = None;
        loop {
            if let Err(info) = self.budget.auth().check() {
                return Err(self.error(operation, FailureClass::AuthPaused, info));
            }
            if self.budget.acquire(request.api, deadline).await.is_err() {
                let info = http::gave_up(last_throttle, self.budget.max_throttle_wait());
                return Err(self.error(operation, FailureClass::Throttled, info));
            }
            let window = if request.method == Method::GET {
                None
            } else {
                gate::check(self.gate.as_ref(), ProviderKind::NetEase, operation)?
            };
            let sent_at = Instant::now();
            let reply = self.send(request, window).await;
            let reply = reply.map_err(|(class, info)| self.error(operation, class, info))?;
            tracing::debug!(
                provider = "netease",
                operation = %operation,
                api = request.api,
                code = reply.code,
                request_id = reply.info.request_id.as_deref().unwrap_or(""),
                "provider call answered"
            );
            if reply.code == THROTTLE_CODE {
                self.budget
                    .throttled(request.api, sent_at, std::time::Duration::ZERO);
                last_throttle = Some(reply.info);
                continue;
            }
            self.budget.succeeded(request.api);
            if AUTH_CODES.contains(&reply.code) {
                self.budget.auth().failed(&reply.info);
            } else {
                self.budget.auth().succeeded();
            }
            return Ok(reply);
        }
    }

    /// One signed HTTP exchange. `Err` is a failure below the envelope: Transient, or
    /// Terminal for an HTTP 404 / 405.
    async fn send(
        &self,
        request: &Request<'_>,
        window: Option<std::time::Duration>,
    ) -> Result<Reply, (FailureClass, CallInfo)> {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let cur_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            .to_string();
        let sum = checksum(self.config.app_secret.expose(), &nonce, &cur_time);
        let trace_id = uuid::Uuid::new_v4().to_string();
        let mut builder = self
            .http
            .request(
                request.method.clone(),
                format!("{}{}", self.base_url, request.path),
            )
            .header("AppKey", &self.config.app_key)
            .header("Nonce", &nonce)
            .header("CurTime", &cur_time)
            .header("CheckSum", &sum)
            .header("X-custom-traceid", &trace_id);
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = request.body {
            builder = builder
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json;charset=UTF-8",
                )
                .body(body.to_string());
        }
        let builder = http::within(builder, self.config.timeout, window);
        let secrets = [self.config.app_secret.expose(), sum.as_str()];
        let reply = match http::send_json(builder).await {
            Ok(reply) => reply,
            Err(failure) => {
                tracing::debug!(provider = "netease", api = request.api, request_id = %trace_id, "provider call failed in transport");
                let info = CallInfo {
                    code: NO_CODE,
                    message: scrub(&failure.message, &secrets),
                    request_id: Some(trace_id),
                };
                return Err((failure.class, info));
            }
        };
        parse_envelope(reply, trace_id, &secrets).map_err(|info| (FailureClass::Transient, info))
    }
}

fn parse_envelope(body: Value, trace_id: String, secrets: &[&str]) -> Result<Reply, CallInfo> {
    let Some(code) = body.get("code").and_then(wire::as_i64) else {
        return Err(CallInfo {
            code: NO_CODE,
            message: "HTTP 200: the answer has no code (not the documented envelope)".to_string(),
            request_id: Some(trace_id),
        });
    };
    let message = body.get("msg").and_then(Value::as_str).unwrap_or_default();
    let info = CallInfo {
        code,
        message: http::described(code != 200, scrub(message, secrets)),
        request_id: Some(trace_id),
    };
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    Ok(Reply { code, info, data })
}
