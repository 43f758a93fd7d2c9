//! Bringing a group's members to the spec once its attributes are: read the roles of
//! the declared accounts (the whole list under Exact), write only what differs, and
//! report the outcome as the MembersSynced condition. An account the provider refuses
//! never fails the reconcile: it is named in the condition, and Ready stands.

use std::sync::Arc;

use kube::runtime::events::EventType;

use super::GroupReconcile;
use crate::api::conditions::{self, Desired, MEMBERS_SYNCED};
use crate::controller::membership::{
    self, declared_accounts, manages_members, needs_full_list, plan_members, MemberPlan,
    MembersReport,
};
use crate::provider::{
    scrub_text, FailureClass, GroupKey, GroupProvider, MemberRole, MemberWrite, Roster,
};
use crate::{Error, Result};

/// How a membership pass ended.
pub(super) enum MembersPass {
    /// The spec declares no members and no Exact policy: nothing was read.
    NotManaged,
    Done(MembersReport),
    /// A provider call failed: retried soon when the failure may pass (throttled,
    /// unavailable), else at the next drift pass; the group stays Ready.
    Failed(Error),
}

impl MembersPass {
    /// The MembersSynced condition this pass stands for, if any.
    pub(super) fn condition(&self) -> Option<Desired> {
        match self {
            MembersPass::NotManaged => None,
            MembersPass::Done(report) => {
                let (status, reason, message) = membership::members_condition(report);
                Some(Desired::new(MEMBERS_SYNCED, status, reason, message))
            }
            MembersPass::Failed(error) => Some(Desired::new(
                MEMBERS_SYNCED,
                false,
                error.reason(),
                scrub_text(&failure_message(error)),
            )),
        }
    }
}

impl GroupReconcile<'_> {
    /// One membership pass over group `group_id`. A failed provider call ends the
    /// pass as [`MembersPass::Failed`], except a group found gone, which is an error
    /// of the whole reconcile (its next read tells what happened).
    pub(super) async fn sync_members(&mut self, group_id: &str) -> Result<MembersPass> {
        if !manages_members(&self.group.spec) {
            self.status.pending_members.clear();
            return Ok(MembersPass::NotManaged);
        }
        match self.members_pass(group_id).await {
            Ok(report) => Ok(MembersPass::Done(report)),
            Err(error)
                if error
                    .provider_error()
                    .is_some_and(|e| e.class == FailureClass::NotFound) =>
            {
                Err(error)
            }
            Err(error @ Error::Provider(_)) => Ok(MembersPass::Failed(error)),
            Err(error) => Err(error),
        }
    }

    async fn members_pass(&mut self, group_id: &str) -> Result<MembersReport> {
        let spec = self.group.spec.clone();
        let key = self.key(group_id);
        let observed = self.read_roster(&key).await?;
        let plan = plan_members(&spec, &observed, &self.status.pending_members);
        let mut report = MembersReport {
            bulk_held: plan.bulk_held,
            ..MembersReport::default()
        };
        let mut members = observed;
        let (mut write, mut applied) = (MemberWrite::default(), Applied::default());
        // What took effect before a failed call is kept: the invitations sent are
        // recorded (never sent twice) and the changes made get their Events.
        let failed = if plan.is_empty() {
            None
        } else {
            let written = self.write_members(&key, &plan, &mut members, &mut write, &mut applied);
            written.await.err()
        };
        report.refused = write.refused;
        report.pending = membership::still_pending(
            &spec,
            &self.status.pending_members,
            &write.pending,
            &members,
        );
        self.status.pending_members = report.pending.clone();
        self.note_member_changes(&applied, report.refused.len())
            .await;
        match failed {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    async fn read_roster(&self, key: &GroupKey) -> Result<Roster> {
        let client = self.client()?;
        let spec = &self.group.spec;
        let roster = if needs_full_list(spec) {
            client.list_members(key).await?
        } else {
            client.member_roles(key, &declared_accounts(spec)).await?
        };
        Ok(roster)
    }

    /// Adds, promotes, demotes and removes per `plan`, in that order (an admin must be
    /// a member first), and updates `members` with what took effect. Records in
    /// `outcome` the refusals and the accounts invited that have not joined yet, and
    /// in `applied` what changed, up to a failed call.
    async fn write_members(
        &self,
        key: &GroupKey,
        plan: &MemberPlan,
        members: &mut Roster,
        outcome: &mut MemberWrite,
        applied: &mut Applied,
    ) -> Result<()> {
        if !plan.add.is_empty() {
            let added = self.writer()?.add_members(key, &plan.add).await?;
            let accepted = not_in(&plan.add, &added);
            outcome.pending.extend(added.pending.iter().cloned());
            outcome.refused.extend(added.refused);
            let joined = match self.joined(key, &accepted).await {
                Ok(joined) => joined,
                Err(error) => {
                    // Unknown which joined: all count as invited, so none is invited
                    // again; the next drift pass sees those who are in.
                    outcome.pending.extend(accepted);
                    return Err(error);
                }
            };
            for account in &accepted {
                if joined.contains(account) {
                    members.insert(account.clone(), MemberRole::Member);
                    applied.added.push(account.clone());
                } else {
                    outcome.pending.push(account.clone());
                }
            }
        }
        let steps = [
            (&plan.promote, MemberRole::Admin, &mut applied.promoted),
            (&plan.demote, MemberRole::Member, &mut applied.demoted),
        ];
        for (accounts, role, changed) in steps {
            let ready: Vec<String> = accounts
                .iter()
                .filter(|a| members.contains_key(*a))
                .cloned()
                .collect();
            if ready.is_empty() {
                continue;
            }
            let written = self.writer()?.set_role(key, &ready, role).await?;
            for account in not_in(&ready, &written) {
                members.insert(account.clone(), role);
                changed.push(account);
            }
            outcome.refused.extend(written.refused);
        }
        if !plan.remove.is_empty() {
            let removed = self.writer()?.remove_members(key, &plan.remove).await?;
            for account in not_in(&plan.remove, &removed) {
                members.remove(&account);
                applied.removed.push(account);
            }
            outcome.refused.extend(removed.refused);
        }
        Ok(())
    }

    /// Which of `applied` are members now: the add's own answer where the provider
    /// says so (Tencent), else the roles read back (a NetEase invitee may have to
    /// accept first).
    async fn joined(&self, key: &GroupKey, applied: &[String]) -> Result<Vec<String>> {
        let client: Arc<dyn GroupProvider> = self.client()?;
        if client.add_answer_confirms_join() {
            return Ok(applied.to_vec());
        }
        if applied.is_empty() {
            return Ok(Vec::new());
        }
        let roles = client.member_roles(key, applied).await?;
        Ok(applied
            .iter()
            .filter(|a| roles.contains_key(*a))
            .cloned()
            .collect())
    }

    /// Events for what a pass changed: declared members put back after someone
    /// removed them outside Kubernetes, and a summary of the changes. None when
    /// nothing took effect (a pass that only met refusals says so in its condition).
    async fn note_member_changes(&self, applied: &Applied, refused: usize) {
        if applied.is_empty() {
            return;
        }
        let was_synced = self.group.status.as_ref().and_then(|s| {
            conditions::find(&s.conditions, MEMBERS_SYNCED).filter(|c| {
                c.status == "True" && c.observed_generation == self.group.metadata.generation
            })
        });
        if was_synced.is_some() && !applied.added.is_empty() {
            let note = format!(
                "re-added {} declared member(s) removed outside Kubernetes: {}",
                applied.added.len(),
                membership::named(&applied.added)
            );
            self.event(EventType::Normal, "MembersRestored", "UpdateMembers", note)
                .await;
        }
        let note = format!(
            "members: {} added, {} made admin, {} made member, {} removed, {refused} refused",
            applied.added.len(),
            applied.promoted.len(),
            applied.demoted.len(),
            applied.removed.len(),
        );
        self.event(EventType::Normal, "MembersUpdated", "UpdateMembers", note)
            .await;
    }
}

/// The member changes a pass made, account by account.
#[derive(Default)]
struct Applied {
    added: Vec<String>,
    promoted: Vec<String>,
    demoted: Vec<String>,
    removed: Vec<String>,
}

impl Applied {
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.promoted.is_empty()
            && self.demoted.is_empty()
            && self.removed.is_empty()
    }
}

/// What a failed pass says in its condition: the provider's code and words without
/// the request id, so the same failure again is the same condition (no status write).
fn failure_message(error: &Error) -> String {
    match error.provider_error() {
        Some(e) => format!(
            "{} on {} failed: code {}: {}",
            e.operation, e.provider, e.info.code, e.info.message
        ),
        None => error.to_string(),
    }
}

/// `accounts` the write did not refuse nor leave pending.
fn not_in(accounts: &[String], write: &MemberWrite) -> Vec<String> {
    accounts
        .iter()
        .filter(|a| !write.refused.iter().any(|r| &r.account == *a) && !write.pending.contains(*a))
        .cloned()
        .collect()
}
