//! Tencent Cloud Chat group REST API simulator.

mod dispatch;
mod groups;
mod info;
mod members;
pub mod presets;
mod state;
pub mod usersig;

use std::sync::{Arc, Mutex};

use axum::Router;

use crate::core::{now_unix, SimCore};
use crate::faults::lock;
use crate::ratelimit::RateLimits;
use crate::server::ServerHandle;
use crate::types::{Fault, RecordedCall, SimGroup};
use state::TencentState;

/// The sample key from Tencent's official signer repositories.
pub const SAMPLE_SECRET_KEY: &str =
    "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

/// How the simulated app is set up.
#[derive(Clone)]
pub struct TencentSimConfig {
    pub sdk_app_id: u64,
    pub secret_key: String,
    /// App admins; other identifiers get 60010.
    pub admins: Vec<String>,
    /// `None` = every account exists; `Some(list)` = others get 10019.
    pub accounts: Option<Vec<String>>,
    /// Calls per second per command (get_appid_group_list is held to 1/s).
    pub rate_limit_per_api: u32,
    /// ErrorCode answered on a rate-limit overrun.
    pub rate_limit_code: i64,
}

impl Default for TencentSimConfig {
    fn default() -> Self {
        TencentSimConfig {
            sdk_app_id: 1_400_000_000,
            secret_key: SAMPLE_SECRET_KEY.to_string(),
            admins: vec!["administrator".to_string()],
            accounts: None,
            rate_limit_per_api: 200,
            rate_limit_code: 60007,
        }
    }
}

// Hand-written so the secret key never reaches Debug output.
impl std::fmt::Debug for TencentSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TencentSimConfig")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("secret_key", &"<redacted>")
            .field("admins", &self.admins)
            .field("accounts", &self.accounts)
            .field("rate_limit_per_api", &self.rate_limit_per_api)
            .field("rate_limit_code", &self.rate_limit_code)
            .finish()
    }
}

pub(crate) struct TencentInner {
    pub config: TencentSimConfig,
    pub core: SimCore,
    pub state: Mutex<TencentState>,
}

/// A running Tencent simulator; dropping it (or `shutdown().await`) stops the server.
pub struct TencentSim {
    inner: Arc<TencentInner>,
    server: ServerHandle,
}

impl TencentSim {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start(config: TencentSimConfig) -> anyhow::Result<TencentSim> {
        TencentSim::start_on_port(config, 0).await
    }

    /// Starts on the given port of 127.0.0.1 (0 = ephemeral).
    pub async fn start_on_port(config: TencentSimConfig, port: u16) -> anyhow::Result<TencentSim> {
        let limits = RateLimits::new(config.rate_limit_per_api, &[("get_appid_group_list", 1)]);
        let inner = Arc::new(TencentInner {
            config,
            core: SimCore::new(limits),
            state: Mutex::new(TencentState::default()),
        });
        let router = Router::new()
            .route(crate::types::LISTING_PATH, axum::routing::get(listing))
            .fallback(dispatch::handle)
            .with_state(inner.clone());
        let server = ServerHandle::start(router, port).await?;
        Ok(TencentSim { inner, server })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.inner.core.calls()
    }

    pub fn calls_to(&self, command: &str) -> Vec<RecordedCall> {
        self.inner.core.calls_to(command)
    }

    /// Live (not disbanded) groups, ordered by id.
    pub fn groups(&self) -> Vec<SimGroup> {
        lock(&self.inner.state)
            .groups
            .values()
            .map(|tg| tg.g.clone())
            .collect()
    }

    pub fn group(&self, id: &str) -> Option<SimGroup> {
        lock(&self.inner.state)
            .groups
            .get(id)
            .map(|tg| tg.g.clone())
    }

    /// Seeds a group (replacing one with the same id).
    pub fn insert_group(&self, group: SimGroup) {
        lock(&self.inner.state).insert(group, now_unix());
    }

    /// Disbands a group as if from the console; false if it was not live.
    pub fn disband_out_of_band(&self, id: &str) -> bool {
        lock(&self.inner.state).disband(id)
    }

    pub fn inject(&self, fault: Fault) {
        self.inner.core.faults.add(fault);
    }

    /// Injects `fault` for every `nth` matching call only (the `nth`, `2·nth`, …);
    /// with [`Fault::times`]`(.., 1)`, for the `nth` call alone.
    pub fn inject_every(&self, nth: u32, fault: Fault) {
        self.inner.core.faults.add_every(nth, fault);
    }

    pub fn clear_faults(&self) {
        self.inner.core.faults.clear();
    }

    /// Changes the per-command rate (0 rejects every call) and refills the buckets.
    pub fn set_rate_limit(&self, per_second: u32) {
        self.inner.core.limits.set_default(per_second);
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

impl std::fmt::Debug for TencentSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TencentSim")
            .field("base_url", &self.base_url())
            .finish()
    }
}

/// `GET /sim/groups`: every group the simulator holds (read-only; no real endpoint).
async fn listing(
    axum::extract::State(inner): axum::extract::State<Arc<TencentInner>>,
) -> axum::Json<Vec<SimGroup>> {
    let state = lock(&inner.state);
    axum::Json(state.groups.values().map(|tg| tg.g.clone()).collect())
}
