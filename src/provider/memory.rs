//! An in-memory [`GroupProvider`] for unit tests: groups kept in a map, every call
//! recorded in order, and the outcome of the next calls of an operation scripted.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    AppIdentity, AttributeChanges, CallInfo, CreateOutcome, CreateRequest, DisbandOutcome,
    FailureClass, GroupKey, GroupProvider, GroupType, IdAssignment, Lookup, MarkerQuery,
    MemberRefusal, MemberRole, MemberWrite, ObservedGroup, Operation, ProviderError, ProviderKind,
    ProviderResult, Roster, Stamp,
};

/// One call the provider received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub operation: Operation,
    /// The group it named (`None` for a create without a chosen id, or a search).
    pub group_id: Option<String>,
}

/// What the next call of an operation does instead of succeeding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scripted {
    /// Fails with this class and changes nothing.
    Fail(FailureClass),
    /// Takes effect, but its answer is lost: the caller sees a transient failure.
    LoseAnswer,
}

#[derive(Debug, Default)]
struct State {
    groups: BTreeMap<String, (ObservedGroup, i64)>,
    calls: Vec<Call>,
    script: HashMap<Operation, VecDeque<Scripted>>,
    next_id: u64,
    /// Members per group id, the owner included.
    rosters: BTreeMap<String, Roster>,
    /// Accounts an add refuses, as an account that does not exist.
    unknown_accounts: Vec<String>,
}

/// A provider app held in memory.
#[derive(Debug)]
pub struct MemoryProvider {
    kind: ProviderKind,
    app_id: String,
    carries_marker: bool,
    state: Mutex<State>,
}

impl MemoryProvider {
    /// A Tencent app (caller-chosen ids); `carries_marker` as with an ownerDataKey.
    pub fn tencent(carries_marker: bool) -> MemoryProvider {
        MemoryProvider::new(ProviderKind::Tencent, "1400000001", carries_marker)
    }

    /// A NetEase app (server-assigned ids, the marker in the team's server extension).
    pub fn netease() -> MemoryProvider {
        MemoryProvider::new(ProviderKind::NetEase, "netease-app", true)
    }

    fn new(kind: ProviderKind, app_id: &str, carries_marker: bool) -> MemoryProvider {
        MemoryProvider {
            kind,
            app_id: app_id.to_string(),
            carries_marker,
            state: Mutex::default(),
        }
    }

    /// The same app as `self`, answering as another deployment of the same service
    /// would: another app id.
    pub fn with_app_id(mut self, app_id: &str) -> MemoryProvider {
        self.app_id = app_id.to_string();
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts `group` on the provider, as if made outside this operator.
    pub fn insert(&self, group: ObservedGroup) {
        let now = now_ms();
        self.state().groups.insert(group.id.clone(), (group, now));
    }

    /// The group `id`, as the provider holds it now.
    pub fn group(&self, id: &str) -> Option<ObservedGroup> {
        self.state().groups.get(id).map(|(g, _)| g.clone())
    }

    /// Every group the provider holds.
    pub fn groups(&self) -> Vec<ObservedGroup> {
        self.state()
            .groups
            .values()
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// The members of group `id` and their roles.
    pub fn roster(&self, id: &str) -> Roster {
        self.state().rosters.get(id).cloned().unwrap_or_default()
    }

    /// Puts `account` in group `id` with `role`, or takes it out (`None`), as
    /// someone outside this operator would.
    pub fn set_member(&self, id: &str, account: &str, role: Option<MemberRole>) {
        let mut state = self.state();
        let roster = state.rosters.entry(id.to_string()).or_default();
        match role {
            Some(role) => roster.insert(account.to_string(), role),
            None => roster.remove(account),
        };
    }

    /// Adds refuse `account` from now on, as an account that does not exist.
    pub fn refuse_account(&self, account: &str) {
        self.state().unknown_accounts.push(account.to_string());
    }

    /// Every call received, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The operations of the calls received, in order.
    pub fn operations(&self) -> Vec<Operation> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// Forgets the calls received so far.
    pub fn clear_calls(&self) {
        self.state().calls.clear();
    }

    /// The next call of `operation` does `outcome` instead of succeeding.
    pub fn script(&self, operation: Operation, outcome: Scripted) {
        let mut state = self.state();
        state
            .script
            .entry(operation)
            .or_default()
            .push_back(outcome);
    }

    /// Records the call and returns what was scripted for it.
    fn called(&self, operation: Operation, group_id: Option<&str>) -> Option<Scripted> {
        let mut state = self.state();
        state.calls.push(Call {
            operation,
            group_id: group_id.map(str::to_string),
        });
        state
            .script
            .get_mut(&operation)
            .and_then(VecDeque::pop_front)
    }

    fn error(&self, operation: Operation, class: FailureClass) -> ProviderError {
        ProviderError {
            provider: self.kind,
            operation,
            class,
            info: CallInfo {
                code: 500,
                message: format!("scripted {class:?}"),
                request_id: None,
            },
        }
    }

    /// Runs `effect` unless the script says the call fails first; a lost answer runs
    /// it and then fails.
    fn answer<T>(
        &self,
        operation: Operation,
        group_id: Option<&str>,
        effect: impl FnOnce(&mut State) -> T,
    ) -> ProviderResult<T> {
        let scripted = self.called(operation, group_id);
        if let Some(Scripted::Fail(class)) = scripted {
            return Err(self.error(operation, class));
        }
        let result = effect(&mut self.state());
        match scripted {
            Some(Scripted::LoseAnswer) => Err(self.error(operation, FailureClass::Transient)),
            _ => Ok(result),
        }
    }
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map_or(0, |d| d.as_millis() as i64)
}

fn ok() -> CallInfo {
    CallInfo::default()
}

fn apply(group: &mut ObservedGroup, changes: &AttributeChanges) {
    let attributes = &mut group.attributes;
    if let Some(name) = &changes.name {
        attributes.name = name.clone();
    }
    let AttributeChanges {
        introduction,
        notification,
        face_url,
        max_members,
        join_policy,
        custom_data,
        ..
    } = changes.clone();
    attributes.introduction = introduction.or(attributes.introduction.take());
    attributes.notification = notification.or(attributes.notification.take());
    attributes.face_url = face_url.or(attributes.face_url.take());
    attributes.max_members = max_members.or(attributes.max_members);
    attributes.join_policy = join_policy.or(attributes.join_policy);
    if let Some(custom_data) = custom_data {
        attributes.custom_data = custom_data;
    }
}

#[async_trait]
impl GroupProvider for MemoryProvider {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn id_assignment(&self) -> IdAssignment {
        match self.kind {
            ProviderKind::Tencent => IdAssignment::CallerChosen,
            ProviderKind::NetEase => IdAssignment::ServerAssigned,
        }
    }

    fn app(&self) -> AppIdentity {
        AppIdentity {
            kind: self.kind,
            app_id: self.app_id.clone(),
            host: "memory".to_string(),
        }
    }

    fn carries_marker(&self) -> bool {
        self.carries_marker
    }

    fn max_batch(&self, _group_type: GroupType) -> usize {
        50
    }

    async fn create_group(&self, request: &CreateRequest) -> ProviderResult<CreateOutcome> {
        let id = request.group_id.as_deref();
        let carries_marker = self.carries_marker;
        self.answer(Operation::Create, id, |state| {
            if let Some(existing) = id.and_then(|id| state.groups.get(id)) {
                return CreateOutcome::AlreadyExists {
                    existing: Some(existing.0.clone()),
                    info: ok(),
                };
            }
            state.next_id += 1;
            let group_id = request
                .group_id
                .clone()
                .unwrap_or_else(|| format!("{}", 9000 + state.next_id));
            let group = ObservedGroup {
                id: group_id.clone(),
                group_type: Some(request.group_type),
                attributes: request.attributes.clone(),
                marker: carries_marker.then(|| request.marker.clone()),
                member_count: Some(1),
            };
            state.groups.insert(group_id.clone(), (group, now_ms()));
            let owner = request.attributes.owner.iter();
            let roster = owner.map(|o| (o.clone(), MemberRole::Owner)).collect();
            state.rosters.insert(group_id.clone(), roster);
            CreateOutcome::Created {
                group_id,
                info: ok(),
            }
        })
    }

    async fn get_groups(&self, keys: &[GroupKey]) -> ProviderResult<Vec<(String, Lookup)>> {
        let first = keys.first().map(|k| k.id.as_str());
        self.answer(Operation::Get, first, |state| {
            keys.iter()
                .map(|key| {
                    let lookup = match state.groups.get(&key.id) {
                        Some((group, _)) => Lookup::Found(group.clone()),
                        None => Lookup::NotFound(ok()),
                    };
                    (key.id.clone(), lookup)
                })
                .collect()
        })
    }

    async fn find_by_marker(&self, query: &MarkerQuery) -> ProviderResult<Vec<ObservedGroup>> {
        self.answer(Operation::FindByMarker, None, |state| {
            state
                .groups
                .values()
                .filter(|(g, created)| {
                    g.marker.as_deref() == Some(query.marker.as_str())
                        && g.attributes.owner.as_deref() == Some(query.owner.as_str())
                        && query.name.as_ref().is_none_or(|n| *n == g.attributes.name)
                        && *created >= query.created_not_before_ms
                })
                .map(|(g, _)| g.clone())
                .collect()
        })
    }

    async fn update_group(
        &self,
        key: &GroupKey,
        changes: &AttributeChanges,
    ) -> ProviderResult<CallInfo> {
        let found = self.answer(Operation::Update, Some(&key.id), |state| {
            state
                .groups
                .get_mut(&key.id)
                .map(|(group, _)| apply(group, changes))
        })?;
        found
            .map(|()| ok())
            .ok_or_else(|| self.error(Operation::Update, FailureClass::NotFound))
    }

    async fn transfer_owner(&self, key: &GroupKey, new_owner: &str) -> ProviderResult<CallInfo> {
        let found = self.answer(Operation::TransferOwner, Some(&key.id), |state| {
            state
                .groups
                .get_mut(&key.id)
                .map(|(group, _)| group.attributes.owner = Some(new_owner.to_string()))
        })?;
        found
            .map(|()| ok())
            .ok_or_else(|| self.error(Operation::TransferOwner, FailureClass::NotFound))
    }

    async fn disband(&self, key: &GroupKey) -> ProviderResult<DisbandOutcome> {
        self.answer(Operation::Disband, Some(&key.id), |state| {
            match state.groups.remove(&key.id) {
                Some(_) => DisbandOutcome::Disbanded(ok()),
                None => DisbandOutcome::AlreadyGone(ok()),
            }
        })
    }

    async fn stamp(&self, key: &GroupKey, marker: &str) -> ProviderResult<Stamp> {
        if !self.carries_marker {
            return Ok(Stamp::Unsupported);
        }
        let found = self.answer(Operation::Update, Some(&key.id), |state| {
            state
                .groups
                .get_mut(&key.id)
                .map(|(group, _)| group.marker = Some(marker.to_string()))
        })?;
        found
            .map(|()| Stamp::Written)
            .ok_or_else(|| self.error(Operation::Update, FailureClass::NotFound))
    }

    fn add_answer_confirms_join(&self) -> bool {
        true
    }

    async fn member_roles(&self, key: &GroupKey, accounts: &[String]) -> ProviderResult<Roster> {
        let roster = self.list_members(key).await?;
        Ok(roster
            .into_iter()
            .filter(|(account, _)| accounts.contains(account))
            .collect())
    }

    async fn list_members(&self, key: &GroupKey) -> ProviderResult<Roster> {
        self.answer(Operation::ReadMembers, Some(&key.id), |state| {
            state.rosters.get(&key.id).cloned().unwrap_or_default()
        })
    }

    async fn add_members(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        self.answer(Operation::AddMembers, Some(&key.id), |state| {
            let unknown = state.unknown_accounts.clone();
            let roster = state.rosters.entry(key.id.clone()).or_default();
            let mut write = MemberWrite::default();
            for account in accounts {
                if unknown.contains(account) {
                    write.refused.push(MemberRefusal {
                        account: account.clone(),
                        code: Some(10019),
                        message: "no such account".into(),
                    });
                } else {
                    roster.entry(account.clone()).or_insert(MemberRole::Member);
                }
            }
            write
        })
    }

    async fn remove_members(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        self.answer(Operation::RemoveMembers, Some(&key.id), |state| {
            let roster = state.rosters.entry(key.id.clone()).or_default();
            roster.retain(|account, _| !accounts.contains(account));
            MemberWrite::default()
        })
    }

    async fn set_role(
        &self,
        key: &GroupKey,
        accounts: &[String],
        role: MemberRole,
    ) -> ProviderResult<MemberWrite> {
        self.answer(Operation::SetRole, Some(&key.id), |state| {
            let roster = state.rosters.entry(key.id.clone()).or_default();
            let mut write = MemberWrite::default();
            for account in accounts {
                match roster.get_mut(account) {
                    Some(have) => *have = role,
                    None => write.refused.push(MemberRefusal {
                        account: account.clone(),
                        code: Some(10007),
                        message: "not a member".into(),
                    }),
                }
            }
            write
        })
    }
}
