//! Member commands and the two list commands.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::state::*;
use super::UnknownMemberAnswer;

/// The documents say 20 (live page), 100, 300 and 500; the simulator holds clients to
/// the smallest.
const MAX_ADD: usize = 20;
const MAX_DELETE: usize = 100;

pub(crate) fn add_group_member(
    st: &mut TencentState,
    ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let id = req_str(body, "GroupId")?;
    let list = opt_array(body, "MemberList")?;
    if list.is_empty() {
        return Err(err(INVALID_PARAM, "MemberList is required"));
    }
    if list.len() > MAX_ADD {
        return Err(err(
            TOO_MANY,
            format!("MemberList allows at most {MAX_ADD} members"),
        ));
    }
    let accounts = list
        .iter()
        .map(|m| m.get("Member_Account").and_then(Value::as_str))
        .collect::<Option<Vec<&str>>>()
        .ok_or_else(|| err(INVALID_PARAM, "MemberList items need Member_Account"))?;
    let tg = st.live(id)?;
    if tg.g.group_type == "AVChatRoom" {
        return Err(err(
            NO_PERMISSION,
            "AVChatRoom does not support adding members",
        ));
    }
    let unknown = accounts.iter().find(|a| !ctx.account_exists(a));
    if let (Some(a), UnknownMemberAnswer::WholeCall) = (unknown, ctx.unknown_member_answer) {
        return Err(err(
            ACCOUNT_NOT_FOUND,
            format!("account {a} does not exist"),
        ));
    }
    let pending = ctx.pending_on_need_permission && tg.invite_join_option == "NeedPermission";
    let new: BTreeSet<&str> = accounts
        .iter()
        .copied()
        .filter(|a| ctx.account_exists(a) && !tg.is_member(a))
        .collect();
    if !pending
        && tg.g.max_members != 0
        && tg.g.members.len() + new.len() > tg.g.max_members as usize
    {
        return Err(err(GROUP_FULL, "the group is full"));
    }
    let mut results = Vec::new();
    for account in accounts {
        let result = if !ctx.account_exists(account) {
            0
        } else if tg.is_member(account) {
            2
        } else if pending {
            3
        } else {
            tg.add_member(account, ctx.now);
            1
        };
        results.push(json!({"Member_Account": account, "Result": result}));
    }
    let mut out = Map::new();
    out.insert("MemberList".into(), Value::Array(results));
    Ok(out)
}

pub(crate) fn delete_group_member(
    st: &mut TencentState,
    _ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let id = req_str(body, "GroupId")?;
    let list = opt_array(body, "MemberToDel_Account")?;
    if list.is_empty() {
        return Err(err(INVALID_PARAM, "MemberToDel_Account is required"));
    }
    if list.len() > MAX_DELETE {
        return Err(err(
            TOO_MANY,
            format!("MemberToDel_Account allows at most {MAX_DELETE} accounts"),
        ));
    }
    let accounts = list
        .iter()
        .map(Value::as_str)
        .collect::<Option<Vec<&str>>>()
        .ok_or_else(|| err(INVALID_PARAM, "MemberToDel_Account items must be strings"))?;
    let tg = st.live(id)?;
    if tg.g.group_type == "AVChatRoom" {
        return Err(err(
            INVALID_PARAM,
            "AVChatRoom does not support deleting members",
        ));
    }
    if accounts.iter().any(|a| tg.g.owner.as_deref() == Some(*a)) {
        return Err(err(
            INVALID_PARAM,
            "the owner cannot be deleted from the group",
        ));
    }
    // Removing non-members succeeds: the call is idempotent.
    tg.remove_members(&accounts);
    Ok(Map::new())
}

fn paging(body: &Map<String, Value>, key: &str, max: u32, default: u32) -> Result<usize, TErr> {
    match opt_u32(body, key)? {
        None | Some(0) => Ok(default as usize),
        Some(n) if n > max => Err(err(INVALID_PARAM, format!("{key} must be at most {max}"))),
        Some(n) => Ok(n as usize),
    }
}

/// Live groups in creation order, optionally of one type.
fn ordered<'a>(st: &'a TencentState, group_type: Option<&str>) -> Vec<&'a TGroup> {
    let mut groups: Vec<&TGroup> = st
        .groups
        .values()
        .filter(|tg| group_type.is_none_or(|t| tg.g.group_type == t))
        .collect();
    groups.sort_by_key(|tg| tg.seq);
    groups
}

pub(crate) fn get_joined_group_list(
    st: &mut TencentState,
    ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let account = req_str(body, "Member_Account")?;
    ctx.require_account(account)?;
    let group_type = opt_enum(body, "GroupType", &GROUP_TYPES)?;
    let limit = paging(body, "Limit", 10_000, 10_000)?;
    let offset = opt_u32(body, "Offset")?.unwrap_or(0) as usize;
    let joined: Vec<&TGroup> = ordered(st, group_type)
        .into_iter()
        .filter(|tg| tg.g.members.iter().any(|m| m == account))
        .collect();
    let page: Vec<Value> = joined
        .iter()
        .skip(offset)
        .take(limit)
        .map(|tg| json!({"GroupId": tg.g.id, "Type": tg.g.group_type, "Name": tg.g.name}))
        .collect();
    let mut out = Map::new();
    out.insert("TotalCount".into(), json!(joined.len()));
    out.insert("GroupIdList".into(), Value::Array(page));
    Ok(out)
}

pub(crate) fn get_appid_group_list(
    st: &mut TencentState,
    _ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let group_type = opt_enum(body, "GroupType", &GROUP_TYPES)?;
    let limit = paging(body, "Limit", 10_000, 10_000)?;
    let next = match body.get("Next") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| err(INVALID_PARAM, "Next must be an unsigned integer"))?,
    };
    let all = ordered(st, group_type);
    let rest: Vec<&&TGroup> = all.iter().filter(|tg| tg.seq > next).collect();
    let page: Vec<Value> = rest
        .iter()
        .take(limit)
        .map(|tg| json!({"GroupId": tg.g.id}))
        .collect();
    let next = if rest.len() > limit {
        rest[limit - 1].seq
    } else {
        0
    };
    let mut out = Map::new();
    out.insert("TotalCount".into(), json!(all.len()));
    out.insert("GroupIdList".into(), Value::Array(page));
    out.insert("Next".into(), json!(next));
    Ok(out)
}
