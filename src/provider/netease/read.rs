//! Reading teams: by id, in batches, and by marker through the owner's joined teams.
//!
//! Shapes (official SDKs, netease-im/yunxin-server-sdk-golang `src/im/v2/team/` and
//! `src/im/v2/team_member/`; the Java SDK's `BatchQueryTeamInfoResponseV2`):
//! get → `data.team_info`; batch get → `data.team_info_list`, `data.invalid_tids`
//! (Java only; an answer without it leaves missing ids out of the list); joined teams → `data.team_info_list`, `has_more`, `next_token`, whose
//! entries carry no team `server_extension`.

use std::collections::{BTreeMap, HashSet};

use reqwest::Method;
use serde_json::Value;

use super::codes::{classify, CodeOutcome, SUPER_TEAM_DISABLED_CODE};
use super::wire::{self, BatchAnswer, JoinedEntry, TeamEntry};
use super::{NeteaseClient, Reply, Request};
use crate::provider::config::ConfigError;
use crate::provider::validate::validate_type_for;
use crate::provider::{
    CallInfo, FailureClass, GroupKey, GroupType, Lookup, MarkerQuery, ObservedGroup, Operation,
    ProviderError, ProviderKind, ProviderResult,
};

/// Pages of joined teams read at most by one `find_by_marker`; more is an error.
pub(super) const MAX_PAGES: usize = 200;
/// Joined teams per page (reference notes §2: `limit` ≤ 100).
const PAGE_LIMIT: usize = 100;

pub(super) fn get(
    api: &'static str,
    path: String,
    query: Vec<(&'static str, String)>,
) -> Request<'static> {
    Request {
        api,
        method: Method::GET,
        path,
        query,
        body: None,
    }
}

/// A single team read: there, or proven gone.
pub(super) enum Read {
    Found(Box<TeamEntry>),
    /// Listed in the batch get's `invalid_tids` under the recorded type, and not held
    /// under the other type.
    Gone(CallInfo),
}

/// Ids per batch get call: 30 advanced, 20 super (reference notes §2; the simulator's
/// checked limits).
pub(super) fn max_batch(group_type: GroupType) -> usize {
    match group_type {
        GroupType::Super => 20,
        _ => 30,
    }
}

fn other_type(group_type: GroupType) -> GroupType {
    match group_type {
        GroupType::Super => GroupType::Advanced,
        _ => GroupType::Super,
    }
}

fn type_name(group_type: GroupType) -> &'static str {
    match group_type {
        GroupType::Super => "super (team_type 2)",
        _ => "advanced (team_type 1)",
    }
}

impl NeteaseClient {
    /// Reads one team. Success is the get's `team_info`; any other answer is confirmed
    /// with the batch get (see [`NeteaseClient::confirm`]) before the team counts as gone:
    /// the seed documents no code for a missing team (108404 is an inference).
    pub(super) async fn read_entry(
        &self,
        operation: Operation,
        key: &GroupKey,
    ) -> ProviderResult<Read> {
        let query = vec![("team_type", wire::team_type(key.group_type).to_string())];
        let request = get("get", format!("/im/v2.1/teams/{}", key.id), query);
        let reply = self.call(operation, &request).await?;
        if let CodeOutcome::Ok = classify(reply.code) {
            return match reply.data.get("team_info").and_then(wire::parse_team_entry) {
                Some(team) => Ok(Read::Found(Box::new(team))),
                None => Err(self.malformed(operation, reply.info, "team_info")),
            };
        }
        self.confirm(operation, key, reply).await
    }

    pub(super) async fn read_one(
        &self,
        operation: Operation,
        key: &GroupKey,
    ) -> ProviderResult<Lookup> {
        Ok(match self.read_entry(operation, key).await? {
            Read::Found(team) => Lookup::Found(team.group),
            Read::Gone(info) => Lookup::NotFound(info),
        })
    }

    /// A call on `key` answered `failed` (not success). The batch get, asked with the
    /// recorded team type, decides: the team there → `Found`; listed in `invalid_tids`
    /// (and not held under the other team type) → `Gone`; anything else → an error (the
    /// original failure's class; Transient where that was "not found").
    pub(super) async fn confirm(
        &self,
        operation: Operation,
        key: &GroupKey,
        failed: Reply,
    ) -> ProviderResult<Read> {
        let class = match classify(failed.code) {
            CodeOutcome::Fail(FailureClass::NotFound) | CodeOutcome::Ok => FailureClass::Transient,
            CodeOutcome::Fail(class) => class,
        };
        let unconfirmed = |why: String| {
            let info = CallInfo {
                message: format!(
                    "{} (team {} not confirmed gone: {why})",
                    failed.info.message, key.id
                ),
                ..failed.info.clone()
            };
            self.error(operation, class, info)
        };
        let (batch, _) = self
            .batch_get(operation, key.group_type, &[key.id.as_str()])
            .await
            .map_err(|e| unconfirmed(format!("the batch get failed: {}", e.info)))?;
        if let Some(team) = batch.team(&key.id) {
            return Ok(Read::Found(Box::new(team.clone())));
        }
        if !batch.is_invalid(&key.id) {
            return Err(unconfirmed(
                "the batch get lists it in neither team_info_list nor invalid_tids".to_string(),
            ));
        }
        self.rule_out_other_type(operation, key, &failed.info, unconfirmed)
            .await?;
        Ok(Read::Gone(CallInfo {
            message: format!(
                "{} (confirmed: the batch get reports team {} missing)",
                failed.info.message, key.id
            ),
            ..failed.info
        }))
    }

    /// Whether the batch get lists a team of the other type as invalid is not
    /// documented (unconfirmed): a team held under the other type is not gone, and a
    /// failed look is no proof either way.
    async fn rule_out_other_type(
        &self,
        operation: Operation,
        key: &GroupKey,
        failed: &CallInfo,
        unconfirmed: impl Fn(String) -> ProviderError,
    ) -> ProviderResult<()> {
        let other = other_type(key.group_type);
        match self.batch_get(operation, other, &[key.id.as_str()]).await {
            Ok((batch, _)) if batch.team(&key.id).is_some() => {
                let info = CallInfo {
                    message: format!(
                        "team {} is a {} team, not {}: correct spec.type ({})",
                        key.id,
                        type_name(other),
                        type_name(key.group_type),
                        failed.message
                    ),
                    ..failed.clone()
                };
                Err(self.error(operation, FailureClass::Terminal, info))
            }
            Ok(_) => Ok(()),
            // No super team can exist where the super-team service is disabled.
            Err(e) if e.info.code == SUPER_TEAM_DISABLED_CODE => Ok(()),
            Err(e) => Err(unconfirmed(format!(
                "the batch get as a {} team failed: {}",
                type_name(other),
                e.info
            ))),
        }
    }

    pub(super) fn malformed(
        &self,
        operation: Operation,
        info: CallInfo,
        what: &str,
    ) -> ProviderError {
        let info = CallInfo {
            message: format!("HTTP 200: the answer lacks a usable {what}"),
            ..info
        };
        self.error(operation, FailureClass::Transient, info)
    }

    /// An answer of the right code whose shape is not the documented one (Transient:
    /// nothing is decided on it).
    fn bad_shape(
        &self,
        operation: Operation,
        info: CallInfo,
        api: &str,
        detail: &str,
    ) -> ProviderError {
        let info = CallInfo {
            message: format!("HTTP 200: the {api} answer is not the documented shape: {detail}"),
            ..info
        };
        self.error(operation, FailureClass::Transient, info)
    }

    /// One batch get call of ids of one team type (at most `max_batch`), parsed strictly.
    pub(super) async fn batch_get(
        &self,
        operation: Operation,
        group_type: GroupType,
        ids: &[&str],
    ) -> ProviderResult<(BatchAnswer, CallInfo)> {
        let list = Value::Array(ids.iter().map(|id| wire::team_id_value(id)).collect());
        let query = vec![
            ("team_type", wire::team_type(group_type).to_string()),
            ("team_ids", list.to_string()),
        ];
        let request = get("batch_get", "/im/v2.1/teams".into(), query);
        let reply = self.check(operation, self.call(operation, &request).await?)?;
        match wire::parse_batch(&reply.data) {
            Ok(batch) => Ok((batch, reply.info)),
            Err(detail) => Err(self.bad_shape(operation, reply.info, "batch get", &detail)),
        }
    }

    /// Reads ids of one team type in one batch call; one entry per id, in order. An
    /// id in `invalid_tids` is not found (the batch get's own "missing" answer).
    pub(super) async fn read_batch(
        &self,
        operation: Operation,
        group_type: GroupType,
        ids: &[&str],
    ) -> ProviderResult<Vec<(String, Lookup)>> {
        let (batch, info) = self.batch_get(operation, group_type, ids).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let lookup = match batch.team(id) {
                Some(team) => Lookup::Found(team.group.clone()),
                None if batch.is_invalid(id) => Lookup::NotFound(CallInfo {
                    code: super::codes::TEAM_NOT_FOUND_CODES[0],
                    message: format!("the batch get reports team {id} missing"),
                    request_id: info.request_id.clone(),
                }),
                None => {
                    return Err(self.bad_shape(
                        operation,
                        info,
                        "batch get",
                        &format!("team {id} is in neither team_info_list nor invalid_tids"),
                    ));
                }
            };
            out.push((id.to_string(), lookup));
        }
        Ok(out)
    }

    /// The marker on the team now, read only when custom data is rewritten.
    pub(super) async fn read_marker(
        &self,
        operation: Operation,
        key: &GroupKey,
    ) -> ProviderResult<Option<String>> {
        match self.read_one(operation, key).await? {
            Lookup::Found(team) => Ok(team.marker),
            Lookup::NotFound(info) => Err(self.error(operation, FailureClass::NotFound, info)),
        }
    }

    /// Every team of `query.owner` carrying `query.marker`, oldest first (create_time,
    /// then id). Pages the owner's joined teams (all of them: NetEase documents no
    /// order, so none is relied on), keeps the candidates by name and creation time,
    /// then reads their `server_extension` with the batch get. Any page or batch that
    /// fails or has an undocumented shape, and the page cap, end the search with an
    /// error: an empty answer always means a complete search.
    pub(super) async fn find_marker(
        &self,
        query: &MarkerQuery,
    ) -> ProviderResult<Vec<ObservedGroup>> {
        let op = Operation::FindByMarker;
        check_query(query).map_err(|e| self.rejected(op, &e))?;
        let candidates = self.joined_candidates(query).await?;
        let ids: Vec<&str> = candidates.keys().map(String::as_str).collect();
        let mut found: Vec<(Option<i64>, ObservedGroup)> = Vec::new();
        for chunk in ids.chunks(max_batch(query.group_type)) {
            let (batch, info) = self.batch_get(op, query.group_type, chunk).await?;
            for id in chunk {
                let Some(team) = batch.team(id) else {
                    if batch.is_invalid(id) {
                        // Disbanded since its page was read.
                        continue;
                    }
                    return Err(self.bad_shape(
                        op,
                        info,
                        "batch get",
                        &format!("team {id} is in neither team_info_list nor invalid_tids"),
                    ));
                };
                let unreadable = unreadable_extension(team.server_extension.as_deref());
                if let (Some(problem), Some(_)) = (unreadable, &query.name) {
                    let detail = format!(
                        "team {id} is named like the lost create and created since it was sent, \
                         but its server_extension {problem}, so it cannot be told apart from \
                         this create's team; correct it, or adopt the team with spec.groupId"
                    );
                    return Err(self.bad_shape(op, info, "batch get", &detail));
                }
                // A name-less search (for a late duplicate) decides no create: a team
                // whose extension cannot be read carries no marker it could find.
                if team.group.marker.as_deref() == Some(query.marker.as_str()) {
                    let created = team.create_time.or(candidates[*id].create_time);
                    found.push((created, team.group.clone()));
                }
            }
        }
        found.sort_by_key(|(created, team)| {
            (
                created.is_none(),
                created.unwrap_or_default(),
                team.id.parse::<u64>().unwrap_or(u64::MAX),
                team.id.clone(),
            )
        });
        Ok(found.into_iter().map(|(_, team)| team).collect())
    }

    /// The owner's joined teams of the query's type named `query.name` (any name when
    /// unset) and created at
    /// or after `query.created_not_before_ms` (an entry without `create_time` stays a
    /// candidate), by id. The scan is shared with concurrent searches of the same owner.
    async fn joined_candidates(
        &self,
        query: &MarkerQuery,
    ) -> ProviderResult<BTreeMap<String, JoinedEntry>> {
        let team_type = wire::team_type(query.group_type);
        let entries = self
            .scans
            .fresh(&query.owner, team_type, || {
                self.scan_joined(&query.owner, query.group_type)
            })
            .await?;
        Ok(entries
            .iter()
            .filter(|entry| {
                let recent = entry
                    .create_time
                    .is_none_or(|t| t >= query.created_not_before_ms);
                query.name.as_ref().is_none_or(|name| entry.name == *name) && recent
            })
            .map(|entry| (entry.id.clone(), entry.clone()))
            .collect())
    }

    /// Every page of `owner`'s joined teams of `group_type`. NetEase documents no order
    /// for them (unconfirmed), so the scan cannot stop at teams older than the oldest
    /// pending create: it reads to the last page, or fails.
    async fn scan_joined(
        &self,
        owner: &str,
        group_type: GroupType,
    ) -> ProviderResult<Vec<JoinedEntry>> {
        let op = Operation::FindByMarker;
        let path = format!(
            "/im/v2.1/team_members/{}/actions/joined_teams",
            wire::path_segment(owner)
        );
        let mut entries = Vec::new();
        let mut tokens = HashSet::new();
        let mut token: Option<String> = None;
        for page_number in 1..=MAX_PAGES {
            let mut params = vec![
                ("team_type", wire::team_type(group_type).to_string()),
                ("limit", PAGE_LIMIT.to_string()),
            ];
            if let Some(token) = &token {
                params.push(("page_token", token.clone()));
            }
            let request = get("joined_teams", path.clone(), params);
            let reply = self
                .call(op, &request)
                .await
                .and_then(|reply| self.check(op, reply))
                .map_err(|e| incomplete(e, page_number))?;
            let page = wire::parse_joined_page(&reply.data).map_err(|detail| {
                let api = format!("joined teams (page {page_number})");
                self.bad_shape(op, reply.info.clone(), &api, &detail)
            })?;
            entries.extend(page.entries);
            let Some(next) = page.next_token else {
                return Ok(entries);
            };
            if !tokens.insert(next.clone()) {
                let detail = format!("next_token {next:?} repeats an earlier page's");
                let api = format!("joined teams (page {page_number})");
                return Err(self.bad_shape(op, reply.info, &api, &detail));
            }
            token = Some(next);
        }
        let info = CallInfo {
            code: crate::provider::NO_CODE,
            message: format!(
                "the joined teams of {owner} have more than {MAX_PAGES} pages of {PAGE_LIMIT}; \
                 the marker search stopped incomplete"
            ),
            request_id: None,
        };
        Err(self.error(op, FailureClass::Transient, info))
    }
}

/// A marker query that can be answered safely: a NetEase type, an owner, a marker.
fn check_query(query: &MarkerQuery) -> Result<(), ConfigError> {
    validate_type_for(ProviderKind::NetEase, query.group_type)?;
    if query.owner.trim().is_empty() {
        return Err(ConfigError::new(
            "spec.owner",
            "NetEase teams are found through their owner",
        ));
    }
    if query.marker.trim().is_empty() {
        return Err(ConfigError::new(
            "marker",
            "an empty marker matches nothing safely",
        ));
    }
    Ok(())
}

/// Why a candidate's `server_extension` cannot carry a marker that can be read: not a
/// JSON object, or over the 1024-character limit. Empty or absent is readable (no
/// marker).
fn unreadable_extension(raw: Option<&str>) -> Option<String> {
    let raw = raw.filter(|r| !r.is_empty())?;
    let chars = raw.chars().count();
    if chars > wire::SERVER_EXTENSION_MAX_CHARS {
        return Some(format!(
            "is {chars} characters, over the {} allowed",
            wire::SERVER_EXTENSION_MAX_CHARS
        ));
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(_)) => None,
        _ => Some("is not a JSON object".to_string()),
    }
}

/// Names the page a failed joined-teams call was for.
fn incomplete(mut error: ProviderError, page_number: usize) -> ProviderError {
    error.info.message = format!(
        "joined teams page {page_number} failed, the marker search is incomplete: {}",
        error.info.message
    );
    error
}
