//! Checks of group attributes against each provider's documented limits, made before
//! any call so a bad spec is reported by field instead of as a provider error.

use std::collections::BTreeMap;

use super::config::ConfigError;
use super::{AttributeChanges, GroupAttributes, GroupType, ProviderKind};

/// The key under which NetEase `server_extension` holds the marker.
pub const MARKER_KEY: &str = "im.chatgroup.dev/marker";

/// A marker as long as a Kubernetes UID, for checking sizes before the real marker is known.
const UID_LIKE_MARKER: &str = "00000000-0000-0000-0000-000000000000";

/// Checks `attrs` against the limits of the provider that owns `group_type`.
pub fn validate_attributes(
    group_type: GroupType,
    attrs: &GroupAttributes,
) -> Result<(), ConfigError> {
    if attrs.name.trim().is_empty() {
        return Err(ConfigError::new("spec.name", "must not be empty"));
    }
    match group_type.provider() {
        ProviderKind::Tencent => {
            tencent_fields(&text_fields(attrs))?;
            tencent_custom_data(&attrs.custom_data)
        }
        ProviderKind::NetEase => {
            if attrs.owner.as_deref().is_none_or(|o| o.trim().is_empty()) {
                return Err(ConfigError::new(
                    "spec.owner",
                    "NetEase teams require an owner account",
                ));
            }
            netease_fields(&text_fields(attrs))?;
            netease_server_extension(&attrs.custom_data, UID_LIKE_MARKER).map(|_| ())
        }
    }
}

/// Checks the fields an update would send.
pub fn validate_changes(
    group_type: GroupType,
    changes: &AttributeChanges,
) -> Result<(), ConfigError> {
    if changes.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ConfigError::new("spec.name", "must not be empty"));
    }
    let fields = [
        ("spec.name", changes.name.as_deref()),
        ("spec.introduction", changes.introduction.as_deref()),
        ("spec.notification", changes.notification.as_deref()),
        ("spec.faceUrl", changes.face_url.as_deref()),
    ];
    match group_type.provider() {
        ProviderKind::Tencent => {
            tencent_fields(&fields)?;
            changes
                .custom_data
                .as_ref()
                .map_or(Ok(()), tencent_custom_data)
        }
        ProviderKind::NetEase => {
            netease_fields(&fields)?;
            match &changes.custom_data {
                Some(data) => netease_server_extension(data, UID_LIKE_MARKER).map(|_| ()),
                None => Ok(()),
            }
        }
    }
}

/// Checks that `group_type` belongs to `kind`.
pub fn validate_type_for(kind: ProviderKind, group_type: GroupType) -> Result<(), ConfigError> {
    if group_type.provider() == kind {
        return Ok(());
    }
    let allowed = match kind {
        ProviderKind::Tencent => {
            "Public, Private, ChatRoom, AVChatRoom, Community, Work, Meeting, BChatRoom"
        }
        ProviderKind::NetEase => "Advanced, Super",
    };
    Err(ConfigError::new(
        "spec.type",
        format!("{group_type} is not a {kind} group type; allowed: {allowed}"),
    ))
}

/// Tencent custom `GroupId` rules for a create: an id any group can have (see
/// [`validate_tencent_group_id_to_adopt`]), not starting with the reserved `@TGS#`,
/// except Community ids which must start with `@TGS#_`. BChatRoom groups are not
/// created (a legacy type, listed only by the 2020 edition of the disband page).
pub fn validate_tencent_group_id(group_type: GroupType, id: &str) -> Result<(), ConfigError> {
    const FIELD: &str = "spec.groupId";
    validate_tencent_group_id_to_adopt(id)?;
    validate_tencent_creatable(group_type)?;
    let community = matches!(group_type, GroupType::Community);
    if community && !id.starts_with("@TGS#_") {
        return Err(ConfigError::new(
            FIELD,
            "a Community group id must start with @TGS#_",
        ));
    }
    if !community && id.starts_with("@TGS#") {
        return Err(ConfigError::new(
            FIELD,
            "must not start with the reserved prefix @TGS# (only Community ids use @TGS#_)",
        ));
    }
    Ok(())
}

/// Whether groups of `group_type` can be created on Tencent: every type but the legacy
/// BChatRoom.
pub fn validate_tencent_creatable(group_type: GroupType) -> Result<(), ConfigError> {
    if group_type == GroupType::BChatRoom {
        return Err(ConfigError::new(
            "spec.type",
            "BChatRoom is a legacy type: existing groups can be adopted (spec.groupId) and disbanded, none is created",
        ));
    }
    Ok(())
}

/// What any Tencent group id is, server-assigned ids (`@TGS#...`) included, so an
/// existing group can be adopted by it: printable ASCII (0x20–0x7E), 1 to 48 bytes.
pub fn validate_tencent_group_id_to_adopt(id: &str) -> Result<(), ConfigError> {
    const FIELD: &str = "spec.groupId";
    if id.is_empty() {
        return Err(ConfigError::new(FIELD, "must not be empty"));
    }
    if id.len() > 48 {
        return Err(ConfigError::new(
            FIELD,
            format!("is {} bytes; at most 48 allowed", id.len()),
        ));
    }
    if !id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(ConfigError::new(
            FIELD,
            "must be printable ASCII (0x20-0x7E)",
        ));
    }
    Ok(())
}

/// Builds the NetEase `server_extension`: the custom data plus the marker, as one JSON
/// object, at most 1024 characters.
pub fn netease_server_extension(
    data: &BTreeMap<String, String>,
    marker: &str,
) -> Result<String, ConfigError> {
    if data.contains_key(MARKER_KEY) {
        return Err(ConfigError::new(
            format!("spec.customData[{MARKER_KEY}]"),
            "this key is reserved for the operator's marker",
        ));
    }
    let mut object: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    object.insert(MARKER_KEY.to_string(), marker.into());
    let text = serde_json::Value::Object(object).to_string();
    let chars = text.chars().count();
    if chars > 1024 {
        return Err(ConfigError::new(
            "spec.customData",
            format!(
                "is {chars} characters as server_extension (with the marker); at most 1024 allowed"
            ),
        ));
    }
    Ok(text)
}

/// Splits a NetEase `server_extension` into custom data and marker. Anything that is
/// not a JSON object counts as foreign: no custom data, no marker.
pub fn split_server_extension(raw: &str) -> (BTreeMap<String, String>, Option<String>) {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(raw)
    else {
        return (BTreeMap::new(), None);
    };
    let mut data = BTreeMap::new();
    let mut marker = None;
    for (key, value) in object {
        let text = match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        if key == MARKER_KEY {
            marker = Some(text);
        } else {
            data.insert(key, text);
        }
    }
    (data, marker)
}

type Fields<'a> = [(&'static str, Option<&'a str>); 4];

fn text_fields(attrs: &GroupAttributes) -> Fields<'_> {
    [
        ("spec.name", Some(attrs.name.as_str())),
        ("spec.introduction", attrs.introduction.as_deref()),
        ("spec.notification", attrs.notification.as_deref()),
        ("spec.faceUrl", attrs.face_url.as_deref()),
    ]
}

fn tencent_fields(fields: &Fields<'_>) -> Result<(), ConfigError> {
    let limits = [30, 240, 300, 100];
    for ((field, value), limit) in fields.iter().zip(limits) {
        if let Some(value) = value {
            if value.len() > limit {
                return Err(ConfigError::new(
                    *field,
                    format!(
                        "is {} bytes (UTF-8); Tencent allows at most {limit}",
                        value.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn tencent_custom_data(data: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (key, value) in data {
        let field = format!("spec.customData[{key}]");
        if key.is_empty() || key.len() > 16 {
            return Err(ConfigError::new(
                field,
                "key must be 1 to 16 bytes (Tencent AppDefinedData)",
            ));
        }
        if value.len() > 512 {
            return Err(ConfigError::new(
                field,
                format!("value is {} bytes; Tencent allows at most 512", value.len()),
            ));
        }
    }
    Ok(())
}

fn netease_fields(fields: &Fields<'_>) -> Result<(), ConfigError> {
    let limits = [64, 512, 1024, 1024];
    for ((field, value), limit) in fields.iter().zip(limits) {
        if let Some(value) = value {
            let chars = value.chars().count();
            if chars > limit {
                return Err(ConfigError::new(
                    *field,
                    format!("is {chars} characters; NetEase allows at most {limit}"),
                ));
            }
        }
    }
    Ok(())
}
