//! Tencent Cloud Chat group REST API simulator.

mod dispatch;
mod groups;
mod info;
mod members;
pub mod presets;
mod roles;
mod state;
pub mod usersig;

use std::collections::BTreeMap;
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
    /// How `add_group_member` answers accounts that do not exist.
    pub unknown_member_answer: UnknownMemberAnswer,
    /// When true, `add_group_member` on a group whose InviteJoinOption is
    /// NeedPermission answers `Result: 3` (waiting for the invitee) and adds no one.
    /// What triggers result 3 is unconfirmed; off by default.
    pub pending_on_need_permission: bool,
    /// The JSON type of Community's `get_group_member_info` `Next` cursor.
    pub member_cursor: MemberCursor,
}

/// Tencent's `增加群组成员` page lists 10019 for an account that does not exist,
/// failing the whole call; a per-member `Result: 0` is the unconfirmed alternative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownMemberAnswer {
    /// ErrorCode 10019 for the whole call; no one is added.
    #[default]
    WholeCall,
    /// ErrorCode 0; the unknown accounts get `Result: 0`, the others are added.
    ResultZero,
}

/// The documents disagree on the type of `Next` (Tencent's page: integer, `0` on
/// the first call; a widely used SDK: string, `""`). The simulator accepts either
/// and answers in the chosen type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemberCursor {
    #[default]
    Integer,
    String,
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
            unknown_member_answer: UnknownMemberAnswer::default(),
            pending_on_need_permission: false,
            member_cursor: MemberCursor::default(),
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
            .field("unknown_member_answer", &self.unknown_member_answer)
            .field(
                "pending_on_need_permission",
                &self.pending_on_need_permission,
            )
            .field("member_cursor", &self.member_cursor)
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

    /// Each member's role, `Owner` / `Admin` / `Member`, by account; empty if there
    /// is no such group.
    pub fn member_roles(&self, group_id: &str) -> BTreeMap<String, String> {
        let state = lock(&self.inner.state);
        let Some(tg) = state.groups.get(group_id) else {
            return BTreeMap::new();
        };
        tg.g.members
            .iter()
            .map(|m| (m.clone(), tg.role_of(m).to_string()))
            .collect()
    }

    /// Removes a member as someone in the console would; false if `account` is not
    /// a member (or is the owner, whom the service does not let anyone remove).
    pub fn kick_out_of_band(&self, group_id: &str, account: &str) -> bool {
        let mut state = lock(&self.inner.state);
        let Some(tg) = state.groups.get_mut(group_id) else {
            return false;
        };
        if !tg.is_member(account) || tg.g.owner.as_deref() == Some(account) {
            return false;
        }
        tg.remove_members(&[account]);
        true
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
