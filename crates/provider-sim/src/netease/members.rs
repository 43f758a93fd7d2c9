//! Member ops: invite and joined teams.

use serde_json::{json, Value};

use super::state::*;
use super::teams::string_list;

const MAX_PAGE: i64 = 100;

/// Adds invitees. With `agree_mode` 1 they join at once; with 0 they are only
/// invited (the invitation is not modelled, so they do not appear as members).
/// Returns the `failed_list`.
pub(crate) fn admit(team: &mut NTeam, ctx: &Ctx, invitees: &[String]) -> Vec<Value> {
    let joins = team.config.get("agree_mode").copied() == Some(1);
    let mut failed = Vec::new();
    for account in invitees {
        let fail = if !ctx.account_exists(account) {
            Some((ACCOUNT_NOT_FOUND, "account does not exist"))
        } else if team.g.members.contains(account) {
            Some((ALREADY_MEMBER, "already a team member"))
        } else if joins && team.g.members.len() >= team.g.max_members as usize {
            Some((TEAM_FULL, "team member limit reached"))
        } else {
            None
        };
        match fail {
            Some((code, msg)) => {
                failed.push(json!({"account_id": account, "error_code": code, "error_msg": msg}))
            }
            None if joins => team.g.members.push(account.clone()),
            None => {}
        }
    }
    failed
}

pub(crate) fn invite(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let operator = input.req_str("operator_id")?.to_string();
    let team_id = match input.params.get("team_id") {
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(err(PARAM, "team_id is required")),
    };
    let invitees = string_list(input, "invite_account_ids", 200)?;
    if invitees.is_empty() {
        return Err(err(PARAM, "invite_account_ids is required"));
    }
    input.limited("msg", 150)?;
    input.limited("extension", 512)?;
    let team = st.team(&team_id, team_type)?;
    let everyone_invites = team.config.get("invite_mode").copied() == Some(1);
    let is_owner = team.g.owner.as_deref() == Some(operator.as_str());
    let may_invite = is_owner || (everyone_invites && team.g.members.contains(&operator));
    if !may_invite {
        return Err(err(
            OWNER_OR_MANAGER_REQUIRED,
            "operator may not invite to this team",
        ));
    }
    let failed = admit(team, ctx, &invitees);
    let failed_ids: Vec<&str> = failed
        .iter()
        .filter_map(|f| f["account_id"].as_str())
        .collect();
    let success: Vec<&String> = invitees
        .iter()
        .filter(|a| !failed_ids.contains(&a.as_str()))
        .collect();
    team.update_time = ctx.now_ms;
    Ok(json!({"success_list": success, "failed_list": failed}))
}

pub(crate) fn joined_teams(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let account = input
        .account_id
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| err(PARAM, "account_id is required"))?;
    ctx.require_account(&account)?;
    let limit = input.int("limit")?.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(err(PARAM, format!("limit must be 1..={MAX_PAGE}")));
    }
    // The page token is the creation sequence of the last team returned.
    let after: u64 = match input.opt_str("page_token")? {
        None | Some("") => 0,
        Some(tok) => tok
            .parse()
            .map_err(|_| err(PARAM, "page_token is not valid"))?,
    };
    let mut teams: Vec<&NTeam> = st
        .teams
        .values()
        .filter(|t| {
            t.g.group_type == team_type.to_string()
                && t.seq > after
                && t.g.members.contains(&account)
        })
        .collect();
    teams.sort_by_key(|t| t.seq);
    let limit = limit as usize;
    let has_more = teams.len() > limit;
    let page = &teams[..teams.len().min(limit)];
    let next_token = match (has_more, page.last()) {
        (true, Some(last)) => last.seq.to_string(),
        _ => String::new(),
    };
    let items: Vec<Value> = page.iter().map(|t| team_info(t)).collect();
    Ok(json!({"items": items, "has_more": has_more, "next_token": next_token}))
}
