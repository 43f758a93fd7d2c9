//! Team lifecycle ops: create, get, batch get, update, transfer owner, disband.

use serde_json::{json, Value};

use super::state::*;
use crate::types::SimGroup;

/// Member caps are not documented per plan; these are generous upper bounds.
fn members_cap(team_type: i64) -> u32 {
    if team_type == 2 {
        100_000
    } else {
        5_000
    }
}

/// Applies the optional descriptive fields shared by create and update.
fn apply_fields(t: &mut NTeam, input: &Input, team_type: i64) -> Result<(), NErr> {
    if let Some(name) = input.limited("name", 64)? {
        if name.is_empty() {
            return Err(err(PARAM, "name must not be empty"));
        }
        t.g.name = name.to_string();
    }
    let texts = [
        ("icon", 1024),
        ("announcement", 1024),
        ("intro", 512),
        ("server_extension", 1024),
        ("customer_extension", 1024),
    ];
    for (key, max) in texts {
        let Some(v) = input.limited(key, max)? else {
            continue;
        };
        let v = v.to_string();
        match key {
            "icon" => t.g.face_url = v,
            "announcement" => t.g.notification = v,
            "intro" => t.g.introduction = v,
            "server_extension" => t.g.server_extension = v,
            _ => t.customer_extension = v,
        }
    }
    input.extension(team_type)?;
    if let Some(limit) = input.int("members_limit")? {
        let cap = members_cap(team_type);
        if limit < 1 || limit > i64::from(cap) || (limit as usize) < t.g.members.len() {
            return Err(err(
                PARAM,
                format!("members_limit must be within member_count..={cap}"),
            ));
        }
        t.g.max_members = limit as u32;
    }
    apply_configuration(t, input)
}

fn apply_configuration(t: &mut NTeam, input: &Input) -> Result<(), NErr> {
    let Some(cfg) = input.params.get("configuration").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let cfg = cfg
        .as_object()
        .ok_or_else(|| err(PARAM, "configuration must be an object"))?;
    for (key, value) in cfg {
        let allowed: &[i64] = match key.as_str() {
            "join_mode" => &[0, 1, 2],
            "chat_banned_mode" => &[0, 1, 3],
            "agree_mode" | "invite_mode" | "update_team_info_mode" | "update_extension_mode" => {
                &[0, 1]
            }
            _ => continue,
        };
        let Some(v) = value.as_i64().filter(|v| allowed.contains(v)) else {
            return Err(err(PARAM, format!("configuration.{key} is not valid")));
        };
        if key == "join_mode" {
            t.g.join_option = v.to_string();
        } else {
            t.config.insert(key.clone(), v);
        }
    }
    Ok(())
}

pub(crate) fn create(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let owner = input.req_str("owner_account_id")?.to_string();
    input.req_str("name")?;
    input.limited("invite_msg", 150)?;
    ctx.require_account(&owner)?;
    let invitees = string_list(input, "invite_account_ids", 200)?;
    if invitees.contains(&owner) {
        return Err(err(PARAM, "invite_account_ids must not contain the owner"));
    }
    let g = SimGroup {
        group_type: team_type.to_string(),
        owner: Some(owner.clone()),
        members: vec![owner],
        max_members: 200,
        join_option: "0".into(),
        ..SimGroup::default()
    };
    let mut team = NTeam { g, ..placeholder() };
    apply_fields(&mut team, input, team_type)?;
    let id = st.insert(team.g.clone(), ctx.now_ms);
    let stored = st
        .teams
        .get_mut(&id)
        .ok_or_else(|| err(500, "team vanished"))?;
    stored.config = team.config;
    stored.customer_extension = team.customer_extension;
    let owner = stored.g.owner.clone().unwrap_or_default();
    let failed = super::members::admit(stored, ctx, &owner, &invitees);
    Ok(json!({"team_info": team_info(stored), "failed_list": failed}))
}

fn placeholder() -> NTeam {
    NTeam {
        g: SimGroup::default(),
        config: CONFIG_KEYS.iter().map(|k| (k.to_string(), 0)).collect(),
        customer_extension: String::new(),
        create_time: 0,
        update_time: 0,
        seq: 0,
        managers: Default::default(),
        pending: Default::default(),
        joined: Default::default(),
    }
}

/// A list of account ids (JSON array of strings), at most `max`.
pub(crate) fn string_list(input: &Input, key: &str, max: usize) -> Result<Vec<String>, NErr> {
    let list = match input.params.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(err(PARAM, format!("{key} must be an array"))),
    };
    if list.len() > max {
        return Err(err(PARAM, format!("{key} allows at most {max} accounts")));
    }
    list.iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| err(PARAM, format!("{key} items must be strings")))
}

pub(crate) fn get(st: &mut NeteaseState, _ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let team = st.team(input.team_id()?, team_type)?;
    Ok(json!({"team_info": team_info(team)}))
}

/// Batch get: `team_ids` is a JSON array of numbers (both SDKs serialize a
/// `[]int64` / `List<Long>`), at most 30 ids for advanced teams and 20 for
/// super teams (reference notes §2). Missing ids, and ids of a team of the
/// other type, come back in `invalid_tids` (Java SDK `List<Long>`).
pub(crate) fn batch_get(st: &mut NeteaseState, _ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let raw = input.req_str("team_ids")?;
    let ids: Vec<Value> =
        serde_json::from_str(raw).map_err(|_| err(PARAM, "team_ids must be a JSON array"))?;
    let max = if team_type == 2 { 20 } else { 30 };
    if ids.is_empty() || ids.len() > max {
        return Err(err(PARAM, format!("team_ids must hold 1..={max} ids")));
    }
    let (mut found, mut invalid) = (Vec::new(), Vec::new());
    for id in ids {
        let Some(n) = id.as_u64() else {
            return Err(err(PARAM, "team_ids items must be numbers"));
        };
        match st.teams.get(&n.to_string()) {
            Some(t) if t.g.group_type == team_type.to_string() => found.push(team_info(t)),
            _ => invalid.push(json!(n)),
        }
    }
    Ok(json!({"team_info_list": found, "invalid_tids": invalid}))
}

pub(crate) fn update(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let operator = input.req_str("operator_id")?;
    let team = st.team(input.team_id()?, team_type)?;
    require_owner_or_manager(team, operator)?;
    let mut changed = team.clone();
    apply_fields(&mut changed, input, team_type)?;
    changed.update_time = ctx.now_ms;
    *team = changed;
    Ok(json!({"team_info": team_info(team)}))
}

/// Seed 000: disband's `operator_id` is the owner or a manager; the same rule
/// is applied to update (reference notes §2). Anyone else → 109432.
pub(crate) fn require_owner_or_manager(team: &NTeam, operator: &str) -> Result<(), NErr> {
    if team.is_owner_or_manager(operator) {
        Ok(())
    } else {
        Err(err(
            OWNER_OR_MANAGER_REQUIRED,
            "only the team owner or a manager may do this",
        ))
    }
}

pub(crate) fn transfer_owner(st: &mut NeteaseState, ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let new_owner = input.req_str("new_owner_account_id")?.to_string();
    // Required, 1 or 2: both SDKs' `TransferTeamOwnerRequestV2` mark `leave` required.
    let leave = input.int("leave")?;
    if leave != Some(1) && leave != Some(2) {
        return Err(err(PARAM, "leave is required and must be 1 or 2"));
    }
    input.extension(team_type)?;
    let team = st.team(input.team_id()?, team_type)?;
    ctx.require_account(&new_owner)?;
    if team.g.owner.as_deref() == Some(new_owner.as_str()) {
        return Err(err(TRANSFER_TO_OWNER, "the account already owns the team"));
    }
    if !team.g.members.contains(&new_owner) {
        return Err(err(
            MEMBER_NOT_FOUND,
            format!("{new_owner} is not a team member"),
        ));
    }
    if let (Some(old), Some(1)) = (team.g.owner.clone(), leave) {
        team.g.members.retain(|m| *m != old);
        team.joined.remove(&old);
    }
    team.g.owner = Some(new_owner);
    team.prune_managers();
    team.update_time = ctx.now_ms;
    Ok(json!({}))
}

pub(crate) fn disband(st: &mut NeteaseState, _ctx: &Ctx, input: &Input) -> NResult {
    let team_type = input.team_type()?;
    let operator = input.req_str("operator_id")?;
    input.extension(team_type)?;
    let id = input.team_id()?.to_string();
    require_owner_or_manager(st.team(&id, team_type)?, operator)?;
    st.teams.remove(&id);
    Ok(json!({}))
}
