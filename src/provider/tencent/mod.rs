//! Tencent Cloud Chat (TIM) REST client for group management.

pub mod codes;
mod members;
mod ops;
pub mod usersig;
mod wire;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::time::Instant;

use super::budget::RateBudget;
use super::config::{ConfigError, TencentConfig};
use super::gate::{self, WriteGate};
use super::http::{self, NO_CODE};
use super::secret::{scrub, Secret};
use super::{CallInfo, FailureClass, Operation, ProviderError, ProviderKind, ProviderResult};
use codes::{throttle_floor, APP_LOCK_CODE, AUTH_CODES, REGENERATE_SIG_CODES, THROTTLE_CODES};
use usersig::UserSigCache;

/// Commands that change nothing on the provider; every other one passes the write gate.
const READ_COMMANDS: [&str; 3] = [
    "get_group_info",
    "get_role_in_group",
    "get_group_member_info",
];

/// The client of one SDKAppID. Cheap to share behind an `Arc`.
pub struct TencentClient {
    config: TencentConfig,
    base_url: String,
    http: reqwest::Client,
    budget: Arc<RateBudget>,
    gate: Arc<dyn WriteGate>,
    sigs: UserSigCache,
    /// AppDefinedData keys used or seen so far: reads name them in their filter.
    custom_keys: Mutex<BTreeSet<String>>,
}

impl fmt::Debug for TencentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentClient")
            .field("sdk_app_id", &self.config.sdk_app_id)
            .field("identifier", &self.config.identifier)
            .field("base_url", &self.base_url)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// One answer with the documented envelope.
#[derive(Debug)]
pub(crate) struct Reply {
    pub code: i64,
    pub info: CallInfo,
    pub body: Value,
}

impl TencentClient {
    /// Validates `config` and builds the client; no call is made.
    pub fn new(
        config: TencentConfig,
        budget: Arc<RateBudget>,
    ) -> Result<TencentClient, ConfigError> {
        config.validate()?;
        let sigs = UserSigCache::new(
            config.secret_key.clone(),
            config.identifier.clone(),
            config.sdk_app_id,
            config.usersig_ttl,
        );
        Ok(TencentClient {
            base_url: config.base_url(),
            http: http::client(config.timeout)?,
            budget,
            gate: gate::always_open(),
            sigs,
            // Reads always ask for the marker key: it is never in a spec's custom data.
            custom_keys: Mutex::new(config.marker_key.iter().cloned().collect()),
            config,
        })
    }

    pub fn budget(&self) -> &Arc<RateBudget> {
        &self.budget
    }

    /// Asks `gate` right before every write is sent.
    pub fn with_write_gate(mut self, gate: Arc<dyn WriteGate>) -> TencentClient {
        self.gate = gate;
        self
    }

    /// The UserSig the client is currently using, if one was generated.
    pub fn current_usersig(&self) -> Option<Secret> {
        self.sigs.peek()
    }

    /// Remembers custom-data keys so later reads ask for them.
    pub(crate) fn remember_keys<'a>(&self, keys: impl IntoIterator<Item = &'a String>) {
        let mut known = self.custom_keys.lock().unwrap_or_else(|p| p.into_inner());
        known.extend(keys.into_iter().cloned());
    }

    pub(crate) fn known_keys(&self) -> BTreeSet<String> {
        self.custom_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn error(
        &self,
        operation: Operation,
        class: FailureClass,
        info: CallInfo,
    ) -> ProviderError {
        ProviderError {
            provider: ProviderKind::Tencent,
            operation,
            class,
            info,
        }
    }

    /// `text` from the provider with this app's key, and anything shaped like a
    /// credential, removed.
    pub(crate) fn scrub(&self, text: &str) -> String {
        scrub(text, &[self.config.secret_key.expose()])
    }

    /// A request refused before sending (invalid spec, wrong group type).
    pub(crate) fn rejected(&self, operation: Operation, error: &ConfigError) -> ProviderError {
        ProviderError::refused(ProviderKind::Tencent, operation, error)
    }

    /// Calls `command` within the rate budget. Throttled answers are waited out and
    /// retried (the provider did not execute them) up to the budget's bound; an
    /// expired or invalidated UserSig is regenerated and the call retried once. Any
    /// other answer with the envelope is returned for the caller to interpret.
    pub(crate) async fn call(
        &self,
        operation: Operation,
        command: &'static str,
        body: &Value,
    ) -> ProviderResult<Reply> {
        let deadline = Instant::now() + self.budget.max_throttle_wait();
        let mut regenerated = false;
        let mut last_throttle: Option<CallInfo> = None;
        loop {
            if let Err(info) = self.budget.auth().check() {
                return Err(self.error(operation, FailureClass::AuthPaused, info));
            }
            if self.budget.acquire(command, deadline).await.is_err() {
                let info = http::gave_up(last_throttle, self.budget.max_throttle_wait());
                return Err(self.error(operation, FailureClass::Throttled, info));
            }
            let window = if READ_COMMANDS.contains(&command) {
                None
            } else {
                gate::check(self.gate.as_ref(), ProviderKind::Tencent, operation)?
            };
            let sig = self.sigs.get();
            let sent_at = Instant::now();
            let reply = self.send(command, &sig, body, window).await;
            let reply = reply.map_err(|(class, info)| self.error(operation, class, info))?;
            tracing::debug!(
                provider = "tencent",
                operation = %operation,
                api = command,
                code = reply.code,
                request_id = reply.info.request_id.as_deref().unwrap_or(""),
                "provider call answered"
            );
            if THROTTLE_CODES.contains(&reply.code) {
                self.budget
                    .throttled(command, sent_at, throttle_floor(reply.code));
                if reply.code == APP_LOCK_CODE {
                    self.budget.lock_app(throttle_floor(reply.code));
                }
                last_throttle = Some(reply.info);
                continue;
            }
            self.budget.succeeded(command);
            if REGENERATE_SIG_CODES.contains(&reply.code) && !regenerated {
                self.sigs.invalidate(&sig);
                regenerated = true;
                continue;
            }
            if AUTH_CODES.contains(&reply.code) {
                self.budget.auth().failed(&reply.info);
            } else {
                self.budget.auth().succeeded();
            }
            return Ok(reply);
        }
    }

    /// One HTTP exchange. `Err` is a failure below the envelope: Transient, or Terminal
    /// for an HTTP 404 / 405.
    async fn send(
        &self,
        command: &str,
        sig: &Secret,
        body: &Value,
        window: Option<std::time::Duration>,
    ) -> Result<Reply, (FailureClass, CallInfo)> {
        let url = format!("{}/v4/group_open_http_svc/{command}", self.base_url);
        let sdk_app_id = self.config.sdk_app_id.to_string();
        let random = rand::random::<u32>().to_string();
        let request = self
            .http
            .post(url)
            .query(&[
                ("sdkappid", sdk_app_id.as_str()),
                ("identifier", self.config.identifier.as_str()),
                ("usersig", sig.expose()),
                ("random", random.as_str()),
                ("contenttype", "json"),
            ])
            .json(body);
        let request = http::within(request, self.config.timeout, window);
        let secrets = [self.config.secret_key.expose(), sig.expose()];
        let reply = match http::send_json(request).await {
            Ok(reply) => reply,
            Err(failure) => {
                tracing::debug!(
                    provider = "tencent",
                    api = command,
                    "provider call failed in transport"
                );
                let info = CallInfo {
                    code: NO_CODE,
                    message: scrub(&failure.message, &secrets),
                    request_id: None,
                };
                return Err((failure.class, info));
            }
        };
        parse_envelope(reply, &secrets).map_err(|info| (FailureClass::Transient, info))
    }
}

/// Reads `ErrorCode`, `ErrorInfo` and `RequestId`; a body without a usable code is
/// not the documented envelope.
fn parse_envelope(body: Value, secrets: &[&str]) -> Result<Reply, CallInfo> {
    let code = match body.get("ErrorCode") {
        Some(code) => wire::as_i64(code),
        None if body.get("ActionStatus").and_then(Value::as_str) == Some("OK") => Some(0),
        None => None,
    };
    let request_id = body
        .get("RequestId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(code) = code else {
        return Err(CallInfo {
            code: NO_CODE,
            message: "HTTP 200: the answer has no ErrorCode (not the documented envelope)"
                .to_string(),
            request_id,
        });
    };
    let message = body
        .get("ErrorInfo")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let info = CallInfo {
        code,
        message: http::described(code != 0, scrub(message, secrets)),
        request_id,
    };
    Ok(Reply { code, info, body })
}
