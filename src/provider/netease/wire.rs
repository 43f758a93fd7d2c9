//! NetEase request bodies and answer parsing.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::provider::config::ConfigError;
use crate::provider::validate::{netease_server_extension, split_server_extension, MARKER_KEY};
use crate::provider::{
    AttributeChanges, CreateRequest, GroupAttributes, GroupType, JoinPolicy, ObservedGroup,
};

pub fn team_type(group_type: GroupType) -> u8 {
    match group_type {
        GroupType::Super => 2,
        _ => 1,
    }
}

fn parse_team_type(value: Option<&Value>) -> Option<GroupType> {
    match value.and_then(as_i64) {
        Some(1) => Some(GroupType::Advanced),
        Some(2) => Some(GroupType::Super),
        _ => None,
    }
}

pub fn join_mode(policy: JoinPolicy) -> u8 {
    match policy {
        JoinPolicy::FreeAccess => 0,
        JoinPolicy::NeedPermission => 1,
        JoinPolicy::DisableApply => 2,
    }
}

fn parse_join_mode(value: Option<&Value>) -> Option<JoinPolicy> {
    match value.and_then(as_i64) {
        Some(0) => Some(JoinPolicy::FreeAccess),
        Some(1) => Some(JoinPolicy::NeedPermission),
        Some(2) => Some(JoinPolicy::DisableApply),
        _ => None,
    }
}

/// A number sent as a JSON number or a numeric string.
pub fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A team id, number or string, as a decimal string.
pub fn team_id(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s)
            if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(s.trim().to_string())
        }
        _ => None,
    }
}

/// A team id for a JSON body: a number when it fits (member endpoints send numbers).
pub fn team_id_value(id: &str) -> Value {
    id.parse::<u64>()
        .map_or_else(|_| Value::from(id), Value::from)
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

pub fn create_body(request: &CreateRequest) -> Result<Value, ConfigError> {
    let attrs = &request.attributes;
    let mut body = Map::new();
    body.insert(
        "owner_account_id".into(),
        attrs.owner.clone().unwrap_or_default().into(),
    );
    body.insert("team_type".into(), team_type(request.group_type).into());
    body.insert("name".into(), attrs.name.clone().into());
    insert_texts(
        &mut body,
        [&attrs.introduction, &attrs.notification, &attrs.face_url],
    );
    if let Some(max) = attrs.max_members {
        body.insert("members_limit".into(), max.into());
    }
    let extension = netease_server_extension(&attrs.custom_data, &request.marker)?;
    body.insert("server_extension".into(), extension.into());
    // agree_mode 1: invitees join at once, with no invitation to accept (NODENIM
    // `V2NIMTeamAgreeMode`; the Go SDK's field comments swap it with invite_mode).
    // Declared members join without an invitation to accept, and so does a new owner
    // a transfer invites first (it must be a member at once).
    let mut configuration = json!({"agree_mode": 1});
    if let Some(policy) = attrs.join_policy {
        configuration["join_mode"] = join_mode(policy).into();
    }
    body.insert("configuration".into(), configuration);
    Ok(Value::Object(body))
}

fn insert_texts(body: &mut Map<String, Value>, values: [&Option<String>; 3]) {
    for (key, value) in ["intro", "announcement", "icon"].into_iter().zip(values) {
        if let Some(value) = value {
            body.insert(key.into(), value.clone().into());
        }
    }
}

/// The update body: only what changes. `marker` is the one found on the team, kept
/// when the custom data is rewritten.
pub fn update_body(
    group_type: GroupType,
    operator: &str,
    changes: &AttributeChanges,
    marker: Option<&str>,
) -> Result<Value, ConfigError> {
    let mut body = Map::new();
    body.insert("team_type".into(), team_type(group_type).into());
    body.insert("operator_id".into(), operator.into());
    if let Some(name) = &changes.name {
        body.insert("name".into(), name.clone().into());
    }
    insert_texts(
        &mut body,
        [
            &changes.introduction,
            &changes.notification,
            &changes.face_url,
        ],
    );
    if let Some(max) = changes.max_members {
        body.insert("members_limit".into(), max.into());
    }
    if let Some(policy) = changes.join_policy {
        body.insert(
            "configuration".into(),
            json!({"join_mode": join_mode(policy)}),
        );
    }
    if let Some(data) = &changes.custom_data {
        let extension = match marker {
            Some(marker) => netease_server_extension(data, marker)?,
            None => custom_only_extension(data)?,
        };
        body.insert("server_extension".into(), extension.into());
    }
    Ok(Value::Object(body))
}

fn custom_only_extension(data: &BTreeMap<String, String>) -> Result<String, ConfigError> {
    // Built with a throwaway marker for the checks, then without it.
    netease_server_extension(data, "")?;
    Ok(Value::Object(
        data.iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect(),
    )
    .to_string())
}

/// One team as a get or batch get reports it (official SDKs' `TeamInfo`), with what
/// the provider-neutral [`ObservedGroup`] leaves out.
#[derive(Clone, Debug)]
pub struct TeamEntry {
    pub group: ObservedGroup,
    /// `create_time`, Unix milliseconds, when the answer carries a number.
    pub create_time: Option<i64>,
    /// The raw `server_extension`; `None` when the answer has none (absent or null).
    pub server_extension: Option<String>,
}

/// One `team_info` object with its creation time and raw `server_extension`; `None`
/// without a usable team id.
pub fn parse_team_entry(info: &Value) -> Option<TeamEntry> {
    let group = parse_team(info)?;
    Some(TeamEntry {
        group,
        create_time: info.get("create_time").and_then(as_i64),
        server_extension: text(info.get("server_extension")),
    })
}

/// One entry of the joined-teams list (official SDKs' `JoinedTeamInfo`: `team_id`,
/// `name`, `create_time`, ...; no team `server_extension`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinedEntry {
    pub id: String,
    pub name: String,
    pub create_time: Option<i64>,
}

/// One page of an account's joined teams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinedPage {
    pub entries: Vec<JoinedEntry>,
    /// The token of the next page; `None` when `has_more` is false.
    pub next_token: Option<String>,
}

/// Parses a joined-teams page strictly: a page whose completeness cannot be told
/// (no `team_info_list`, no boolean `has_more`, `has_more` without a `next_token`, an
/// entry without a team id) is an error naming the field, never an empty page.
pub fn parse_joined_page(data: &Value) -> Result<JoinedPage, String> {
    let list = match data.get("team_info_list") {
        Some(Value::Array(list)) => list,
        Some(_) => return Err("data.team_info_list is not a list".to_string()),
        None => return Err("data.team_info_list is missing".to_string()),
    };
    let has_more = match data.get("has_more") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("data.has_more is not a boolean".to_string()),
        None => return Err("data.has_more is missing".to_string()),
    };
    let mut entries = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Some(id) = team_id(item.get("team_id")) else {
            return Err(format!(
                "data.team_info_list[{i}].team_id is not a team id (a number)"
            ));
        };
        entries.push(JoinedEntry {
            id,
            name: text(item.get("name")).unwrap_or_default(),
            create_time: item.get("create_time").and_then(as_i64),
        });
    }
    let next_token = if has_more {
        match data.get("next_token").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Some(token.to_string()),
            _ => return Err("data.next_token is missing while has_more is true".to_string()),
        }
    } else {
        None
    };
    Ok(JoinedPage {
        entries,
        next_token,
    })
}

/// A batch get answer (`team_info_list`, `invalid_tids`).
#[derive(Clone, Debug)]
pub struct BatchAnswer {
    pub teams: Vec<TeamEntry>,
    /// Ids the answer lists in `invalid_tids` (missing teams); `None` when the answer
    /// has no such field.
    pub invalid: Option<Vec<String>>,
}

impl BatchAnswer {
    pub fn team(&self, id: &str) -> Option<&TeamEntry> {
        self.teams.iter().find(|t| t.group.id == id)
    }

    /// Whether the answer says `id` is missing. With `invalid_tids` (the Java SDK's
    /// reading) only a listed id is; without the field (the Go SDK's type has none)
    /// an id the successful answer leaves out of `team_info_list` is. Which one the
    /// service sends is unconfirmed, so both are read.
    pub fn is_invalid(&self, id: &str) -> bool {
        match &self.invalid {
            Some(listed) => listed.iter().any(|i| i == id),
            None => self.team(id).is_none(),
        }
    }
}

/// Parses a batch get answer strictly. `invalid_tids` is in the Java SDK's
/// `BatchQueryTeamInfoResponseV2` (`List<Long>`) and the reference notes, not in the Go
/// SDK's type: an answer without it is accepted (unconfirmed; see
/// [`BatchAnswer::is_invalid`]), and with it an id in neither list is the caller's
/// error. `team_info_list` may be absent only next to an `invalid_tids` list (whether
/// an all-missing answer omits it is unconfirmed). Ids that are not numbers are an
/// error naming the field.
pub fn parse_batch(data: &Value) -> Result<BatchAnswer, String> {
    let invalid = match data.get("invalid_tids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => {
            let mut ids = Vec::with_capacity(list.len());
            for (i, v) in list.iter().enumerate() {
                match team_id(Some(v)) {
                    Some(id) => ids.push(id),
                    None => {
                        return Err(format!(
                            "data.invalid_tids[{i}] is not a team id (a number): {v}"
                        ))
                    }
                }
            }
            Some(ids)
        }
        Some(_) => return Err("data.invalid_tids is not a list".to_string()),
    };
    let teams = match (data.get("team_info_list"), &invalid) {
        (Some(Value::Array(list)), _) => {
            let mut teams = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                match parse_team_entry(item) {
                    Some(team) => teams.push(team),
                    None => {
                        return Err(format!(
                            "data.team_info_list[{i}].team_id is not a team id (a number)"
                        ))
                    }
                }
            }
            teams
        }
        (None | Some(Value::Null), Some(_)) => Vec::new(),
        (None | Some(Value::Null), None) => {
            return Err("data.team_info_list is missing".to_string())
        }
        (Some(_), _) => return Err("data.team_info_list is not a list".to_string()),
    };
    Ok(BatchAnswer { teams, invalid })
}

/// One `team_info` object as an observed group; `None` without a usable team id.
pub fn parse_team(info: &Value) -> Option<ObservedGroup> {
    let id = team_id(info.get("team_id"))?;
    let extension = info
        .get("server_extension")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (custom_data, marker) = split_server_extension(extension);
    let as_u32 = |key: &str| {
        info.get(key)
            .and_then(as_i64)
            .and_then(|n| u32::try_from(n).ok())
    };
    Some(ObservedGroup {
        id,
        group_type: parse_team_type(info.get("team_type")),
        attributes: GroupAttributes {
            name: text(info.get("name")).unwrap_or_default(),
            owner: text(info.get("owner_account_id")).filter(|o| !o.is_empty()),
            introduction: text(info.get("intro")),
            notification: text(info.get("announcement")),
            face_url: text(info.get("icon")),
            max_members: as_u32("members_limit"),
            join_policy: parse_join_mode(
                info.get("configuration").and_then(|c| c.get("join_mode")),
            ),
            custom_data,
        },
        marker,
        member_count: as_u32("member_count"),
    })
}

/// What stamping a marker on a team's `server_extension` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StampPlan {
    /// The marker is there already: nothing to write.
    AlreadyStamped,
    /// Write this `server_extension`: the team's own keys and values kept, the marker
    /// key added (or replaced).
    Write(String),
    /// Not a JSON object (nor empty): the app's own data, left alone.
    Foreign,
    /// With the marker the text would be this many characters, over the 1024 allowed.
    TooLong(usize),
}

/// Plans the stamp of `marker` on a team whose `server_extension` is `raw`.
pub fn stamp_plan(raw: &str, marker: &str) -> StampPlan {
    let mut object = if raw.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(object)) => object,
            _ => return StampPlan::Foreign,
        }
    };
    if object.get(MARKER_KEY).and_then(Value::as_str) == Some(marker) {
        return StampPlan::AlreadyStamped;
    }
    object.insert(MARKER_KEY.to_string(), marker.into());
    let text = Value::Object(object).to_string();
    match text.chars().count() {
        n if n > SERVER_EXTENSION_MAX_CHARS => StampPlan::TooLong(n),
        _ => StampPlan::Write(text),
    }
}

/// `server_extension` limit (reference notes §2, create: ≤1024).
pub const SERVER_EXTENSION_MAX_CHARS: usize = 1024;

/// `failed_list` entries as `account (code msg)`, empty when there are none.
pub fn failed_list(data: &Value) -> Vec<String> {
    let Some(list) = data.get("failed_list").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|item| {
            let account = text(item.get("account_id")).unwrap_or_else(|| "?".to_string());
            let code = item.get("error_code").and_then(as_i64).unwrap_or_default();
            let msg = text(item.get("error_msg")).unwrap_or_default();
            format!("{account} ({code} {msg})")
        })
        .collect()
}

/// Failures in `failed_list` whose code is not "already a member".
pub fn real_failures(data: &Value) -> Vec<(i64, String)> {
    let Some(list) = data.get("failed_list").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|item| {
            let code = item.get("error_code").and_then(as_i64).unwrap_or_default();
            let account = text(item.get("account_id")).unwrap_or_default();
            (code != 109311).then_some((code, account))
        })
        .collect()
}

/// Percent-encodes an account id for use as one path segment.
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_ids_are_read_from_numbers_and_strings() {
        assert_eq!(
            team_id(Some(&json!(6001234567u64))).as_deref(),
            Some("6001234567")
        );
        assert_eq!(team_id(Some(&json!("42"))).as_deref(), Some("42"));
        assert_eq!(team_id(Some(&json!("abc"))), None);
        assert_eq!(team_id(None), None);
    }

    #[test]
    fn the_marker_is_split_from_custom_data() {
        let info = json!({"team_id": 7, "team_type": 1, "name": "n",
            "server_extension": format!("{{\"a\":\"1\",\"{MARKER_KEY}\":\"uid-1\"}}"),
            "configuration": {"join_mode": 2}});
        let team = parse_team(&info).unwrap();
        assert_eq!(team.marker.as_deref(), Some("uid-1"));
        assert_eq!(
            team.attributes.custom_data,
            BTreeMap::from([("a".to_string(), "1".to_string())])
        );
        assert_eq!(team.attributes.join_policy, Some(JoinPolicy::DisableApply));
        assert_eq!(team.group_type, Some(GroupType::Advanced));
    }

    #[test]
    fn a_foreign_server_extension_has_no_marker() {
        let team = parse_team(&json!({"team_id": "8", "server_extension": "not json"})).unwrap();
        assert!(team.attributes.custom_data.is_empty());
        assert_eq!(team.marker, None);
    }

    #[test]
    fn a_stamp_keeps_the_apps_keys_and_leaves_foreign_data_alone() {
        assert_eq!(
            stamp_plan("", "m"),
            StampPlan::Write(json!({ MARKER_KEY: "m" }).to_string())
        );
        let StampPlan::Write(text) = stamp_plan(r#"{"a":1,"b":"x"}"#, "m") else {
            panic!()
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, json!({"a": 1, "b": "x", MARKER_KEY: "m"}));
        let stamped = json!({ MARKER_KEY: "m" }).to_string();
        assert_eq!(stamp_plan(&stamped, "m"), StampPlan::AlreadyStamped);
        for foreign in ["text", "[1]", "3", "null", "{broken"] {
            assert_eq!(stamp_plan(foreign, "m"), StampPlan::Foreign, "{foreign}");
        }
        let big = json!({ "k": "x".repeat(1010) }).to_string();
        assert!(matches!(stamp_plan(&big, "m"), StampPlan::TooLong(n) if n > 1024));
    }

    #[test]
    fn pages_and_batches_missing_their_fields_are_errors() {
        assert!(parse_joined_page(&json!({"has_more": false}))
            .unwrap_err()
            .contains("team_info_list"));
        assert!(parse_joined_page(&Value::Null).is_err());
        let page = parse_joined_page(&json!({"has_more": true, "next_token": "t",
            "team_info_list": [{"team_id": "12", "name": "n", "create_time": 5}]}))
        .unwrap();
        assert_eq!(page.next_token.as_deref(), Some("t"));
        assert_eq!(page.entries[0].create_time, Some(5));
        let batch = parse_batch(&json!({"invalid_tids": ["7", 8]})).unwrap();
        assert!(batch.is_invalid("7") && batch.is_invalid("8") && batch.teams.is_empty());
        assert!(parse_batch(&json!({"invalid_tids": [-1]})).is_err());
        let listed = parse_batch(&json!({"team_info_list": [], "invalid_tids": []})).unwrap();
        assert!(!listed.is_invalid("9"), "listed in neither: not proof");
        let go_shape = parse_batch(&json!({"team_info_list": [{"team_id": 5}]})).unwrap();
        assert!(go_shape.is_invalid("9") && !go_shape.is_invalid("5"));
        assert!(parse_batch(&json!({"team_info_list": {}})).is_err());
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(path_segment("user_01"), "user_01");
    }
}
