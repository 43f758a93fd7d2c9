//! `ChatGroupClaim`: which ChatGroup owns one provider group, cluster-wide.
//!
//! Created with create semantics before the operator creates or adopts a group, so
//! of two ChatGroups that name the same group (in one namespace or two, through one
//! ChatProvider or two pointing at the same app) exactly one wins. Named from a hash
//! of the exact key: provider kind, app id and group id (Tencent ids are
//! case-sensitive, so the hash is taken over the id as it is).

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The ChatGroup that holds a claim. An ownerReference cannot cross namespaces
/// (and garbage collection would delete the claim), so it is recorded here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimHolder {
    /// Namespace of the holding ChatGroup.
    pub namespace: String,
    /// Name of the holding ChatGroup.
    pub name: String,
    /// UID of the holding ChatGroup: a re-created object of the same name is another holder.
    pub uid: String,
}

/// One provider group and the ChatGroup that owns it.
// The derive repeats `type_` once per print column.
#[allow(clippy::duplicated_attributes)]
#[derive(
    CustomResource, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema,
)]
#[kube(
    group = "im.chatgroup.dev",
    version = "v1alpha1",
    kind = "ChatGroupClaim",
    shortname = "cgclaim",
    category = "chat",
    doc = "Records which ChatGroup owns one provider group. Written by the operator; do not create these by hand.",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.provider"),
    printcolumn(name = "App", type_ = "string", json_path = ".spec.appId"),
    printcolumn(name = "Group ID", type_ = "string", json_path = ".spec.groupId"),
    printcolumn(
        name = "Namespace",
        type_ = "string",
        json_path = ".spec.holder.namespace"
    ),
    printcolumn(name = "ChatGroup", type_ = "string", json_path = ".spec.holder.name"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ChatGroupClaimSpec {
    /// tencent or netease.
    pub provider: String,
    /// Tencent SDKAppID or NetEase AppKey.
    pub app_id: String,
    /// The provider's group id, exactly as the provider spells it.
    pub group_id: String,
    /// The ChatGroup that owns the group.
    pub holder: ClaimHolder,
}

impl ChatGroupClaimSpec {
    /// The claim's object name: the provider kind and a hash of the exact key.
    pub fn object_name(provider: &str, app_id: &str, group_id: &str) -> String {
        let mut hash = Sha256::new();
        for part in [provider, app_id, group_id] {
            hash.update(part.len().to_le_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hex::encode(hash.finalize());
        format!("{provider}-{}", &digest[..40])
    }

    /// Whether this claim is for the group named by the key.
    pub fn is_for(&self, provider: &str, app_id: &str, group_id: &str) -> bool {
        self.provider == provider && self.app_id == app_id && self.group_id == group_id
    }
}

#[cfg(test)]
mod tests {
    use super::ChatGroupClaimSpec as Claim;

    #[test]
    fn names_tell_apart_case_app_and_provider() {
        let base = Claim::object_name("tencent", "1400000000", "ops-room");
        assert_ne!(
            base,
            Claim::object_name("tencent", "1400000000", "Ops-room")
        );
        assert_ne!(
            base,
            Claim::object_name("tencent", "1400000001", "ops-room")
        );
        assert_ne!(
            base,
            Claim::object_name("netease", "1400000000", "ops-room")
        );
        // Field boundaries count: moving characters between app and id is another key.
        assert_ne!(
            Claim::object_name("tencent", "14", "00ops"),
            Claim::object_name("tencent", "1400", "ops")
        );
        assert_eq!(
            base,
            Claim::object_name("tencent", "1400000000", "ops-room")
        );
        assert!(base.len() <= 63 && base.starts_with("tencent-"));
    }
}
