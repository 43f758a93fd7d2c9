//! The member list: `GET /im/v2.1/teams/{team_id}/actions/list_members`.
//!
//! Answer `items` [TeamMember], `next_token`, `has_more` (Go `ListTeamMembersResponseV2`,
//! `TeamMember`; Java `ListTeamMembersResponseV2`). The request's paging differs
//! between the official SDKs: Java sends `page_token`, `member_type` (0 all, 1 owner
//! and managers, 2 normal members), `chat_banned_type`, `descending`; Go sends
//! `offset` and `next_token`. Which the service reads is unconfirmed: by default
//! the simulator reads both token names, and can be set to read only one.

use serde_json::{json, Value};

use super::state::*;

/// Which request parameter carries the page cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberPaging {
    /// `page_token` or `next_token`; both given must agree (else 414).
    #[default]
    Either,
    /// Only `page_token` (the Java SDK's reading); `next_token` is ignored.
    PageToken,
    /// Only `next_token` (the Go SDK's reading); `page_token` is ignored.
    NextToken,
}

/// Largest page (v1 super team `getTlists` "limit 最多100条"; v2 unconfirmed).
pub(crate) const MAX_LIMIT: i64 = 100;

/// Members are served in account-id order; the token names the last account
/// served, hex-encoded (NetEase documents neither order nor token format).
fn cursor(ctx: &Ctx, input: &Input) -> Result<Option<String>, NErr> {
    let page = input.opt_str("page_token")?.filter(|t| !t.is_empty());
    let next = input.opt_str("next_token")?.filter(|t| !t.is_empty());
    let token = match ctx.member_paging {
        MemberPaging::PageToken => page,
        MemberPaging::NextToken => next,
        MemberPaging::Either => match (page, next) {
            (Some(p), Some(n)) if p != n => {
                return Err(err(PARAM, "page_token and next_token disagree"))
            }
            (p, n) => p.or(n),
        },
    };
    token
        .map(|t| {
            hex::decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| err(PARAM, "page token is not valid"))
        })
        .transpose()
}

pub(crate) fn list_members(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let limit = input.int("limit")?.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(err(PARAM, format!("limit must be 1..={MAX_LIMIT}")));
    }
    let member_type = input.int("member_type")?.unwrap_or(0);
    if !(0..=2).contains(&member_type) {
        return Err(err(PARAM, "member_type must be 0, 1 or 2"));
    }
    let offset = input.int("offset")?.unwrap_or(0);
    if offset < 0 {
        return Err(err(PARAM, "offset must not be negative"));
    }
    let after = cursor(ctx, input)?;
    let team = st.team(input.team_id()?, team_type)?;
    let mut accounts: Vec<&String> = team
        .g
        .members
        .iter()
        .filter(|a| match member_type {
            1 => team.is_owner_or_manager(a),
            2 => !team.is_owner_or_manager(a),
            _ => true,
        })
        .filter(|a| after.as_ref().is_none_or(|k| a.as_str() > k.as_str()))
        .collect();
    accounts.sort();
    let rest = &accounts[accounts.len().min(offset as usize)..];
    let limit = limit as usize;
    let has_more = rest.len() > limit;
    let page = &rest[..rest.len().min(limit)];
    let next_token = match (has_more, page.last()) {
        (true, Some(last)) => hex::encode(last.as_bytes()),
        _ => String::new(),
    };
    let items: Vec<Value> = page.iter().map(|a| member_item(team, a)).collect();
    Ok(json!({"items": items, "next_token": next_token, "has_more": has_more}))
}

/// One `TeamMember` (Go `team_v2_responses.go`).
fn member_item(team: &NTeam, account: &str) -> Value {
    let joined = team.joined.get(account).cloned().unwrap_or(Joined {
        time: team.create_time,
        invitor: String::new(),
    });
    json!({
        "team_id": id_json(&team.g.id),
        "account_id": account,
        "member_role": team.role(account),
        "team_nick": "",
        "server_extension": "",
        "chat_banned": false,
        "join_time": joined.time,
        "update_time": joined.time,
        "invitor_account_id": joined.invitor,
    })
}
