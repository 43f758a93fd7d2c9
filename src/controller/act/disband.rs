//! Ending: disbanding this object's group, releasing an object that owns none, and
//! orphaning. Only a group this object owns is ever disbanded, and a deleted object is
//! released only after the provider confirmed the disband (or proved the group gone).

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::{Flow, GroupReconcile};
use crate::controller::ownership::Release;
use crate::controller::status::{self, Report};
use crate::provider::DisbandOutcome;
use crate::Result;

impl GroupReconcile<'_> {
    /// Disbands `group_id` through the blast-radius guard. Returns whether the
    /// provider disbanded it now (`false`: it was already gone).
    async fn disband_call(&mut self, group_id: &str) -> Result<bool> {
        let key = self.key(group_id);
        let client = self.writer()?;
        let guard = &self.env.disband_guard;
        let reservation = guard.reserve(group_id).await?;
        // Only a group the provider really disbanded keeps counting toward the hour.
        match client.disband(&key).await {
            Ok(DisbandOutcome::Disbanded(_)) => Ok(true),
            Ok(DisbandOutcome::AlreadyGone(_)) => {
                guard.give_back(reservation).await;
                Ok(false)
            }
            Err(error) => {
                guard.give_back(reservation).await;
                Err(error.into())
            }
        }
    }

    /// Disbands this object's group and makes the object its tombstone.
    pub(super) async fn disband(&mut self, group_id: &str) -> Result<Flow> {
        let disbanded = self.disband_call(group_id).await?;
        self.tombstone(group_id, disbanded).await
    }

    /// The recorded group no longer exists.
    pub(super) async fn gone(&mut self, group_id: &str) -> Result<Flow> {
        if self.ending() {
            return self.tombstone(group_id, false).await;
        }
        self.finish(Report::ExternallyDisbanded).await
    }

    async fn tombstone(&mut self, group_id: &str, disbanded_now: bool) -> Result<Flow> {
        let (reason, note) = if disbanded_now {
            ("Disbanded", format!("disbanded group {group_id}"))
        } else {
            ("AlreadyGone", format!("group {group_id} was already gone"))
        };
        self.event(EventType::Normal, reason, "Disband", note).await;
        self.status.create_pending_since = None;
        self.status.pending_create = None;
        self.status.disbanded_at = Some(status::now());
        // Written with the conditions in one write; should releasing the claims fail,
        // the failure report writes it. Lost before either, the next attempt's disband
        // finds the group gone.
        self.release_claims().await?;
        self.finish(Report::Disbanded).await
    }

    /// A second group a lost create made: it carries this object's marker, and the
    /// recorded one is kept.
    pub(super) async fn disband_duplicate(&mut self, group_id: &str) -> Result<()> {
        let disbanded = self.disband_call(group_id).await?;
        if disbanded {
            let recorded = self.status.group_id.clone().unwrap_or_default();
            let note = format!("disbanded group {group_id}: a second group from a create whose answer was lost (group {recorded} is kept)");
            self.event(EventType::Normal, "DuplicateDisbanded", "Disband", note)
                .await;
        }
        self.known.duplicates_done.insert(group_id.to_string());
        self.release_claim(group_id).await
    }

    /// Lets go of an object without any provider call.
    pub(super) async fn release(&mut self, why: Release) -> Result<Flow> {
        self.release_claims().await?;
        let note = match &why {
            Release::NothingOwned => {
                "this object owns no group: released without any provider call".to_string()
            }
            Release::NotOwned { group_id, by } => format!(
                "group {group_id} is owned by {by}: released without disbanding it"
            ),
            Release::CreateNeverHappened => format!(
                "the create sent at {} never took effect (searches past the late-create bound found nothing): released without any provider call",
                self.status
                    .create_pending_since
                    .as_ref()
                    .map_or_else(String::new, |t| t.0.to_string())
            ),
        };
        self.event(EventType::Normal, "Released", "Disband", note)
            .await;
        self.status.create_pending_since = None;
        self.status.pending_create = None;
        if !self.deleting() {
            self.status.disbanded_at = Some(status::now());
        }
        self.finish(Report::Disbanded).await
    }

    /// deletionPolicy: Orphan: the group is left as it is, and so is free to be adopted.
    pub(super) async fn orphan(&mut self) -> Result<Flow> {
        self.release_claims().await?;
        let note = match &self.status.group_id {
            Some(id) => format!("released without disbanding group {id} (deletionPolicy: Orphan)"),
            None => "released (deletionPolicy: Orphan)".to_string(),
        };
        self.event(EventType::Normal, "Orphaned", "Delete", note)
            .await;
        Ok(Flow::Done(Action::await_change()))
    }
}
