//! The provider layer: one trait for every IM service, typed outcomes, and the
//! shared vocabulary the controller speaks. Nothing here knows about Kubernetes.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;

pub mod budget;
pub mod circuit;
pub mod config;
pub mod gate;
mod http;
pub mod members;
#[cfg(test)]
pub mod memory;
pub mod netease;
pub mod observer;
pub mod secret;
pub mod tencent;
pub mod validate;

pub use budget::{BudgetStats, RateBudget};
pub use config::{
    ConfigError, NeteaseConfig, NeteaseEndpoint, NeteaseRegion, ProviderConfig, RateConfig,
    TencentConfig, TencentEndpoint, TencentRegion,
};
pub use gate::{always_open, WriteGate};
pub use http::{MAX_ANSWER_BYTES, NO_CODE};
pub use members::{member_support, MemberRefusal, MemberRole, MemberSupport, MemberWrite, Roster};
pub use netease::NeteaseClient;
pub use observer::{CallObserver, Observed};
pub use secret::{scrub_text, Secret};
pub use tencent::TencentClient;
pub use validate::{
    validate_attributes, validate_changes, validate_tencent_creatable, validate_tencent_group_id,
    validate_tencent_group_id_to_adopt, validate_type_for, MARKER_KEY,
};

/// Which hosted IM service a provider talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Tencent,
    NetEase,
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProviderKind::Tencent => "tencent",
            ProviderKind::NetEase => "netease",
        })
    }
}

/// Group types across both providers. Tencent's old and new spellings
/// (`Private`/`Work`, `ChatRoom`/`Meeting`) are distinct values here because the
/// user chose one; the Tencent client treats them as equivalent when comparing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupType {
    // Tencent
    Public,
    Private,
    ChatRoom,
    AVChatRoom,
    Community,
    Work,
    Meeting,
    /// Legacy broadcast chat room (listed by the 2020 disband page): adopt and disband.
    BChatRoom,
    // NetEase
    Advanced,
    Super,
}

impl GroupType {
    pub fn provider(self) -> ProviderKind {
        match self {
            GroupType::Advanced | GroupType::Super => ProviderKind::NetEase,
            _ => ProviderKind::Tencent,
        }
    }

    /// The same type under one spelling: `Work` → `Private`, `Meeting` → `ChatRoom`.
    pub fn canonical(self) -> GroupType {
        match self {
            GroupType::Work => GroupType::Private,
            GroupType::Meeting => GroupType::ChatRoom,
            other => other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Public => "Public",
            GroupType::Private => "Private",
            GroupType::ChatRoom => "ChatRoom",
            GroupType::AVChatRoom => "AVChatRoom",
            GroupType::Community => "Community",
            GroupType::Work => "Work",
            GroupType::Meeting => "Meeting",
            GroupType::BChatRoom => "BChatRoom",
            GroupType::Advanced => "Advanced",
            GroupType::Super => "Super",
        }
    }
}

impl fmt::Display for GroupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may join without an invitation. Tencent `ApplyJoinOption`, NetEase `join_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JoinPolicy {
    FreeAccess,
    NeedPermission,
    DisableApply,
}

/// The attributes a user declares for a group. `None` means "not managed":
/// the provider's value is left alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupAttributes {
    pub name: String,
    pub owner: Option<String>,
    pub introduction: Option<String>,
    /// Tencent `Notification`, NetEase `announcement`.
    pub notification: Option<String>,
    /// Tencent `FaceUrl`, NetEase `icon`.
    pub face_url: Option<String>,
    pub max_members: Option<u32>,
    pub join_policy: Option<JoinPolicy>,
    /// Tencent `AppDefinedData`, NetEase `server_extension` (next to the marker).
    pub custom_data: BTreeMap<String, String>,
}

/// What to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    pub group_type: GroupType,
    /// Tencent: the caller-chosen `GroupId`, which makes a retried create idempotent.
    /// NetEase ignores it (team ids are assigned by the server).
    pub group_id: Option<String>,
    /// An opaque, unique marker (the Kubernetes object's UID). NetEase stores it in
    /// `server_extension` so a create whose answer was lost can be found again.
    pub marker: String,
    pub attributes: GroupAttributes,
}

/// Identifies an existing group for a call. NetEase needs the team type on every
/// call and the owner as `operator_id` for updates and disband.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub id: String,
    pub group_type: GroupType,
    pub owner: Option<String>,
}

/// A group as the provider reports it: its id and type, the same attributes a spec
/// declares, the owner marker and counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedGroup {
    pub id: String,
    pub group_type: Option<GroupType>,
    /// As reported; custom data without the marker.
    pub attributes: GroupAttributes,
    /// The marker found on the group (NetEase `server_extension`, Tencent
    /// `ownerDataKey`), if any.
    pub marker: Option<String>,
    pub member_count: Option<u32>,
}

impl ObservedGroup {
    /// The attribute writes that bring this group to `desired`. Fields `desired`
    /// leaves unset are not managed and never written; owner changes go through
    /// [`owner_change`](Self::owner_change), not here.
    pub fn changes_to(&self, desired: &GroupAttributes) -> AttributeChanges {
        fn differs<T: PartialEq + Clone>(want: &Option<T>, have: &Option<T>) -> Option<T> {
            match want {
                Some(w) if have.as_ref() != Some(w) => Some(w.clone()),
                _ => None,
            }
        }
        let have = &self.attributes;
        AttributeChanges {
            name: (desired.name != have.name).then(|| desired.name.clone()),
            introduction: differs(&desired.introduction, &have.introduction),
            notification: differs(&desired.notification, &have.notification),
            face_url: differs(&desired.face_url, &have.face_url),
            max_members: differs(&desired.max_members, &have.max_members),
            join_policy: differs(&desired.join_policy, &have.join_policy),
            custom_data: (desired.custom_data != have.custom_data)
                .then(|| desired.custom_data.clone()),
        }
    }

    /// The new owner to transfer to, when `desired` names one the group does not have.
    pub fn owner_change(&self, desired: &GroupAttributes) -> Option<String> {
        match &desired.owner {
            Some(owner) if self.attributes.owner.as_ref() != Some(owner) => Some(owner.clone()),
            _ => None,
        }
    }

    /// Whether the group differs from `desired` in anything a converge would write.
    pub fn drifted_from(&self, desired: &GroupAttributes) -> bool {
        !self.changes_to(desired).is_empty() || self.owner_change(desired).is_some()
    }
}

/// The parts of a group that change, as computed by the controller's plan.
/// Only `Some` fields are sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttributeChanges {
    pub name: Option<String>,
    pub introduction: Option<String>,
    pub notification: Option<String>,
    pub face_url: Option<String>,
    pub max_members: Option<u32>,
    pub join_policy: Option<JoinPolicy>,
    /// The complete desired custom data (keys absent here but present on the
    /// provider are removed), or `None` to leave it alone.
    pub custom_data: Option<BTreeMap<String, String>>,
}

impl AttributeChanges {
    pub fn is_empty(&self) -> bool {
        *self == AttributeChanges::default()
    }
}

/// The provider's own words about one call: code, message and the request / trace id
/// support will ask for. Never holds a secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallInfo {
    pub code: i64,
    pub message: String,
    pub request_id: Option<String>,
}

impl fmt::Display for CallInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code {}: {}", self.code, self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// How the controller should react to a failed call, decided from the provider's code
/// by one table per provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// The group does not exist (on a read or update).
    NotFound,
    /// The requested group id is taken (Tencent 10021 / 10025).
    AlreadyExists,
    /// The provider asked us to slow down.
    Throttled,
    /// Worth retrying with backoff: transport errors, 5xx, internal errors.
    Transient,
    /// Needs a change of spec or configuration before a retry can succeed.
    Terminal,
    /// The provider refused the app's credentials (wrong key, unknown app): fixed in
    /// the Secret or the ChatProvider, not in the ChatGroup.
    Unauthorized,
    /// Not sent: calls to this app are paused after repeated authentication failures.
    AuthPaused,
}

impl FailureClass {
    /// A CamelCase reason for conditions, events and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            FailureClass::NotFound => "NotFound",
            FailureClass::AlreadyExists => "AlreadyExists",
            FailureClass::Throttled => "ProviderThrottled",
            FailureClass::Transient => "ProviderUnavailable",
            FailureClass::Terminal => "ProviderRejected",
            FailureClass::Unauthorized => "ProviderUnauthorized",
            FailureClass::AuthPaused => "ProviderAuthPaused",
        }
    }
}

/// A provider call that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on {provider} failed ({class:?}): {info}")]
pub struct ProviderError {
    pub provider: ProviderKind,
    pub operation: Operation,
    pub class: FailureClass,
    pub info: CallInfo,
}

impl ProviderError {
    /// Whether fresh credentials might be answered differently: an authentication
    /// failure, or a NetEase 414 (a parameter error, which v1 also answers for a
    /// failed CheckSum; v2: unconfirmed).
    pub fn credentials_suspect(&self) -> bool {
        self.class == FailureClass::Unauthorized
            || (self.provider == ProviderKind::NetEase
                && self.info.code == netease::codes::PARAM_OR_CHECKSUM_CODE)
    }

    /// A request refused before it was sent (invalid spec or configuration): terminal,
    /// with no provider code.
    pub fn refused(provider: ProviderKind, operation: Operation, error: &ConfigError) -> Self {
        let info = CallInfo {
            code: NO_CODE,
            message: error.to_string(),
            request_id: None,
        };
        ProviderError {
            provider,
            operation,
            class: FailureClass::Terminal,
            info,
        }
    }
}

/// Provider operations, for errors, metrics and the rate budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Get,
    Update,
    TransferOwner,
    Disband,
    FindByMarker,
    /// Reads members and their roles.
    ReadMembers,
    AddMembers,
    RemoveMembers,
    /// Makes members admins or plain members again.
    SetRole,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "create",
            Operation::Get => "get",
            Operation::Update => "update",
            Operation::TransferOwner => "transfer_owner",
            Operation::Disband => "disband",
            Operation::FindByMarker => "find_by_marker",
            Operation::ReadMembers => "read_members",
            Operation::AddMembers => "add_members",
            Operation::RemoveMembers => "remove_members",
            Operation::SetRole => "set_role",
        })
    }
}

/// Who picks a new group's id: the caller (Tencent `GroupId`), which makes a retried
/// create idempotent, or the server (NetEase `team_id`), which makes a create whose
/// answer was lost findable only through the marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdAssignment {
    CallerChosen,
    ServerAssigned,
}

/// The app a client talks to. Part of every group's identity: the same id in another
/// app is another group. Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppIdentity {
    pub kind: ProviderKind,
    /// Tencent SDKAppID, NetEase AppKey.
    pub app_id: String,
    /// The endpoint's host (and port, when not the default).
    pub host: String,
}

impl fmt::Display for AppIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} app {} at {}", self.kind, self.app_id, self.host)
    }
}

/// What a search for a create whose answer was lost looks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerQuery {
    pub group_type: GroupType,
    /// The owner the create was made with (NetEase finds teams through their owner).
    pub owner: String,
    pub marker: String,
    /// The name the create was made with: narrows the candidates before they are read,
    /// and a candidate whose `server_extension` cannot be read makes the search an
    /// error (it cannot be told apart from the lost create). `None` reads every team
    /// of the owner created in the time window and passes over unreadable ones (a
    /// search for a late duplicate, from which no create follows).
    pub name: Option<String>,
    /// Teams created before this instant (Unix milliseconds, clock skew already
    /// allowed for) cannot be the lost create and are not candidates.
    pub created_not_before_ms: i64,
}

/// The result of stamping a group with its owner's marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// The marker is on the group now, next to any data of the app's own.
    Written,
    /// This provider (or this configuration) cannot carry a marker.
    Unsupported,
    /// The group's own data leaves no place for a marker (NetEase `server_extension`
    /// that is not a JSON object); it is left as it is.
    Foreign,
}

/// The result of a create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created {
        group_id: String,
        info: CallInfo,
    },
    /// The requested id was already taken (Tencent 10021 / 10025). The group as read
    /// back, so the controller can decide whether it is ours; `None` when it could
    /// not be read.
    AlreadyExists {
        existing: Option<ObservedGroup>,
        info: CallInfo,
    },
}

/// The result of looking up one group in a batch read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(ObservedGroup),
    NotFound(CallInfo),
}

/// The result of a disband.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisbandOutcome {
    Disbanded(CallInfo),
    /// The provider says the group does not exist (Tencent 10010, or 10015 confirmed
    /// by a read; NetEase 108404 / v1 803): already done.
    AlreadyGone(CallInfo),
}

pub type ProviderResult<T> = std::result::Result<T, ProviderError>;

/// One provider app (a Tencent SDKAppID, a NetEase AppKey). Implementations own
/// their rate budget, signatures and retries of throttled calls.
#[async_trait]
pub trait GroupProvider: Send + Sync + fmt::Debug {
    fn kind(&self) -> ProviderKind;

    /// Who picks a new group's id.
    fn id_assignment(&self) -> IdAssignment;

    /// The app this client talks to.
    fn app(&self) -> AppIdentity;

    /// Whether the groups this client reads carry their owner's marker, so a
    /// destructive call can be checked against it first.
    fn carries_marker(&self) -> bool {
        false
    }

    /// Whether `id` can name an existing group of this provider (to adopt it), checked
    /// before any call; the field is `spec.groupId`.
    fn validate_group_id(&self, _id: &str) -> Result<(), ConfigError> {
        Ok(())
    }

    /// How many ids of this type one `get_groups` call takes (Tencent 50; NetEase
    /// 30 advanced, 20 super).
    fn max_batch(&self, group_type: GroupType) -> usize;

    /// Whether `request` is one this provider would send, checked before a create is
    /// recorded as sent. `create_group` checks it again.
    fn validate_create(&self, _request: &CreateRequest) -> Result<(), ConfigError> {
        Ok(())
    }

    async fn create_group(&self, request: &CreateRequest) -> ProviderResult<CreateOutcome>;

    /// Reads up to `max_batch()` groups of one type; returns one entry per id, in order.
    async fn get_groups(&self, keys: &[GroupKey]) -> ProviderResult<Vec<(String, Lookup)>>;

    /// Every group of this app that carries `query.marker` (more than one means a
    /// duplicate create). An empty answer means the search was complete; a search that
    /// could not be completed (a page failed, a page cap, a malformed page) is an
    /// error, never an empty answer. Caller-chosen-id providers answer empty.
    async fn find_by_marker(&self, query: &MarkerQuery) -> ProviderResult<Vec<ObservedGroup>>;

    async fn update_group(
        &self,
        key: &GroupKey,
        changes: &AttributeChanges,
    ) -> ProviderResult<CallInfo>;

    async fn transfer_owner(&self, key: &GroupKey, new_owner: &str) -> ProviderResult<CallInfo>;

    async fn disband(&self, key: &GroupKey) -> ProviderResult<DisbandOutcome>;

    /// Stamps `marker` on an adopted group, so a disband elsewhere can tell it is no
    /// longer theirs. Never removes data of the app's own.
    async fn stamp(&self, _key: &GroupKey, _marker: &str) -> ProviderResult<Stamp> {
        Ok(Stamp::Unsupported)
    }

    /// Whether an add's answer tells whether each account joined (Tencent `Result`).
    /// When it does not (NetEase: an invitee may have to accept first), the caller
    /// reads the roles back to tell joined from invited.
    fn add_answer_confirms_join(&self) -> bool;

    /// The roles of `accounts` in the group, with the fewest reads the provider
    /// allows (Tencent `get_role_in_group`, 500 accounts per call; NetEase pages the
    /// member list). Accounts that are not members are absent from the answer.
    async fn member_roles(&self, key: &GroupKey, accounts: &[String]) -> ProviderResult<Roster>;

    /// Every member of the group and its role, paged through.
    async fn list_members(&self, key: &GroupKey) -> ProviderResult<Roster>;

    /// Adds (Tencent) or invites (NetEase) `accounts`, in batches of the documented
    /// size; a batch refused as a whole for its size is split. Accounts already in
    /// the group count as added.
    async fn add_members(&self, key: &GroupKey, accounts: &[String])
        -> ProviderResult<MemberWrite>;

    /// Removes (NetEase: kicks) `accounts`; accounts that are not members count as
    /// removed.
    async fn remove_members(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite>;

    /// Makes `accounts` admins (`MemberRole::Admin`) or plain members
    /// (`MemberRole::Member`). `Owner` is refused before any call.
    async fn set_role(
        &self,
        key: &GroupKey,
        accounts: &[String],
        role: MemberRole,
    ) -> ProviderResult<MemberWrite>;
}

/// Builds the client of one provider app after validating its configuration. The
/// budget must be for the same provider; it is shared so metrics can read it.
pub fn build(
    config: ProviderConfig,
    budget: std::sync::Arc<RateBudget>,
    gate: std::sync::Arc<dyn WriteGate>,
) -> Result<std::sync::Arc<dyn GroupProvider>, ConfigError> {
    if budget.kind() != config.kind() {
        return Err(ConfigError::new(
            "rateLimit",
            format!(
                "the rate budget is for {}, the configuration for {}",
                budget.kind(),
                config.kind()
            ),
        ));
    }
    Ok(match config {
        ProviderConfig::Tencent(config) => {
            std::sync::Arc::new(TencentClient::new(config, budget)?.with_write_gate(gate))
        }
        ProviderConfig::Netease(config) => {
            std::sync::Arc::new(NeteaseClient::new(config, budget)?.with_write_gate(gate))
        }
    })
}
