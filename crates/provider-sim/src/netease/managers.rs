//! Team managers: `POST /im/v2/teams/{team_id}/actions/add_manager` and
//! `DELETE /im/v2/teams/{team_id}/actions/remove_manager`, JSON body
//! `{team_type, operator_id, managers, extension?}`, answer `data: {}`
//! (SDK `AddTeamManagersRequestV2` / `AddTeamManagersResponseV2`, methods per
//! `team_v2_service_impl.go` and seed 000's menu: add POST, remove DELETE).

use serde_json::json;

use super::state::*;
use super::teams::string_list;

/// Accounts per call (reference notes §2: `managers: [≤10]`).
const MAX_PER_CALL: usize = 10;

/// Validated request: the team id, type and the accounts named.
struct Request {
    team_type: i64,
    operator: String,
    accounts: Vec<String>,
}

fn parse(input: &Input) -> Result<Request, NErr> {
    let team_type = input.team_type()?;
    let operator = input.req_str("operator_id")?.to_string();
    let accounts = string_list(input, "managers", MAX_PER_CALL)?;
    if accounts.is_empty() {
        return Err(err(PARAM, "managers is required"));
    }
    input.extension(team_type)?;
    Ok(Request {
        team_type,
        operator,
        accounts,
    })
}

/// Only the owner may change managers (Java SDK test `testAddTeamManagers`,
/// reference notes §2) → 109427 otherwise. Every named account must be a
/// member (109404); naming the owner is refused with `owner_code` (add 108430
/// "owner cannot be manager", remove 109314 "operation on owner", NODENIM; which
/// the service answers is unconfirmed). All or nothing: nothing changes when one
/// account is refused, and the whole call fails.
fn checked_team<'a>(
    st: &'a mut NeteaseState,
    ctx: &Ctx,
    input: &Input,
    req: &Request,
    owner_code: i64,
) -> Result<&'a mut NTeam, NErr> {
    let team = st.team(input.team_id()?, req.team_type)?;
    if !team.is_owner(&req.operator) {
        return Err(err(
            OWNER_REQUIRED,
            "only the team owner may change managers",
        ));
    }
    for account in &req.accounts {
        ctx.require_account(account)?;
        if team.is_owner(account) {
            return Err(err(owner_code, "the owner cannot be named here"));
        }
        if !team.is_member(account) {
            return Err(err(
                MEMBER_NOT_FOUND,
                format!("{account} is not a team member"),
            ));
        }
    }
    Ok(team)
}

pub(crate) fn add_manager(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let req = parse(input)?;
    let team = checked_team(st, ctx, input, &req, OWNER_AS_MANAGER)?;
    // Adding an existing manager again succeeds (unconfirmed). The limit is
    // undocumented (108303 names it): none unless the test sets one.
    let mut managers = team.managers.clone();
    managers.extend(req.accounts);
    if ctx.manager_limit.is_some_and(|max| managers.len() > max) {
        return Err(err(MANAGER_LIMIT, "team manager limit exceeded"));
    }
    team.managers = managers;
    team.update_time = ctx.now_ms;
    Ok(json!({}))
}

pub(crate) fn remove_manager(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let req = parse(input)?;
    let team = checked_team(st, ctx, input, &req, OWNER_PROTECTED)?;
    // Removing a member who is not a manager succeeds (unconfirmed).
    for account in &req.accounts {
        team.managers.remove(account);
    }
    team.update_time = ctx.now_ms;
    Ok(json!({}))
}
