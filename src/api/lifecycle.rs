//! Where a ChatGroup stands, read from its status: one typed answer for everything
//! that summarises groups (the `chatgroup_groups` gauge), so none of it re-reads
//! condition reasons on its own.

use super::conditions::{self, EXTERNALLY_DISBANDED, READY, SYNCED};
use super::ChatGroupStatus;

/// A ChatGroup's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lifecycle {
    Available,
    Pending,
    Error,
    Disbanded,
    ExternallyDisbanded,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 5] = [
        Lifecycle::Available,
        Lifecycle::Pending,
        Lifecycle::Error,
        Lifecycle::Disbanded,
        Lifecycle::ExternallyDisbanded,
    ];

    /// The snake_case name used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Available => "available",
            Lifecycle::Pending => "pending",
            Lifecycle::Error => "error",
            Lifecycle::Disbanded => "disbanded",
            Lifecycle::ExternallyDisbanded => "externally_disbanded",
        }
    }

    /// The state `status` describes; `None` (no status yet) is pending.
    pub fn of(status: Option<&ChatGroupStatus>) -> Lifecycle {
        let Some(status) = status else {
            return Lifecycle::Pending;
        };
        let ready = conditions::find(&status.conditions, READY);
        let synced = conditions::find(&status.conditions, SYNCED);
        if status.disbanded_at.is_some() {
            Lifecycle::Disbanded
        } else if ready.is_some_and(|c| c.reason == EXTERNALLY_DISBANDED) {
            Lifecycle::ExternallyDisbanded
        } else if synced.is_some_and(|c| c.status == "False") {
            Lifecycle::Error
        } else if ready.is_some_and(|c| c.status == "True") {
            Lifecycle::Available
        } else {
            Lifecycle::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn condition(type_: &str, status: &str, reason: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }
    }

    fn status(conditions: Vec<Condition>, disbanded: bool) -> ChatGroupStatus {
        ChatGroupStatus {
            conditions,
            disbanded_at: disbanded.then_some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
            ..ChatGroupStatus::default()
        }
    }

    #[test]
    fn each_status_has_one_state() {
        let ready = condition(READY, "True", "Available");
        let synced = condition(SYNCED, "True", "ReconcileSuccess");
        let failed = condition(SYNCED, "False", "ReconcileError");
        let gone = condition(READY, "False", EXTERNALLY_DISBANDED);
        let rows = [
            ("no status yet", None, Lifecycle::Pending),
            (
                "no conditions yet",
                Some(status(vec![], false)),
                Lifecycle::Pending,
            ),
            (
                "ready and synced",
                Some(status(vec![ready.clone(), synced.clone()], false)),
                Lifecycle::Available,
            ),
            (
                "a failed reconcile",
                Some(status(vec![ready.clone(), failed], false)),
                Lifecycle::Error,
            ),
            (
                "gone outside Kubernetes",
                Some(status(vec![gone, synced.clone()], false)),
                Lifecycle::ExternallyDisbanded,
            ),
            (
                "a tombstone",
                Some(status(vec![ready, synced], true)),
                Lifecycle::Disbanded,
            ),
        ];
        for (name, status, want) in rows {
            assert_eq!(Lifecycle::of(status.as_ref()), want, "{name}");
        }
    }
}
