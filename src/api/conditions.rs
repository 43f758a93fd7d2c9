//! Status conditions shared by both resources, kept kstatus-compatible: `Ready`,
//! `Synced`, `Reconciling`, `Stalled`, with `lastTransitionTime` unchanged unless the
//! status of a condition flips.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";
/// Whether the group's members match spec.members and spec.membersPolicy; only on
/// groups that declare members.
pub const MEMBERS_SYNCED: &str = "MembersSynced";

/// The reason of a group disbanded outside Kubernetes (never recreated).
pub const EXTERNALLY_DISBANDED: &str = "ExternallyDisbanded";

/// One condition as the controller wants it, before times are filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

impl Desired {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Desired {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

fn status_word(status: bool) -> String {
    if status { "True" } else { "False" }.to_string()
}

/// Builds the condition list from what is wanted now and what was there before:
/// a condition keeps its `lastTransitionTime` while its status stays the same, and
/// conditions not wanted any more are dropped.
pub fn merge(
    previous: &[Condition],
    wanted: &[Desired],
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    wanted
        .iter()
        .map(|want| {
            let status = status_word(want.status);
            let since = previous
                .iter()
                .find(|c| c.type_ == want.type_ && c.status == status)
                .map(|c| c.last_transition_time.clone())
                .unwrap_or_else(|| now.clone());
            Condition {
                type_: want.type_.to_string(),
                status,
                reason: want.reason.clone(),
                message: want.message.clone(),
                observed_generation: generation,
                last_transition_time: since,
            }
        })
        .collect()
}

/// Finds a condition by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn a_condition_that_keeps_its_status_keeps_its_transition_time() {
        let first = merge(
            &[],
            &[Desired::new(READY, true, "Available", "ok")],
            Some(1),
            &at(100),
        );
        let second = merge(
            &first,
            &[Desired::new(READY, true, "Available", "still ok")],
            Some(2),
            &at(200),
        );
        assert_eq!(second[0].last_transition_time, at(100));
        assert_eq!(second[0].message, "still ok");
        assert_eq!(second[0].observed_generation, Some(2));
    }

    #[test]
    fn a_condition_that_flips_gets_a_new_transition_time() {
        let first = merge(
            &[],
            &[Desired::new(READY, true, "Available", "ok")],
            Some(1),
            &at(100),
        );
        let second = merge(
            &first,
            &[Desired::new(READY, false, "ExternallyDisbanded", "gone")],
            Some(1),
            &at(300),
        );
        assert_eq!(second[0].last_transition_time, at(300));
        assert_eq!(second[0].status, "False");
    }

    #[test]
    fn conditions_no_longer_wanted_are_dropped() {
        let first = merge(
            &[],
            &[
                Desired::new(READY, false, "Creating", ""),
                Desired::new(RECONCILING, true, "Creating", ""),
            ],
            Some(1),
            &at(100),
        );
        let second = merge(
            &first,
            &[Desired::new(READY, true, "Available", "")],
            Some(1),
            &at(200),
        );
        assert_eq!(second.len(), 1);
        assert!(find(&second, RECONCILING).is_none());
    }
}
