//! The effectful steps of one ChatGroup reconcile: create or adopt, converge,
//! disband. Every step that learns something durable records it in status at once.

use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::ResourceExt;

mod disband;

use super::plan;
use super::status::{self, Report};
use super::Context;
use crate::api::{ChatGroup, ChatGroupStatus, GroupOrigin, GroupState};
use crate::provider::validate::{validate_attributes, validate_tencent_group_id};
use crate::provider::{
    CreateOutcome, CreateRequest, GroupKey, GroupProvider, GroupType, Lookup, ObservedGroup,
    ProviderKind,
};
use crate::{Error, Result};

/// One reconcile of one ChatGroup, carrying the status as it is written.
pub struct GroupReconcile<'a> {
    ctx: &'a Context,
    group: Arc<ChatGroup>,
    api: Api<ChatGroup>,
    status: ChatGroupStatus,
    uid: String,
}

impl<'a> GroupReconcile<'a> {
    pub fn new(group: Arc<ChatGroup>, ctx: &'a Context) -> Self {
        let namespace = group.namespace().unwrap_or_default();
        GroupReconcile {
            api: Api::namespaced(ctx.client.clone(), &namespace),
            status: group.status.clone().unwrap_or_default(),
            uid: group.uid().unwrap_or_default(),
            group,
            ctx,
        }
    }

    fn group_type(&self) -> GroupType {
        self.group.spec.group_type.into()
    }

    fn namespace(&self) -> String {
        self.group.namespace().unwrap_or_default()
    }

    /// Makes the provider match the spec. Failures are reported on the object before
    /// they are returned.
    pub async fn apply(mut self) -> Result<Action> {
        match self.apply_steps().await {
            Ok(action) => Ok(action),
            Err(error) => {
                self.report_failure(&error).await;
                Err(error)
            }
        }
    }

    async fn apply_steps(&mut self) -> Result<Action> {
        let spec = &self.group.spec;
        if self.status.disbanded_at.is_some() {
            return self.finish(Report::Disbanded).await;
        }
        let nothing_created = self.status.group_id.is_none()
            && self.status.create_pending_since.is_none()
            && spec.group_id.is_none();
        if spec.state == GroupState::Disbanded && nothing_created {
            self.status.disbanded_at = Some(status::now());
            return self.finish(Report::Disbanded).await;
        }
        let provider = self
            .ctx
            .providers
            .resolve(&self.namespace(), &spec.provider_ref.name)
            .await?;
        self.check_spec(provider.as_ref())?;
        if spec.state == GroupState::Disbanded {
            self.disband(provider.as_ref()).await?;
            return self.finish(Report::Disbanded).await;
        }
        self.check_attributes()?;
        match self.ensure_group(provider.as_ref()).await? {
            Some(observed) => self.converge(provider.as_ref(), observed).await?,
            None => return self.finish(Report::ExternallyDisbanded).await,
        }
        self.finish(Report::Available).await
    }

    /// Checks what only the provider's kind can tell, before any call.
    fn check_spec(&self, provider: &dyn GroupProvider) -> Result<()> {
        let spec = &self.group.spec;
        let group_type = self.group_type();
        if group_type.provider() != provider.kind() {
            let allowed = match provider.kind() {
                ProviderKind::Tencent => {
                    "Public, Private, ChatRoom, AVChatRoom, Community, Work, Meeting"
                }
                ProviderKind::NetEase => "Advanced, Super",
            };
            return Err(Error::invalid_spec(
                "spec.type",
                format!(
                    "{group_type} is not a {} group type; allowed: {allowed}",
                    provider.kind()
                ),
            ));
        }
        if let Some(id) = &spec.group_id {
            if provider.kind() == ProviderKind::Tencent {
                validate_tencent_group_id(group_type, id)
                    .map_err(|e| Error::invalid_spec(e.field.clone(), e.message.clone()))?;
            }
            if let Some(recorded) = self
                .status
                .group_id
                .as_ref()
                .filter(|recorded| *recorded != id)
            {
                return Err(Error::invalid_spec(
                    "spec.groupId",
                    format!("this object already manages group {recorded}; spec.groupId cannot point elsewhere"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the declared attributes against the provider's limits; only needed when
    /// the group is to exist (a disband never depends on them).
    fn check_attributes(&self) -> Result<()> {
        validate_attributes(
            self.group_type(),
            &plan::desired_attributes(&self.group.spec),
        )
        .map_err(|e| Error::invalid_spec(e.field.clone(), e.message.clone()))
    }

    fn key(&self, id: &str, owner: Option<String>) -> GroupKey {
        GroupKey {
            id: id.to_string(),
            group_type: self.group_type(),
            owner: owner.or_else(|| self.group.spec.owner.clone()),
        }
    }

    async fn lookup(&self, provider: &dyn GroupProvider, id: &str) -> Result<Lookup> {
        let found = provider.get_groups(&[self.key(id, None)]).await?;
        Ok(found
            .into_iter()
            .next()
            .map(|(_, lookup)| lookup)
            .unwrap_or_else(|| Lookup::NotFound(Default::default())))
    }

    /// The group as the provider has it: the recorded one, an adopted one, or a new
    /// one. `None` when the recorded group was disbanded outside Kubernetes.
    async fn ensure_group(
        &mut self,
        provider: &dyn GroupProvider,
    ) -> Result<Option<ObservedGroup>> {
        if let Some(id) = self.status.group_id.clone() {
            return Ok(match self.lookup(provider, &id).await? {
                Lookup::Found(group) => Some(group),
                Lookup::NotFound(_) => None,
            });
        }
        if let Some(id) = self.group.spec.group_id.clone() {
            match self.lookup(provider, &id).await? {
                Lookup::Found(group) => {
                    self.adopt(&id, GroupOrigin::Adopted).await?;
                    return Ok(Some(group));
                }
                Lookup::NotFound(_) if provider.kind() == ProviderKind::NetEase => {
                    return Err(Error::invalid_spec(
                        "spec.groupId",
                        format!("NetEase team {id} does not exist; NetEase assigns team ids, so spec.groupId can only adopt an existing team"),
                    ));
                }
                Lookup::NotFound(_) => {}
            }
        }
        self.create(provider).await.map(Some)
    }

    async fn create(&mut self, provider: &dyn GroupProvider) -> Result<ObservedGroup> {
        let spec = &self.group.spec;
        let attributes = plan::desired_attributes(spec);
        if self.status.create_pending_since.is_some() && provider.kind() == ProviderKind::NetEase {
            if let Some(found) = self.find_own_team(provider).await? {
                self.adopt(&found.id, GroupOrigin::Created).await?;
                let note = format!(
                    "found team {} from an earlier create whose answer was lost",
                    found.id
                );
                self.event(EventType::Normal, "Recovered", "Create", note)
                    .await;
                return Ok(found);
            }
        }
        self.status.create_pending_since = Some(status::now());
        status::write(&self.api, &self.group, &self.status).await?;
        let request = CreateRequest {
            group_type: self.group_type(),
            group_id: (provider.kind() == ProviderKind::Tencent)
                .then(|| plan::tencent_create_id(&self.group, &self.uid)),
            marker: self.uid.clone(),
            attributes: attributes.clone(),
        };
        match provider.create_group(&request).await? {
            CreateOutcome::Created { group_id, .. } => {
                self.adopt(&group_id, GroupOrigin::Created).await?;
                self.event(
                    EventType::Normal,
                    "Created",
                    "Create",
                    format!("created group {group_id}"),
                )
                .await;
                Ok(observed_as_created(group_id, request))
            }
            CreateOutcome::AlreadyExists {
                existing: Some(existing),
                info,
            } => {
                // The id is derived from this object's UID, or named in spec.groupId:
                // either way it is this object's to take.
                let origin = if spec.group_id.is_some() {
                    GroupOrigin::Adopted
                } else {
                    GroupOrigin::Created
                };
                self.adopt(&existing.id, origin).await?;
                let note = format!(
                    "group {} already existed ({info}); taking it over",
                    existing.id
                );
                self.event(EventType::Normal, "Adopted", "Create", note)
                    .await;
                Ok(existing)
            }
            CreateOutcome::AlreadyExists {
                existing: None,
                info,
            } => Err(Error::Provider(crate::provider::ProviderError {
                provider: provider.kind(),
                operation: crate::provider::Operation::Create,
                class: crate::provider::FailureClass::Transient,
                info,
            })),
        }
    }

    async fn find_own_team(&self, provider: &dyn GroupProvider) -> Result<Option<ObservedGroup>> {
        let Some(owner) = self.group.spec.owner.as_deref() else {
            return Ok(None);
        };
        Ok(provider
            .find_by_marker(self.group_type(), owner, &self.uid)
            .await?)
    }

    /// Records the group id in status at once, so nothing later depends on finding it again.
    async fn adopt(&mut self, id: &str, origin: GroupOrigin) -> Result<()> {
        if origin == GroupOrigin::Adopted {
            self.ensure_not_managed_elsewhere(id)?;
        }
        self.status.group_id = Some(id.to_string());
        self.status.origin = Some(origin);
        self.status.create_pending_since = None;
        status::write(&self.api, &self.group, &self.status).await
    }

    fn ensure_not_managed_elsewhere(&self, id: &str) -> Result<()> {
        let namespace = self.namespace();
        let other = self.ctx.groups().into_iter().find(|other| {
            other.uid().as_deref() != Some(self.uid.as_str())
                && other.namespace().as_deref() == Some(namespace.as_str())
                && other.spec.provider_ref == self.group.spec.provider_ref
                && other.status.as_ref().and_then(|s| s.group_id.as_deref()) == Some(id)
        });
        match other {
            Some(other) => Err(Error::NotOwned {
                group_id: id.to_string(),
                message: format!(
                    "it is already managed by ChatGroup {namespace}/{}",
                    other.name_any()
                ),
            }),
            None => Ok(()),
        }
    }

    /// Writes only what differs, then transfers ownership if the owner changed.
    async fn converge(
        &mut self,
        provider: &dyn GroupProvider,
        observed: ObservedGroup,
    ) -> Result<()> {
        let desired = plan::desired_attributes(&self.group.spec);
        let key = self.key(&observed.id, observed.owner.clone());
        let changes = plan::attribute_changes(&desired, &observed);
        if !changes.is_empty() {
            provider.update_group(&key, &changes).await?;
            self.event(
                EventType::Normal,
                "Updated",
                "Update",
                format!("updated group {}", observed.id),
            )
            .await;
        }
        if let Some(new_owner) = plan::owner_change(&desired, &observed) {
            provider.transfer_owner(&key, &new_owner).await?;
            let note = format!("transferred group {} to {new_owner}", observed.id);
            self.event(EventType::Normal, "OwnerTransferred", "Update", note)
                .await;
        }
        Ok(())
    }

    async fn finish(&mut self, report: Report<'_>) -> Result<Action> {
        let before = self.group.status.clone().unwrap_or_default();
        status::apply_report(
            &mut self.status,
            &report,
            self.group.metadata.generation,
            &status::now(),
        );
        if self.status != before {
            status::write(&self.api, &self.group, &self.status).await?;
        }
        Ok(Action::await_change())
    }

    async fn report_failure(&mut self, error: &Error) {
        let keep_ready = self.status.group_id.is_some() && self.status.disbanded_at.is_none();
        let report = Report::Failed { error, keep_ready };
        status::apply_report(
            &mut self.status,
            &report,
            self.group.metadata.generation,
            &status::now(),
        );
        if let Err(write_error) = status::write(&self.api, &self.group, &self.status).await {
            tracing::warn!(error = %write_error, "could not report the failure in status");
        }
        let mut note = error.to_string();
        if self.group.metadata.deletion_timestamp.is_some() {
            note.push_str("; the group is kept until the disband is confirmed (set spec.deletionPolicy: Orphan to release the object without disbanding)");
        }
        let reason = if self.group.metadata.deletion_timestamp.is_some() {
            "DeletionBlocked"
        } else {
            error.reason()
        };
        self.event(EventType::Warning, reason, "Reconcile", note)
            .await;
    }

    async fn event(&self, type_: EventType, reason: &str, action: &str, note: String) {
        self.ctx
            .publish(self.group.as_ref(), type_, reason, action, note)
            .await;
    }
}

fn observed_as_created(id: String, request: CreateRequest) -> ObservedGroup {
    let a = request.attributes;
    ObservedGroup {
        id,
        group_type: Some(request.group_type),
        name: a.name,
        owner: a.owner,
        introduction: a.introduction,
        notification: a.notification,
        face_url: a.face_url,
        max_members: a.max_members,
        join_policy: a.join_policy,
        custom_data: a.custom_data,
        marker: Some(request.marker),
        member_count: None,
    }
}
