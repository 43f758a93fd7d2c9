//! The ChatProvider controller: `Ready` tells whether the credentials resolve.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::ResourceExt;
use serde_json::json;

use super::status::{now, FIELD_MANAGER};
use super::Context;
use crate::api::conditions::{self, Desired, READY};
use crate::api::{ChatProvider, ChatProviderStatus};
use crate::{Error, Result};

pub async fn reconcile(chat_provider: Arc<ChatProvider>, ctx: Arc<Context>) -> Result<Action> {
    // Another shard's app: that shard resolves its credentials and writes its status.
    if !ctx.shard.owns_provider(&chat_provider) {
        return Ok(Action::await_change());
    }
    let namespace = chat_provider.namespace().unwrap_or_default();
    let name = chat_provider.name_any();
    let resolved = ctx.providers.resolve(&namespace, &name).await;
    let wanted = match &resolved {
        Ok(provider) => Desired::new(
            READY,
            true,
            "CredentialsResolved",
            format!("{} app credentials resolve", provider.kind()),
        ),
        Err(error) => Desired::new(READY, false, error.reason(), error.to_string()),
    };
    let previous = chat_provider.status.clone().unwrap_or_default();
    let generation = chat_provider.metadata.generation;
    let status = ChatProviderStatus {
        observed_generation: generation,
        conditions: conditions::merge(&previous.conditions, &[wanted], generation, &now()),
    };
    if status != previous {
        let api: Api<ChatProvider> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = json!({"apiVersion": "im.chatgroup.dev/v1alpha1", "kind": "ChatProvider", "status": status});
        api.patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|e| {
            Error::kube(
                format!("write status of ChatProvider {namespace}/{name}"),
                e,
            )
        })?;
    }
    match resolved {
        Ok(_) => Ok(Action::await_change()),
        // Secrets are not watched: a fixed Secret is seen on this retry.
        Err(_) => Ok(Action::requeue(Duration::from_secs(60))),
    }
}

pub fn error_policy(_: Arc<ChatProvider>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(%error, "ChatProvider reconcile failed");
    Action::requeue(Duration::from_secs(30))
}
