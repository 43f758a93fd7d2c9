//! Executes the steps [`ownership::next_step`] decides, one at a time, until a final
//! one. Every step that learns something durable records it in status at once, under
//! the resourceVersion of the object this reconcile read from the API server.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::ResourceExt;

mod create;
mod disband;
mod members;
#[cfg(test)]
mod tests;

use super::claims::{self, ClaimCache};
use super::fence::Fence;
use super::guard::DisbandGuard;
use super::ownership::{self, Capabilities, ClaimResult, Facts, Known, Step};
use super::plan;
use super::port::{Cluster, Purpose};
use super::status::{self, Report, StatusWriter};
use crate::api::{ChatGroup, ChatGroupSpec, ChatGroupStatus, ClaimHolder, GroupState, RecordedApp};
use crate::provider::validate::{validate_attributes, validate_type_for};
use crate::provider::{scrub_text, AppIdentity, GroupKey, GroupProvider, GroupType, Lookup};
use crate::{Error, Result};

/// Steps one reconcile takes at most; a decision that needs more is retried later.
const MAX_STEPS: usize = 24;

/// When a membership pass whose provider call failed is tried again; the group
/// stays Ready meanwhile.
const MEMBERS_RETRY: Duration = Duration::from_secs(30);

/// The ChatProvider's client and what it tells about the app.
struct Resolved {
    client: Arc<dyn GroupProvider>,
    app: AppIdentity,
    capabilities: Capabilities,
}

/// What a ChatGroup reconcile works with: the Kubernetes side behind its port, and
/// what this replica keeps in memory.
pub struct Env {
    pub cluster: Arc<dyn Cluster>,
    /// Bounds how many groups may be disbanded per hour.
    pub disband_guard: DisbandGuard,
    /// Whether provider and claim writes may start: checked right before each one.
    pub fence: Fence,
    /// Claims won recently by this replica.
    pub claims: ClaimCache,
    /// How long after a create was sent its group may still appear.
    pub late_create_bound: Duration,
}

/// Whether a step ended the reconcile.
enum Flow {
    Next,
    Done(Action),
}

/// One reconcile of one ChatGroup, carrying the status as it is written.
pub struct GroupReconcile<'a> {
    env: &'a Env,
    group: Arc<ChatGroup>,
    status: ChatGroupStatus,
    writer: StatusWriter,
    uid: String,
    known: Known,
    provider: Option<Resolved>,
}

impl<'a> GroupReconcile<'a> {
    /// `group` must be the object as just read from the API server.
    pub fn new(group: Arc<ChatGroup>, env: &'a Env) -> Self {
        GroupReconcile {
            writer: StatusWriter::new(env.cluster.clone(), &group),
            status: group.status.clone().unwrap_or_default(),
            uid: group.uid().unwrap_or_default(),
            known: Known::default(),
            provider: None,
            group,
            env,
        }
    }

    /// Makes the provider match the spec (or releases the object, when it is being
    /// deleted). Never returns Ok for a deleted object before its group is disbanded,
    /// proven gone, or proven not its own. Failures are reported on the object.
    pub async fn run(mut self) -> Result<Action> {
        let mut result = self.steps().await;
        if let Err(error) = &result {
            if self.credentials_rotated(error).await {
                // The step that failed is taken again, once, with the new credentials.
                self.provider = None;
                result = self.steps().await;
            }
        }
        match result {
            Ok(action) => Ok(action),
            Err(error) => {
                self.report_failure(&error).await;
                Err(error)
            }
        }
    }

    /// Whether `error` may come from credentials rotated since they were read, and
    /// the ChatProvider's Secret, read again now, did change.
    async fn credentials_rotated(&self, error: &Error) -> bool {
        let suspect = error
            .provider_error()
            .is_some_and(|e| e.credentials_suspect());
        if !suspect {
            return false;
        }
        let provider = &self.group.spec.provider_ref.name;
        let refreshed = (self.env.cluster)
            .refresh_credentials(&self.namespace(), provider)
            .await;
        refreshed.unwrap_or_else(|error| {
            tracing::warn!(%error, "could not read the credentials again");
            false
        })
    }

    async fn steps(&mut self) -> Result<Action> {
        for _ in 0..MAX_STEPS {
            let step = ownership::next_step(&self.facts());
            tracing::debug!(?step, "ownership step");
            if let Flow::Done(action) = self.execute(step).await? {
                return Ok(action);
            }
        }
        Err(Error::Undecided { steps: MAX_STEPS })
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            spec: &self.group.spec,
            status: &self.status,
            uid: &self.uid,
            deleting: self.deleting(),
            provider: self.provider.as_ref().map(|p| (&p.app, p.capabilities)),
            now: k8s_openapi::jiff::Timestamp::now(),
            late_create_bound: self.env.late_create_bound,
            take_over: self
                .group
                .annotations()
                .get(ownership::TAKE_OVER_ANNOTATION)
                .is_some_and(|v| v == "true"),
            known: &self.known,
        }
    }

    async fn execute(&mut self, step: Step) -> Result<Flow> {
        match step {
            Step::Tombstone => {
                self.release_claims().await?;
                self.finish(Report::Disbanded).await
            }
            Step::Release(why) => self.release(why).await,
            Step::Orphan => self.orphan().await,
            Step::ResolveProvider => self.resolve_provider().await.map(|_| Flow::Next),
            Step::ProviderChanged { recorded } => Err(self.provider_changed(&recorded)),
            Step::RecordApp => {
                self.status.app = Some(ownership::recorded_app(&self.resolved()?.app));
                self.write().await.map(|_| Flow::Next)
            }
            Step::Claim { group_id } => self.claim(group_id).await.map(|_| Flow::Next),
            Step::Read { group_id } => self.read(&group_id).await.map(|_| Flow::Next),
            Step::Search => self.search().await.map(|_| Flow::Next),
            Step::WaitForLateCreate { retry_in } => Err(self.create_pending(retry_in)),
            Step::Create { group_id } => self.create(group_id).await.map(|_| Flow::Next),
            Step::Record { group, origin } => self.record(group, origin).await.map(|_| Flow::Next),
            Step::DisbandDuplicate { group_id } => {
                self.disband_duplicate(&group_id).await.map(|_| Flow::Next)
            }
            Step::Disband { group_id } => self.disband(&group_id).await,
            Step::Gone { group_id } => self.gone(&group_id).await,
            Step::Converge { group } => {
                let id = group.id.clone();
                self.converge(group).await?;
                let members = self.sync_members(&id).await?;
                // A refusal that needs a change (a permission, a callback) waits for the
                // next drift pass or a spec change; anything else is tried again soon.
                let retry = matches!(&members, members::MembersPass::Failed(e) if !e.is_terminal());
                let report = Report::Available {
                    members: members.condition(),
                };
                let flow = self.finish(report).await?;
                Ok(if retry {
                    Flow::Done(Action::requeue(MEMBERS_RETRY))
                } else {
                    flow
                })
            }
            Step::NotOwned { group_id, by } => Err(Error::NotOwned {
                group_id,
                message: format!("it is owned by {by}"),
            }),
            Step::Invalid { field, message } => Err(Error::invalid_spec(field, message)),
        }
    }

    fn deleting(&self) -> bool {
        self.group.metadata.deletion_timestamp.is_some()
    }

    /// Deleted with policy Delete, or `state: disbanded`.
    fn ending(&self) -> bool {
        self.deleting() || self.group.spec.state == GroupState::Disbanded
    }

    fn group_type(&self) -> GroupType {
        self.group.spec.group_type.into()
    }

    fn namespace(&self) -> String {
        self.group.namespace().unwrap_or_default()
    }

    fn resolved(&self) -> Result<&Resolved> {
        self.provider.as_ref().ok_or(Error::Internal(
            "a provider step ran before the ChatProvider was resolved",
        ))
    }

    fn client(&self) -> Result<Arc<dyn GroupProvider>> {
        Ok(self.resolved()?.client.clone())
    }

    /// The client for a write: only while this replica may still write (it leads, and
    /// its renew deadline has not passed, checked now).
    fn writer(&self) -> Result<Arc<dyn GroupProvider>> {
        self.env.fence.check()?;
        self.client()
    }

    /// Resolves the ChatProvider; on delete, a ChatProvider being deleted still serves.
    async fn resolve_provider(&mut self) -> Result<()> {
        let (namespace, name) = (self.namespace(), &self.group.spec.provider_ref.name);
        let purpose = if self.deleting() {
            Purpose::Cleanup
        } else {
            Purpose::Manage
        };
        let client = self.env.cluster.provider(&namespace, name, purpose).await?;
        let app = client.app();
        let moved = (self.status.app.as_ref()).is_some_and(|r| !ownership::same_app(r, &app));
        // A moved app is reported as such (ProviderChanged), not as a spec that does
        // not fit the new provider.
        if !self.deleting() && !moved {
            check_spec(&self.group.spec, &self.status, client.as_ref())?;
        }
        self.provider = Some(Resolved {
            app,
            capabilities: Capabilities {
                ids: client.id_assignment(),
                carries_marker: client.carries_marker(),
            },
            client,
        });
        Ok(())
    }

    fn provider_changed(&self, recorded: &RecordedApp) -> Error {
        let current = self
            .provider
            .as_ref()
            .map_or_else(String::new, |p| p.app.to_string());
        let group_id = self
            .status
            .group_id
            .clone()
            .unwrap_or_else(|| "(create pending)".to_string());
        Error::ProviderChanged {
            group_id,
            recorded: format!("{} app {}", recorded.provider, recorded.app_id),
            current,
        }
    }

    /// The app claims are made in: the recorded one, else the resolved one.
    fn claim_app(&self) -> Option<RecordedApp> {
        self.status.app.clone().or_else(|| {
            self.provider
                .as_ref()
                .map(|p| ownership::recorded_app(&p.app))
        })
    }

    fn holder(&self) -> ClaimHolder {
        ClaimHolder {
            namespace: self.namespace(),
            name: self.group.name_any(),
            uid: self.uid.clone(),
        }
    }

    async fn claim(&mut self, group_id: String) -> Result<()> {
        let app = ownership::recorded_app(&self.resolved()?.app);
        let name = claims::claim_name(&app, &group_id);
        // The cache spares a steady-state converge its claim call; a step that creates,
        // disbands or releases asks the API server (a claim deleted by hand and won by
        // another object since must not be trusted from memory).
        let steady = self.status.group_id.is_some() && !self.ending();
        let result = if steady && self.env.claims.held(&name, &self.uid) {
            ClaimResult::Held
        } else {
            self.env.fence.check()?;
            let holder = self.holder();
            let recorded = self.status.group_id.as_deref() == Some(group_id.as_str());
            (self.env.cluster)
                .claim(&app, &group_id, &holder, recorded)
                .await?
        };
        if result == ClaimResult::Held {
            self.env.claims.remember(&name, &self.uid);
        }
        self.known.claims.insert(group_id, result);
        Ok(())
    }

    /// Gives up every claim this object may hold: the recorded, pending and named ids.
    async fn release_claims(&mut self) -> Result<()> {
        let mut ids: Vec<String> = self.known.claims.keys().cloned().collect();
        ids.extend(self.status.group_id.clone());
        ids.extend(
            self.status
                .pending_create
                .as_ref()
                .and_then(|p| p.group_id.clone()),
        );
        ids.extend(self.group.spec.group_id.clone());
        ids.sort();
        ids.dedup();
        for id in ids {
            self.release_claim(&id).await?;
        }
        Ok(())
    }

    /// Gives up this object's claim on `id`, if it holds it.
    async fn release_claim(&mut self, id: &str) -> Result<()> {
        let Some(app) = self.claim_app() else {
            return Ok(());
        };
        self.env.fence.check()?;
        self.env.cluster.release(&app, id, &self.uid).await?;
        self.env
            .claims
            .forget(&claims::claim_name(&app, id), &self.uid);
        Ok(())
    }

    fn key(&self, id: &str) -> GroupKey {
        let read_owner = self
            .known
            .lookups
            .get(id)
            .and_then(|g| g.as_ref())
            .and_then(|g| g.attributes.owner.clone());
        GroupKey {
            id: id.to_string(),
            group_type: self.group_type(),
            owner: read_owner.or_else(|| self.group.spec.owner.clone()),
        }
    }

    async fn read(&mut self, id: &str) -> Result<()> {
        let asked = status::now();
        let found = self.client()?.get_groups(&[self.key(id)]).await?;
        let found = match found.into_iter().next().map(|(_, lookup)| lookup) {
            Some(Lookup::Found(group)) => Some(group),
            Some(Lookup::NotFound(_)) | None => None,
        };
        let pending_id = self.status.group_id.is_none()
            && self.status.create_pending_since.is_some()
            && self.resolved()?.capabilities.ids == crate::provider::IdAssignment::CallerChosen;
        if found.is_none() && pending_id {
            self.note_empty_search(asked).await?;
        }
        self.known.lookups.insert(id.to_string(), found);
        Ok(())
    }

    /// Checks the declared attributes against the provider's limits; only needed when
    /// the group is to exist (a disband never depends on them).
    fn check_attributes(&self) -> Result<()> {
        validate_attributes(
            self.group_type(),
            &plan::desired_attributes(&self.group.spec),
        )
        .map_err(Error::from)
    }

    async fn write(&mut self) -> Result<()> {
        self.writer.write(&self.status).await
    }

    async fn finish(&mut self, report: Report<'_>) -> Result<Flow> {
        status::apply_report(
            &mut self.status,
            &report,
            self.group.metadata.generation,
            &status::now(),
        );
        self.write().await?;
        Ok(Flow::Done(Action::await_change()))
    }

    async fn report_failure(&mut self, error: &Error) {
        // A refusal says the group is not this object's: no Ready from before stands.
        let refused = matches!(error, Error::NotOwned { .. } | Error::ForeignClaim { .. });
        let keep_ready =
            self.status.group_id.is_some() && self.status.disbanded_at.is_none() && !refused;
        let report = Report::Failed { error, keep_ready };
        status::apply_report(
            &mut self.status,
            &report,
            self.group.metadata.generation,
            &status::now(),
        );
        if let Err(write_error) = self.write().await {
            tracing::warn!(error = %write_error, "could not report the failure in status");
        }
        if matches!(error, Error::CreatePending { .. }) {
            return; // progress, reported in conditions; not worth a Warning each time
        }
        let mut note = scrub_text(&error.to_string());
        if self.deleting() {
            note.push_str("; the group is kept until the disband is confirmed (set spec.deletionPolicy: Orphan to release the object without disbanding)");
        }
        self.event(EventType::Warning, error.reason(), "Reconcile", note)
            .await;
    }

    async fn event(&self, type_: EventType, reason: &str, action: &str, note: String) {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: None,
        };
        self.env.cluster.publish(&self.group, event).await;
    }
}

/// Checks what only the provider's kind can tell, before any call.
fn check_spec(
    spec: &ChatGroupSpec,
    status: &ChatGroupStatus,
    client: &dyn GroupProvider,
) -> Result<()> {
    let group_type: GroupType = spec.group_type.into();
    validate_type_for(client.kind(), group_type)?;
    let Some(id) = &spec.group_id else {
        return Ok(());
    };
    client.validate_group_id(id)?;
    match status.group_id.as_ref().filter(|recorded| *recorded != id) {
        Some(recorded) => Err(Error::invalid_spec(
            "spec.groupId",
            format!(
                "this object already manages group {recorded}; spec.groupId cannot point elsewhere"
            ),
        )),
        None => Ok(()),
    }
}
