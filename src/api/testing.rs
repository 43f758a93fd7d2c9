//! Typed builders for tests: `ChatGroup::test().named("b").adopting("g-1").deleted()`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    ChatGroup, ChatGroupSpec, ChatGroupStatus, ChatGroupType, DeletionPolicy, GroupState,
    ProviderRef,
};

/// The namespace test objects live in.
pub const NAMESPACE: &str = "team-a";
/// The ChatProvider test objects name.
pub const PROVIDER: &str = "im";

/// A ChatGroup under construction.
#[derive(Clone, Debug)]
pub struct TestGroup(ChatGroup);

impl ChatGroup {
    /// A Tencent `Public` group "Ops room" owned by `alice`, object `ops-room` (UID
    /// `uid-ops-room`) in [`NAMESPACE`], using ChatProvider [`PROVIDER`], generation 1.
    pub fn test() -> TestGroup {
        let spec = ChatGroupSpec {
            provider_ref: ProviderRef {
                name: PROVIDER.to_string(),
            },
            group_id: None,
            group_type: ChatGroupType::Public,
            name: "Ops room".to_string(),
            owner: Some("alice".to_string()),
            introduction: None,
            notification: None,
            face_url: None,
            max_members: None,
            join_policy: None,
            custom_data: Default::default(),
            state: GroupState::Active,
            deletion_policy: DeletionPolicy::Delete,
            members: Vec::new(),
            members_policy: Default::default(),
            allow_bulk_member_removal: false,
        };
        TestGroup(ChatGroup::new("ops-room", spec))
            .named("ops-room")
            .generation(1)
    }
}

impl TestGroup {
    /// Object name `name`, UID `uid-<name>`.
    pub fn named(mut self, name: &str) -> TestGroup {
        let meta = &mut self.0.metadata;
        meta.name = Some(name.to_string());
        meta.namespace = Some(NAMESPACE.to_string());
        meta.uid = Some(format!("uid-{name}"));
        self
    }

    /// A NetEase `Advanced` team.
    pub fn netease(self) -> TestGroup {
        self.of_type(ChatGroupType::Advanced)
    }

    pub fn of_type(mut self, group_type: ChatGroupType) -> TestGroup {
        self.0.spec.group_type = group_type;
        self
    }

    /// Names an existing group (`spec.groupId`).
    pub fn adopting(mut self, group_id: &str) -> TestGroup {
        self.0.spec.group_id = Some(group_id.to_string());
        self
    }

    /// The group's display name (`spec.name`).
    pub fn titled(mut self, name: &str) -> TestGroup {
        self.0.spec.name = name.to_string();
        self
    }

    pub fn owner(mut self, owner: &str) -> TestGroup {
        self.0.spec.owner = Some(owner.to_string());
        self
    }

    pub fn introduction(mut self, text: &str) -> TestGroup {
        self.0.spec.introduction = Some(text.to_string());
        self
    }

    /// `spec.state: disbanded`.
    pub fn disbanded(mut self) -> TestGroup {
        self.0.spec.state = GroupState::Disbanded;
        self
    }

    /// `spec.deletionPolicy: Orphan`.
    pub fn orphaned(mut self) -> TestGroup {
        self.0.spec.deletion_policy = DeletionPolicy::Orphan;
        self
    }

    /// Carries the take-over annotation.
    pub fn taking_over(mut self) -> TestGroup {
        self.0.metadata.annotations =
            Some([("im.chatgroup.dev/take-over".to_string(), "true".to_string())].into());
        self
    }

    /// Being deleted (a deletionTimestamp set).
    pub fn deleted(mut self) -> TestGroup {
        self.0.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        self
    }

    pub fn generation(mut self, generation: i64) -> TestGroup {
        self.0.metadata.generation = Some(generation);
        self
    }

    pub fn with_status(mut self, status: ChatGroupStatus) -> TestGroup {
        self.0.status = Some(status);
        self
    }

    pub fn build(self) -> ChatGroup {
        self.0
    }
}

impl From<TestGroup> for ChatGroup {
    fn from(group: TestGroup) -> ChatGroup {
        group.build()
    }
}
