//! Reading teams: by id, in batches, and by marker through the owner's joined teams.

use reqwest::Method;
use serde_json::Value;

use super::codes::{classify, CodeOutcome};
use super::{wire, NeteaseClient, Request};
use crate::provider::config::ConfigError;
use crate::provider::validate::validate_type_for;
use crate::provider::{
    CallInfo, FailureClass, GroupKey, GroupType, Lookup, ObservedGroup, Operation, ProviderKind,
    ProviderResult,
};

/// Pages of joined teams read at most by one `find_by_marker`.
const MAX_PAGES: usize = 200;

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

impl NeteaseClient {
    pub(super) async fn read_one(
        &self,
        operation: Operation,
        key: &GroupKey,
    ) -> ProviderResult<Lookup> {
        let query = vec![("team_type", wire::team_type(key.group_type).to_string())];
        let request = get("get", format!("/im/v2.1/teams/{}", key.id), query);
        let reply = self.call(operation, &request).await?;
        match classify(reply.code) {
            CodeOutcome::Fail(FailureClass::NotFound) => Ok(Lookup::NotFound(reply.info)),
            CodeOutcome::Fail(class) => Err(self.error(operation, class, reply.info)),
            CodeOutcome::Ok => match reply.data.get("team_info").and_then(wire::parse_team) {
                Some(team) => Ok(Lookup::Found(team)),
                None => Err(self.malformed(operation, reply.info, "team_info")),
            },
        }
    }

    pub(super) fn malformed(
        &self,
        operation: Operation,
        info: CallInfo,
        what: &str,
    ) -> crate::provider::ProviderError {
        let info = CallInfo {
            message: format!("HTTP 200: the answer lacks a usable {what}"),
            ..info
        };
        self.error(operation, FailureClass::Transient, info)
    }

    /// Reads ids of one team type in one batch call.
    pub(super) async fn read_batch(
        &self,
        operation: Operation,
        group_type: GroupType,
        ids: &[&str],
    ) -> ProviderResult<Vec<(String, Lookup)>> {
        let list = Value::Array(ids.iter().map(|id| wire::team_id_value(id)).collect());
        let query = vec![
            ("team_type", wire::team_type(group_type).to_string()),
            ("team_ids", list.to_string()),
        ];
        let reply = self.check(
            operation,
            self.call(operation, &get("batch_get", "/im/v2.1/teams".into(), query))
                .await?,
        )?;
        let teams: Vec<ObservedGroup> = reply
            .data
            .get("team_info_list")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(wire::parse_team).collect())
            .unwrap_or_default();
        let invalid: Vec<String> = reply
            .data
            .get("invalid_tids")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(|v| wire::team_id(Some(v))).collect())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let lookup = match teams.iter().find(|t| t.id == *id) {
                Some(team) => Lookup::Found(team.clone()),
                None if invalid.iter().any(|i| i == id) => Lookup::NotFound(CallInfo {
                    code: 108404,
                    message: format!("team {id} is in invalid_tids"),
                    request_id: reply.info.request_id.clone(),
                }),
                None => {
                    return Err(self.malformed(
                        operation,
                        reply.info,
                        &format!("entry for team {id}"),
                    ))
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

    /// Pages through the owner's joined teams for the one carrying `marker`.
    pub(super) async fn find_marker(
        &self,
        group_type: GroupType,
        owner: &str,
        marker: &str,
    ) -> ProviderResult<Option<ObservedGroup>> {
        let op = Operation::FindByMarker;
        validate_type_for(ProviderKind::NetEase, group_type).map_err(|e| self.rejected(op, &e))?;
        if owner.trim().is_empty() {
            let error =
                ConfigError::new("spec.owner", "NetEase teams are found through their owner");
            return Err(self.rejected(op, &error));
        }
        let path = format!(
            "/im/v2.1/team_members/{}/actions/joined_teams",
            wire::path_segment(owner)
        );
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("team_type", wire::team_type(group_type).to_string()),
                ("limit", "100".to_string()),
            ];
            if !token.is_empty() {
                query.push(("page_token", token.clone()));
            }
            let request = get("joined_teams", path.clone(), query);
            let reply = self.check(op, self.call(op, &request).await?)?;
            let page = JoinedPage::parse(&reply.data);
            if let Some(team) = page
                .teams
                .into_iter()
                .find(|t| t.marker.as_deref() == Some(marker))
            {
                return Ok(Some(team));
            }
            match page.next_token {
                Some(next) => token = next,
                None => return Ok(None),
            }
        }
        Ok(None)
    }
}

/// One page of an account's joined teams.
struct JoinedPage {
    teams: Vec<ObservedGroup>,
    /// The token of the next page; `None` on the last page.
    next_token: Option<String>,
}

impl JoinedPage {
    fn parse(data: &Value) -> JoinedPage {
        let items = data.get("items").and_then(Value::as_array);
        let teams = items
            .into_iter()
            .flatten()
            .filter_map(|item| wire::parse_team(item.get("team_info").unwrap_or(item)))
            .collect();
        let has_more = data
            .get("has_more")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let token = data
            .get("next_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        JoinedPage {
            teams,
            next_token: (has_more && !token.is_empty()).then(|| token.to_string()),
        }
    }
}
