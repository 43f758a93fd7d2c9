//! What the controller reports on a ChatGroup: conditions from a reconcile's outcome,
//! written as merge patches under a resourceVersion precondition.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::sync::Arc;

use kube::ResourceExt;

use super::port::Cluster;
use crate::api::conditions::{
    self, Desired, EXTERNALLY_DISBANDED, MEMBERS_SYNCED, READY, RECONCILING, STALLED, SYNCED,
};
use crate::api::{ChatGroup, ChatGroupStatus, ProviderErrorStatus};
use crate::provider::scrub_text;
use crate::{Error, Result};

/// The one field manager every status write uses.
pub const FIELD_MANAGER: &str = "chatgroup-operator";

/// Where a reconcile left the group, in the words conditions use.
#[derive(Debug)]
pub enum Report<'a> {
    /// The group exists and matches the spec; `members` is the MembersSynced
    /// condition, when the spec declares members.
    Available { members: Option<Desired> },
    /// The group is disbanded (by us, or found already gone) and stays so.
    Disbanded,
    /// The group was disbanded outside Kubernetes; it is not recreated.
    ExternallyDisbanded,
    /// The reconcile failed; `keep_ready` leaves a True Ready as it was (the group
    /// still exists and served its purpose before the error).
    Failed { error: &'a Error, keep_ready: bool },
}

/// The conditions a report stands for. `previous` supplies Ready when it is kept.
pub fn desired_conditions(report: &Report<'_>, previous: &ChatGroupStatus) -> Vec<Desired> {
    match report {
        Report::Available { members } => {
            let mut wanted = vec![
                Desired::new(READY, true, "Available", "the group exists with the declared attributes"),
                Desired::new(SYNCED, true, "ReconcileSuccess", ""),
            ];
            wanted.extend(members.clone());
            wanted
        }
        Report::Disbanded => vec![
            Desired::new(READY, true, "Disbanded", "the group is disbanded; this object stays as a tombstone"),
            Desired::new(SYNCED, true, "ReconcileSuccess", ""),
        ],
        Report::ExternallyDisbanded => vec![
            Desired::new(
                READY,
                false,
                EXTERNALLY_DISBANDED,
                "the group was disbanded outside Kubernetes and is not recreated; delete this object or set spec.state: disbanded",
            ),
            Desired::new(SYNCED, true, "ReconcileSuccess", ""),
            Desired::new(STALLED, true, EXTERNALLY_DISBANDED, "the group no longer exists on the provider"),
        ],
        Report::Failed { error, keep_ready } => failed_conditions(error, *keep_ready, previous),
    }
}

fn failed_conditions(error: &Error, keep_ready: bool, previous: &ChatGroupStatus) -> Vec<Desired> {
    let reason = error.reason();
    let message = scrub_text(&error.to_string());
    let kept =
        conditions::find(&previous.conditions, READY).filter(|c| keep_ready && c.status == "True");
    let ready = match kept {
        Some(c) => Desired::new(READY, true, c.reason.clone(), c.message.clone()),
        None => Desired::new(READY, false, reason, message.clone()),
    };
    let progress = if error.is_terminal() {
        Desired::new(STALLED, true, reason, message.clone())
    } else {
        Desired::new(RECONCILING, true, reason, message.clone())
    };
    let mut wanted = vec![
        ready,
        Desired::new(SYNCED, false, "ReconcileError", message),
        progress,
    ];
    // What the last membership pass found still stands: this failure is not about it.
    let members = conditions::find(&previous.conditions, MEMBERS_SYNCED);
    wanted.extend(members.map(|c| {
        Desired::new(
            MEMBERS_SYNCED,
            c.status == "True",
            c.reason.clone(),
            c.message.clone(),
        )
    }));
    wanted
}

/// The last provider error, for `status.lastError`.
pub fn last_error(error: &Error) -> Option<ProviderErrorStatus> {
    error.provider_error().map(|e| ProviderErrorStatus {
        operation: e.operation.to_string(),
        code: e.info.code,
        message: scrub_text(&e.info.message),
        request_id: e.info.request_id.clone(),
    })
}

/// Applies `report` to `status` (conditions, observedGeneration, lastError).
pub fn apply_report(
    status: &mut ChatGroupStatus,
    report: &Report<'_>,
    generation: Option<i64>,
    now: &Time,
) {
    let wanted = desired_conditions(report, status);
    let kept_ready = match report {
        Report::Failed {
            keep_ready: true, ..
        } => conditions::find(&status.conditions, READY)
            .filter(|c| c.status == "True")
            .map(|c| c.observed_generation),
        _ => None,
    };
    let kept_members = match report {
        Report::Failed { .. } => {
            conditions::find(&status.conditions, MEMBERS_SYNCED).map(|c| c.observed_generation)
        }
        _ => None,
    };
    status.conditions = conditions::merge(&status.conditions, &wanted, generation, now);
    // A Ready kept through a failure speaks for the generation it was earned on, so
    // `kubectl wait --for=condition=Ready` does not take it for the new spec; so does
    // a kept MembersSynced.
    let kept = [(READY, kept_ready), (MEMBERS_SYNCED, kept_members)];
    for (type_, earned) in kept {
        let Some(earned) = earned else { continue };
        if let Some(condition) = status.conditions.iter_mut().find(|c| c.type_ == type_) {
            condition.observed_generation = earned;
        }
    }
    status.observed_generation = generation;
    status.last_error = match report {
        Report::Failed { error, .. } => last_error(error).or_else(|| status.last_error.take()),
        _ => None,
    };
}

/// The JSON merge patch that turns `written` into `status`: only the top-level status
/// fields that differ, and `null` only for a field `written` had and `status` cleared.
/// Fields another writer added since are left alone.
pub fn status_patch(written: &ChatGroupStatus, status: &ChatGroupStatus) -> serde_json::Value {
    let as_map = |s: &ChatGroupStatus| match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (old, new) = (as_map(written), as_map(status));
    let mut patch = serde_json::Map::new();
    for (field, value) in &new {
        if old.get(field) != Some(value) {
            patch.insert(field.clone(), value.clone());
        }
    }
    for field in old.keys().filter(|f| !new.contains_key(*f)) {
        patch.insert(field.clone(), serde_json::Value::Null);
    }
    serde_json::Value::Object(patch)
}

/// Writes status changes of one ChatGroup as JSON merge patches, each under the
/// resourceVersion the last read or write returned: a write based on an outdated copy
/// fails with a conflict instead of overwriting what it did not know about.
pub struct StatusWriter {
    cluster: Arc<dyn Cluster>,
    namespace: String,
    name: String,
    resource_version: Option<String>,
    written: ChatGroupStatus,
}

impl StatusWriter {
    /// `group` is the object as just read from the API server.
    pub fn new(cluster: Arc<dyn Cluster>, group: &ChatGroup) -> StatusWriter {
        StatusWriter {
            cluster,
            namespace: group.namespace().unwrap_or_default(),
            name: group.name_any(),
            resource_version: group.resource_version(),
            written: group.status.clone().unwrap_or_default(),
        }
    }

    /// The status as last written (or read).
    pub fn written(&self) -> &ChatGroupStatus {
        &self.written
    }

    /// Writes what differs from the last written status; nothing when nothing does.
    pub async fn write(&mut self, status: &ChatGroupStatus) -> Result<()> {
        let changes = status_patch(&self.written, status);
        if changes.as_object().is_some_and(|m| m.is_empty()) {
            return Ok(());
        }
        let version = self.resource_version.clone();
        self.resource_version = (self.cluster)
            .patch_status(&self.namespace, &self.name, version, changes)
            .await?;
        self.written = status.clone();
        Ok(())
    }
}

/// Now, as a Kubernetes time.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RecordedApp;
    use crate::provider::{CallInfo, FailureClass, Operation, ProviderError, ProviderKind};
    use serde_json::json;

    #[test]
    fn status_patches_carry_only_what_this_reconcile_changed() {
        let recorded = ChatGroupStatus {
            group_id: Some("g-1".into()),
            ..ChatGroupStatus::default()
        };
        let app = RecordedApp {
            provider: "tencent".into(),
            app_id: "1400000000".into(),
            host: "127.0.0.1:1".into(),
        };
        let with_app = ChatGroupStatus {
            app: Some(app.clone()),
            ..recorded.clone()
        };
        let pending = ChatGroupStatus {
            create_pending_since: Some(now()),
            ..ChatGroupStatus::default()
        };
        let cases: [(&str, &ChatGroupStatus, &ChatGroupStatus, serde_json::Value); 3] = [
            ("unchanged", &recorded, &recorded, json!({})),
            (
                "an added field alone; the id it did not touch is not sent",
                &recorded,
                &with_app,
                json!({"app": serde_json::to_value(&app).unwrap()}),
            ),
            (
                "a field this reconcile cleared is nulled",
                &pending,
                &ChatGroupStatus::default(),
                json!({"createPendingSince": null}),
            ),
        ];
        for (case, written, status, expected) in cases {
            assert_eq!(status_patch(written, status), expected, "{case}");
        }
    }

    fn provider_error(class: FailureClass, code: i64) -> Error {
        Error::Provider(ProviderError {
            provider: ProviderKind::Tencent,
            operation: Operation::Create,
            class,
            info: CallInfo {
                code,
                message: "no permission".into(),
                request_id: Some("req-1".into()),
            },
        })
    }

    fn status_of(conditions: &[Desired]) -> ChatGroupStatus {
        ChatGroupStatus {
            conditions: conditions::merge(&[], conditions, Some(1), &now()),
            ..Default::default()
        }
    }

    fn get<'a>(
        status: &'a ChatGroupStatus,
        type_: &str,
    ) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        conditions::find(&status.conditions, type_).expect("condition present")
    }

    #[test]
    fn a_terminal_provider_error_stalls_with_its_code_and_message() {
        let error = provider_error(FailureClass::Terminal, 10007);
        let mut status = ChatGroupStatus::default();
        apply_report(
            &mut status,
            &Report::Failed {
                error: &error,
                keep_ready: false,
            },
            Some(3),
            &now(),
        );
        assert_eq!(get(&status, STALLED).status, "True");
        assert_eq!(get(&status, STALLED).reason, "ProviderRejected");
        assert!(get(&status, STALLED).message.contains("10007"));
        assert_eq!(get(&status, READY).status, "False");
        assert_eq!(status.observed_generation, Some(3));
        let last = status.last_error.expect("last error recorded");
        assert_eq!(
            (last.code, last.request_id.as_deref()),
            (10007, Some("req-1"))
        );
    }

    #[test]
    fn credential_shaped_text_never_reaches_conditions_or_last_error() {
        let error = Error::Provider(ProviderError {
            provider: ProviderKind::Tencent,
            operation: Operation::Get,
            class: FailureClass::Transient,
            info: CallInfo {
                code: -1,
                message: "GET https://console.tim.qq.com/v4/x?usersig=eJwsig&random=1 failed; checksum=d8f433adc37ba88a9e831ce4b6dece5815d2e060".into(),
                request_id: None,
            },
        });
        let mut status = ChatGroupStatus::default();
        let report = Report::Failed {
            error: &error,
            keep_ready: false,
        };
        apply_report(&mut status, &report, Some(1), &now());
        let mut texts: Vec<String> = status
            .conditions
            .iter()
            .map(|c| c.message.clone())
            .collect();
        texts.push(status.last_error.expect("lastError").message);
        for text in texts {
            assert!(
                !text.contains("eJwsig") && !text.contains("d8f433ad"),
                "{text}"
            );
        }
    }

    #[test]
    fn throttling_is_reported_as_reconciling_not_stalled() {
        let error = provider_error(FailureClass::Throttled, 60007);
        let mut status = ChatGroupStatus::default();
        apply_report(
            &mut status,
            &Report::Failed {
                error: &error,
                keep_ready: false,
            },
            Some(1),
            &now(),
        );
        assert_eq!(get(&status, RECONCILING).reason, "ProviderThrottled");
        assert!(conditions::find(&status.conditions, STALLED).is_none());
        assert_eq!(get(&status, SYNCED).status, "False");
    }

    #[test]
    fn an_error_on_an_available_group_keeps_it_ready() {
        let mut status = status_of(&desired_conditions(
            &Report::Available { members: None },
            &ChatGroupStatus::default(),
        ));
        let error = provider_error(FailureClass::Transient, 10002);
        apply_report(
            &mut status,
            &Report::Failed {
                error: &error,
                keep_ready: true,
            },
            Some(2),
            &now(),
        );
        assert_eq!(get(&status, READY).status, "True");
        assert_eq!(get(&status, READY).reason, "Available");
        assert_eq!(get(&status, SYNCED).status, "False");
        assert_eq!(
            get(&status, READY).observed_generation,
            Some(1),
            "the kept Ready speaks for the generation it was earned on"
        );
        assert_eq!(get(&status, SYNCED).observed_generation, Some(2));
    }

    #[test]
    fn success_clears_the_last_error_and_progress_conditions() {
        let error = provider_error(FailureClass::Transient, 10002);
        let mut status = ChatGroupStatus::default();
        apply_report(
            &mut status,
            &Report::Failed {
                error: &error,
                keep_ready: false,
            },
            Some(1),
            &now(),
        );
        apply_report(
            &mut status,
            &Report::Available { members: None },
            Some(1),
            &now(),
        );
        assert!(status.last_error.is_none());
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        assert_eq!(get(&status, READY).status, "True");
    }
}
