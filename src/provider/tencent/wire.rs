//! Tencent request bodies and answer parsing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::provider::{
    AttributeChanges, CreateRequest, GroupAttributes, GroupType, JoinPolicy, ObservedGroup,
};

/// The base-info fields read back; the filter keeps member lists out of the answer
/// (a response over 1 MB fails with 10018).
const BASE_INFO_FIELDS: [&str; 10] = [
    "Type",
    "Name",
    "Introduction",
    "Notification",
    "FaceUrl",
    "Owner_Account",
    "CreateTime",
    "MemberNum",
    "MaxMemberNum",
    "ApplyJoinOption",
];

/// The REST `Type`: the old spellings, which every REST version accepts.
pub fn rest_type(group_type: GroupType) -> &'static str {
    match group_type {
        GroupType::Work => "Private",
        GroupType::Meeting => "ChatRoom",
        other => other.as_str(),
    }
}

pub fn parse_type(text: &str) -> Option<GroupType> {
    Some(match text {
        "Public" => GroupType::Public,
        "Private" => GroupType::Private,
        "Work" => GroupType::Work,
        "ChatRoom" => GroupType::ChatRoom,
        "Meeting" => GroupType::Meeting,
        "AVChatRoom" => GroupType::AVChatRoom,
        "Community" => GroupType::Community,
        "BChatRoom" => GroupType::BChatRoom,
        _ => return None,
    })
}

pub fn join_option(policy: JoinPolicy) -> &'static str {
    match policy {
        JoinPolicy::FreeAccess => "FreeAccess",
        JoinPolicy::NeedPermission => "NeedPermission",
        JoinPolicy::DisableApply => "DisableApply",
    }
}

pub fn parse_join_option(text: &str) -> Option<JoinPolicy> {
    match text {
        "FreeAccess" => Some(JoinPolicy::FreeAccess),
        "NeedPermission" => Some(JoinPolicy::NeedPermission),
        "DisableApply" => Some(JoinPolicy::DisableApply),
        _ => None,
    }
}

/// A number sent as a JSON number or a numeric string.
pub fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

fn as_u32(value: Option<&Value>) -> Option<u32> {
    value.and_then(as_i64).and_then(|n| u32::try_from(n).ok())
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

fn app_defined(data: &BTreeMap<String, String>) -> Value {
    data.iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

pub fn create_body(request: &CreateRequest) -> Value {
    let attrs = &request.attributes;
    let mut body = Map::new();
    body.insert("Type".into(), rest_type(request.group_type).into());
    body.insert("Name".into(), attrs.name.clone().into());
    let optional = [
        ("GroupId", request.group_id.as_ref()),
        ("Owner_Account", attrs.owner.as_ref()),
        ("Introduction", attrs.introduction.as_ref()),
        ("Notification", attrs.notification.as_ref()),
        ("FaceUrl", attrs.face_url.as_ref()),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            body.insert(key.into(), value.clone().into());
        }
    }
    if let Some(max) = attrs.max_members {
        body.insert("MaxMemberCount".into(), max.into());
    }
    if let Some(policy) = attrs.join_policy {
        body.insert("ApplyJoinOption".into(), join_option(policy).into());
    }
    if !attrs.custom_data.is_empty() {
        body.insert("AppDefinedData".into(), app_defined(&attrs.custom_data));
    }
    Value::Object(body)
}

/// Once a filter is given, custom data comes back only for the keys it names
/// (`custom_keys`: every key this app's client has used or seen).
pub fn get_body(ids: &[&str], custom_keys: &BTreeSet<String>) -> Value {
    let mut filter = json!({ "GroupBaseInfoFilter": BASE_INFO_FIELDS });
    if !custom_keys.is_empty() {
        filter["AppDefinedDataFilter_Group"] = json!(custom_keys);
    }
    json!({ "GroupIdList": ids, "ResponseFilter": filter })
}

/// The modify body; `current_keys` are the custom-data keys the group has now, so
/// the ones no longer wanted are deleted with an empty value.
pub fn modify_body(id: &str, changes: &AttributeChanges, current_keys: &BTreeSet<String>) -> Value {
    let mut body = Map::new();
    body.insert("GroupId".into(), id.into());
    let optional = [
        ("Name", changes.name.as_ref()),
        ("Introduction", changes.introduction.as_ref()),
        ("Notification", changes.notification.as_ref()),
        ("FaceUrl", changes.face_url.as_ref()),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            body.insert(key.into(), value.clone().into());
        }
    }
    if let Some(max) = changes.max_members {
        body.insert("MaxMemberNum".into(), max.into());
    }
    if let Some(policy) = changes.join_policy {
        body.insert("ApplyJoinOption".into(), join_option(policy).into());
    }
    if let Some(desired) = &changes.custom_data {
        let mut items: Vec<Value> = desired
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        let gone = current_keys.iter().filter(|k| !desired.contains_key(*k));
        items.extend(gone.map(|k| json!({"Key": k, "Value": ""})));
        body.insert("AppDefinedData".into(), Value::Array(items));
    }
    Value::Object(body)
}

/// One `GroupInfo[]` item (with `ErrorCode` 0) as an observed group.
pub fn parse_group(id: &str, item: &Value) -> ObservedGroup {
    let custom_data = item
        .get("AppDefinedData")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|kv| {
                    Some((
                        text(kv.get("Key"))?,
                        text(kv.get("Value")).unwrap_or_default(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    ObservedGroup {
        id: id.to_string(),
        group_type: item
            .get("Type")
            .and_then(Value::as_str)
            .and_then(parse_type),
        attributes: GroupAttributes {
            name: text(item.get("Name")).unwrap_or_default(),
            owner: text(item.get("Owner_Account")).filter(|o| !o.is_empty()),
            introduction: text(item.get("Introduction")),
            notification: text(item.get("Notification")),
            face_url: text(item.get("FaceUrl")),
            max_members: as_u32(item.get("MaxMemberNum")),
            join_policy: item
                .get("ApplyJoinOption")
                .and_then(Value::as_str)
                .and_then(parse_join_option),
            custom_data,
        },
        marker: None,
        member_count: as_u32(item.get("MemberNum")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modify_deletes_keys_that_are_gone() {
        let changes = AttributeChanges {
            custom_data: Some(BTreeMap::from([("keep".to_string(), "1".to_string())])),
            ..Default::default()
        };
        let current = BTreeSet::from(["keep".to_string(), "old".to_string()]);
        let body = modify_body("g1", &changes, &current);
        let items = body["AppDefinedData"].as_array().unwrap();
        assert!(items.contains(&json!({"Key": "keep", "Value": "1"})));
        assert!(items.contains(&json!({"Key": "old", "Value": ""})));
        assert!(body.get("Name").is_none(), "unchanged fields are not sent");
    }

    #[test]
    fn new_and_old_type_spellings_are_read() {
        assert_eq!(parse_type("Work"), Some(GroupType::Work));
        assert_eq!(parse_type("Private"), Some(GroupType::Private));
        assert_eq!(parse_type("Meeting"), Some(GroupType::Meeting));
        assert_eq!(rest_type(GroupType::Work), "Private");
        assert_eq!(parse_type("Bogus"), None);
    }

    #[test]
    fn a_group_is_parsed_leniently() {
        let item = json!({"GroupId": "g", "ErrorCode": 0, "Type": "Public", "Name": "n",
            "Owner_Account": "", "MaxMemberNum": "200", "ApplyJoinOption": "FreeAccess",
            "ShutUpAllMember": "Off", "AppDefinedData": [{"Key": "k", "Value": "v"}]});
        let group = parse_group("g", &item);
        assert_eq!(group.attributes.owner, None);
        assert_eq!(group.attributes.max_members, Some(200));
        assert_eq!(group.attributes.join_policy, Some(JoinPolicy::FreeAccess));
        assert_eq!(
            group.attributes.custom_data.get("k").map(String::as_str),
            Some("v")
        );
    }
}
