//! NetEase team state, codes and parameter helpers.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{json, Map, Value};

use super::joined::JoinedTeamsOrder;
use super::roster::MemberPaging;
use crate::types::SimGroup;

pub(crate) const PARAM: i64 = 414;
pub(crate) const ACCOUNT_NOT_FOUND: i64 = 102404;
pub(crate) const NOT_ADVANCED: i64 = 108302;
pub(crate) const TRANSFER_TO_OWNER: i64 = 108310;
pub(crate) const TEAM_NOT_FOUND: i64 = 108404;
pub(crate) const ALREADY_MEMBER: i64 = 109311;
pub(crate) const MEMBER_NOT_FOUND: i64 = 109404;
pub(crate) const OWNER_REQUIRED: i64 = 109427;
pub(crate) const OWNER_OR_MANAGER_REQUIRED: i64 = 109432;
/// v2 "team member limit" (NODENIM `V2NIMErrorCode` 108437; v1 used 801).
pub(crate) const TEAM_FULL: i64 = 108437;
/// Manager limit exceeded (NODENIM).
pub(crate) const MANAGER_LIMIT: i64 = 108303;
/// The owner cannot be made a manager (NODENIM).
pub(crate) const OWNER_AS_MANAGER: i64 = 108430;
/// An operation on a manager the operator may not do (NODENIM).
pub(crate) const MANAGER_PROTECTED: i64 = 109305;
/// The kick list holds the owner / the operator (NODENIM).
pub(crate) const KICK_OWNER: i64 = 109308;
pub(crate) const KICK_SELF: i64 = 109310;
/// An operation on the owner not allowed (NODENIM).
pub(crate) const OWNER_PROTECTED: i64 = 109314;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NErr {
    pub code: i64,
    pub msg: String,
}

pub(crate) fn err(code: i64, msg: impl Into<String>) -> NErr {
    NErr {
        code,
        msg: msg.into(),
    }
}

/// The `data` object of a successful answer.
pub(crate) type NResult = Result<Value, NErr>;

/// Configuration flags kept beside the public `SimGroup` (join_mode lives in `join_option`).
pub(crate) const CONFIG_KEYS: [&str; 5] = [
    "agree_mode",
    "invite_mode",
    "update_team_info_mode",
    "update_extension_mode",
    "chat_banned_mode",
];

#[derive(Debug, Clone)]
pub(crate) struct NTeam {
    pub g: SimGroup,
    pub config: BTreeMap<String, i64>,
    pub customer_extension: String,
    /// Milliseconds since the epoch.
    pub create_time: i64,
    pub update_time: i64,
    pub seq: u64,
    /// Managers (role 2); always members, never the owner.
    pub managers: BTreeSet<String>,
    /// Invitations not yet accepted (`agree_mode` 0): invitee → inviting account.
    pub pending: BTreeMap<String, String>,
    /// When each member joined and who invited it; seeded members have no entry
    /// (the team's creation time and no invitor stand in).
    pub joined: BTreeMap<String, Joined>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Joined {
    /// Milliseconds since the epoch.
    pub time: i64,
    pub invitor: String,
}

impl NTeam {
    pub fn is_owner(&self, account: &str) -> bool {
        self.g.owner.as_deref() == Some(account)
    }

    pub fn is_owner_or_manager(&self, account: &str) -> bool {
        self.is_owner(account) || self.managers.contains(account)
    }

    pub fn is_member(&self, account: &str) -> bool {
        self.g.members.iter().any(|m| m == account)
    }

    pub fn is_full(&self) -> bool {
        self.g.members.len() >= self.g.max_members as usize
    }

    /// Adds `account` as a member; a pending invitation of it is used up.
    pub fn join(&mut self, account: &str, invitor: &str, now_ms: i64) {
        self.pending.remove(account);
        if !self.is_member(account) {
            self.g.members.push(account.to_string());
            let joined = Joined {
                time: now_ms,
                invitor: invitor.to_string(),
            };
            self.joined.insert(account.to_string(), joined);
        }
    }

    /// Removes a member (never the owner) and its manager status; false if it
    /// was not a member or is the owner.
    pub fn leave(&mut self, account: &str) -> bool {
        if self.is_owner(account) || !self.is_member(account) {
            return false;
        }
        self.g.members.retain(|m| m != account);
        self.joined.remove(account);
        self.prune_managers();
        true
    }

    /// `member_role`: 1 owner, 2 manager, 0 normal (Go `TeamMember.MemberRole`).
    pub fn role(&self, account: &str) -> i64 {
        if self.is_owner(account) {
            1
        } else if self.managers.contains(account) {
            2
        } else {
            0
        }
    }

    /// Keeps the manager set consistent after members or the owner changed.
    pub fn prune_managers(&mut self) {
        let (members, owner) = (&self.g.members, self.g.owner.as_deref());
        self.managers
            .retain(|m| members.contains(m) && Some(m.as_str()) != owner);
    }
}

#[derive(Debug, Default)]
pub(crate) struct NeteaseState {
    pub teams: BTreeMap<String, NTeam>,
    next_seq: u64,
}

impl NeteaseState {
    /// Stores a team created at `create_ms` (also its update time); returns its id.
    pub fn insert(&mut self, mut g: SimGroup, create_ms: i64) -> String {
        self.next_seq += 1;
        if g.id.is_empty() {
            g.id = (6_000_000_000u64 + self.next_seq * 7).to_string();
        }
        if g.join_option.is_empty() {
            g.join_option = "0".into();
        }
        if g.max_members == 0 {
            g.max_members = 200;
        }
        if g.group_type.is_empty() {
            g.group_type = "1".into();
        }
        // A seeded owner is a member, as on the service.
        if let Some(owner) = g.owner.clone().filter(|o| !g.members.contains(o)) {
            g.members.insert(0, owner);
        }
        let id = g.id.clone();
        let config = CONFIG_KEYS.iter().map(|k| (k.to_string(), 0)).collect();
        let team = NTeam {
            g,
            config,
            customer_extension: String::new(),
            create_time: create_ms,
            update_time: create_ms,
            seq: self.next_seq,
            managers: BTreeSet::new(),
            pending: BTreeMap::new(),
            joined: BTreeMap::new(),
        };
        self.teams.insert(id.clone(), team);
        id
    }

    /// The team, checked against the team_type the request declared.
    pub fn team(&mut self, id: &str, team_type: i64) -> Result<&mut NTeam, NErr> {
        let team = self
            .teams
            .get_mut(id)
            .ok_or_else(|| err(TEAM_NOT_FOUND, format!("team {id} does not exist")))?;
        match (team_type, team.g.group_type.as_str()) {
            (1, "1") | (2, "2") => Ok(team),
            (1, _) => Err(err(NOT_ADVANCED, "team is not an advanced team")),
            _ => Err(err(PARAM, "team_type does not match the team")),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub accounts: Option<HashSet<String>>,
    pub now_ms: i64,
    pub joined_order: JoinedTeamsOrder,
    pub member_paging: MemberPaging,
    /// Managers a team may have (`None`: no limit).
    pub manager_limit: Option<usize>,
}

impl Ctx {
    pub fn account_exists(&self, a: &str) -> bool {
        self.accounts.as_ref().is_none_or(|s| s.contains(a))
    }

    pub fn require_account(&self, a: &str) -> Result<(), NErr> {
        if self.account_exists(a) {
            Ok(())
        } else {
            Err(err(
                ACCOUNT_NOT_FOUND,
                format!("account {a} does not exist"),
            ))
        }
    }
}

/// Request parameters: the JSON body, or the query string for GET / v2.1 DELETE.
#[derive(Debug, Default)]
pub(crate) struct Input {
    pub team_id: Option<String>,
    pub account_id: Option<String>,
    pub params: Map<String, Value>,
    /// True when `params` is a JSON body: integers must then be JSON numbers
    /// (the SDKs send `*int` / `Integer`); a query string carries only text.
    pub from_body: bool,
}

impl Input {
    /// Integer parameter: a JSON number in a body, a decimal string in a query.
    pub fn int(&self, key: &str) -> Result<Option<i64>, NErr> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| bad(key)),
            Some(Value::String(s)) if !self.from_body => {
                s.trim().parse().map(Some).map_err(|_| bad(key))
            }
            Some(Value::String(_)) => Err(err(
                PARAM,
                format!("{key} must be a JSON number, not a string"),
            )),
            Some(_) => Err(bad(key)),
        }
    }

    pub fn team_type(&self) -> Result<i64, NErr> {
        match self.int("team_type")? {
            Some(t @ (1 | 2)) => Ok(t),
            _ => Err(err(PARAM, "team_type must be 1 or 2")),
        }
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&str>, NErr> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(key)),
        }
    }

    /// `extension` (a notification field, not stored): at most 512 characters,
    /// checked for advanced teams only; seed 000 says it has no effect on
    /// super teams, so there it is ignored whatever its length.
    pub fn extension(&self, team_type: i64) -> Result<(), NErr> {
        if team_type == 1 {
            self.limited("extension", 512)?;
        } else {
            self.opt_str("extension")?;
        }
        Ok(())
    }

    /// Optional string of at most `max` characters.
    pub fn limited(&self, key: &str, max: usize) -> Result<Option<&str>, NErr> {
        let v = self.opt_str(key)?;
        match v {
            Some(s) if s.chars().count() > max => {
                Err(err(PARAM, format!("{key} is longer than {max} characters")))
            }
            _ => Ok(v),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<&str, NErr> {
        match self.opt_str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(err(PARAM, format!("{key} is required"))),
        }
    }

    pub fn team_id(&self) -> Result<&str, NErr> {
        self.team_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err(PARAM, "team_id is required"))
    }
}

fn bad(key: &str) -> NErr {
    err(PARAM, format!("{key} has the wrong type"))
}

/// team_id as a JSON number when it is numeric (as the service emits it).
pub(crate) fn id_json(id: &str) -> Value {
    id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n))
}

pub(crate) fn team_info(t: &NTeam) -> Value {
    let g = &t.g;
    let mut config: Map<String, Value> = t
        .config
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    config.insert(
        "join_mode".into(),
        json!(g.join_option.parse::<i64>().unwrap_or(0)),
    );
    json!({
        "team_id": id_json(&g.id),
        "team_type": g.group_type.parse::<i64>().unwrap_or(1),
        "owner_account_id": g.owner.clone().unwrap_or_default(),
        "member_count": g.members.len(),
        "name": g.name,
        "icon": g.face_url,
        "announcement": g.notification,
        "intro": g.introduction,
        "members_limit": g.max_members,
        "server_extension": g.server_extension,
        "customer_extension": t.customer_extension,
        "create_time": t.create_time,
        "update_time": t.update_time,
        "configuration": config,
    })
}
