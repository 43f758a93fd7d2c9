//! Group lifecycle commands: create, get, modify, change owner, destroy.

use serde_json::{json, Map, Value};

use super::state::*;
use crate::types::SimGroup;

/// Validated group fields shared by create (and partially by modify).
fn base_fields(body: &Map<String, Value>, g: &mut SimGroup) -> Result<(), TErr> {
    if let Some(name) = opt_limited(body, "Name", 30)? {
        if name.is_empty() {
            return Err(err(INVALID_PARAM, "Name must not be empty"));
        }
        g.name = name.to_string();
    }
    if let Some(v) = opt_limited(body, "Introduction", 240)? {
        g.introduction = v.to_string();
    }
    if let Some(v) = opt_limited(body, "Notification", 300)? {
        g.notification = v.to_string();
    }
    if let Some(v) = opt_limited(body, "FaceUrl", 100)? {
        g.face_url = v.to_string();
    }
    if let Some(v) = opt_enum(body, "ApplyJoinOption", &APPLY_OPTIONS)? {
        g.join_option = v.to_string();
    }
    Ok(())
}

fn check_max(group_type: &str, max: u32, members: usize) -> Result<(), TErr> {
    let cap = member_cap(group_type);
    if cap != 0 && (max > cap || max == 0) {
        return Err(err(
            INVALID_PARAM,
            format!("max member number must be 1..={cap}"),
        ));
    }
    if cap != 0 && (max as usize) < members {
        return Err(err(
            INVALID_PARAM,
            "max member number is below the current member count",
        ));
    }
    Ok(())
}

pub(crate) fn create_group(st: &mut TencentState, ctx: &Ctx, body: &Map<String, Value>) -> TResult {
    let group_type = req_str(body, "Type")?;
    if !GROUP_TYPES.contains(&group_type) {
        return Err(err(
            INVALID_PARAM,
            format!("group type {group_type} is not valid"),
        ));
    }
    req_str(body, "Name")?;
    let av = group_type == "AVChatRoom";
    let mut g = SimGroup {
        group_type: group_type.to_string(),
        join_option: if av { "FreeAccess" } else { "NeedPermission" }.to_string(),
        max_members: default_max_members(group_type),
        ..SimGroup::default()
    };
    base_fields(body, &mut g)?;
    let invite = opt_enum(body, "InviteJoinOption", &INVITE_OPTIONS)?;
    if let Some(max) = opt_u32(body, "MaxMemberCount")? {
        check_max(group_type, max, 0)?;
        g.max_members = max;
    }
    for (k, v) in app_defined(body)? {
        g.custom_data.insert(k, v);
    }
    if let Some(owner) = opt_str(body, "Owner_Account")?.filter(|o| !o.is_empty()) {
        ctx.require_account(owner)?;
        g.owner = Some(owner.to_string());
        g.members.push(owner.to_string());
    }
    add_initial_members(body, ctx, &mut g)?;
    g.id = match opt_str(body, "GroupId")? {
        Some(id) => claim_custom_id(st, ctx, id, group_type)?,
        None => server_id(st, group_type),
    };
    let id = g.id.clone();
    st.insert(g, ctx.now);
    if let (Some(inv), Some(tg)) = (invite, st.groups.get_mut(&id)) {
        tg.invite_join_option = inv.to_string();
    }
    let mut out = Map::new();
    out.insert("GroupId".into(), json!(id));
    Ok(out)
}

fn add_initial_members(body: &Map<String, Value>, ctx: &Ctx, g: &mut SimGroup) -> Result<(), TErr> {
    let list = opt_array(body, "MemberList")?;
    if list.is_empty() {
        return Ok(());
    }
    if g.group_type == "AVChatRoom" {
        return Err(err(
            NO_PERMISSION,
            "AVChatRoom does not support MemberList on create",
        ));
    }
    if list.len() > 100 {
        return Err(err(TOO_MANY, "MemberList allows at most 100 members"));
    }
    for item in list {
        let Some(account) = item.get("Member_Account").and_then(Value::as_str) else {
            return Err(err(INVALID_PARAM, "MemberList items need Member_Account"));
        };
        ctx.require_account(account)?;
        if !g.members.iter().any(|m| m == account) {
            g.members.push(account.to_string());
        }
    }
    if g.max_members != 0 && g.members.len() > g.max_members as usize {
        return Err(err(GROUP_FULL, "MemberList exceeds the member limit"));
    }
    Ok(())
}

fn claim_custom_id(
    st: &TencentState,
    ctx: &Ctx,
    id: &str,
    group_type: &str,
) -> Result<String, TErr> {
    check_custom_id(id, group_type)?;
    match st.groups.get(id) {
        Some(existing) if existing.g.owner.as_deref() == Some(ctx.identifier.as_str()) => Err(err(
            ID_TAKEN_BY_YOU,
            format!("group id {id} is already used and you are its owner"),
        )),
        Some(_) => Err(err(
            ID_TAKEN,
            format!("group id {id} is already used by someone else"),
        )),
        None => Ok(id.to_string()),
    }
}

/// Server-assigned ids look like `@TGS#2J4SZEAEL` (Community: `@TGS#_@TGS#c...`).
fn server_id(st: &mut TencentState, group_type: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    loop {
        let tail: String = (0..9)
            .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
            .collect();
        let id = match group_type {
            "Community" => format!("@TGS#_@TGS#c{tail}"),
            "AVChatRoom" => format!("@TGS#a{tail}"),
            _ => format!("@TGS#{}{tail}", st.next_seq() % 10),
        };
        if !st.groups.contains_key(&id) && !st.disbanded.contains(&id) {
            return id;
        }
    }
}

pub(crate) fn modify_group_base_info(
    st: &mut TencentState,
    ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let id = req_str(body, "GroupId")?;
    let now = ctx.now;
    let tg = st.live(id)?;
    let mut g = tg.g.clone();
    base_fields(body, &mut g)?;
    let invite = opt_enum(body, "InviteJoinOption", &INVITE_OPTIONS)?;
    let mute = opt_str(body, "MuteAllMember")?;
    if mute.is_some_and(|m| m != "On" && m != "Off") {
        return Err(err(INVALID_PARAM, "MuteAllMember must be On or Off"));
    }
    // MaxMemberNum is ignored for AVChatRoom, as the service does.
    if let Some(max) = opt_u32(body, "MaxMemberNum")?.filter(|_| g.group_type != "AVChatRoom") {
        check_max(&g.group_type, max, g.members.len())?;
        g.max_members = max;
    }
    for (k, v) in app_defined(body)? {
        if v.is_empty() {
            g.custom_data.remove(&k);
        } else {
            g.custom_data.insert(k, v);
        }
    }
    tg.g = g;
    tg.info_time = now;
    if let Some(inv) = invite {
        tg.invite_join_option = inv.to_string();
    }
    if let Some(m) = mute {
        tg.mute_all = m.to_string();
    }
    Ok(Map::new())
}

pub(crate) fn change_group_owner(
    st: &mut TencentState,
    ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let id = req_str(body, "GroupId")?;
    let new_owner = req_str(body, "NewOwner_Account")?;
    let tg = st.live(id)?;
    if tg.g.group_type == "AVChatRoom" {
        return Err(err(
            NO_PERMISSION,
            "AVChatRoom does not support changing the owner",
        ));
    }
    ctx.require_account(new_owner)?;
    if !tg.g.members.iter().any(|m| m == new_owner) {
        return Err(err(
            INVALID_PARAM,
            format!("new owner {new_owner} is not a member of group {id}"),
        ));
    }
    // The old owner stays on as a plain member; the new one is no longer an admin.
    tg.admins.remove(new_owner);
    tg.g.owner = Some(new_owner.to_string());
    tg.info_time = ctx.now;
    Ok(Map::new())
}

pub(crate) fn destroy_group(
    st: &mut TencentState,
    _ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let id = req_group_id(body)?;
    st.live(id)?;
    st.disband(id);
    Ok(Map::new())
}
