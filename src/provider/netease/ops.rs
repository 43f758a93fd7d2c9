//! The team operations of the NetEase client.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;

use super::codes::{classify, classify_disband, CodeOutcome, DisbandCode};
use super::read::{self, Read};
use super::wire::{self, StampPlan};
use super::{NeteaseClient, Reply, Request};
use crate::provider::config::ConfigError;
use crate::provider::validate::{validate_attributes, validate_changes, validate_type_for};
use crate::provider::{
    AppIdentity, AttributeChanges, CallInfo, CreateOutcome, CreateRequest, DisbandOutcome,
    FailureClass, GroupKey, GroupProvider, GroupType, IdAssignment, Lookup, MarkerQuery,
    MemberRole, MemberWrite, ObservedGroup, Operation, ProviderKind, ProviderResult, Roster, Stamp,
};

impl NeteaseClient {
    pub(super) fn check(&self, operation: Operation, reply: Reply) -> ProviderResult<Reply> {
        match classify(reply.code) {
            CodeOutcome::Ok => Ok(reply),
            CodeOutcome::Fail(class) => Err(self.error(operation, class, reply.info)),
        }
    }

    /// The team type must be NetEase's and the id a decimal number.
    pub(super) fn check_key(&self, operation: Operation, key: &GroupKey) -> ProviderResult<()> {
        validate_type_for(ProviderKind::NetEase, key.group_type)
            .map_err(|e| self.rejected(operation, &e))?;
        if key.id.is_empty() || !key.id.bytes().all(|b| b.is_ascii_digit()) {
            let error = ConfigError::new(
                "status.groupId",
                format!("{:?} is not a NetEase team id (a decimal number)", key.id),
            );
            return Err(self.rejected(operation, &error));
        }
        Ok(())
    }

    /// `operator_id` for updates and disband: the team's owner.
    pub(super) fn operator<'k>(
        &self,
        operation: Operation,
        key: &'k GroupKey,
    ) -> ProviderResult<&'k str> {
        match key.owner.as_deref().filter(|o| !o.is_empty()) {
            Some(owner) => Ok(owner),
            None => Err(self.rejected(
                operation,
                &ConfigError::new("spec.owner", "NetEase needs the team owner as operator_id"),
            )),
        }
    }

    /// Invites `account` so it can become the owner; "already a member" is fine.
    async fn ensure_member(
        &self,
        key: &GroupKey,
        operator: &str,
        account: &str,
    ) -> ProviderResult<()> {
        let op = Operation::TransferOwner;
        let body = json!({
            "operator_id": operator,
            "team_id": wire::team_id_value(&key.id),
            "team_type": wire::team_type(key.group_type),
            "invite_account_ids": [account],
            "msg": "",
        });
        let request = Request {
            api: "invite",
            method: Method::POST,
            path: "/im/v2/team_members".into(),
            query: Vec::new(),
            body: Some(&body),
        };
        let reply = self.check(op, self.call(op, &request).await?)?;
        if let Some((code, who)) = wire::real_failures(&reply.data).into_iter().next() {
            let class = match classify(code) {
                CodeOutcome::Fail(class) => class,
                CodeOutcome::Ok => return Ok(()),
            };
            let info = CallInfo {
                code,
                message: self.scrub(&format!(
                    "could not add {who} as a member before the transfer"
                )),
                ..reply.info
            };
            return Err(self.error(op, class, info));
        }
        Ok(())
    }
}

#[async_trait]
impl GroupProvider for NeteaseClient {
    fn id_assignment(&self) -> IdAssignment {
        IdAssignment::ServerAssigned
    }

    fn app(&self) -> AppIdentity {
        self.config.app()
    }

    fn carries_marker(&self) -> bool {
        true
    }

    /// NetEase team ids are decimal numbers.
    fn validate_group_id(&self, id: &str) -> Result<(), ConfigError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::new(
                "spec.groupId",
                format!("{id:?} is not a NetEase team id; team ids are decimal numbers"),
            ));
        }
        Ok(())
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::NetEase
    }

    fn max_batch(&self, group_type: GroupType) -> usize {
        read::max_batch(group_type)
    }

    fn validate_create(&self, request: &CreateRequest) -> Result<(), ConfigError> {
        validate_type_for(ProviderKind::NetEase, request.group_type)
            .and_then(|_| validate_attributes(request.group_type, &request.attributes))
            .and_then(|_| wire::create_body(request))
            .map(|_| ())
    }

    async fn create_group(&self, request: &CreateRequest) -> ProviderResult<CreateOutcome> {
        let op = Operation::Create;
        let body = self
            .validate_create(request)
            .and_then(|_| wire::create_body(request))
            .map_err(|e| self.rejected(op, &e))?;
        let call = Request {
            api: "create",
            method: Method::POST,
            path: "/im/v2.1/teams".into(),
            query: Vec::new(),
            body: Some(&body),
        };
        let reply = self.check(op, self.call(op, &call).await?)?;
        let team_id = reply
            .data
            .get("team_info")
            .and_then(|t| wire::team_id(t.get("team_id")));
        let Some(group_id) = team_id else {
            return Err(self.malformed(op, reply.info, "team_info.team_id"));
        };
        let mut info = reply.info;
        let failed = wire::failed_list(&reply.data);
        if !failed.is_empty() {
            info.message = self.scrub(&format!("team created; failed_list: {}", failed.join(", ")));
        }
        Ok(CreateOutcome::Created { group_id, info })
    }

    async fn get_groups(&self, keys: &[GroupKey]) -> ProviderResult<Vec<(String, Lookup)>> {
        let op = Operation::Get;
        for key in keys {
            self.check_key(op, key)?;
        }
        if let [key] = keys {
            return Ok(vec![(key.id.clone(), self.read_one(op, key).await?)]);
        }
        let mut found = Vec::with_capacity(keys.len());
        for group_type in [GroupType::Advanced, GroupType::Super] {
            let ids: Vec<&str> = keys
                .iter()
                .filter(|k| k.group_type == group_type)
                .map(|k| k.id.as_str())
                .collect();
            for chunk in ids.chunks(read::max_batch(group_type)) {
                found.extend(self.read_batch(op, group_type, chunk).await?);
            }
        }
        // One entry per id, in the order asked.
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(pos) = found.iter().position(|(id, _)| *id == key.id) {
                out.push(found.swap_remove(pos));
            }
        }
        Ok(out)
    }

    async fn find_by_marker(&self, query: &MarkerQuery) -> ProviderResult<Vec<ObservedGroup>> {
        self.find_marker(query).await
    }

    async fn update_group(
        &self,
        key: &GroupKey,
        changes: &AttributeChanges,
    ) -> ProviderResult<CallInfo> {
        let op = Operation::Update;
        self.check_key(op, key)?;
        validate_changes(key.group_type, changes).map_err(|e| self.rejected(op, &e))?;
        if changes.is_empty() {
            return Ok(CallInfo {
                code: 200,
                message: "nothing to change".to_string(),
                request_id: None,
            });
        }
        let operator = self.operator(op, key)?;
        // Rewriting server_extension must keep the marker the team carries.
        let marker = match changes.custom_data {
            Some(_) => self.read_marker(op, key).await?,
            None => None,
        };
        let body = wire::update_body(key.group_type, operator, changes, marker.as_deref())
            .map_err(|e| self.rejected(op, &e))?;
        let request = Request {
            api: "update",
            method: Method::PATCH,
            path: format!("/im/v2.1/teams/{}", key.id),
            query: Vec::new(),
            body: Some(&body),
        };
        Ok(self.check(op, self.call(op, &request).await?)?.info)
    }

    async fn transfer_owner(&self, key: &GroupKey, new_owner: &str) -> ProviderResult<CallInfo> {
        let op = Operation::TransferOwner;
        self.check_key(op, key)?;
        if let Some(operator) = key
            .owner
            .as_deref()
            .filter(|o| !o.is_empty() && *o != new_owner)
        {
            self.ensure_member(key, operator, new_owner).await?;
        }
        let body = json!({"team_type": wire::team_type(key.group_type), "new_owner_account_id": new_owner, "leave": 2});
        let request = Request {
            api: "transfer_owner",
            method: Method::PATCH,
            path: format!("/im/v2/teams/{}/actions/transfer_owner", key.id),
            query: Vec::new(),
            body: Some(&body),
        };
        Ok(self.check(op, self.call(op, &request).await?)?.info)
    }

    async fn disband(&self, key: &GroupKey) -> ProviderResult<DisbandOutcome> {
        let op = Operation::Disband;
        self.check_key(op, key)?;
        let operator = self.operator(op, key)?;
        let query = vec![
            ("team_type", wire::team_type(key.group_type).to_string()),
            ("operator_id", operator.to_string()),
        ];
        let request = Request {
            api: "disband",
            method: Method::DELETE,
            path: format!("/im/v2.1/teams/{}", key.id),
            query,
            body: None,
        };
        let reply = self.call(op, &request).await?;
        if let DisbandCode::Disbanded = classify_disband(reply.code) {
            return Ok(DisbandOutcome::Disbanded(reply.info));
        }
        // Any other answer, 108404 / 803 included, is confirmed by the batch get.
        let class = match classify_disband(reply.code) {
            DisbandCode::Fail(FailureClass::NotFound) | DisbandCode::AlreadyGone => {
                FailureClass::Transient
            }
            DisbandCode::Fail(class) => class,
            DisbandCode::Disbanded => FailureClass::Transient,
        };
        let info = reply.info.clone();
        match self.confirm(op, key, reply).await? {
            Read::Gone(info) => Ok(DisbandOutcome::AlreadyGone(info)),
            Read::Found(_) => {
                let info = CallInfo {
                    message: format!(
                        "{} (the team {} still exists; nothing was disbanded)",
                        info.message, key.id
                    ),
                    ..info
                };
                Err(self.error(op, class, info))
            }
        }
    }

    /// Adds `marker` to the team's `server_extension` (a JSON object, or empty),
    /// keeping every other key; a `server_extension` that is not a JSON object is the
    /// app's own and is left alone (`Foreign`). A marker already there is replaced:
    /// the caller stamps only a team it has won the claim for. The read and the write
    /// are two calls: a change the app makes in between is lost (NetEase offers no
    /// conditional update).
    async fn stamp(&self, key: &GroupKey, marker: &str) -> ProviderResult<Stamp> {
        let op = Operation::Update;
        self.check_key(op, key)?;
        let operator = self.operator(op, key)?;
        if marker.trim().is_empty() {
            let error = ConfigError::new("marker", "must not be empty");
            return Err(self.rejected(op, &error));
        }
        let team = match self.read_entry(op, key).await? {
            Read::Found(team) => team,
            Read::Gone(info) => return Err(self.error(op, FailureClass::NotFound, info)),
        };
        // An answer without server_extension is read as empty (both SDKs' TeamInfo
        // carry the field; whether the service omits an empty one is unconfirmed).
        let raw = team.server_extension.unwrap_or_default();
        let extension = match wire::stamp_plan(&raw, marker) {
            StampPlan::AlreadyStamped => return Ok(Stamp::Written),
            StampPlan::Foreign => return Ok(Stamp::Foreign),
            StampPlan::TooLong(chars) => {
                let error = ConfigError::new(
                    "server_extension",
                    format!(
                        "team {} would carry {chars} characters with the marker; NetEase \
                         allows at most {}",
                        key.id,
                        wire::SERVER_EXTENSION_MAX_CHARS
                    ),
                );
                return Err(self.rejected(op, &error));
            }
            StampPlan::Write(text) => text,
        };
        let body = json!({
            "team_type": wire::team_type(key.group_type),
            "operator_id": operator,
            "server_extension": extension,
        });
        let request = Request {
            api: "update",
            method: Method::PATCH,
            path: format!("/im/v2.1/teams/{}", key.id),
            query: Vec::new(),
            body: Some(&body),
        };
        self.check(op, self.call(op, &request).await?)?;
        Ok(Stamp::Written)
    }

    fn add_answer_confirms_join(&self) -> bool {
        false
    }

    async fn member_roles(&self, key: &GroupKey, accounts: &[String]) -> ProviderResult<Roster> {
        self.read_member_roles(key, accounts).await
    }

    async fn list_members(&self, key: &GroupKey) -> ProviderResult<Roster> {
        self.read_all_members(key).await
    }

    async fn add_members(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        self.add_accounts(key, accounts).await
    }

    async fn remove_members(
        &self,
        key: &GroupKey,
        accounts: &[String],
    ) -> ProviderResult<MemberWrite> {
        self.remove_accounts(key, accounts).await
    }

    async fn set_role(
        &self,
        key: &GroupKey,
        accounts: &[String],
        role: MemberRole,
    ) -> ProviderResult<MemberWrite> {
        self.set_accounts_role(key, accounts, role).await
    }
}
