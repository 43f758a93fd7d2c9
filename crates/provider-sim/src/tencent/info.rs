//! get_group_info: per-item results and ResponseFilter handling.

use serde_json::{json, Map, Value};

use super::state::*;

const MAX_IDS: usize = 50;

pub(crate) fn get_group_info(
    st: &mut TencentState,
    _ctx: &Ctx,
    body: &Map<String, Value>,
) -> TResult {
    let ids = opt_array(body, "GroupIdList")?;
    if ids.is_empty() {
        return Err(err(INVALID_PARAM, "GroupIdList is required"));
    }
    if ids.len() > MAX_IDS {
        return Err(err(
            INVALID_PARAM,
            format!("GroupIdList allows at most {MAX_IDS} ids"),
        ));
    }
    let filter = Filter::parse(body)?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(id) = id.as_str() else {
            return Err(err(INVALID_PARAM, "GroupIdList items must be strings"));
        };
        if let Err(e) = check_group_id_format(id) {
            items.push(json!({"GroupId": id, "ErrorCode": e.code, "ErrorInfo": e.info}));
            continue;
        }
        items.push(match st.groups.get(id) {
            Some(tg) => group_item(tg, &filter),
            None => json!({
                "GroupId": id,
                "ErrorCode": GROUP_NOT_FOUND,
                "ErrorInfo": "this group does not exist or was dismissed",
            }),
        });
    }
    let mut out = Map::new();
    out.insert("GroupInfo".into(), Value::Array(items));
    Ok(out)
}

/// `None` in a list = no filter given (return everything of that kind).
#[derive(Debug, Default)]
struct Filter {
    present: bool,
    base: Option<Vec<String>>,
    members: Option<Vec<String>>,
    app_defined: Option<Vec<String>>,
}

impl Filter {
    fn parse(body: &Map<String, Value>) -> Result<Filter, TErr> {
        let Some(rf) = body.get("ResponseFilter").filter(|v| !v.is_null()) else {
            return Ok(Filter::default());
        };
        let Some(rf) = rf.as_object() else {
            return Err(err(INVALID_PARAM, "ResponseFilter must be an object"));
        };
        let list = |key: &str| -> Result<Option<Vec<String>>, TErr> {
            let items = opt_array(rf, key)?;
            if !rf.contains_key(key) {
                return Ok(None);
            }
            Ok(Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ))
        };
        Ok(Filter {
            present: true,
            base: list("GroupBaseInfoFilter")?,
            members: list("MemberInfoFilter")?,
            app_defined: list("AppDefinedDataFilter_Group")?,
        })
    }

    /// Once any filter is given, only what it lists is returned.
    fn wants_base(&self, field: &str) -> bool {
        match &self.base {
            Some(fields) => fields.iter().any(|f| f == field),
            None => !self.present,
        }
    }
}

fn group_item(tg: &TGroup, filter: &Filter) -> Value {
    let g = &tg.g;
    let av = g.group_type == "AVChatRoom";
    let base = [
        ("Type", json!(g.group_type)),
        ("Name", json!(g.name)),
        ("Introduction", json!(g.introduction)),
        ("Notification", json!(g.notification)),
        ("FaceUrl", json!(g.face_url)),
        ("Owner_Account", json!(g.owner.clone().unwrap_or_default())),
        ("CreateTime", json!(tg.create_time)),
        ("LastInfoTime", json!(tg.info_time)),
        ("LastMsgTime", json!(0)),
        ("NextMsgSeq", json!(1)),
        ("MemberNum", json!(if av { 0 } else { g.members.len() })),
        ("MaxMemberNum", json!(g.max_members)),
        ("ApplyJoinOption", json!(g.join_option)),
        ("InviteJoinOption", json!(tg.invite_join_option)),
        ("MuteAllMember", json!(tg.mute_all)),
    ];
    let mut item = Map::new();
    item.insert("GroupId".into(), json!(g.id));
    item.insert("ErrorCode".into(), json!(0));
    item.insert("ErrorInfo".into(), json!(""));
    for (k, v) in base {
        if filter.wants_base(k) {
            item.insert(k.into(), v);
        }
    }
    if filter.app_defined.is_some() || !filter.present {
        let data: Vec<Value> = g
            .custom_data
            .iter()
            .filter(|(k, _)| {
                filter
                    .app_defined
                    .as_ref()
                    .is_none_or(|keys| keys.contains(k))
            })
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        item.insert("AppDefinedData".into(), Value::Array(data));
    }
    if !av && (filter.members.is_some() || !filter.present) {
        item.insert(
            "MemberList".into(),
            member_list(tg, filter.members.as_deref()),
        );
    }
    Value::Object(item)
}

fn member_list(tg: &TGroup, fields: Option<&[String]>) -> Value {
    let wants = |f: &str| fields.is_none_or(|fs| fs.is_empty() || fs.iter().any(|x| x == f));
    let members = tg.g.members.iter().map(|m| {
        let mut entry = Map::new();
        entry.insert("Member_Account".into(), json!(m));
        if wants("Role") {
            entry.insert("Role".into(), json!(tg.role_of(m)));
        }
        if wants("JoinTime") {
            entry.insert("JoinTime".into(), json!(tg.join_time(m)));
        }
        Value::Object(entry)
    });
    Value::Array(members.collect())
}
