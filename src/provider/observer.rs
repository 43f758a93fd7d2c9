//! A provider wrapper that reports every call, by provider, operation and outcome, to
//! an observer (the metrics layer implements it; the provider layer only reports).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{
    AppIdentity, AttributeChanges, CallInfo, ConfigError, CreateOutcome, CreateRequest,
    DisbandOutcome, GroupKey, GroupProvider, GroupType, IdAssignment, Lookup, MarkerQuery,
    MemberRole, MemberWrite, ObservedGroup, ProviderKind, ProviderResult, Roster, Stamp,
};

/// Told of every provider call once it has answered.
pub trait CallObserver: Send + Sync + fmt::Debug {
    /// `operation` is `create`, `get`, `find_by_marker`, `update`, `transfer_owner`,
    /// `disband`, `stamp`, `read_members`, `add_members`, `remove_members` or
    /// `set_role`; `outcome` a CamelCase word (`Created`, `Ok`, a failure
    /// class's reason, ...).
    fn observe(&self, provider: ProviderKind, operation: &'static str, outcome: &'static str);
}

/// A [`GroupProvider`] that reports each call to a [`CallObserver`].
#[derive(Debug)]
pub struct Observed {
    inner: Arc<dyn GroupProvider>,
    observer: Arc<dyn CallObserver>,
}

impl Observed {
    pub fn wrap(
        inner: Arc<dyn GroupProvider>,
        observer: Arc<dyn CallObserver>,
    ) -> Arc<dyn GroupProvider> {
        Arc::new(Observed { inner, observer })
    }

    fn count<T>(
        &self,
        operation: &'static str,
        result: &ProviderResult<T>,
        ok: impl Fn(&T) -> &'static str,
    ) {
        let outcome = match result {
            Ok(value) => ok(value),
            Err(error) => error.class.reason(),
        };
        self.observer.observe(self.inner.kind(), operation, outcome);
    }
}

#[async_trait]
impl GroupProvider for Observed {
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }

    fn id_assignment(&self) -> IdAssignment {
        self.inner.id_assignment()
    }

    fn app(&self) -> AppIdentity {
        self.inner.app()
    }

    fn carries_marker(&self) -> bool {
        self.inner.carries_marker()
    }

    fn validate_create(&self, request: &CreateRequest) -> Result<(), ConfigError> {
        self.inner.validate_create(request)
    }

    fn validate_group_id(&self, id: &str) -> Result<(), ConfigError> {
        self.inner.validate_group_id(id)
    }

    fn max_batch(&self, group_type: GroupType) -> usize {
        self.inner.max_batch(group_type)
    }

    async fn create_group(&self, request: &CreateRequest) -> ProviderResult<CreateOutcome> {
        let result = self.inner.create_group(request).await;
        self.count("create", &result, |o| match o {
            CreateOutcome::Created { .. } => "Created",
            CreateOutcome::AlreadyExists { .. } => "AlreadyExists",
        });
        result
    }

    async fn get_groups(&self, keys: &[GroupKey]) -> ProviderResult<Vec<(String, Lookup)>> {
        let result = self.inner.get_groups(keys).await;
        self.count("get", &result, |_| "Ok");
        result
    }

    async fn find_by_marker(&self, query: &MarkerQuery) -> ProviderResult<Vec<ObservedGroup>> {
        let result = self.inner.find_by_marker(query).await;
        self.count("find_by_marker", &result, |found| {
            if found.is_empty() {
                "NotFound"
            } else {
                "Found"
            }
        });
        result
    }

    async fn update_group(
        &self,
        key: &GroupKey,
        changes: &AttributeChanges,
    ) -> ProviderResult<CallInfo> {
        let result = self.inner.update_group(key, changes).await;
        self.count("update", &result, |_| "Ok");
        result
    }

    async fn transfer_owner(&self, key: &GroupKey, new_owner: &str) -> ProviderResult<CallInfo> {
        let result = self.inner.transfer_owner(key, new_owner).await;
        self.count("transfer_owner", &result, |_| "Ok");
        result
    }

    async fn disband(&self, key: &GroupKey) -> ProviderResult<DisbandOutcome> {
        let result = self.inner.disband(key).await;
        self.count("disband", &result, |o| match o {
            DisbandOutcome::Disbanded(_) => "Disbanded",
            DisbandOutcome::AlreadyGone(_) => "AlreadyGone",
        });
        result
    }

    async fn stamp(&self, key: &GroupKey, marker: &str) -> ProviderResult<Stamp> {
        let result = self.inner.stamp(key, marker).await;
        self.count("stamp", &result, |o| match o {
            Stamp::Written => "Written",
            Stamp::Unsupported => "Unsupported",
            Stamp::Foreign => "Foreign",
        });
        result
    }

    fn add_answer_confirms_join(&self) -> bool {
        self.inner.add_answer_confirms_join()
    }

    async fn member_roles(&self, key: &GroupKey, accounts: &[String]) -> ProviderResult<Roster> {
        let result = self.inner.member_roles(key, accounts).await;
        self.count("read_members", &result, |_| "Ok");
        result
    }

    async fn list_members(&self, key: &GroupKey) -> ProviderResult<Roster> {
        let result = self.inner.list_members(key).await;
        self.count("read_members", &result, |_| "Ok");
        result
    }

    async fn add_members(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        let result = self.inner.add_members(key, accounts).await;
        self.count("add_members", &result, member_outcome);
        result
    }

    async fn remove_members(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        let result = self.inner.remove_members(key, accounts).await;
        self.count("remove_members", &result, member_outcome);
        result
    }

    async fn set_role(
        &self,
        key: &GroupKey,
        accounts: &[String],
        role: MemberRole,
    ) -> ProviderResult<MemberWrite> {
        let result = self.inner.set_role(key, accounts, role).await;
        self.count("set_role", &result, member_outcome);
        result
    }
}

/// `Ok`, or `PartlyRefused` when the provider refused some accounts.
fn member_outcome(write: &MemberWrite) -> &'static str {
    if write.refused.is_empty() {
        "Ok"
    } else {
        "PartlyRefused"
    }
}
