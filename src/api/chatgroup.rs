//! `ChatGroup`: one group on a provider, declared in Kubernetes.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::provider::{GroupType, JoinPolicy, MemberRole};

/// The ChatProvider a group lives in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
pub struct ProviderRef {
    /// Name of a ChatProvider in the ChatGroup's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Group types. Tencent: Public, Private (also called Work), ChatRoom (also called
/// Meeting), AVChatRoom, Community, and the legacy BChatRoom (adopt only). NetEase:
/// Advanced (advanced team), Super (super team).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ChatGroupType {
    Public,
    Private,
    ChatRoom,
    AVChatRoom,
    Community,
    Work,
    Meeting,
    /// Tencent's legacy broadcast chat room: adopt and disband only.
    BChatRoom,
    Advanced,
    Super,
}

impl From<ChatGroupType> for GroupType {
    fn from(value: ChatGroupType) -> Self {
        match value {
            ChatGroupType::Public => GroupType::Public,
            ChatGroupType::Private => GroupType::Private,
            ChatGroupType::ChatRoom => GroupType::ChatRoom,
            ChatGroupType::AVChatRoom => GroupType::AVChatRoom,
            ChatGroupType::Community => GroupType::Community,
            ChatGroupType::Work => GroupType::Work,
            ChatGroupType::Meeting => GroupType::Meeting,
            ChatGroupType::BChatRoom => GroupType::BChatRoom,
            ChatGroupType::Advanced => GroupType::Advanced,
            ChatGroupType::Super => GroupType::Super,
        }
    }
}

/// Who may join without an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum JoinPolicySpec {
    /// Anyone may join.
    FreeAccess,
    /// Joining needs approval by the owner or an admin.
    NeedPermission,
    /// Nobody may ask to join.
    DisableApply,
}

impl From<JoinPolicySpec> for JoinPolicy {
    fn from(value: JoinPolicySpec) -> Self {
        match value {
            JoinPolicySpec::FreeAccess => JoinPolicy::FreeAccess,
            JoinPolicySpec::NeedPermission => JoinPolicy::NeedPermission,
            JoinPolicySpec::DisableApply => JoinPolicy::DisableApply,
        }
    }
}

/// Whether the group should exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum GroupState {
    /// The group exists with the declared attributes.
    #[default]
    Active,
    /// The group is disbanded and never recreated; the object stays as a tombstone.
    Disbanded,
}

/// What happens to the group when the ChatGroup is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Disband the group on the provider, then release the object.
    #[default]
    Delete,
    /// Release the object and leave the group as it is on the provider.
    Orphan,
}

/// The role a declared member is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeclaredRole {
    /// A plain member.
    #[default]
    Member,
    /// An admin (NetEase: manager). Not on Tencent Private/Work groups.
    Admin,
}

impl From<DeclaredRole> for MemberRole {
    fn from(value: DeclaredRole) -> Self {
        match value {
            DeclaredRole::Member => MemberRole::Member,
            DeclaredRole::Admin => MemberRole::Admin,
        }
    }
}

/// One account that should be in the group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberSpec {
    /// The account id (Tencent UserID, NetEase accid): 1 to 32 characters. NetEase
    /// stores account ids in lower case.
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(validation = Rule::new("bytes(self).size() <= 32").message("spec.members[].account may be at most 32 bytes (UTF-8), the providers' account id limit"))]
    pub account: String,
    /// Member (default) or Admin.
    #[serde(default)]
    pub role: DeclaredRole,
}

/// What the operator does with members the spec does not declare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MembersPolicy {
    /// Declared members are added and given their declared role; nobody is removed.
    #[default]
    Additive,
    /// Also removes members that are not declared (never the owner), and demotes
    /// admins not declared as Admin.
    Exact,
}

fn is_false(value: &bool) -> bool {
    !value
}

fn custom_data_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": 16,
        "additionalProperties": { "type": "string", "maxLength": 1024 },
        "description": "Custom key/value data: Tencent AppDefinedData (keys must be enabled in the console; key at most 16 bytes, value at most 512 bytes), NetEase server_extension (at most 1024 characters in all, with the operator's marker)."
    })
}

const NETEASE_TYPES: &str = "self.type in ['Advanced', 'Super']";

/// A chat group on Tencent Cloud Chat or NetEase Yunxin IM.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "im.chatgroup.dev",
    version = "v1alpha1",
    kind = "ChatGroup",
    namespaced,
    status = "ChatGroupStatus",
    shortname = "cg",
    category = "chat",
    doc = "A chat group on Tencent Cloud Chat or NetEase Yunxin IM, kept as declared.",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.providerRef.name"),
    printcolumn(name = "Group ID", type_ = "string", json_path = ".status.groupId"),
    printcolumn(name = "State", type_ = "string", json_path = ".spec.state"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new(
        "!has(self.spec.groupId) || (has(oldSelf.spec.groupId) && oldSelf.spec.groupId == self.spec.groupId) || (has(oldSelf.status) && has(oldSelf.status.groupId) && oldSelf.status.groupId == self.spec.groupId)"
    ).message("spec.groupId is immutable: it can only be set at creation, or to the group id already in status.groupId").field_path(".spec.groupId"),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(oldSelf.groupId) || has(self.groupId)").message("spec.groupId cannot be removed once set").field_path(".groupId"),
    validation = Rule::new("self.type != 'BChatRoom' || has(self.groupId)").message("spec.groupId is required for type BChatRoom: it is a legacy Tencent type, so existing groups can be adopted and disbanded but none is created").field_path(".groupId"),
    validation = Rule::new(format!("!({NETEASE_TYPES}) || has(self.owner)")).message("spec.owner is required for NetEase team types (Advanced, Super)").field_path(".owner"),
    validation = Rule::new(format!("{NETEASE_TYPES} ? self.name.size() <= 64 : bytes(self.name).size() <= 30")).message("spec.name may be at most 30 bytes (UTF-8) on Tencent and 64 characters on NetEase").field_path(".name"),
    validation = Rule::new(format!("!has(self.introduction) || ({NETEASE_TYPES} ? self.introduction.size() <= 512 : bytes(self.introduction).size() <= 240)")).message("spec.introduction may be at most 240 bytes on Tencent and 512 characters on NetEase").field_path(".introduction"),
    validation = Rule::new(format!("!has(self.notification) || ({NETEASE_TYPES} ? self.notification.size() <= 1024 : bytes(self.notification).size() <= 300)")).message("spec.notification may be at most 300 bytes on Tencent and 1024 characters on NetEase").field_path(".notification"),
    validation = Rule::new(format!("!has(self.customData) || {NETEASE_TYPES} || self.customData.all(k, bytes(k).size() <= 16 && bytes(self.customData[k]).size() <= 512)")).message("spec.customData keys may be at most 16 bytes and values at most 512 bytes on Tencent").field_path(".customData"),
    validation = Rule::new("!has(self.members) || size(self.members) == 0 || !(self.type in ['AVChatRoom', 'BChatRoom'])").message("spec.members is not supported for type AVChatRoom or BChatRoom: these Tencent group types keep no member list").field_path(".members"),
    validation = Rule::new("!has(self.members) || !(self.type in ['Private', 'Work']) || self.members.all(m, !has(m.role) || m.role != 'Admin')").message("spec.members[].role Admin is not supported for type Private or Work: Tencent work groups have no admins").field_path(".members"),
    validation = Rule::new(format!("!has(self.members) || !({NETEASE_TYPES}) || self.members.all(m, m.account.matches('^[^A-Z]*$'))")).message("spec.members[].account must be lower case on NetEase team types (Advanced, Super): NetEase stores account ids in lower case").field_path(".members"),
    validation = Rule::new("!has(self.members) || !has(self.owner) || self.members.all(m, m.account != self.owner)").message("spec.members must not list the owner: spec.owner is the owner").field_path(".members"),
    validation = Rule::new("!has(self.members) || !has(self.maxMembers) || size(self.members) + (has(self.owner) ? 1 : 0) <= self.maxMembers").message("spec.members declares more members (with the owner) than spec.maxMembers allows").field_path(".members"),
    validation = Rule::new(format!("!has(self.faceUrl) || ({NETEASE_TYPES} ? self.faceUrl.size() <= 1024 : bytes(self.faceUrl).size() <= 100)")).message("spec.faceUrl may be at most 100 bytes on Tencent and 1024 characters on NetEase").field_path(".faceUrl"),
)]
pub struct ChatGroupSpec {
    /// The ChatProvider (same namespace) whose app holds the group. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.providerRef is immutable"))]
    pub provider_ref: ProviderRef,

    /// The provider's id of an existing group to adopt. On Tencent, a group with this id
    /// is created when none exists (printable ASCII, at most 48 bytes, not starting
    /// with @TGS# except Community ids, which must start with @TGS#_). On NetEase, the
    /// numeric team id of an existing team. When unset, the operator creates a group
    /// and records its id in status.groupId. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 48))]
    pub group_id: Option<String>,

    /// The group type. Tencent: Public, Private, ChatRoom, AVChatRoom, Community, Work,
    /// Meeting, and BChatRoom (a legacy type: existing groups can be adopted through
    /// spec.groupId and disbanded, none is created). NetEase: Advanced, Super. Immutable.
    #[serde(rename = "type")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.type is immutable"))]
    pub group_type: ChatGroupType,

    /// The group's display name: at most 30 bytes (UTF-8) on Tencent, 64 characters on NetEase.
    #[schemars(length(min = 1, max = 64))]
    pub name: String,

    /// The owner's account id. Required on NetEase (the owner is the operator of every
    /// team call); optional on Tencent (no owner when unset). Changing it transfers
    /// ownership; on Tencent the new owner is added as a member first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub owner: Option<String>,

    /// The group's introduction: at most 240 bytes on Tencent, 512 characters on NetEase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub introduction: Option<String>,

    /// The group notice (NetEase: announcement): at most 300 bytes on Tencent, 1024
    /// characters on NetEase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub notification: Option<String>,

    /// The group's avatar URL (NetEase: icon): at most 100 bytes on Tencent, 1024
    /// characters on NetEase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub face_url: Option<String>,

    /// The member limit. Left to the provider's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_members: Option<u32>,

    /// Who may join without an invitation: FreeAccess, NeedPermission or DisableApply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_policy: Option<JoinPolicySpec>,

    /// Custom key/value data: Tencent AppDefinedData (keys must be enabled in the
    /// console; key at most 16 bytes, value at most 512 bytes), NetEase server_extension.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "custom_data_schema")]
    pub custom_data: BTreeMap<String, String>,

    /// active (default) keeps the group; disbanded disbands it once and keeps this
    /// object as a tombstone. A disbanded group cannot become active again.
    #[serde(default)]
    #[x_kube(validation = Rule::new("!(oldSelf == 'disbanded' && self == 'active')").message("spec.state cannot go back to active once disbanded"))]
    pub state: GroupState,

    /// What deleting this object does: Delete (default) disbands the group, Orphan
    /// leaves it on the provider. Set Orphan to release an object whose provider or
    /// credentials are gone.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Accounts that should be in the group, each with its role (Member or Admin);
    /// not the owner. Unsupported for Tencent AVChatRoom and BChatRoom, and Admin
    /// for Private/Work. See spec.membersPolicy for members not listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10000))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["account"]))]
    pub members: Vec<MemberSpec>,

    /// Additive (default) adds declared members and never removes anyone; Exact also
    /// removes members not declared (never the owner) and demotes admins not declared
    /// as Admin.
    #[serde(default)]
    pub members_policy: MembersPolicy,

    /// Under Exact, lets one pass remove more than half of the group's members
    /// (the owner not counted); without it such a pass removes nobody and reports
    /// MembersSynced=False.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_bulk_member_removal: bool,
}

/// How the operator came to manage the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum GroupOrigin {
    /// The operator created the group.
    Created,
    /// The group existed and was adopted through spec.groupId.
    Adopted,
}

/// The provider app a group lives in. Holds no secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordedApp {
    /// tencent or netease.
    pub provider: String,
    /// Tencent SDKAppID or NetEase AppKey.
    pub app_id: String,
    /// The endpoint host the app was reached at (informational).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

/// A create call whose answer has not been recorded yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingCreate {
    /// The name the group was created with.
    pub name: String,
    /// The owner the group was created with (NetEase teams are found through it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The caller-chosen id the group was created under (Tencent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The group type the create was made with (NetEase searches and reads by type).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub group_type: Option<ChatGroupType>,
    /// Complete searches that found no group from this create (NetEase).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub empty_searches: u32,
    /// When the last of those searches was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_empty_search: Option<Time>,
    /// Create calls sent for this object so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    /// When the first of them was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sent: Option<Time>,
}

/// A group recorded after its create was sent more than once, on a provider that
/// assigns ids: an earlier create may still take effect late (no bound is
/// documented), as a second group carrying this object's marker. Every drift resync
/// looks for one and disbands it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateWatch {
    /// The owner the creates were made with (NetEase teams are found through it).
    pub owner: String,
    /// When the first create was sent.
    pub since: Time,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The last error the provider returned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderErrorStatus {
    /// The provider operation: create, get, update, transfer_owner, disband.
    pub operation: String,
    /// The provider's error code (Tencent ErrorCode, NetEase code); 0 for transport errors.
    pub code: i64,
    /// The provider's message.
    pub message: String,
    /// Tencent RequestId or NetEase trace id, for the provider's support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// What the operator observed and did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatGroupStatus {
    /// The provider's id of the group, recorded as soon as it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Whether the operator created or adopted the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<GroupOrigin>,
    /// Set before a create call whose answer has not been recorded yet, so a create
    /// whose outcome was lost is looked up instead of repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_pending_since: Option<Time>,
    /// What a pending create was made with, so a create whose answer was lost is
    /// searched for with the same name, owner and id even if the spec changed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_create: Option<PendingCreate>,
    /// The provider app the group lives in, recorded at create or adopt. When the
    /// ChatProvider later resolves to another app, nothing is called for this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<RecordedApp>,
    /// Set when the group's create was sent more than once: a second group from a late
    /// create is looked for on every drift resync, and disbanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_watch: Option<DuplicateWatch>,
    /// The metadata.generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Synced, Reconciling and Stalled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// When the group was disbanded (or found already gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disbanded_at: Option<Time>,
    /// The last error the provider answered, cleared after a successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<ProviderErrorStatus>,
    /// Declared accounts invited that join only once they accept; not invited again
    /// while listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_members: Vec<String>,
}
