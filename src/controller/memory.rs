//! An in-memory [`Cluster`] for unit tests of `act`: ChatGroups with their status,
//! claims, Events and ChatProviders held in maps, with the API server's rules that
//! the controller relies on (a status write under a stale resourceVersion conflicts;
//! a claim held by a live object is not taken).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kube::core::Status;
use kube::runtime::events::Event;
use kube::ResourceExt;

use super::guard::{Ledger, LedgerStore};
use super::ownership::ClaimResult;
use super::port::{Cluster, Purpose};
use crate::api::{ChatGroup, ChatGroupClaimSpec, ChatGroupStatus, ClaimHolder, RecordedApp};
use crate::provider::GroupProvider;
use crate::{Error, Result};

/// An Event as the cluster recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub object: String,
    pub reason: String,
    pub note: String,
}

#[derive(Default)]
struct State {
    /// By `namespace/name`.
    groups: BTreeMap<String, ChatGroup>,
    /// By claim object name.
    claims: BTreeMap<String, ClaimHolder>,
    events: Vec<Recorded>,
    /// ChatProviders by `namespace/name`.
    providers: HashMap<String, Arc<dyn GroupProvider>>,
    /// Clients still cached for ChatProviders that are gone (deletions fall back).
    cached: HashMap<String, Arc<dyn GroupProvider>>,
    /// Clients from credentials rotated since they were last read.
    rotated: HashMap<String, Arc<dyn GroupProvider>>,
    refreshes: usize,
    status_writes: usize,
    next_version: u64,
}

/// Kubernetes, as far as one ChatGroup reconcile sees it.
#[derive(Default)]
pub struct MemoryCluster {
    state: Mutex<State>,
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

fn conflict(message: String) -> Error {
    let status = Status::failure(&message, "Conflict").with_code(409);
    Error::kube(message, kube::Error::Api(status.boxed()))
}

impl MemoryCluster {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves ChatProvider `namespace/name` with `client`.
    pub fn add_provider(&self, namespace: &str, name: &str, client: Arc<dyn GroupProvider>) {
        let mut state = self.state();
        state.cached.insert(key(namespace, name), client.clone());
        state.providers.insert(key(namespace, name), client);
    }

    /// Rotates the credentials in the Secret of ChatProvider `namespace/name`:
    /// `client` answers once they are read again (a credential refresh).
    pub fn rotate(&self, namespace: &str, name: &str, client: Arc<dyn GroupProvider>) {
        self.state().rotated.insert(key(namespace, name), client);
    }

    /// Credential refreshes asked for so far.
    pub fn refreshes(&self) -> usize {
        self.state().refreshes
    }

    /// Deletes ChatProvider `namespace/name` (its last client stays cached).
    pub fn remove_provider(&self, namespace: &str, name: &str) {
        self.state().providers.remove(&key(namespace, name));
    }

    /// Creates or replaces `group`, giving it a new resourceVersion.
    pub fn put(&self, mut group: ChatGroup) -> ChatGroup {
        let mut state = self.state();
        state.next_version += 1;
        group.metadata.resource_version = Some(state.next_version.to_string());
        let id = key(&group.namespace().unwrap_or_default(), &group.name_any());
        state.groups.insert(id, group.clone());
        group
    }

    /// The ChatGroup as the API server has it now.
    pub fn get(&self, namespace: &str, name: &str) -> Option<ChatGroup> {
        self.state().groups.get(&key(namespace, name)).cloned()
    }

    /// Removes a ChatGroup (its finalizer released).
    pub fn remove(&self, namespace: &str, name: &str) {
        self.state().groups.remove(&key(namespace, name));
    }

    /// Every Event published, in order.
    pub fn events(&self) -> Vec<Recorded> {
        self.state().events.clone()
    }

    /// The reasons of every Event published about `name`, in order.
    pub fn reasons(&self, name: &str) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|e| e.object.ends_with(&format!("/{name}")))
            .map(|e| e.reason)
            .collect()
    }

    /// Status writes made so far.
    pub fn status_writes(&self) -> usize {
        self.state().status_writes
    }

    /// The holder of the claim on `group_id` in `app`.
    pub fn claim_holder(&self, app: &RecordedApp, group_id: &str) -> Option<ClaimHolder> {
        let name = ChatGroupClaimSpec::object_name(&app.provider, &app.app_id, group_id);
        self.state().claims.get(&name).cloned()
    }
}

fn alive(state: &State, holder: &ClaimHolder) -> bool {
    let found = state.groups.get(&key(&holder.namespace, &holder.name));
    found.is_some_and(|g| g.uid().as_deref() == Some(holder.uid.as_str()))
}

fn merge(status: &mut ChatGroupStatus, changes: serde_json::Value) -> Result<()> {
    let mut merged = serde_json::to_value(&*status).map_err(|_| Error::Internal("status"))?;
    if let (Some(target), serde_json::Value::Object(changes)) = (merged.as_object_mut(), changes) {
        for (field, value) in changes {
            if value.is_null() {
                target.remove(&field);
            } else {
                target.insert(field, value);
            }
        }
    }
    *status = serde_json::from_value(merged).map_err(|_| Error::Internal("status patch"))?;
    Ok(())
}

#[async_trait]
impl Cluster for MemoryCluster {
    async fn provider(
        &self,
        namespace: &str,
        name: &str,
        purpose: Purpose,
    ) -> Result<Arc<dyn GroupProvider>> {
        let state = self.state();
        let id = key(namespace, name);
        let found = match purpose {
            Purpose::Manage => state.providers.get(&id),
            Purpose::Cleanup => state.providers.get(&id).or(state.cached.get(&id)),
        };
        found.cloned().ok_or_else(|| Error::CredentialsUnavailable {
            namespace: namespace.to_string(),
            name: name.to_string(),
            message: "the ChatProvider does not exist".to_string(),
        })
    }

    async fn refresh_credentials(&self, namespace: &str, name: &str) -> Result<bool> {
        let mut state = self.state();
        state.refreshes += 1;
        let id = key(namespace, name);
        let Some(client) = state.rotated.remove(&id) else {
            return Ok(false);
        };
        state.cached.insert(id.clone(), client.clone());
        state.providers.insert(id, client);
        Ok(true)
    }

    async fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        resource_version: Option<String>,
        changes: serde_json::Value,
    ) -> Result<Option<String>> {
        let mut state = self.state();
        state.next_version += 1;
        let version = state.next_version.to_string();
        let what = format!("write status of ChatGroup {namespace}/{name}");
        let Some(group) = state.groups.get_mut(&key(namespace, name)) else {
            return Err(conflict(what));
        };
        if resource_version.is_some() && group.metadata.resource_version != resource_version {
            return Err(conflict(what));
        }
        merge(group.status.get_or_insert_with(Default::default), changes)?;
        group.metadata.resource_version = Some(version.clone());
        state.status_writes += 1;
        Ok(Some(version))
    }

    async fn claim(
        &self,
        app: &RecordedApp,
        group_id: &str,
        holder: &ClaimHolder,
        _expect_existing: bool,
    ) -> Result<ClaimResult> {
        let mut state = self.state();
        let name = ChatGroupClaimSpec::object_name(&app.provider, &app.app_id, group_id);
        match state.claims.get(&name) {
            Some(other) if other.uid != holder.uid && alive(&state, other) => Ok(
                ClaimResult::HeldBy(format!("ChatGroup {}/{}", other.namespace, other.name)),
            ),
            _ => {
                state.claims.insert(name, holder.clone());
                Ok(ClaimResult::Held)
            }
        }
    }

    async fn release(&self, app: &RecordedApp, group_id: &str, holder_uid: &str) -> Result<()> {
        let mut state = self.state();
        let name = ChatGroupClaimSpec::object_name(&app.provider, &app.app_id, group_id);
        if state.claims.get(&name).is_some_and(|h| h.uid == holder_uid) {
            state.claims.remove(&name);
        }
        Ok(())
    }

    async fn publish(&self, group: &ChatGroup, event: Event) {
        let object = key(&group.namespace().unwrap_or_default(), &group.name_any());
        self.state().events.push(Recorded {
            object,
            reason: event.reason,
            note: event.note.unwrap_or_default(),
        });
    }
}

/// A disband ledger kept in memory.
#[derive(Default)]
pub struct MemoryLedger {
    stored: Mutex<(Ledger, u64)>,
}

#[async_trait]
impl LedgerStore for MemoryLedger {
    async fn load(&self) -> Result<(Ledger, Option<String>)> {
        let stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        Ok((stored.0.clone(), Some(stored.1.to_string())))
    }

    async fn save(&self, ledger: &Ledger, version: Option<String>) -> Result<bool> {
        let mut stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        if version != Some(stored.1.to_string()) {
            return Ok(false);
        }
        *stored = (ledger.clone(), stored.1 + 1);
        Ok(true)
    }
}
