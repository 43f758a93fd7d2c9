//! Member calls: roles from the member list, invite, kick, and managers.
//!
//! Paths and fields: the official SDKs (Go `team_member_v2_service_impl.go`
//! `InviteTeamMembers` / `KickTeamMembers`, `team_v2_service_impl.go` `ListTeamMembers`
//! / `AddManagers` / `RemoveManagers`; Java `TeamMemberV2Service`, `TeamV2Service`).
//! Account ids: NetEase lower-cases them, so asked accounts are matched
//! case-insensitively and a roster is keyed by the id the provider returns.

use std::collections::{BTreeSet, VecDeque};

use reqwest::Method;
use serde_json::{json, Value};

use super::codes::{
    classify, CodeOutcome, ALREADY_MEMBER_CODE, NOT_MEMBER_CODE, NO_ACCOUNT_CODE, OPERATOR_CODES,
    TEAM_FULL_CODES,
};
use super::member_wire::{parse_failed, parse_member_page};
use super::read::get;
use super::{wire, NeteaseClient, Reply, Request};
use crate::provider::config::ConfigError;
use crate::provider::{
    CallInfo, FailureClass, GroupKey, MemberRefusal, MemberRole, MemberWrite, Operation,
    ProviderResult, Roster,
};

/// Members per list page (v1 super team `getTlists` "limit 最多100条"; v2 unconfirmed).
const PAGE_LIMIT: usize = 100;
/// Pages read at most for one roster; more is an error, never a partial roster.
const MAX_PAGES: usize = 2_000;
/// Accounts per invite. v1 documents 200; v2 documents none, so a smaller batch
/// keeps a 414 split short (unconfirmed).
const INVITE_BATCH: usize = 100;
/// Accounts per kick: 10 (a third-party v2 client) or 200 (v1); the smaller is safe.
const KICK_BATCH: usize = 10;
/// Accounts per add/remove manager call (v1 `addManager.action`: at most 10).
const MANAGER_BATCH: usize = 10;
/// Whole-call refusals that some account of the batch causes, isolated by splitting:
/// a parameter error (414: the batch size, or one malformed id), no such account,
/// the account's joined-team limit, the owner or operator named, not a member, the
/// manager limit (some managers may still fit). Codes per NODENIM `V2NIMErrorCode`.
const ACCOUNT_CODES: [i64; 8] = [414, 102404, 108305, 109308, 109310, 109314, 109404, 108303];

/// The member writes, as NetEase does them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Write {
    Invite,
    Kick,
    AddManager,
    RemoveManager,
}

impl Write {
    fn operation(self) -> Operation {
        match self {
            Write::Invite => Operation::AddMembers,
            Write::Kick => Operation::RemoveMembers,
            Write::AddManager | Write::RemoveManager => Operation::SetRole,
        }
    }

    fn batch(self) -> usize {
        match self {
            Write::Invite => INVITE_BATCH,
            Write::Kick => KICK_BATCH,
            Write::AddManager | Write::RemoveManager => MANAGER_BATCH,
        }
    }

    /// Codes saying the account already is as asked. Kicking an account that does
    /// not exist leaves it out of the team as asked.
    fn done_codes(self) -> &'static [i64] {
        match self {
            Write::Invite => &[ALREADY_MEMBER_CODE],
            Write::Kick => &[NOT_MEMBER_CODE, NO_ACCOUNT_CODE],
            Write::AddManager | Write::RemoveManager => &[],
        }
    }

    /// One call for `accounts`: the path, the query and the JSON body.
    fn shape(self, key: &GroupKey, operator: &str, accounts: &[String]) -> Shape {
        let team_type = wire::team_type(key.group_type);
        match self {
            Write::Invite => Shape {
                api: "invite",
                method: Method::POST,
                path: "/im/v2/team_members".into(),
                query: Vec::new(),
                body: Some(json!({
                    "operator_id": operator,
                    "team_id": wire::team_id_value(&key.id),
                    "team_type": team_type,
                    "invite_account_ids": accounts,
                })),
            },
            // A DELETE with a query string and no body (both SDKs).
            Write::Kick => Shape {
                api: "kick",
                method: Method::DELETE,
                path: "/im/v2/team_members/actions/kick_member".into(),
                query: vec![
                    ("operator_id", operator.to_string()),
                    ("team_id", key.id.clone()),
                    ("team_type", team_type.to_string()),
                    ("kick_account_ids", accounts.join(",")),
                ],
                body: None,
            },
            Write::AddManager | Write::RemoveManager => {
                let (api, method) = if self == Write::AddManager {
                    ("add_manager", Method::POST)
                } else {
                    // A DELETE with a JSON body (both SDKs).
                    ("remove_manager", Method::DELETE)
                };
                Shape {
                    api,
                    method,
                    path: format!("/im/v2/teams/{}/actions/{api}", key.id),
                    query: Vec::new(),
                    body: Some(json!({
                        "team_type": team_type,
                        "operator_id": operator,
                        "managers": accounts,
                    })),
                }
            }
        }
    }
}

struct Shape {
    api: &'static str,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

/// What a whole-call answer means for the batch sent.
enum Whole {
    /// 200: read the per-account lists (manager calls have none).
    Answered,
    /// The batch is as asked (a "done" code for a single account).
    Done,
    /// Refused as a whole for a reason that may be one account's: send its halves.
    Split,
    /// A single account refused with this code.
    Refused(i64),
    /// The team is full: this batch and every later one are refused.
    Full,
    Fail(FailureClass),
}

fn whole(write: Write, code: i64, batch_len: usize) -> Whole {
    let single = batch_len == 1;
    if code == 200 {
        return Whole::Answered;
    }
    if write == Write::Invite && TEAM_FULL_CODES.contains(&code) {
        return Whole::Full;
    }
    if OPERATOR_CODES.contains(&code) {
        return Whole::Fail(FailureClass::Terminal);
    }
    // Whether "already a member" / "not a member" come per account or for the whole
    // call is unconfirmed; for the whole call they are isolated like a refusal.
    let terminal = match classify(code) {
        _ if write.done_codes().contains(&code) => true,
        CodeOutcome::Fail(FailureClass::Terminal) if ACCOUNT_CODES.contains(&code) => true,
        // A refusal about the team (super teams not enabled, wrong team type, ...)
        // would be met by every half: one failure, not a split down to each account.
        CodeOutcome::Fail(FailureClass::Terminal) => return Whole::Fail(FailureClass::Terminal),
        CodeOutcome::Fail(class) => return Whole::Fail(class),
        CodeOutcome::Ok => false,
    };
    match (terminal, single) {
        (true, false) => Whole::Split,
        (true, true) if write.done_codes().contains(&code) => Whole::Done,
        (true, true) => Whole::Refused(code),
        // A success code other than 200 says nothing per account (Transient).
        (false, _) => Whole::Fail(FailureClass::Transient),
    }
}

/// The asked account `reported` names (the provider lower-cases ids), else `reported`.
fn asked<'a>(batch: &'a [String], reported: &'a str) -> &'a str {
    batch
        .iter()
        .find(|a| a.eq_ignore_ascii_case(reported))
        .map_or(reported, String::as_str)
}

impl NeteaseClient {
    fn member_refusal(&self, account: &str, code: i64, message: &str) -> MemberRefusal {
        MemberRefusal {
            account: account.to_string(),
            code: Some(code),
            message: self.scrub(message),
        }
    }

    /// Pages the member list (both SDKs' `items`, `next_token`, `has_more`), keeping
    /// the accounts `keep` accepts; stops early once `complete` holds.
    async fn page_members(
        &self,
        key: &GroupKey,
        mut keep: impl FnMut(&str) -> bool,
        mut complete: impl FnMut(&Roster) -> bool,
    ) -> ProviderResult<Roster> {
        let op = Operation::ReadMembers;
        self.check_key(op, key)?;
        let path = format!("/im/v2.1/teams/{}/actions/list_members", key.id);
        let mut roster = Roster::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("team_type", wire::team_type(key.group_type).to_string()),
                ("limit", PAGE_LIMIT.to_string()),
            ];
            // Java sends the cursor as `page_token`, Go as `next_token`; which one the
            // service reads is unconfirmed, so both carry it (the other is ignored).
            if let Some(token) = &cursor {
                query.push(("page_token", token.clone()));
                query.push(("next_token", token.clone()));
            }
            let reply = self
                .call(op, &get("list_members", path.clone(), query))
                .await?;
            let reply = self.answered(op, reply)?;
            let page = parse_member_page(&reply.data)
                .map_err(|detail| self.malformed(op, reply.info.clone(), &detail))?;
            for (account, role) in page.members {
                if keep(&account) {
                    roster.insert(account, role);
                }
            }
            if complete(&roster) {
                return Ok(roster);
            }
            match page.next {
                None => return Ok(roster),
                Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                    let detail = "data.next_token (the same token twice)";
                    return Err(self.malformed(op, reply.info, detail));
                }
                Some(next) => cursor = Some(next),
            }
        }
        let info = CallInfo {
            code: crate::provider::NO_CODE,
            message: format!(
                "team {} has more than {MAX_PAGES} pages of {PAGE_LIMIT} members",
                key.id
            ),
            request_id: None,
        };
        Err(self.error(op, FailureClass::Terminal, info))
    }

    /// A reply with code 200, else the error its code means.
    fn answered(&self, op: Operation, reply: Reply) -> ProviderResult<Reply> {
        match (reply.code, classify(reply.code)) {
            (200, _) => Ok(reply),
            (_, CodeOutcome::Fail(class)) => Err(self.error(op, class, reply.info)),
            (_, CodeOutcome::Ok) => Err(self.error(op, FailureClass::Transient, reply.info)),
        }
    }

    /// No v2 call looks up given accounts in one team, so the list is paged.
    pub(super) async fn read_member_roles(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<Roster> {
        if accounts.is_empty() {
            return Ok(Roster::new());
        }
        let wanted: BTreeSet<String> = accounts.iter().map(|a| a.to_ascii_lowercase()).collect();
        self.page_members(
            key,
            |account| wanted.contains(&account.to_ascii_lowercase()),
            |roster| roster.len() >= wanted.len(),
        )
        .await
    }

    pub(super) async fn read_all_members(&self, key: &GroupKey) -> ProviderResult<Roster> {
        self.page_members(key, |_| true, |_| false).await
    }

    pub(super) async fn add_accounts(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        self.write_members(Write::Invite, key, accounts).await
    }

    pub(super) async fn remove_accounts(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        self.write_members(Write::Kick, key, accounts).await
    }

    /// Admin → add_manager, Member → remove_manager; the owner changes only by
    /// transfer.
    pub(super) async fn set_accounts_role(
        &self,
        key: &GroupKey,
        accounts: &[String],
        role: MemberRole,
    ) -> ProviderResult<MemberWrite> {
        let write = match role {
            MemberRole::Admin => Write::AddManager,
            MemberRole::Member => Write::RemoveManager,
            MemberRole::Owner => {
                let error = ConfigError::new(
                    "role",
                    "the owner is changed by an ownership transfer, not a role change",
                );
                return Err(self.rejected(Operation::SetRole, &error));
            }
        };
        self.write_members(write, key, accounts).await
    }

    /// Sends `accounts` in batches as `write`, the team's owner as operator. A batch
    /// refused as a whole for what may be one account's reason is split in halves
    /// down to single accounts; a full team refuses the rest without further calls.
    async fn write_members(
        &self,
        write: Write,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        let op = write.operation();
        self.check_key(op, key)?;
        let operator = self.operator(op, key)?;
        let mut out = MemberWrite::default();
        let mut queue: VecDeque<&[String]> = accounts.chunks(write.batch()).collect();
        while let Some(batch) = queue.pop_front() {
            let shape = write.shape(key, operator, batch);
            let request = Request {
                api: shape.api,
                method: shape.method,
                path: shape.path,
                query: shape.query,
                body: shape.body.as_ref(),
            };
            let reply = self.call(op, &request).await?;
            match whole(write, reply.code, batch.len()) {
                Whole::Answered => {
                    let failed = parse_failed(&reply.data)
                        .map_err(|detail| self.malformed(op, reply.info.clone(), &detail))?;
                    let mut full = false;
                    for f in failed {
                        if write.done_codes().contains(&f.code) {
                            continue;
                        }
                        full |= write == Write::Invite && TEAM_FULL_CODES.contains(&f.code);
                        let account = asked(batch, &f.account);
                        out.refused
                            .push(self.member_refusal(account, f.code, &f.message));
                    }
                    if full {
                        self.refuse_rest(&mut out, queue.drain(..), &reply.info);
                    }
                }
                Whole::Done => {}
                Whole::Split => {
                    let (front, back) = batch.split_at(batch.len() / 2);
                    queue.push_front(back);
                    queue.push_front(front);
                }
                Whole::Refused(code) => {
                    let refusal = self.member_refusal(&batch[0], code, &reply.info.message);
                    out.refused.push(refusal);
                }
                Whole::Full => {
                    let rest = std::iter::once(batch).chain(queue.drain(..));
                    self.refuse_rest(&mut out, rest, &reply.info);
                }
                Whole::Fail(class) => return Err(self.error(op, class, reply.info)),
            }
        }
        Ok(out)
    }

    /// Refuses every account of `batches` because the team is full.
    fn refuse_rest<'a>(
        &self,
        out: &mut MemberWrite,
        batches: impl Iterator<Item = &'a [String]>,
        info: &CallInfo,
    ) {
        let code = if TEAM_FULL_CODES.contains(&info.code) {
            info.code
        } else {
            TEAM_FULL_CODES[0]
        };
        for account in batches.flatten() {
            let message = format!("not invited: the team is full ({})", info.message);
            out.refused
                .push(self.member_refusal(account, code, &message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_call_codes_split_refuse_or_fail() {
        use Write::*;
        assert!(matches!(whole(Invite, 200, 5), Whole::Answered));
        assert!(matches!(whole(Invite, 108437, 5), Whole::Full));
        assert!(matches!(whole(Invite, 414, 5), Whole::Split));
        // About the team, not an account: every half would fail the same way.
        assert!(matches!(
            whole(Invite, 108311, 5),
            Whole::Fail(FailureClass::Terminal)
        ));
        assert!(matches!(whole(Invite, 414, 1), Whole::Refused(414)));
        assert!(matches!(whole(Invite, 109311, 2), Whole::Split));
        assert!(matches!(whole(Invite, 109311, 1), Whole::Done));
        assert!(matches!(whole(Kick, 109404, 1), Whole::Done));
        assert!(matches!(
            whole(AddManager, 109404, 1),
            Whole::Refused(109404)
        ));
        assert!(matches!(whole(AddManager, 108303, 3), Whole::Split));
        assert!(matches!(
            whole(AddManager, 109427, 3),
            Whole::Fail(FailureClass::Terminal)
        ));
        assert!(matches!(
            whole(Invite, 108404, 3),
            Whole::Fail(FailureClass::NotFound)
        ));
        assert!(matches!(
            whole(Kick, 500, 3),
            Whole::Fail(FailureClass::Transient)
        ));
        assert!(matches!(
            whole(Kick, 101303, 1),
            Whole::Fail(FailureClass::Unauthorized)
        ));
    }

    #[test]
    fn refusals_name_the_account_as_asked() {
        let batch = ["Bob".to_string(), "carol".to_string()];
        assert_eq!(asked(&batch, "bob"), "Bob");
        assert_eq!(asked(&batch, "dave"), "dave");
    }
}
