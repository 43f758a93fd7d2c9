//! Tencent group state and the field rules shared by the handlers.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::{MemberCursor, UnknownMemberAnswer};
use crate::types::SimGroup;

pub(crate) const INVALID_PARAM: i64 = 10004;
pub(crate) const TOO_MANY: i64 = 10005;
pub(crate) const NO_PERMISSION: i64 = 10007;
pub(crate) const GROUP_NOT_FOUND: i64 = 10010;
/// Seed 001 (destroy_group error table): the group id is not valid.
pub(crate) const INVALID_GROUP_ID: i64 = 10015;
pub(crate) const GROUP_FULL: i64 = 10014;
pub(crate) const ACCOUNT_NOT_FOUND: i64 = 10019;
pub(crate) const ID_TAKEN: i64 = 10021;
pub(crate) const ID_TAKEN_BY_YOU: i64 = 10025;

pub(crate) const GROUP_TYPES: [&str; 5] =
    ["Private", "Public", "ChatRoom", "AVChatRoom", "Community"];
pub(crate) const APPLY_OPTIONS: [&str; 3] = ["FreeAccess", "NeedPermission", "DisableApply"];
pub(crate) const INVITE_OPTIONS: [&str; 3] = ["FreeAccess", "NeedPermission", "DisableInvite"];

/// A business failure: `ErrorCode` and `ErrorInfo`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TErr {
    pub code: i64,
    pub info: String,
}

pub(crate) fn err(code: i64, info: impl Into<String>) -> TErr {
    TErr {
        code,
        info: info.into(),
    }
}

pub(crate) type TResult = Result<Map<String, Value>, TErr>;

/// A stored group plus the fields `SimGroup` does not expose.
#[derive(Debug, Clone)]
pub(crate) struct TGroup {
    pub g: SimGroup,
    pub invite_join_option: String,
    pub mute_all: String,
    pub create_time: i64,
    pub info_time: i64,
    /// Creation order, the cursor of get_appid_group_list.
    pub seq: u64,
    /// Members made admins; the owner is never one of them.
    pub admins: BTreeSet<String>,
    /// When each member joined; seeded and initial members joined at creation.
    pub joined: BTreeMap<String, i64>,
}

impl TGroup {
    pub fn is_member(&self, account: &str) -> bool {
        self.g.members.iter().any(|m| m == account)
    }

    /// `Owner` / `Admin` / `Member`, or `NotMember` (get_role_in_group's words).
    pub fn role_of(&self, account: &str) -> &'static str {
        if self.g.owner.as_deref() == Some(account) {
            "Owner"
        } else if !self.is_member(account) {
            "NotMember"
        } else if self.admins.contains(account) {
            "Admin"
        } else {
            "Member"
        }
    }

    pub fn join_time(&self, account: &str) -> i64 {
        self.joined
            .get(account)
            .copied()
            .unwrap_or(self.create_time)
    }

    pub fn add_member(&mut self, account: &str, now: i64) {
        self.g.members.push(account.to_string());
        self.joined.insert(account.to_string(), now);
    }

    /// Removes members (and their admin status); the owner stays.
    pub fn remove_members(&mut self, accounts: &[&str]) {
        let owner = self.g.owner.clone();
        let gone = |m: &String| accounts.contains(&m.as_str()) && owner.as_ref() != Some(m);
        self.g.members.retain(|m| !gone(m));
        self.admins.retain(|m| !gone(m));
        self.joined.retain(|m, _| !gone(m));
    }
}

#[derive(Debug, Default)]
pub(crate) struct TencentState {
    pub groups: BTreeMap<String, TGroup>,
    pub disbanded: HashSet<String>,
    next_seq: u64,
}

/// Who is calling, which accounts exist, and the readings the app was set up with.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub identifier: String,
    pub accounts: Option<HashSet<String>>,
    pub now: i64,
    pub unknown_member_answer: UnknownMemberAnswer,
    pub pending_on_need_permission: bool,
    pub member_cursor: MemberCursor,
}

impl Ctx {
    pub fn account_exists(&self, account: &str) -> bool {
        self.accounts.as_ref().is_none_or(|a| a.contains(account))
    }

    pub fn require_account(&self, account: &str) -> Result<(), TErr> {
        if self.account_exists(account) {
            Ok(())
        } else {
            Err(err(
                ACCOUNT_NOT_FOUND,
                format!("account {account} does not exist"),
            ))
        }
    }
}

impl TencentState {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub fn insert(&mut self, mut group: SimGroup, now: i64) {
        let seq = self.next_seq();
        // Fill what a seed may leave empty the way the service would have.
        if group.group_type.is_empty() {
            group.group_type = "Public".into();
        }
        if group.join_option.is_empty() {
            let av = group.group_type == "AVChatRoom";
            group.join_option = if av { "FreeAccess" } else { "NeedPermission" }.into();
        }
        if group.max_members == 0 {
            group.max_members = default_max_members(&group.group_type);
        }
        // A seeded owner is a member, as on the service.
        if let Some(owner) = group.owner.clone().filter(|o| !group.members.contains(o)) {
            group.members.insert(0, owner);
        }
        self.disbanded.remove(&group.id);
        let tg = TGroup {
            g: group,
            invite_join_option: "FreeAccess".into(),
            mute_all: "Off".into(),
            create_time: now,
            info_time: now,
            seq,
            admins: BTreeSet::new(),
            joined: BTreeMap::new(),
        };
        self.groups.insert(tg.g.id.clone(), tg);
    }

    pub fn live(&mut self, id: &str) -> Result<&mut TGroup, TErr> {
        self.groups.get_mut(id).ok_or_else(|| {
            err(
                GROUP_NOT_FOUND,
                format!("group {id} does not exist or was dismissed"),
            )
        })
    }

    pub fn disband(&mut self, id: &str) -> bool {
        let gone = self.groups.remove(id).is_some();
        if gone {
            self.disbanded.insert(id.to_string());
        }
        gone
    }
}

/// Largest member cap a type allows (0 = unlimited).
pub(crate) fn member_cap(group_type: &str) -> u32 {
    match group_type {
        "AVChatRoom" => 0,
        "Community" => 100_000,
        _ => 6_000,
    }
}

pub(crate) fn default_max_members(group_type: &str) -> u32 {
    match group_type {
        "Private" => 200,
        "Public" => 2_000,
        "ChatRoom" => 6_000,
        "AVChatRoom" => 0,
        _ => 100_000,
    }
}

/// Optional string field; present but not a string → 10004.
pub(crate) fn opt_str<'a>(
    body: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, TErr> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(err(INVALID_PARAM, format!("{key} must be a string"))),
    }
}

pub(crate) fn req_str<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a str, TErr> {
    match opt_str(body, key)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(err(INVALID_PARAM, format!("{key} is required"))),
    }
}

/// Optional string with a byte limit (UTF-8 bytes, as the service counts).
pub(crate) fn opt_limited<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<Option<&'a str>, TErr> {
    let v = opt_str(body, key)?;
    match v {
        Some(s) if s.len() > max => Err(err(
            INVALID_PARAM,
            format!("{key} is longer than {max} bytes"),
        )),
        _ => Ok(v),
    }
}

pub(crate) fn opt_u32(body: &Map<String, Value>, key: &str) -> Result<Option<u32>, TErr> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                err(
                    INVALID_PARAM,
                    format!("{key} must be a non-negative integer"),
                )
            }),
    }
}

pub(crate) fn opt_enum<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, TErr> {
    match opt_str(body, key)? {
        Some(s) if !allowed.contains(&s) => {
            Err(err(INVALID_PARAM, format!("{key} {s} is not valid")))
        }
        other => Ok(other),
    }
}

/// Optional array field; present but not an array → 10004.
pub(crate) fn opt_array<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], TErr> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(err(INVALID_PARAM, format!("{key} must be an array"))),
    }
}

/// A group id that cannot name any group: empty, over 48 bytes, or not
/// printable ASCII (0x20-0x7E) → 10015.
pub(crate) fn check_group_id_format(id: &str) -> Result<(), TErr> {
    let printable = id.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if id.is_empty() || id.len() > 48 || !printable {
        return Err(err(
            INVALID_GROUP_ID,
            "the group id is not valid: it must be 1-48 bytes of printable ASCII",
        ));
    }
    Ok(())
}

/// A required GroupId that must be well formed: missing or not a string →
/// 10004, present but malformed (also empty) → 10015.
pub(crate) fn req_group_id(body: &Map<String, Value>) -> Result<&str, TErr> {
    let id = opt_str(body, "GroupId")?.ok_or_else(|| err(INVALID_PARAM, "GroupId is required"))?;
    check_group_id_format(id)?;
    Ok(id)
}

/// Custom GroupId rules: printable ASCII, ≤48 bytes, `@TGS#` reserved except
/// Community, whose ids must start with `@TGS#_`.
pub(crate) fn check_custom_id(id: &str, group_type: &str) -> Result<(), TErr> {
    let printable = id.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if id.is_empty() || id.len() > 48 || !printable {
        return Err(err(
            INVALID_PARAM,
            "GroupId must be 1-48 bytes of printable ASCII",
        ));
    }
    match (group_type == "Community", id.starts_with("@TGS#")) {
        (true, _) if !id.starts_with("@TGS#_") => Err(err(
            INVALID_PARAM,
            "Community GroupId must start with @TGS#_",
        )),
        (false, true) => Err(err(
            INVALID_PARAM,
            "GroupId must not start with the reserved prefix @TGS#",
        )),
        _ => Ok(()),
    }
}

/// AppDefinedData entries `[{Key, Value}]` with the documented size limits.
pub(crate) fn app_defined(body: &Map<String, Value>) -> Result<Vec<(String, String)>, TErr> {
    let mut out = Vec::new();
    for item in opt_array(body, "AppDefinedData")? {
        let key = item.get("Key").and_then(Value::as_str);
        let value = item.get("Value").and_then(Value::as_str);
        let (Some(key), Some(value)) = (key, value) else {
            return Err(err(
                INVALID_PARAM,
                "AppDefinedData items need string Key and Value",
            ));
        };
        if key.is_empty() || key.len() > 16 || value.len() > 512 {
            return Err(err(
                INVALID_PARAM,
                "AppDefinedData key must be 1-16 bytes, value at most 512 bytes",
            ));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}
