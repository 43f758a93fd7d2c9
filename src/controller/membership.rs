//! Pure decisions about declared members: which accounts to add, promote, demote and
//! remove, and what the MembersSynced condition says afterwards. No I/O here.

use std::collections::BTreeSet;

use crate::api::{ChatGroupSpec, MembersPolicy};
use crate::provider::{MemberRefusal, MemberRole, Roster};

/// Accounts named in a condition message at most; the rest are counted.
pub const NAMED_IN_MESSAGE: usize = 20;

/// Whether the spec asks the operator to manage membership at all.
pub fn manages_members(spec: &ChatGroupSpec) -> bool {
    !spec.members.is_empty() || spec.members_policy == MembersPolicy::Exact
}

/// Whether reading membership back needs the whole member list (Exact must see the
/// members nobody declared) or only the declared accounts.
pub fn needs_full_list(spec: &ChatGroupSpec) -> bool {
    spec.members_policy == MembersPolicy::Exact
}

/// The accounts whose roles are read back: the declared ones.
pub fn declared_accounts(spec: &ChatGroupSpec) -> Vec<String> {
    spec.members.iter().map(|m| m.account.clone()).collect()
}

/// The member writes that bring a group's membership to the spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberPlan {
    pub add: Vec<String>,
    /// Declared `Admin`, not one yet (including accounts added in this pass).
    pub promote: Vec<String>,
    /// Admins declared as `Member`.
    pub demote: Vec<String>,
    /// Exact only: members nobody declared, never an owner.
    pub remove: Vec<String>,
    /// Exact only: the removals held back because they exceed the bulk limit,
    /// as (would remove, members besides the owner).
    pub bulk_held: Option<(usize, usize)>,
}

impl MemberPlan {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty()
            && self.promote.is_empty()
            && self.demote.is_empty()
            && self.remove.is_empty()
    }
}

/// What to write, given the members `observed` (the declared accounts' roles, or the
/// whole list under Exact) and the accounts invited earlier that have not accepted
/// yet (`pending`: never invited again, nor promoted, while pending).
///
/// Exact never removes an owner: the current one (role `Owner`) nor the declared
/// `spec.owner` (during a transfer they differ). It removes nobody in a pass that
/// would remove more than half of the members besides the owner, unless
/// `spec.allowBulkMemberRemoval` is set.
pub fn plan_members(spec: &ChatGroupSpec, observed: &Roster, pending: &[String]) -> MemberPlan {
    let mut plan = MemberPlan::default();
    for member in &spec.members {
        let account = &member.account;
        let want: MemberRole = member.role.into();
        match observed.get(account) {
            // The owner is never declared (admission refuses it); an owner seen here
            // mid-transfer keeps its role.
            Some(MemberRole::Owner) => {}
            Some(have) if *have == want => {}
            Some(_) if want == MemberRole::Admin => plan.promote.push(account.clone()),
            Some(_) => plan.demote.push(account.clone()),
            None if pending.contains(account) => {}
            None => {
                plan.add.push(account.clone());
                if want == MemberRole::Admin {
                    plan.promote.push(account.clone());
                }
            }
        }
    }
    if spec.members_policy == MembersPolicy::Exact {
        let declared: BTreeSet<&str> = spec.members.iter().map(|m| m.account.as_str()).collect();
        // NetEase answers account ids in lower case, whatever case spec.owner has.
        let is_owner = |account: &str, role: &MemberRole| {
            *role == MemberRole::Owner
                || spec
                    .owner
                    .as_deref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(account))
        };
        let undeclared: Vec<String> = observed
            .iter()
            .filter(|(account, role)| {
                !is_owner(account, role) && !declared.contains(account.as_str())
            })
            .map(|(account, _)| account.clone())
            .collect();
        let members = observed
            .iter()
            .filter(|(account, role)| !is_owner(account, role))
            .count();
        if !undeclared.is_empty()
            && undeclared.len() * 2 > members
            && !spec.allow_bulk_member_removal
        {
            plan.bulk_held = Some((undeclared.len(), members));
        } else {
            plan.remove = undeclared;
        }
    }
    plan
}

/// Where a membership pass left the group, for the MembersSynced condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MembersReport {
    /// Accounts the provider refused in this pass.
    pub refused: Vec<MemberRefusal>,
    /// Declared accounts invited and waiting to accept.
    pub pending: Vec<String>,
    /// Exact removals held back, as (would remove, members besides the owner).
    pub bulk_held: Option<(usize, usize)>,
}

/// The MembersSynced condition for `report`: (status, reason, message).
pub fn members_condition(report: &MembersReport) -> (bool, &'static str, String) {
    if !report.refused.is_empty() {
        let names: Vec<String> = report.refused.iter().map(describe_refusal).collect();
        let message = format!(
            "the provider refused {} declared account(s): {}; every other declared member is in",
            report.refused.len(),
            named(&names)
        );
        return (false, "MembersRejected", message);
    }
    if let Some((would, members)) = report.bulk_held {
        let message = format!(
            "spec.membersPolicy Exact would remove {would} of {members} members (more than half); nobody was removed. Set spec.allowBulkMemberRemoval: true to allow it"
        );
        return (false, "BulkRemovalHeld", message);
    }
    if !report.pending.is_empty() {
        let message = format!(
            "{} declared account(s) are invited and join once they accept: {}",
            report.pending.len(),
            named(&report.pending)
        );
        return (false, "InvitationsPending", message);
    }
    (
        true,
        "MembersSynced",
        "the group's members match spec.members".to_string(),
    )
}

fn describe_refusal(refusal: &MemberRefusal) -> String {
    match refusal.code {
        Some(code) => format!("{} (code {code}: {})", refusal.account, refusal.message),
        None => format!("{} (no code given: {})", refusal.account, refusal.message),
    }
}

/// Up to [`NAMED_IN_MESSAGE`] items, then how many more.
pub fn named(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(NAMED_IN_MESSAGE)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > NAMED_IN_MESSAGE {
        text.push_str(&format!(" and {} more", items.len() - NAMED_IN_MESSAGE));
    }
    text
}

/// The pending invitations to record after a pass: declared accounts invited now or
/// earlier that are still not members.
pub fn still_pending(
    spec: &ChatGroupSpec,
    earlier: &[String],
    invited_now: &[String],
    members: &Roster,
) -> Vec<String> {
    let declared: BTreeSet<&str> = spec.members.iter().map(|m| m.account.as_str()).collect();
    let mut pending: Vec<String> = earlier
        .iter()
        .chain(invited_now)
        .filter(|a| declared.contains(a.as_str()) && !members.contains_key(*a))
        .cloned()
        .collect();
    pending.sort();
    pending.dedup();
    pending
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> ChatGroupSpec {
        let base = "providerRef: {name: t}\ntype: Public\nname: Ops\nowner: owner\n";
        serde_norway::from_str(&format!("{base}{yaml}")).expect("test spec parses")
    }

    fn roster(entries: &[(&str, MemberRole)]) -> Roster {
        entries.iter().map(|(a, r)| (a.to_string(), *r)).collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    use MemberRole::{Admin, Member, Owner};

    #[test]
    fn plans_follow_the_policy() {
        let three = "members: [{account: a}, {account: b}, {account: c, role: Admin}]\n";
        type Case<'a> = (&'a str, ChatGroupSpec, Roster, Vec<&'a str>, MemberPlan);
        let cases: Vec<Case> =
            vec![
            (
                "an empty group gets everyone; the admin is promoted after joining",
                spec(three),
                roster(&[("owner", Owner)]),
                vec![],
                MemberPlan {
                    add: names(&["a", "b", "c"]),
                    promote: names(&["c"]),
                    ..MemberPlan::default()
                },
            ),
            (
                "a group that matches needs nothing",
                spec(three),
                roster(&[("owner", Owner), ("a", Member), ("b", Member), ("c", Admin)]),
                vec![],
                MemberPlan::default(),
            ),
            (
                "Additive leaves undeclared members alone",
                spec(three),
                roster(&[("a", Member), ("b", Member), ("c", Admin), ("x", Admin)]),
                vec![],
                MemberPlan::default(),
            ),
            (
                "a declared Member who is an admin is demoted",
                spec(three),
                roster(&[("a", Admin), ("b", Member), ("c", Admin)]),
                vec![],
                MemberPlan {
                    demote: names(&["a"]),
                    ..MemberPlan::default()
                },
            ),
            (
                "pending invitees are neither invited again nor promoted",
                spec(three),
                roster(&[("a", Member)]),
                vec!["b", "c"],
                MemberPlan::default(),
            ),
            (
                "Exact removes the undeclared but never an owner",
                spec(&format!("{three}membersPolicy: Exact\n")),
                roster(&[
                    ("owner", Owner),
                    ("a", Member),
                    ("b", Member),
                    ("c", Admin),
                    ("x", Admin),
                ]),
                vec![],
                MemberPlan {
                    remove: names(&["x"]),
                    ..MemberPlan::default()
                },
            ),
            (
                "Exact keeps the declared owner while a transfer is under way",
                spec(&format!("{three}membersPolicy: Exact\n")),
                roster(&[
                    ("old-owner", Owner),
                    ("owner", Member),
                    ("a", Member),
                    ("b", Member),
                    ("c", Admin),
                ]),
                vec![],
                MemberPlan::default(),
            ),
            (
                "Exact keeps the declared owner whatever the case the provider answers in",
                ChatGroupSpec {
                    owner: Some("Owner".into()),
                    ..spec(&format!("{three}membersPolicy: Exact\n"))
                },
                roster(&[("owner", Member), ("a", Member), ("b", Member), ("c", Admin)]),
                vec![],
                MemberPlan::default(),
            ),
            (
                "Exact holds back removing more than half",
                spec("members: [{account: a}]\nmembersPolicy: Exact\n"),
                roster(&[
                    ("owner", Owner),
                    ("a", Member),
                    ("x", Member),
                    ("y", Member),
                ]),
                vec![],
                MemberPlan {
                    bulk_held: Some((2, 3)),
                    ..MemberPlan::default()
                },
            ),
            (
                "the opt-in lets a bulk removal through",
                spec(
                    "members: [{account: a}]\nmembersPolicy: Exact\nallowBulkMemberRemoval: true\n",
                ),
                roster(&[
                    ("owner", Owner),
                    ("a", Member),
                    ("x", Member),
                    ("y", Member),
                ]),
                vec![],
                MemberPlan {
                    remove: names(&["x", "y"]),
                    ..MemberPlan::default()
                },
            ),
            (
                "exactly half is not bulk",
                spec("members: [{account: a}]\nmembersPolicy: Exact\n"),
                roster(&[("owner", Owner), ("a", Member), ("x", Member)]),
                vec![],
                MemberPlan {
                    remove: names(&["x"]),
                    ..MemberPlan::default()
                },
            ),
        ];
        for (case, spec, observed, pending, expected) in cases {
            assert_eq!(
                plan_members(&spec, &observed, &names(&pending)),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn the_condition_names_refused_accounts_and_their_codes() {
        let refused: Vec<MemberRefusal> = (0..25)
            .map(|i| MemberRefusal {
                account: format!("u{i}"),
                code: (i % 2 == 0).then_some(10019),
                message: "no such account".into(),
            })
            .collect();
        let report = MembersReport {
            refused,
            pending: names(&["p"]),
            bulk_held: None,
        };
        let (status, reason, message) = members_condition(&report);
        assert!(!status);
        assert_eq!(reason, "MembersRejected");
        assert!(message.contains("u0 (code 10019"), "{message}");
        assert!(message.contains("u1 (no code given"), "{message}");
        assert!(
            message.contains("u19 ") && !message.contains("u20 "),
            "{message}"
        );
        assert!(message.contains("and 5 more"), "{message}");
    }

    #[test]
    fn conditions_in_order_of_what_needs_a_person() {
        let held = MembersReport {
            bulk_held: Some((3, 4)),
            pending: names(&["p"]),
            ..MembersReport::default()
        };
        assert_eq!(members_condition(&held).1, "BulkRemovalHeld");
        assert!(members_condition(&held)
            .2
            .contains("allowBulkMemberRemoval"));
        let pending = MembersReport {
            pending: names(&["p", "q"]),
            ..MembersReport::default()
        };
        assert_eq!(members_condition(&pending).1, "InvitationsPending");
        assert_eq!(
            members_condition(&MembersReport::default()),
            (
                true,
                "MembersSynced",
                "the group's members match spec.members".into()
            )
        );
    }

    #[test]
    fn pending_invitations_end_when_joined_or_undeclared() {
        let spec = spec("members: [{account: a}, {account: b}, {account: c}]\n");
        let members = roster(&[("a", Member)]);
        let pending = still_pending(&spec, &names(&["a", "gone"]), &names(&["b"]), &members);
        assert_eq!(pending, names(&["b"]));
    }
}
