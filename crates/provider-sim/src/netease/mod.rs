//! NetEase Yunxin v2 / v2.1 team API simulator.

mod auth;
mod dispatch;
mod joined;
mod managers;
mod members;
mod roster;
mod state;
mod teams;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use serde_json::Value;

pub use auth::netease_checksum;
pub use joined::JoinedTeamsOrder;
pub use roster::MemberPaging;

use crate::core::{now_unix, SimCore};
use crate::faults::lock;
use crate::ratelimit::RateLimits;
use crate::server::ServerHandle;
use crate::types::{Fault, RecordedCall, SimGroup};
use state::NeteaseState;

/// How the simulated app is set up.
#[derive(Clone)]
pub struct NeteaseSimConfig {
    pub app_key: String,
    pub app_secret: String,
    /// `None` = every account exists; `Some(list)` = others get 102404.
    pub accounts: Option<Vec<String>>,
    /// Calls per second per op; overrun → code 416.
    pub rate_limit_per_api: u32,
    /// Allowed distance between CurTime and the server clock.
    pub curtime_window_secs: i64,
}

impl Default for NeteaseSimConfig {
    fn default() -> Self {
        NeteaseSimConfig {
            app_key: "sim-app-key".to_string(),
            app_secret: "sim-app-secret".to_string(),
            accounts: None,
            rate_limit_per_api: 100,
            curtime_window_secs: 300,
        }
    }
}

// Hand-written so the AppSecret never reaches Debug output.
impl std::fmt::Debug for NeteaseSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeteaseSimConfig")
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("accounts", &self.accounts)
            .field("rate_limit_per_api", &self.rate_limit_per_api)
            .field("curtime_window_secs", &self.curtime_window_secs)
            .finish()
    }
}

pub(crate) struct NeteaseInner {
    pub config: NeteaseSimConfig,
    pub core: SimCore,
    pub state: Mutex<NeteaseState>,
    /// First answer per X-custom-traceid (the service deduplicates by it).
    pub seen: Mutex<HashMap<String, Value>>,
    /// Order the joined-teams list is served in.
    pub joined_order: Mutex<JoinedTeamsOrder>,
    /// Which parameter the member list reads its page cursor from.
    pub member_paging: Mutex<MemberPaging>,
    /// Managers a team may have; `None`: no limit.
    pub manager_limit: Mutex<Option<usize>>,
}

/// A running NetEase simulator; dropping it (or `shutdown().await`) stops the server.
pub struct NeteaseSim {
    inner: Arc<NeteaseInner>,
    server: ServerHandle,
}

impl NeteaseSim {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start(config: NeteaseSimConfig) -> anyhow::Result<NeteaseSim> {
        NeteaseSim::start_on_port(config, 0).await
    }

    /// Starts on the given port of 127.0.0.1 (0 = ephemeral).
    pub async fn start_on_port(config: NeteaseSimConfig, port: u16) -> anyhow::Result<NeteaseSim> {
        let inner = Arc::new(NeteaseInner {
            core: SimCore::new(RateLimits::new(config.rate_limit_per_api, &[])),
            config,
            state: Mutex::new(NeteaseState::default()),
            seen: Mutex::new(HashMap::new()),
            joined_order: Mutex::new(JoinedTeamsOrder::default()),
            member_paging: Mutex::new(MemberPaging::default()),
            manager_limit: Mutex::new(None),
        });
        let router = Router::new()
            .route(crate::types::LISTING_PATH, axum::routing::get(listing))
            .fallback(dispatch::handle)
            .with_state(inner.clone());
        let server = ServerHandle::start(router, port).await?;
        Ok(NeteaseSim { inner, server })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.inner.core.calls()
    }

    /// Calls to one op: "create" | "get" | "batch_get" | "update" |
    /// "transfer_owner" | "disband" | "joined_teams" | "invite" | "kick" |
    /// "list_members" | "add_manager" | "remove_manager".
    pub fn calls_to(&self, op: &str) -> Vec<RecordedCall> {
        self.inner.core.calls_to(op)
    }

    /// Live teams, ordered by team id string.
    pub fn groups(&self) -> Vec<SimGroup> {
        lock(&self.inner.state)
            .teams
            .values()
            .map(|t| t.g.clone())
            .collect()
    }

    pub fn group(&self, id: &str) -> Option<SimGroup> {
        lock(&self.inner.state).teams.get(id).map(|t| t.g.clone())
    }

    /// Seeds a team (`group_type` "1" | "2"; an empty id gets a server-assigned one).
    pub fn insert_group(&self, group: SimGroup) {
        lock(&self.inner.state).insert(group, now_unix() * 1000);
    }

    /// Seeds a team whose `create_time` is `create_time_ms` (Unix milliseconds).
    pub fn insert_group_created_at(&self, group: SimGroup, create_time_ms: i64) {
        lock(&self.inner.state).insert(group, create_time_ms);
    }

    /// Disbands a team as if from the console; false if it was not live.
    pub fn disband_out_of_band(&self, id: &str) -> bool {
        lock(&self.inner.state).teams.remove(id).is_some()
    }

    /// Serves the joined-teams list in another order (NetEase documents none).
    pub fn set_joined_order(&self, order: JoinedTeamsOrder) {
        *lock(&self.inner.joined_order) = order;
    }

    /// Reads the member list's page cursor from `page_token`, `next_token` or
    /// either (the default); the SDKs disagree on the name.
    pub fn set_member_paging(&self, paging: MemberPaging) {
        *lock(&self.inner.member_paging) = paging;
    }

    /// Limits the managers per team (108303 beyond it); `None` (the default) is
    /// no limit, as the number is undocumented.
    pub fn set_manager_limit(&self, limit: Option<usize>) {
        *lock(&self.inner.manager_limit) = limit;
    }

    /// Account → "Owner" | "Admin" (a manager) | "Member"; empty if no such team.
    pub fn member_roles(&self, team_id: &str) -> BTreeMap<String, String> {
        let state = lock(&self.inner.state);
        let Some(team) = state.teams.get(team_id) else {
            return BTreeMap::new();
        };
        team.g
            .members
            .iter()
            .map(|m| {
                let role = match team.role(m) {
                    1 => "Owner",
                    2 => "Admin",
                    _ => "Member",
                };
                (m.clone(), role.to_string())
            })
            .collect()
    }

    /// Removes a member (not the owner) as if from the console; false if it was
    /// not a removable member.
    pub fn kick_out_of_band(&self, team_id: &str, account: &str) -> bool {
        let mut state = lock(&self.inner.state);
        state
            .teams
            .get_mut(team_id)
            .is_some_and(|team| team.leave(account))
    }

    /// Accounts invited to the team that have not accepted yet (`agree_mode` 0).
    pub fn pending_invitations(&self, team_id: &str) -> Vec<String> {
        let state = lock(&self.inner.state);
        state
            .teams
            .get(team_id)
            .map(|t| t.pending.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The invitee accepts: it becomes a member. False without a pending
    /// invitation, or when the team is full (the invitation is kept; v1 super
    /// team doc: accepting fails once the team is full).
    pub fn accept_invitation(&self, team_id: &str, account: &str) -> bool {
        let mut state = lock(&self.inner.state);
        let Some(team) = state.teams.get_mut(team_id) else {
            return false;
        };
        let Some(invitor) = team.pending.get(account).cloned() else {
            return false;
        };
        if team.is_member(account) {
            team.pending.remove(account);
            return false;
        }
        if team.is_full() {
            return false;
        }
        team.join(account, &invitor, now_unix() * 1000);
        true
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

    /// Changes the per-op rate (0 rejects every call) and refills the buckets.
    pub fn set_rate_limit(&self, per_second: u32) {
        self.inner.core.limits.set_default(per_second);
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

impl std::fmt::Debug for NeteaseSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeteaseSim")
            .field("base_url", &self.base_url())
            .finish()
    }
}

/// `GET /sim/groups`: every team the simulator holds (read-only; no real endpoint).
async fn listing(
    axum::extract::State(inner): axum::extract::State<Arc<NeteaseInner>>,
) -> axum::Json<Vec<SimGroup>> {
    let state = lock(&inner.state);
    axum::Json(state.teams.values().map(|t| t.g.clone()).collect())
}
