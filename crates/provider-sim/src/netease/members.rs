//! Member ops: invite (`POST /im/v2/team_members`) and kick
//! (`DELETE /im/v2/team_members/actions/kick_member`).

use serde_json::{json, Value};

use super::state::*;
use super::teams::string_list;

/// Accounts per kick. v2 is undocumented: 10 (a third-party v2 client's comment)
/// or 200 (v1 `team/kick.action`); the smaller is enforced (unconfirmed).
pub(crate) const MAX_KICK: usize = 10;

fn failure(account: &str, code: i64, msg: &str) -> Value {
    json!({"account_id": account, "error_code": code, "error_msg": msg})
}

/// Adds invitees. With `agree_mode` 1 they join at once; with 0 (consent needed,
/// NODENIM `V2NIMTeamAgreeMode`; the Go SDK's field comments swap `agree_mode`
/// and `invite_mode`) each gets a pending invitation and joins only when it
/// accepts. Returns the `failed_list`; a pending invitee is not in it.
pub(crate) fn admit(team: &mut NTeam, ctx: &Ctx, invitor: &str, invitees: &[String]) -> Vec<Value> {
    let joins = team.config.get("agree_mode").copied() == Some(1);
    let mut failed = Vec::new();
    for account in invitees {
        let fail = if !ctx.account_exists(account) {
            Some((ACCOUNT_NOT_FOUND, "account does not exist"))
        } else if team.is_member(account) {
            Some((ALREADY_MEMBER, "already a team member"))
        } else if team.is_full() {
            Some((TEAM_FULL, "team member limit reached"))
        } else {
            None
        };
        match fail {
            Some((code, msg)) => failed.push(failure(account, code, msg)),
            None if joins => team.join(account, invitor, ctx.now_ms),
            None => {
                team.pending.insert(account.clone(), invitor.to_string());
            }
        }
    }
    failed
}

/// `team_id`: a JSON number in a body (a decimal string is accepted too), a
/// decimal string in a query.
fn numeric_team_id(input: &Input) -> Result<String, NErr> {
    match input.params.get("team_id") {
        Some(Value::Number(n)) if n.is_u64() => Ok(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(s.clone())
        }
        _ => Err(err(PARAM, "team_id is required (a number)")),
    }
}

fn answer(requested: &[String], failed: Vec<Value>) -> Value {
    let failed_ids: Vec<&str> = failed
        .iter()
        .filter_map(|f| f["account_id"].as_str())
        .collect();
    let success: Vec<&String> = requested
        .iter()
        .filter(|a| !failed_ids.contains(&a.as_str()))
        .collect();
    json!({"success_list": success, "failed_list": failed})
}

pub(crate) fn invite(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let operator = input.req_str("operator_id")?.to_string();
    let team_id = numeric_team_id(input)?;
    let invitees = string_list(input, "invite_account_ids", 200)?;
    if invitees.is_empty() {
        return Err(err(PARAM, "invite_account_ids is required"));
    }
    input.limited("msg", 150)?;
    input.extension(team_type)?;
    let team = st.team(&team_id, team_type)?;
    // invite_mode 0: owner and managers; 1: every member (reference notes §2).
    let everyone_invites = team.config.get("invite_mode").copied() == Some(1);
    let may_invite =
        team.is_owner_or_manager(&operator) || (everyone_invites && team.is_member(&operator));
    if !may_invite {
        return Err(err(
            OWNER_OR_MANAGER_REQUIRED,
            "operator may not invite to this team",
        ));
    }
    let failed = admit(team, ctx, &operator, &invitees);
    team.update_time = ctx.now_ms;
    Ok(answer(&invitees, failed))
}

/// Kick: query `operator_id`, `team_id`, `team_type`, `kick_account_ids`
/// (comma-joined), `extension` (Go `KickTeamMembers`, Java `kickTeamMembers`).
/// Only the owner or a manager may kick (109432); a manager may not kick
/// another manager (109305). Per-account refusals go to `failed_list`: unknown
/// account 102404, the operator 109310, the owner 109308, not a member 109404
/// (whether the service fails the whole call instead is unconfirmed). A kicked
/// manager stops being one.
pub(crate) fn kick(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let operator = input.req_str("operator_id")?.to_string();
    let team_id = numeric_team_id(input)?;
    let accounts: Vec<String> = input
        .req_str("kick_account_ids")?
        .split(',')
        .map(|a| a.trim().to_string())
        .collect();
    if accounts.iter().any(String::is_empty) {
        return Err(err(PARAM, "kick_account_ids holds an empty account id"));
    }
    if accounts.len() > MAX_KICK {
        return Err(err(
            PARAM,
            format!("kick_account_ids allows at most {MAX_KICK} accounts"),
        ));
    }
    input.extension(team_type)?;
    let team = st.team(&team_id, team_type)?;
    if !team.is_owner_or_manager(&operator) {
        return Err(err(
            OWNER_OR_MANAGER_REQUIRED,
            "only the team owner or a manager may kick",
        ));
    }
    let mut failed = Vec::new();
    for account in &accounts {
        let fail = if !ctx.account_exists(account) {
            Some((ACCOUNT_NOT_FOUND, "account does not exist"))
        } else if *account == operator {
            Some((KICK_SELF, "the operator cannot kick itself"))
        } else if team.is_owner(account) {
            Some((KICK_OWNER, "the owner cannot be kicked"))
        } else if !team.is_member(account) {
            Some((MEMBER_NOT_FOUND, "not a team member"))
        } else if team.managers.contains(account) && !team.is_owner(&operator) {
            Some((MANAGER_PROTECTED, "only the owner may kick a manager"))
        } else {
            None
        };
        match fail {
            Some((code, msg)) => failed.push(failure(account, code, msg)),
            None => {
                team.leave(account);
            }
        }
    }
    team.update_time = ctx.now_ms;
    Ok(answer(&accounts, failed))
}
