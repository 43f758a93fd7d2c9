//! Member roles and the member list: get_role_in_group, modify_group_member_info,
//! get_group_member_info.

use serde_json::{json, Map, Value};

use super::state::*;
use super::MemberCursor;

/// Accounts per get_role_in_group call (Tencent's page and its limits page).
const MAX_ROLE_QUERY: usize = 500;
/// get_group_member_info `Limit`: the page's text says at most 200 (100
/// recommended); its field table says 6000. The simulator holds clients to 200.
const MAX_MEMBER_PAGE: u32 = 200;
const ROLES: [&str; 3] = ["Owner", "Admin", "Member"];
const MEMBER_FIELDS: [&str; 7] = [
    "Role",
    "JoinTime",
    "MsgSeq",
    "MsgFlag",
    "LastSendMsgTime",
    "ShutUpUntil",
    "NameCard",
];

/// A group that keeps a member list; AVChatRoom does not (10007).
fn with_members<'a>(
    st: &'a mut TencentState,
    id: &str,
    what: &str,
) -> Result<&'a mut TGroup, TErr> {
    let tg = st.live(id)?;
    if tg.g.group_type == "AVChatRoom" {
        return Err(err(
            NO_PERMISSION,
            format!("AVChatRoom does not support {what}"),
        ));
    }
    Ok(tg)
}

fn strings<'a>(list: &'a [Value], key: &str) -> Result<Vec<&'a str>, TErr> {
    list.iter()
        .map(Value::as_str)
        .collect::<Option<Vec<&str>>>()
        .ok_or_else(|| err(INVALID_PARAM, format!("{key} items must be strings")))
}

pub(crate) fn get_role_in_group(
    st: &mut TencentState,
    _ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let id = req_str(body, "GroupId")?;
    let list = opt_array(body, "User_Account")?;
    if list.is_empty() {
        return Err(err(INVALID_PARAM, "User_Account is required"));
    }
    if list.len() > MAX_ROLE_QUERY {
        return Err(err(
            TOO_MANY,
            format!("User_Account allows at most {MAX_ROLE_QUERY} accounts"),
        ));
    }
    let accounts = strings(list, "User_Account")?;
    let tg = with_members(st, id, "member roles")?;
    let roles: Vec<Value> = accounts
        .iter()
        .map(|a| json!({"Member_Account": a, "Role": tg.role_of(a)}))
        .collect();
    let mut out = Map::new();
    out.insert("UserIdList".into(), Value::Array(roles));
    Ok(out)
}

pub(crate) fn modify_group_member_info(
    st: &mut TencentState,
    _ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let id = req_str(body, "GroupId")?;
    let account = req_str(body, "Member_Account")?;
    let role = opt_enum(body, "Role", &["Admin", "Member"])?;
    opt_limited(body, "NameCard", 50)?;
    let tg = with_members(st, id, "modifying members")?;
    if !tg.is_member(account) {
        return Err(err(
            NO_PERMISSION,
            format!("{account} is not a member of group {id}"),
        ));
    }
    let Some(role) = role else {
        return Ok(Map::new());
    };
    if tg.g.owner.as_deref() == Some(account) {
        return Err(err(INVALID_PARAM, "the owner's role cannot be changed"));
    }
    if role == "Admin" {
        if tg.g.group_type == "Private" {
            return Err(err(NO_PERMISSION, "Work (Private) groups have no admins"));
        }
        tg.admins.insert(account.to_string());
    } else {
        tg.admins.remove(account);
    }
    Ok(Map::new())
}

/// Community pages with `Next`, an integer or a string per the reading the app
/// was set up with; either is accepted.
fn community_start(body: &Map<String, Value>) -> Result<usize, TErr> {
    let bad = || err(INVALID_PARAM, "Next must be an integer or a numeric string");
    match body.get("Next") {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) if s.is_empty() => Ok(0),
        Some(Value::String(s)) => s.parse().map_err(|_| bad()),
        Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(bad),
    }
}

fn cursor(kind: MemberCursor, next: usize) -> Value {
    match (kind, next) {
        (MemberCursor::Integer, n) => json!(n),
        (MemberCursor::String, 0) => json!(""),
        (MemberCursor::String, n) => json!(n.to_string()),
    }
}

pub(crate) fn get_group_member_info(
    st: &mut TencentState,
    ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let id = req_str(body, "GroupId")?;
    let limit = opt_u32(body, "Limit")?;
    if limit.is_some_and(|l| l > MAX_MEMBER_PAGE) {
        return Err(err(
            INVALID_PARAM,
            format!("Limit must be at most {MAX_MEMBER_PAGE}"),
        ));
    }
    let fields = field_list(body, "MemberInfoFilter", &MEMBER_FIELDS)?;
    let roles = field_list(body, "MemberRoleFilter", &ROLES)?;
    let community = st.live(id)?.g.group_type == "Community";
    let start = if community {
        community_start(body)?
    } else {
        opt_u32(body, "Offset")?.unwrap_or(0) as usize
    };
    let tg = with_members(st, id, "listing members")?;
    let matching: Vec<&String> =
        tg.g.members
            .iter()
            .filter(|m| roles.as_ref().is_none_or(|r| r.contains(&tg.role_of(m))))
            .collect();
    // No Limit: every member from the start on (the page's field text).
    let take = limit.filter(|&l| l > 0).map_or(usize::MAX, |l| l as usize);
    let page: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(take)
        .map(|m| member_entry(tg, m, fields.as_deref()))
        .collect();
    let mut out = Map::new();
    out.insert("MemberNum".into(), json!(tg.g.members.len()));
    if community {
        let end = start.saturating_add(page.len());
        let next = if end < matching.len() { end } else { 0 };
        out.insert("Next".into(), cursor(ctx.member_cursor, next));
    }
    out.insert("MemberList".into(), Value::Array(page));
    Ok(out)
}

/// A list of names from `allowed`; `None` when the field is absent or empty.
fn field_list<'a>(
    body: &Map<String, Value>,
    key: &str,
    allowed: &[&'a str],
) -> Result<Option<Vec<&'a str>>, TErr> {
    let list = opt_array(body, key)?;
    if list.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for name in strings(list, key)? {
        let known = allowed
            .iter()
            .find(|a| **a == name)
            .ok_or_else(|| err(INVALID_PARAM, format!("{key} item {name} is not valid")))?;
        out.push(*known);
    }
    Ok(Some(out))
}

fn member_entry(tg: &TGroup, account: &str, fields: Option<&[&str]>) -> Value {
    let wants = |f: &str| fields.is_none_or(|fs| fs.contains(&f));
    let all = [
        ("Role", json!(tg.role_of(account))),
        ("JoinTime", json!(tg.join_time(account))),
        ("MsgSeq", json!(0)),
        ("MsgFlag", json!("AcceptAndNotify")),
        ("LastSendMsgTime", json!(0)),
        ("ShutUpUntil", json!(0)),
        ("NameCard", json!("")),
    ];
    let mut entry = Map::new();
    entry.insert("Member_Account".into(), json!(account));
    for (k, v) in all {
        if wants(k) {
            entry.insert(k.into(), v);
        }
    }
    Value::Object(entry)
}
