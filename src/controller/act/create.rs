//! Creating, recovering and recording a group; converging it to the spec.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::events::EventType;

use super::GroupReconcile;
use crate::api::{DuplicateWatch, GroupOrigin, PendingCreate};
use crate::controller::ownership;
use crate::controller::plan;
use crate::controller::status;
use crate::provider::{
    CreateOutcome, CreateRequest, FailureClass, IdAssignment, MarkerQuery, ObservedGroup,
    Operation, ProviderError, Stamp,
};
use crate::{Error, Result};

/// Clock skew allowed between this operator and the provider when narrowing the
/// lost-create search by creation time: the NetEase CheckSum's own CurTime tolerance.
const CLOCK_SKEW_MS: i64 = 300_000;

impl GroupReconcile<'_> {
    /// Sends a create, after recording what it is made with (so a lost answer can be
    /// searched for with the same name, owner and type, even if the spec changes).
    pub(super) async fn create(&mut self, group_id: Option<String>) -> Result<()> {
        self.check_attributes()?;
        let attributes = plan::desired_attributes(&self.group.spec);
        let request = CreateRequest {
            group_type: self.group_type(),
            group_id: group_id.clone(),
            marker: self.uid.clone(),
            attributes: attributes.clone(),
        };
        // Only a create that will be sent is recorded as sent: a refused spec, or a
        // replica that may no longer write, counts no attempt.
        let client = self.writer()?;
        client.validate_create(&request)?;
        let app = ownership::recorded_app(&self.resolved()?.app);
        let sent = status::now();
        // A pending create from before attempts were counted was sent once.
        let earlier = self.status.pending_create.as_ref();
        let attempts = earlier.map_or(0, |p| p.attempts.max(1)) + 1;
        let first_sent = earlier
            .and_then(|p| p.first_sent.clone())
            .or_else(|| self.status.create_pending_since.clone())
            .unwrap_or_else(|| sent.clone());
        self.status.create_pending_since = Some(sent);
        self.status.pending_create = Some(PendingCreate {
            name: attributes.name.clone(),
            owner: attributes.owner.clone(),
            group_id: group_id.clone(),
            group_type: Some(self.group.spec.group_type),
            empty_searches: 0,
            last_empty_search: None,
            attempts,
            first_sent: Some(first_sent),
        });
        self.status.app = Some(app);
        self.write().await?;
        let outcome = self.writer()?.create_group(&request).await?;
        self.created(request, outcome).await
    }

    async fn created(&mut self, request: CreateRequest, outcome: CreateOutcome) -> Result<()> {
        match outcome {
            CreateOutcome::Created { group_id, .. } => {
                let note = format!("created group {group_id}");
                self.event(EventType::Normal, "Created", "Create", note)
                    .await;
                let observed = observed_as_created(group_id.clone(), request);
                self.known.created = true;
                self.known.search = Some(vec![observed.clone()]);
                self.known.lookups.insert(group_id, Some(observed));
                Ok(())
            }
            // The id was claimed by this object before the create: the group is its to take.
            CreateOutcome::AlreadyExists {
                existing: Some(existing),
                ..
            } => {
                self.known
                    .lookups
                    .insert(existing.id.clone(), Some(existing));
                Ok(())
            }
            CreateOutcome::AlreadyExists {
                existing: None,
                info,
            } => Err(Error::Provider(ProviderError {
                provider: self.client()?.kind(),
                operation: Operation::Create,
                class: FailureClass::Transient,
                info,
            })),
        }
    }

    /// Searches for the team a lost create may have made, with what the create was
    /// made with (not what the spec says now).
    pub(super) async fn search(&mut self) -> Result<()> {
        let query = self.marker_query()?;
        // The search counts from when it was asked for: a team that appeared while its
        // pages were being read may have been missed.
        let asked = status::now();
        let found = self.client()?.find_by_marker(&query).await?;
        if found.is_empty() && self.status.group_id.is_none() {
            self.note_empty_search(asked).await?;
        }
        self.known.search = Some(found);
        Ok(())
    }

    fn marker_query(&self) -> Result<MarkerQuery> {
        if let (Some(_), Some(watch)) = (&self.status.group_id, &self.status.duplicate_watch) {
            // Any name: the spec may have been renamed since the creates were sent.
            return Ok(MarkerQuery {
                group_type: self.group_type(),
                owner: watch.owner.clone(),
                marker: self.uid.clone(),
                name: None,
                created_not_before_ms: watch.since.0.as_millisecond() - CLOCK_SKEW_MS,
            });
        }
        let spec = &self.group.spec;
        let pending = self.status.pending_create.as_ref();
        let owner = pending
            .and_then(|p| p.owner.clone())
            .or_else(|| spec.owner.clone())
            .ok_or_else(|| {
                Error::invalid_spec("spec.owner", "NetEase teams are found through their owner")
            })?;
        let since = self
            .status
            .create_pending_since
            .as_ref()
            .ok_or(Error::Internal("a search ran without a pending create"))?;
        let group_type = pending
            .and_then(|p| p.group_type)
            .map_or_else(|| self.group_type(), Into::into);
        Ok(MarkerQuery {
            group_type,
            owner,
            marker: self.uid.clone(),
            name: Some(pending.map_or_else(|| spec.name.clone(), |p| p.name.clone())),
            created_not_before_ms: since.0.as_millisecond() - CLOCK_SKEW_MS,
        })
    }

    /// Records a complete search (or read) that found no group from the pending create.
    pub(super) async fn note_empty_search(&mut self, asked: Time) -> Result<()> {
        let spec = &self.group.spec;
        let pending = self
            .status
            .pending_create
            .get_or_insert_with(|| PendingCreate {
                name: spec.name.clone(),
                owner: spec.owner.clone(),
                ..PendingCreate::default()
            });
        pending.empty_searches += 1;
        pending.last_empty_search = Some(asked);
        self.write().await
    }

    pub(super) fn create_pending(&self, retry_in: std::time::Duration) -> Error {
        let since = self.status.create_pending_since.as_ref();
        Error::CreatePending {
            since: since.map_or_else(String::new, |t| t.0.to_string()),
            searches: self
                .status
                .pending_create
                .as_ref()
                .map_or(0, |p| p.empty_searches),
            retry_in,
        }
    }

    /// Records the group as this object's. An adopted team is stamped with this
    /// object's marker first, so another cluster's copy can tell it is not theirs.
    pub(super) async fn record(
        &mut self,
        mut group: ObservedGroup,
        origin: GroupOrigin,
    ) -> Result<()> {
        if origin == GroupOrigin::Adopted && !self.ending() {
            self.stamp(&mut group).await?;
        }
        let id = group.id.clone();
        self.status.group_id = Some(id.clone());
        self.status.origin = Some(origin);
        self.status.app = Some(ownership::recorded_app(&self.resolved()?.app));
        self.status.create_pending_since = None;
        if let Some(watch) = self.duplicate_watch(origin) {
            self.status.duplicate_watch = Some(watch);
        }
        self.status.pending_create = None;
        // A group this reconcile's own create made is written with the conditions
        // that follow (a failure report writes it too); one found or adopted is
        // written now, before anything else is asked of it.
        if !self.known.created {
            self.write().await?;
        }
        let (reason, note) = match origin {
            GroupOrigin::Adopted => ("Adopted", format!("adopted group {id}")),
            GroupOrigin::Created if self.known.created => {
                ("Recorded", format!("recorded group {id}"))
            }
            GroupOrigin::Created => (
                "Recovered",
                format!("found group {id} from an earlier create whose answer was lost"),
            ),
        };
        if reason != "Recorded" {
            self.event(EventType::Normal, reason, "Create", note).await;
        }
        self.known.lookups.insert(id, Some(group));
        Ok(())
    }

    /// A created group whose create was sent more than once where the server assigns
    /// ids: an earlier create may still appear as a second group.
    fn duplicate_watch(&self, origin: GroupOrigin) -> Option<DuplicateWatch> {
        let pending = self.status.pending_create.as_ref()?;
        let server_assigned =
            self.resolved().ok()?.capabilities.ids == IdAssignment::ServerAssigned;
        let resent = origin == GroupOrigin::Created && pending.attempts > 1 && server_assigned;
        resent.then(|| DuplicateWatch {
            owner: pending.owner.clone().unwrap_or_default(),
            since: pending
                .first_sent
                .clone()
                .or_else(|| self.status.create_pending_since.clone())
                .unwrap_or_else(status::now),
        })
    }

    async fn stamp(&mut self, group: &mut ObservedGroup) -> Result<()> {
        let resolved = self.resolved()?;
        if !resolved.capabilities.carries_marker || group.marker.as_deref() == Some(&self.uid) {
            return Ok(());
        }
        let client = self.writer()?;
        match client.stamp(&self.key(&group.id), &self.uid).await? {
            Stamp::Written => group.marker = Some(self.uid.clone()),
            Stamp::Unsupported => {}
            Stamp::Foreign => {
                let note = format!("group {} keeps its own custom data, which has no place for this object's marker; it is not stamped", group.id);
                self.event(EventType::Warning, "NotStamped", "Adopt", note)
                    .await;
            }
        }
        Ok(())
    }

    /// Writes only what differs, then transfers ownership if the owner changed.
    pub(super) async fn converge(&mut self, observed: ObservedGroup) -> Result<()> {
        self.check_attributes()?;
        let client = self.writer()?;
        let desired = plan::desired_attributes(&self.group.spec);
        let key = self.key(&observed.id);
        let changes = observed.changes_to(&desired);
        if !changes.is_empty() {
            client.update_group(&key, &changes).await?;
            let note = format!("updated group {}", observed.id);
            self.event(EventType::Normal, "Updated", "Update", note)
                .await;
        }
        if let Some(new_owner) = observed.owner_change(&desired) {
            client.transfer_owner(&key, &new_owner).await?;
            // Later calls of this reconcile (the member pass) act as the new owner.
            if let Some(Some(read)) = self.known.lookups.get_mut(&observed.id) {
                read.attributes.owner = Some(new_owner.clone());
            }
            let note = format!("transferred group {} to {new_owner}", observed.id);
            self.event(EventType::Normal, "OwnerTransferred", "Update", note)
                .await;
        }
        // A group recorded before its provider could carry a marker (a Tencent
        // ChatProvider given an ownerDataKey since) gets this object's now.
        let unmarked = observed.marker.is_none() && self.resolved()?.capabilities.carries_marker;
        if unmarked && client.stamp(&key, &self.uid).await? == Stamp::Written {
            let note = format!("marked group {} as this object's", observed.id);
            self.event(EventType::Normal, "Stamped", "Update", note)
                .await;
        }
        Ok(())
    }
}

fn observed_as_created(id: String, request: CreateRequest) -> ObservedGroup {
    ObservedGroup {
        id,
        group_type: Some(request.group_type),
        attributes: request.attributes,
        marker: Some(request.marker),
        member_count: None,
    }
}
