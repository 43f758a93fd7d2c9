//! What one ChatGroup reconcile asks of Kubernetes, behind one trait: its provider
//! client, status writes, claims and Events. [`KubeCluster`] serves the running
//! operator; unit tests of `act` use an in-memory implementation.

use std::sync::Arc;

use async_trait::async_trait;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::Event;
use kube::{Client, Resource, ResourceExt};

use super::claims;
use super::clients::Providers;
use super::events::EventPublisher;
use super::ownership::ClaimResult;
use crate::api::{ChatGroup, ClaimHolder, RecordedApp};
use crate::provider::GroupProvider;
use crate::{Error, Result};

/// Which ChatProvider state a client may come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The ChatProvider as it is now, with its Secret.
    Manage,
    /// A deletion: a ChatProvider (or Secret) already deleted falls back to the last
    /// client that worked for the same app.
    Cleanup,
}

/// The Kubernetes side of a ChatGroup reconcile.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// The client for ChatProvider `namespace/name`.
    async fn provider(
        &self,
        namespace: &str,
        name: &str,
        purpose: Purpose,
    ) -> Result<Arc<dyn GroupProvider>>;

    /// Applies `changes` (a JSON merge patch of the top-level status fields) to
    /// ChatGroup `namespace/name`, only if it is still at `resource_version`. Returns
    /// the resourceVersion after the write.
    async fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        resource_version: Option<String>,
        changes: serde_json::Value,
    ) -> Result<Option<String>>;

    /// Claims `group_id` in `app` for `holder`; `expect_existing` when the claim was
    /// likely made before (the group is recorded), so it is read before it is created.
    async fn claim(
        &self,
        app: &RecordedApp,
        group_id: &str,
        holder: &ClaimHolder,
        expect_existing: bool,
    ) -> Result<ClaimResult>;

    /// Reads the Secret of ChatProvider `namespace/name` again now; `true` when it
    /// changed since it was last read.
    async fn refresh_credentials(&self, namespace: &str, name: &str) -> Result<bool>;

    /// Gives up the claim on `group_id` in `app` if `holder_uid` holds it.
    async fn release(&self, app: &RecordedApp, group_id: &str, holder_uid: &str) -> Result<()>;

    /// Publishes an Event about `group`; a failure to publish is logged, not fatal.
    async fn publish(&self, group: &ChatGroup, event: Event);
}

/// The running operator's [`Cluster`]: the API server, through `client`.
pub struct KubeCluster {
    client: Client,
    providers: Arc<Providers>,
    events: EventPublisher,
}

impl KubeCluster {
    pub fn new(client: Client, providers: Arc<Providers>, events: EventPublisher) -> KubeCluster {
        KubeCluster {
            client,
            providers,
            events,
        }
    }
}

#[async_trait]
impl Cluster for KubeCluster {
    async fn provider(
        &self,
        namespace: &str,
        name: &str,
        purpose: Purpose,
    ) -> Result<Arc<dyn GroupProvider>> {
        match purpose {
            Purpose::Manage => self.providers.resolve(namespace, name).await,
            Purpose::Cleanup => self.providers.resolve_for_cleanup(namespace, name).await,
        }
    }

    async fn refresh_credentials(&self, namespace: &str, name: &str) -> Result<bool> {
        self.providers.refresh(namespace, name).await
    }

    async fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        resource_version: Option<String>,
        changes: serde_json::Value,
    ) -> Result<Option<String>> {
        let api: Api<ChatGroup> = Api::namespaced(self.client.clone(), namespace);
        let patch = serde_json::json!({
            "metadata": {"resourceVersion": resource_version},
            "status": changes,
        });
        let updated = api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| Error::kube(format!("write status of ChatGroup {namespace}/{name}"), e))?;
        Ok(updated.resource_version())
    }

    async fn claim(
        &self,
        app: &RecordedApp,
        group_id: &str,
        holder: &ClaimHolder,
        expect_existing: bool,
    ) -> Result<ClaimResult> {
        claims::claim(&self.client, app, group_id, holder, expect_existing).await
    }

    async fn release(&self, app: &RecordedApp, group_id: &str, holder_uid: &str) -> Result<()> {
        claims::release(&self.client, app, group_id, holder_uid).await
    }

    async fn publish(&self, group: &ChatGroup, event: Event) {
        let reason = event.reason.clone();
        if let Err(error) = self.events.publish(&event, &group.object_ref(&())).await {
            tracing::warn!(%error, reason, "could not publish event");
        }
    }
}
