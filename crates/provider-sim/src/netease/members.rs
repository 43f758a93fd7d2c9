//! Member ops: invite (`POST /im/v2/team_members`).

use serde_json::{json, Value};

use super::state::*;
use super::teams::string_list;

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
