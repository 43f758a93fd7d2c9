//! Disbanding: on `state: disbanded` and on delete. Only the group this object owns is
//! disbanded, and a delete is released only after the provider confirmed it.

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::GroupReconcile;
use crate::api::{DeletionPolicy, GroupOrigin};
use crate::controller::plan;
use crate::controller::status;
use crate::provider::{DisbandOutcome, GroupKey, GroupProvider, Lookup, ProviderKind};
use crate::{Error, Result};

impl GroupReconcile<'_> {
    /// Releases the object: disbands the group unless the policy is Orphan. Never
    /// returns Ok before the provider confirmed the disband (or that it was gone).
    pub async fn cleanup(mut self) -> Result<Action> {
        if self.group.spec.deletion_policy == DeletionPolicy::Orphan {
            let note = match &self.status.group_id {
                Some(id) => {
                    format!("released without disbanding group {id} (deletionPolicy: Orphan)")
                }
                None => "released (deletionPolicy: Orphan)".to_string(),
            };
            self.event(EventType::Normal, "Orphaned", "Delete", note)
                .await;
            return Ok(Action::await_change());
        }
        if self.status.disbanded_at.is_some() {
            return Ok(Action::await_change());
        }
        let result = async {
            let provider = self
                .ctx
                .providers
                .resolve_for_cleanup(&self.namespace(), &self.group.spec.provider_ref.name)
                .await?;
            self.disband(provider.as_ref()).await
        }
        .await;
        match result {
            Ok(_) => Ok(Action::await_change()),
            Err(error) => {
                self.report_failure(&error).await;
                Err(error)
            }
        }
    }

    /// Disbands this object's group, if it has one. Returns the Ready reason.
    pub(super) async fn disband(&mut self, provider: &dyn GroupProvider) -> Result<&'static str> {
        let Some(key) = self.disband_target(provider).await? else {
            self.status.disbanded_at = Some(status::now());
            return Ok("NeverCreated");
        };
        let reservation = match self.ctx.disband_guard.reserve() {
            Ok(reservation) => reservation,
            Err(wait) => {
                return Err(Error::DisbandBudgetExhausted {
                    per_hour: self.ctx.disband_guard.per_hour(),
                    group_id: key.id,
                    retry_in: wait,
                })
            }
        };
        // Only a group the provider really disbanded counts toward the hour; a failed
        // call or one that found the group gone gives its reservation back.
        let reason = match provider.disband(&key).await? {
            DisbandOutcome::Disbanded(_) => {
                reservation.confirm();
                "Disbanded"
            }
            DisbandOutcome::AlreadyGone(_) => "AlreadyGone",
        };
        let note = match reason {
            "Disbanded" => format!("disbanded group {}", key.id),
            _ => format!("group {} was already gone", key.id),
        };
        self.event(EventType::Normal, reason, "Disband", note).await;
        self.status.group_id.get_or_insert(key.id);
        self.status.create_pending_since = None;
        self.status.disbanded_at = Some(status::now());
        Ok(reason)
    }

    /// Which group a disband targets: the recorded one, the one a lost create may have
    /// made, or the one spec.groupId names. NetEase teams are read first: the owner is
    /// the operator of the call, and a team without this object's marker that was not
    /// adopted is refused.
    async fn disband_target(&self, provider: &dyn GroupProvider) -> Result<Option<GroupKey>> {
        let pending = self.status.create_pending_since.is_some();
        let id = match (&self.status.group_id, provider.kind()) {
            (Some(id), _) => Some(id.clone()),
            (None, ProviderKind::Tencent) if pending => {
                Some(plan::tencent_create_id(&self.group, &self.uid))
            }
            (None, ProviderKind::NetEase) if pending => {
                self.find_own_team(provider).await?.map(|g| g.id)
            }
            (None, _) => self.group.spec.group_id.clone(),
        };
        let Some(id) = id else { return Ok(None) };
        if provider.kind() == ProviderKind::Tencent {
            return Ok(Some(self.key(&id, None)));
        }
        match self.lookup(provider, &id).await? {
            Lookup::NotFound(_) => Ok(Some(self.key(&id, None))),
            Lookup::Found(team) => {
                let adopted = self.status.origin == Some(GroupOrigin::Adopted)
                    || self.group.spec.group_id.is_some();
                if !adopted && team.marker.as_deref() != Some(self.uid.as_str()) {
                    return Err(Error::NotOwned {
                        group_id: id,
                        message: "the team does not carry this object's marker and was not adopted"
                            .into(),
                    });
                }
                Ok(Some(self.key(&team.id, team.owner)))
            }
        }
    }
}
