//! The joined-teams list: `GET /im/v2.1/team_members/{account_id}/actions/joined_teams`.
//!
//! Shape: the official SDKs' `QueryJoinedTeamsResponseV2` / `JoinedTeamInfo`
//! (netease-im/yunxin-server-sdk-golang `src/im/v2/team_member/team_member_v2_responses.go`;
//! yunxin-server-sdk-java `QueryJoinedTeamsResponseV2.java`): `has_more`,
//! `next_token`, `team_info_list`; an entry carries no team `server_extension`.
//! Query: `team_type`, `page_token`, `limit`, `need_return_member_info`
//! (`team_member_v2_service_impl.go`, `QueryJoinedTeams`).

use serde_json::{json, Map, Value};

use super::state::*;

/// Order of the teams across the joined-teams pages. NetEase documents none
/// (unconfirmed): a client must not depend on it. The simulator serves newest
/// first by default and can serve oldest first to test the other reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JoinedTeamsOrder {
    /// Descending `create_time` (ties: later creation first).
    #[default]
    NewestFirst,
    /// Ascending `create_time` (ties: earlier creation first).
    OldestFirst,
}

/// Largest page (reference notes §2: `limit ≤100`); over it → 414.
pub(crate) const MAX_LIMIT: i64 = 100;
/// Page size when `limit` is absent (unconfirmed; the maximum is assumed).
const DEFAULT_LIMIT: i64 = MAX_LIMIT;

/// Configuration keys a joined-team entry carries (both SDKs' `TeamConfiguration`).
const JOINED_CONFIG_KEYS: [&str; 4] = [
    "agree_mode",
    "invite_mode",
    "update_team_info_mode",
    "update_extension_mode",
];

/// Sort key of a team within the list: creation time, then creation order.
fn key(t: &NTeam) -> (i64, u64) {
    (t.create_time, t.seq)
}

/// The page token names the last team served: `"<create_time>_<seq>"`.
/// Clients must treat it as opaque.
fn token_of(t: &NTeam) -> String {
    format!("{}_{}", t.create_time, t.seq)
}

fn parse_token(tok: &str) -> Option<(i64, u64)> {
    let (ct, seq) = tok.split_once('_')?;
    Some((ct.parse().ok()?, seq.parse().ok()?))
}

pub(crate) fn joined_teams(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let account = input
        .account_id
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| err(PARAM, "account_id is required"))?;
    ctx.require_account(&account)?;
    let limit = input.int("limit")?.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(err(PARAM, format!("limit must be 1..={MAX_LIMIT}")));
    }
    let with_member = match input.int("need_return_member_info")? {
        None | Some(0) => false,
        Some(1) => true,
        Some(_) => return Err(err(PARAM, "need_return_member_info must be 0 or 1")),
    };
    let after = match input.opt_str("page_token")? {
        None | Some("") => None,
        Some(tok) => Some(parse_token(tok).ok_or_else(|| err(PARAM, "page_token is not valid"))?),
    };
    let newest_first = ctx.joined_order == JoinedTeamsOrder::NewestFirst;
    let comes_after = |t: &NTeam| match after {
        None => true,
        Some(k) if newest_first => key(t) < k,
        Some(k) => key(t) > k,
    };
    let mut teams: Vec<&NTeam> = st
        .teams
        .values()
        .filter(|t| t.g.group_type == team_type.to_string() && t.is_member(&account))
        .filter(|t| comes_after(t))
        .collect();
    teams.sort_by_key(|t| key(t));
    if newest_first {
        teams.reverse();
    }
    let limit = limit as usize;
    let has_more = teams.len() > limit;
    let page = &teams[..teams.len().min(limit)];
    let next_token = match (has_more, page.last()) {
        (true, Some(last)) => token_of(last),
        _ => String::new(),
    };
    let list: Vec<Value> = page
        .iter()
        .map(|t| joined_entry(t, with_member.then_some(account.as_str())))
        .collect();
    Ok(json!({"has_more": has_more, "next_token": next_token, "team_info_list": list}))
}

/// One `JoinedTeamInfo`; `member_info` only when asked for.
fn joined_entry(t: &NTeam, member: Option<&str>) -> Value {
    let g = &t.g;
    let mut config: Map<String, Value> = JOINED_CONFIG_KEYS
        .iter()
        .map(|k| (k.to_string(), json!(t.config.get(*k).copied().unwrap_or(0))))
        .collect();
    config.insert(
        "join_mode".into(),
        json!(g.join_option.parse::<i64>().unwrap_or(0)),
    );
    let mut entry = json!({
        "team_id": id_json(&g.id),
        "owner_account_id": g.owner.clone().unwrap_or_default(),
        "name": g.name,
        "icon": g.face_url,
        "member_count": g.members.len(),
        "members_limit": g.max_members,
        "create_time": t.create_time,
        "update_time": t.update_time,
        "configuration": config,
    });
    if let Some(account) = member {
        entry["member_info"] = member_info(t, account);
    }
    entry
}

/// The member's own entry: only the fields both SDKs' `MemberInfo` agree on
/// (the role is `team_member_type` in Go and `member_role` in Java:
/// unconfirmed, so not served). Join times are not tracked: the team's
/// creation time stands in.
fn member_info(t: &NTeam, account: &str) -> Value {
    json!({
        "account_id": account,
        "team_nick": "",
        "chat_banned": false,
        "join_time": t.create_time,
        "server_extension": "",
    })
}
