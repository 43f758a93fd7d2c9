//! Member calls: read roles, add, remove and change roles.
//!
//! Sources (Tencent's REST pages, see `crates/provider-sim/README.md`):
//! `add_group_member` (per-member `Result`, 10005, 10014, 10019, 10037),
//! `delete_group_member` (non-members succeed), `modify_group_member_info` (one
//! account, `Role` Admin / Member), `get_role_in_group` (≤500 accounts),
//! `get_group_member_info` (`Limit`/`Offset`, Community `Next`).

use std::collections::{BTreeSet, VecDeque};

use serde_json::{json, Value};

use super::codes::{classify, CodeOutcome};
use super::{wire, Reply, TencentClient};
use crate::provider::validate::validate_type_for;
use crate::provider::{
    member_support, CallInfo, ConfigError, FailureClass, GroupKey, GroupType, MemberRefusal,
    MemberRole, MemberWrite, Operation, ProviderKind, ProviderResult, Roster,
};

/// Accounts per get_role_in_group call.
const ROLE_BATCH: usize = 500;
/// Accounts per add_group_member call: the live page says 20, older pages 100, 300
/// and 500; the smallest until the larger ones are confirmed.
const ADD_BATCH: usize = 20;
/// Accounts per delete_group_member call: the API page says 100, the limits page 500.
const REMOVE_BATCH: usize = 100;
/// get_group_member_info page size: the page recommends 100 (its cap is 200 or
/// 6000, the page disagrees with itself).
const PAGE: usize = 100;
/// Enough pages for the largest group (Community, 100,000 members) with room for
/// members joining while paging; beyond it the answers are not converging.
const MAX_PAGES: usize = 1_010;

const TOO_MANY: i64 = 10005;
const GROUP_FULL: i64 = 10014;
const ALREADY_MEMBER: i64 = 10013;
/// A whole-call refusal caused by some account of the batch: no such account
/// (10019), or the account is in too many groups (10037).
const ACCOUNT_CODES: [i64; 2] = [10019, 10037];

/// What one add_group_member batch came to.
enum AddAnswer {
    Done(MemberWrite),
    /// Refused for its size: try the halves.
    Split,
    /// Refused because of some account: narrow it down.
    Bisect(CallInfo),
    GroupFull(CallInfo),
}

/// A `Role` as get_role_in_group and get_group_member_info name it; `None` for
/// `NotMember`.
fn parse_role(role: Option<&str>) -> Option<MemberRole> {
    match role {
        Some("Owner") => Some(MemberRole::Owner),
        Some("Admin") => Some(MemberRole::Admin),
        Some("NotMember") => None,
        // Only Owner/Admin/Member/NotMember are documented; whether the service can
        // answer anything else (or no Role) is unconfirmed. Such an account is in
        // the group, so it counts as a plain member.
        _ => Some(MemberRole::Member),
    }
}

fn account_of(item: &Value) -> Option<&str> {
    item.get("Member_Account").and_then(Value::as_str)
}

/// Accounts in first-seen order, each once.
fn distinct(accounts: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    accounts
        .iter()
        .filter(|a| seen.insert(a.as_str()))
        .cloned()
        .collect()
}

fn halves(batch: Vec<String>) -> [Vec<String>; 2] {
    let mut first = batch;
    let second = first.split_off(first.len() / 2);
    [first, second]
}

fn refusal(account: &str, code: Option<i64>, message: String) -> MemberRefusal {
    MemberRefusal {
        account: account.to_string(),
        code,
        message,
    }
}

impl TencentClient {
    /// Refuses, before any call, a group type that keeps no member list.
    fn check_member_list(&self, op: Operation, key: &GroupKey) -> ProviderResult<()> {
        validate_type_for(ProviderKind::Tencent, key.group_type)
            .map_err(|e| self.rejected(op, &e))?;
        if !member_support(key.group_type).members {
            let e = ConfigError::new(
                "spec.members",
                format!(
                    "{} groups keep no member list on Tencent; remove spec.members",
                    key.group_type
                ),
            );
            return Err(self.rejected(op, &e));
        }
        Ok(())
    }

    fn fail(&self, op: Operation, reply: Reply) -> ProviderResult<Reply> {
        match classify(reply.code) {
            CodeOutcome::Ok => Ok(reply),
            CodeOutcome::Fail(class) => Err(self.error(op, class, reply.info)),
        }
    }

    fn malformed(
        &self,
        op: Operation,
        info: &CallInfo,
        what: String,
    ) -> crate::provider::ProviderError {
        let info = CallInfo {
            message: what,
            ..info.clone()
        };
        self.error(op, FailureClass::Transient, info)
    }

    pub(super) async fn read_member_roles(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<Roster> {
        let op = Operation::ReadMembers;
        self.check_member_list(op, key)?;
        let accounts = distinct(accounts);
        let mut roster = Roster::new();
        for chunk in accounts.chunks(ROLE_BATCH) {
            let body = json!({"GroupId": key.id, "User_Account": chunk});
            let reply = self.fail(op, self.call(op, "get_role_in_group", &body).await?)?;
            let Some(items) = reply.body.get("UserIdList").and_then(Value::as_array) else {
                let what = "the get_role_in_group answer has no UserIdList".to_string();
                return Err(self.malformed(op, &reply.info, what));
            };
            for item in items {
                let Some(account) = account_of(item).filter(|a| chunk.iter().any(|c| c == a))
                else {
                    continue;
                };
                if let Some(role) = parse_role(item.get("Role").and_then(Value::as_str)) {
                    roster.insert(account.to_string(), role);
                }
            }
        }
        Ok(roster)
    }

    pub(super) async fn read_all_members(&self, key: &GroupKey) -> ProviderResult<Roster> {
        let op = Operation::ReadMembers;
        self.check_member_list(op, key)?;
        let community = key.group_type.canonical() == GroupType::Community;
        let mut roster = Roster::new();
        let mut offset = 0usize;
        // Community: no cursor on the first call (the documents disagree whether the
        // start is 0 or ""); afterwards whatever the last answer gave, as it came.
        let mut next: Option<Value> = None;
        for _ in 0..MAX_PAGES {
            let mut body = json!({"GroupId": key.id, "Limit": PAGE, "MemberInfoFilter": ["Role"]});
            match &next {
                Some(cursor) => body["Next"] = cursor.clone(),
                None if !community => body["Offset"] = json!(offset),
                None => {}
            }
            let reply = self.fail(op, self.call(op, "get_group_member_info", &body).await?)?;
            let items = reply.body.get("MemberList").and_then(Value::as_array);
            let Some(items) = items else {
                let what = "the get_group_member_info answer has no MemberList".to_string();
                return Err(self.malformed(op, &reply.info, what));
            };
            for item in items {
                let role = parse_role(item.get("Role").and_then(Value::as_str));
                if let (Some(account), Some(role)) = (account_of(item), role) {
                    roster.insert(account.to_string(), role);
                }
            }
            offset += items.len();
            let total = reply.body.get("MemberNum").and_then(wire::as_i64);
            let complete = total.is_some_and(|t| offset as i64 >= t);
            if items.is_empty() || complete {
                return Ok(roster);
            }
            if !community {
                if items.len() < PAGE {
                    return Ok(roster);
                }
                continue;
            }
            match reply.body.get("Next").filter(|c| !is_last_cursor(c)) {
                None => return Ok(roster),
                Some(cursor) if next.as_ref() == Some(cursor) => {
                    let what =
                        format!("get_group_member_info answered the same Next {cursor} twice");
                    return Err(self.malformed(op, &reply.info, what));
                }
                Some(cursor) => next = Some(cursor.clone()),
            }
        }
        let info = CallInfo {
            code: crate::provider::NO_CODE,
            message: format!(
                "get_group_member_info did not finish within {MAX_PAGES} pages of {PAGE}"
            ),
            request_id: None,
        };
        Err(self.error(op, FailureClass::Transient, info))
    }

    pub(super) async fn add_accounts(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        let op = Operation::AddMembers;
        self.check_member_list(op, key)?;
        let mut queue: VecDeque<Vec<String>> = distinct(accounts)
            .chunks(ADD_BATCH)
            .map(<[String]>::to_vec)
            .collect();
        let mut out = MemberWrite::default();
        while let Some(batch) = queue.pop_front() {
            match self.add_batch(key, &batch).await? {
                AddAnswer::Done(write) => out.absorb(write),
                AddAnswer::Split | AddAnswer::Bisect(_) if batch.len() > 1 => {
                    for half in halves(batch).into_iter().rev() {
                        queue.push_front(half);
                    }
                }
                AddAnswer::Split => {
                    let info = CallInfo {
                        code: TOO_MANY,
                        message: "add_group_member refused a single account as too many"
                            .to_string(),
                        request_id: None,
                    };
                    return Err(self.error(op, FailureClass::Terminal, info));
                }
                AddAnswer::Bisect(info) => {
                    out.refused
                        .push(refusal(&batch[0], Some(info.code), info.message));
                }
                // A full group stays full: no call for the rest.
                AddAnswer::GroupFull(info) => {
                    let rest = batch.iter().chain(queue.iter().flatten());
                    out.refused
                        .extend(rest.map(|a| refusal(a, Some(info.code), info.message.clone())));
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn add_batch(&self, key: &GroupKey, batch: &[String]) -> ProviderResult<AddAnswer> {
        let op = Operation::AddMembers;
        let members: Vec<Value> = batch.iter().map(|a| json!({"Member_Account": a})).collect();
        let body = json!({"GroupId": key.id, "Silence": 1, "MemberList": members});
        let reply = self.call(op, "add_group_member", &body).await?;
        let results = reply.body.get("MemberList").and_then(Value::as_array);
        match reply.code {
            TOO_MANY => return Ok(AddAnswer::Split),
            GROUP_FULL => return Ok(AddAnswer::GroupFull(reply.info)),
            c if ACCOUNT_CODES.contains(&c) => return Ok(AddAnswer::Bisect(reply.info)),
            // Not documented for this call: "already a member" for some account.
            ALREADY_MEMBER if results.is_none() && batch.len() == 1 => {
                return Ok(AddAnswer::Done(MemberWrite::default()))
            }
            ALREADY_MEMBER if results.is_none() => return Ok(AddAnswer::Bisect(reply.info)),
            _ => {}
        }
        let reply = self.fail(op, reply)?;
        let results = reply
            .body
            .get("MemberList")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut write = MemberWrite::default();
        for account in batch {
            let result = results
                .iter()
                .find(|r| account_of(r) == Some(account.as_str()))
                .and_then(|r| r.get("Result"))
                .and_then(wire::as_i64);
            match result {
                Some(1) | Some(2) => {}
                Some(3) => write.pending.push(account.clone()),
                Some(other) => write.refused.push(refusal(
                    account,
                    None,
                    format!(
                        "add_group_member answered Result {other} for this account, no code given"
                    ),
                )),
                None => write.refused.push(refusal(
                    account,
                    None,
                    "add_group_member gave no Result for this account, no code given".to_string(),
                )),
            }
        }
        Ok(AddAnswer::Done(write))
    }

    pub(super) async fn remove_accounts(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        let op = Operation::RemoveMembers;
        self.check_member_list(op, key)?;
        let mut queue: VecDeque<Vec<String>> = distinct(accounts)
            .chunks(REMOVE_BATCH)
            .map(<[String]>::to_vec)
            .collect();
        while let Some(batch) = queue.pop_front() {
            let body = json!({"GroupId": key.id, "Silence": 1, "MemberToDel_Account": batch});
            let reply = self.call(op, "delete_group_member", &body).await?;
            if reply.code == TOO_MANY && batch.len() > 1 {
                for half in halves(batch).into_iter().rev() {
                    queue.push_front(half);
                }
                continue;
            }
            // Accounts that are not members succeed too (delete_group_member's page).
            self.fail(op, reply)?;
        }
        Ok(MemberWrite::default())
    }

    pub(super) async fn set_accounts_role(
        &self,
        key: &GroupKey,
        accounts: &[String],
        role: MemberRole,
    ) -> ProviderResult<MemberWrite> {
        let op = Operation::SetRole;
        self.check_member_list(op, key)?;
        let role = match role {
            MemberRole::Admin if !member_support(key.group_type).admins => {
                let e = ConfigError::new(
                    "spec.members",
                    format!("{} groups have no admins on Tencent", key.group_type),
                );
                return Err(self.rejected(op, &e));
            }
            MemberRole::Admin => "Admin",
            MemberRole::Member => "Member",
            MemberRole::Owner => {
                let e = ConfigError::new(
                    "spec.members",
                    "the owner is changed with spec.owner (a transfer), not with a member role",
                );
                return Err(self.rejected(op, &e));
            }
        };
        let mut write = MemberWrite::default();
        for account in distinct(accounts) {
            let body = json!({"GroupId": key.id, "Member_Account": account, "Role": role});
            let reply = self.call(op, "modify_group_member_info", &body).await?;
            match classify(reply.code) {
                CodeOutcome::Ok => {}
                // This account's refusal (not a member, the owner, no admins here…);
                // the others may still go through.
                CodeOutcome::Fail(FailureClass::Terminal) => {
                    write
                        .refused
                        .push(refusal(&account, Some(reply.code), reply.info.message))
                }
                CodeOutcome::Fail(class) => return Err(self.error(op, class, reply.info)),
            }
        }
        Ok(write)
    }
}

/// The Community cursor of the last page: `0`, `""` or null.
fn is_last_cursor(cursor: &Value) -> bool {
    match cursor {
        Value::Null => true,
        Value::String(s) => s.is_empty() || s == "0",
        other => wire::as_i64(other) == Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_roles_are_read_and_unknown_ones_count_as_members() {
        assert_eq!(parse_role(Some("Owner")), Some(MemberRole::Owner));
        assert_eq!(parse_role(Some("Admin")), Some(MemberRole::Admin));
        assert_eq!(parse_role(Some("Member")), Some(MemberRole::Member));
        assert_eq!(parse_role(Some("NotMember")), None);
        assert_eq!(parse_role(Some("Custom")), Some(MemberRole::Member));
    }

    #[test]
    fn the_last_community_cursor_is_zero_or_empty_in_either_type() {
        for last in [json!(0), json!(""), json!("0"), Value::Null] {
            assert!(is_last_cursor(&last), "{last}");
        }
        for more in [json!(100), json!("100"), json!("abc")] {
            assert!(!is_last_cursor(&more), "{more}");
        }
    }

    #[test]
    fn batches_split_in_halves_and_accounts_are_deduplicated() {
        let batch: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        let [a, b] = halves(batch);
        assert_eq!((a.len(), b.len()), (2, 3));
        let twice = ["x", "y", "x"].map(String::from);
        assert_eq!(distinct(&twice), ["x", "y"]);
    }
}
