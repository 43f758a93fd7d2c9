//! What the controller reports on a ChatGroup: conditions from a reconcile's outcome,
//! written with server-side apply under one field manager.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::json;

use crate::api::conditions::{self, Desired, READY, RECONCILING, STALLED, SYNCED};
use crate::api::{ChatGroup, ChatGroupStatus, ProviderErrorStatus};
use crate::{Error, Result};

/// The one field manager every status write uses.
pub const FIELD_MANAGER: &str = "chatgroup-operator";

/// Where a reconcile left the group, in the words conditions use.
#[derive(Debug)]
pub enum Report<'a> {
    /// The group exists and matches the spec.
    Available,
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
        Report::Available => vec![
            Desired::new(READY, true, "Available", "the group exists with the declared attributes"),
            Desired::new(SYNCED, true, "ReconcileSuccess", ""),
        ],
        Report::Disbanded => vec![
            Desired::new(READY, true, "Disbanded", "the group is disbanded; this object stays as a tombstone"),
            Desired::new(SYNCED, true, "ReconcileSuccess", ""),
        ],
        Report::ExternallyDisbanded => vec![
            Desired::new(
                READY,
                false,
                "ExternallyDisbanded",
                "the group was disbanded outside Kubernetes and is not recreated; delete this object or set spec.state: disbanded",
            ),
            Desired::new(SYNCED, true, "ReconcileSuccess", ""),
            Desired::new(STALLED, true, "ExternallyDisbanded", "the group no longer exists on the provider"),
        ],
        Report::Failed { error, keep_ready } => failed_conditions(error, *keep_ready, previous),
    }
}

fn failed_conditions(error: &Error, keep_ready: bool, previous: &ChatGroupStatus) -> Vec<Desired> {
    let reason = error.reason();
    let message = error.to_string();
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
    vec![
        ready,
        Desired::new(SYNCED, false, "ReconcileError", message),
        progress,
    ]
}

/// The last provider error, for `status.lastError`.
pub fn last_error(error: &Error) -> Option<ProviderErrorStatus> {
    error.provider_error().map(|e| ProviderErrorStatus {
        operation: e.operation.to_string(),
        code: e.info.code,
        message: e.info.message.clone(),
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
    status.conditions = conditions::merge(&status.conditions, &wanted, generation, now);
    status.observed_generation = generation;
    status.last_error = match report {
        Report::Failed { error, .. } => last_error(error).or_else(|| status.last_error.take()),
        _ => None,
    };
}

/// Writes the whole status with server-side apply. The complete status is always
/// sent: fields left out are given up by our field manager.
pub async fn write(
    api: &Api<ChatGroup>,
    group: &ChatGroup,
    status: &ChatGroupStatus,
) -> Result<()> {
    let patch = json!({
        "apiVersion": "im.chatgroup.dev/v1alpha1",
        "kind": "ChatGroup",
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(&group.name_any(), &params, &Patch::Apply(&patch))
        .await
        .map_err(|e| Error::kube(format!("write status of ChatGroup {}", group.name_any()), e))?;
    Ok(())
}

/// Now, as a Kubernetes time.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{CallInfo, FailureClass, Operation, ProviderError, ProviderKind};

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
            &Report::Available,
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
        apply_report(&mut status, &Report::Available, Some(1), &now());
        assert!(status.last_error.is_none());
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        assert_eq!(get(&status, READY).status, "True");
    }
}
