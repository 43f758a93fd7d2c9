//! Pure decisions: what the group should look like, what differs from what the
//! provider reports, and which id a new group gets. No I/O here.

use crate::api::{ChatGroup, ChatGroupSpec};
use crate::provider::{GroupAttributes, GroupType};

/// The attributes the spec declares.
pub fn desired_attributes(spec: &ChatGroupSpec) -> GroupAttributes {
    GroupAttributes {
        name: spec.name.clone(),
        owner: spec.owner.clone(),
        introduction: spec.introduction.clone(),
        notification: spec.notification.clone(),
        face_url: spec.face_url.clone(),
        max_members: spec.max_members,
        join_policy: spec.join_policy.map(Into::into),
        custom_data: spec.custom_data.clone(),
    }
}

/// The Tencent group id the operator creates for an object: derived from its UID, so
/// a retried create answers "already exists" for the same group instead of making a
/// second one, and two objects never collide. Community ids must start with `@TGS#_`.
pub fn derived_tencent_group_id(uid: &str, group_type: GroupType) -> String {
    let compact: String = uid.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    match group_type {
        GroupType::Community => format!("@TGS#_cg{compact}"),
        _ => format!("cg-{compact}"),
    }
}

/// The id the operator would create this object's group under on Tencent: the
/// adopted `spec.groupId`, or the one derived from the UID.
pub fn tencent_create_id(group: &ChatGroup, uid: &str) -> String {
    group
        .spec
        .group_id
        .clone()
        .unwrap_or_else(|| derived_tencent_group_id(uid, group.spec.group_type.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{JoinPolicy, ObservedGroup};

    fn spec(yaml: &str) -> ChatGroupSpec {
        serde_norway::from_str(yaml).expect("test spec parses")
    }

    fn observed_from(attrs: &GroupAttributes) -> ObservedGroup {
        ObservedGroup {
            id: "g1".into(),
            attributes: attrs.clone(),
            ..ObservedGroup::default()
        }
    }

    const FULL: &str = r#"
providerRef: {name: tencent}
type: Public
name: Ops
owner: alice
introduction: On-call room
maxMembers: 200
joinPolicy: NeedPermission
customData: {team: sre}
"#;

    #[test]
    fn a_group_that_matches_its_spec_needs_no_writes() {
        let desired = desired_attributes(&spec(FULL));
        let observed = observed_from(&desired);
        assert!(observed.changes_to(&desired).is_empty());
        assert_eq!(observed.owner_change(&desired), None);
    }

    #[test]
    fn only_the_fields_that_differ_are_written() {
        let desired = desired_attributes(&spec(FULL));
        let mut observed = observed_from(&desired);
        observed.attributes.name = "Old name".into();
        observed.attributes.join_policy = Some(JoinPolicy::FreeAccess);
        let changes = observed.changes_to(&desired);
        assert_eq!(changes.name.as_deref(), Some("Ops"));
        assert_eq!(changes.join_policy, Some(JoinPolicy::NeedPermission));
        assert_eq!(changes.introduction, None);
        assert_eq!(changes.custom_data, None);
    }

    #[test]
    fn fields_the_spec_leaves_unset_are_not_managed() {
        let desired =
            desired_attributes(&spec("providerRef: {name: t}\ntype: Public\nname: Ops\n"));
        let mut observed = observed_from(&desired);
        observed.attributes.introduction = Some("set in the console".into());
        observed.attributes.max_members = Some(500);
        assert!(observed.changes_to(&desired).is_empty());
    }

    #[test]
    fn removing_custom_data_keys_writes_the_whole_map() {
        let desired =
            desired_attributes(&spec("providerRef: {name: t}\ntype: Public\nname: Ops\n"));
        let mut observed = observed_from(&desired);
        observed
            .attributes
            .custom_data
            .insert("team".into(), "sre".into());
        assert_eq!(
            observed.changes_to(&desired).custom_data,
            Some(Default::default())
        );
    }

    #[test]
    fn a_new_owner_is_a_transfer_not_an_attribute_write() {
        let desired = desired_attributes(&spec(FULL));
        let mut observed = observed_from(&desired);
        observed.attributes.owner = Some("bob".into());
        assert_eq!(observed.owner_change(&desired).as_deref(), Some("alice"));
        assert!(observed.changes_to(&desired).is_empty());
    }

    #[test]
    fn derived_ids_are_valid_tencent_custom_ids() {
        let uid = "0b9f3c1e-5d7a-4c2b-9e8f-1a2b3c4d5e6f";
        let public = derived_tencent_group_id(uid, GroupType::Public);
        assert_eq!(public, "cg-0b9f3c1e5d7a4c2b9e8f1a2b3c4d5e6f");
        assert!(public.len() <= 48 && !public.starts_with("@TGS#"));
        let community = derived_tencent_group_id(uid, GroupType::Community);
        assert!(community.starts_with("@TGS#_") && community.len() <= 48);
    }
}
