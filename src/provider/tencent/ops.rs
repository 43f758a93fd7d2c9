//! The group operations of the Tencent client.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::codes::{classify, classify_disband, CodeOutcome, DisbandCode, GROUP_GONE_CODE};
use super::{wire, Reply, TencentClient};
use crate::provider::validate::{
    validate_attributes, validate_changes, validate_tencent_creatable, validate_tencent_group_id,
    validate_type_for,
};
use crate::provider::{
    AppIdentity, AttributeChanges, CallInfo, CreateOutcome, CreateRequest, DisbandOutcome,
    FailureClass, GroupKey, GroupProvider, GroupType, IdAssignment, Lookup, MarkerQuery,
    MemberRole, MemberWrite, ObservedGroup, Operation, ProviderKind, ProviderResult, Roster, Stamp,
};

/// Ids per get_group_info call.
const MAX_BATCH: usize = 50;

impl TencentClient {
    /// Turns a non-success answer into the error its code calls for.
    fn check(&self, operation: Operation, reply: Reply) -> ProviderResult<Reply> {
        match classify(reply.code) {
            CodeOutcome::Ok => Ok(reply),
            CodeOutcome::Fail(class) => Err(self.error(operation, class, reply.info)),
        }
    }

    fn check_types(&self, operation: Operation, keys: &[GroupKey]) -> ProviderResult<()> {
        for key in keys {
            validate_type_for(ProviderKind::Tencent, key.group_type)
                .map_err(|e| self.rejected(operation, &e))?;
        }
        Ok(())
    }

    /// Reads one batch of at most [`MAX_BATCH`] ids.
    async fn read_batch(
        &self,
        operation: Operation,
        keys: &[GroupKey],
    ) -> ProviderResult<Vec<(String, Lookup)>> {
        let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        let body = wire::get_body(&ids, &self.known_keys());
        let reply = self.call(operation, "get_group_info", &body).await?;
        match classify(reply.code) {
            // A batch of one whose only group is missing may fail as a whole.
            CodeOutcome::Fail(FailureClass::NotFound) if ids.len() == 1 => {
                return Ok(vec![(ids[0].to_string(), Lookup::NotFound(reply.info))]);
            }
            CodeOutcome::Fail(class) => return Err(self.error(operation, class, reply.info)),
            CodeOutcome::Ok => {}
        }
        let items = reply
            .body
            .get("GroupInfo")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let item = items
                .iter()
                .find(|item| item.get("GroupId").and_then(Value::as_str) == Some(id));
            let Some(item) = item else {
                let info = CallInfo {
                    message: format!("the answer has no entry for group {id}"),
                    ..reply.info.clone()
                };
                return Err(self.error(operation, FailureClass::Transient, info));
            };
            let lookup = self.lookup(operation, id, item, &reply.info.request_id)?;
            out.push((id.to_string(), lookup));
        }
        Ok(out)
    }

    /// One `GroupInfo[]` item: found, not found, or a failure of its own.
    fn lookup(
        &self,
        operation: Operation,
        id: &str,
        item: &Value,
        request_id: &Option<String>,
    ) -> ProviderResult<Lookup> {
        let code = item.get("ErrorCode").and_then(wire::as_i64).unwrap_or(0);
        let message = item
            .get("ErrorInfo")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let info = CallInfo {
            code,
            message: self.scrub(message),
            request_id: request_id.clone(),
        };
        match classify(code) {
            CodeOutcome::Ok => Ok(Lookup::Found(
                self.split_marker(wire::parse_group(id, item)),
            )),
            CodeOutcome::Fail(FailureClass::NotFound) => Ok(Lookup::NotFound(info)),
            CodeOutcome::Fail(class) => Err(self.error(operation, class, info)),
        }
    }

    /// Reads one group; `Ok(None)` when it does not exist.
    async fn read_one(
        &self,
        operation: Operation,
        id: &str,
        group_type: GroupType,
    ) -> ProviderResult<Option<ObservedGroup>> {
        let key = GroupKey {
            id: id.to_string(),
            group_type,
            owner: None,
        };
        let mut found = self
            .read_batch(operation, std::slice::from_ref(&key))
            .await?;
        Ok(match found.pop() {
            Some((_, Lookup::Found(group))) => Some(group),
            _ => None,
        })
    }

    /// A destroy answered 10015 ("invalid group ID"). Only a read answering 10010 proves
    /// the group gone; a second 10015 means the id itself is wrong for this app, which
    /// no retry fixes; a group that reads back was not disbanded.
    async fn confirm_invalid_id(
        &self,
        key: &GroupKey,
        destroy: CallInfo,
    ) -> ProviderResult<DisbandOutcome> {
        let op = Operation::Disband;
        let mut read = self.read_batch(op, std::slice::from_ref(key)).await?;
        let message = match read.pop() {
            Some((_, Lookup::NotFound(info))) if info.code == GROUP_GONE_CODE => {
                let info = CallInfo {
                    message: format!(
                        "{} (confirmed: get_group_info answers {} for group {})",
                        destroy.message, info.code, key.id
                    ),
                    ..destroy
                };
                return Ok(DisbandOutcome::AlreadyGone(info));
            }
            Some((_, Lookup::NotFound(info))) => format!(
                "group id {:?} is invalid for Tencent: destroy_group answered {} and \
                 get_group_info answered {} ({}); nothing was disbanded. Correct the group id, \
                 or set spec.deletionPolicy: Orphan to release the object without a provider call",
                key.id, destroy.code, info.code, info.message
            ),
            Some((_, Lookup::Found(_))) => format!(
                "destroy_group answered {} ({}) for group {:?}, yet get_group_info still finds it; \
                 nothing was disbanded",
                destroy.code, destroy.message, key.id
            ),
            None => format!(
                "destroy_group answered {} for group {:?} and the confirming read returned no entry",
                destroy.code, key.id
            ),
        };
        let info = CallInfo { message, ..destroy };
        Err(self.error(op, FailureClass::Terminal, info))
    }

    /// The marker key, when the app has one: refused in the custom data of a spec.
    fn check_reserved(
        &self,
        data: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), crate::provider::ConfigError> {
        match &self.config.marker_key {
            Some(key) if data.contains_key(key) => Err(crate::provider::ConfigError::new(
                "spec.customData",
                format!(
                    "key {key:?} is the ChatProvider's ownerDataKey, reserved for the owner marker"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The create request with the marker added to its custom data, when the app has a
    /// marker key.
    fn stamped(&self, request: &CreateRequest) -> CreateRequest {
        let mut request = request.clone();
        if let Some(key) = &self.config.marker_key {
            let marker = request.marker.clone();
            request.attributes.custom_data.insert(key.clone(), marker);
        }
        request
    }

    /// Moves the marker key's value out of the custom data into `marker`, so it is
    /// never part of the attribute diff (converging never removes it).
    fn split_marker(&self, mut group: ObservedGroup) -> ObservedGroup {
        if let Some(key) = &self.config.marker_key {
            group.marker = group
                .attributes
                .custom_data
                .remove(key)
                .filter(|m| !m.is_empty());
        }
        group
    }

    /// Adds `account` to the group silently so it can become the owner.
    async fn ensure_member(&self, key: &GroupKey, account: &str) -> ProviderResult<()> {
        let op = Operation::TransferOwner;
        let body =
            json!({"GroupId": key.id, "Silence": 1, "MemberList": [{"Member_Account": account}]});
        let reply = self.check(op, self.call(op, "add_group_member", &body).await?)?;
        let result = reply
            .body
            .get("MemberList")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|m| m.get("Member_Account").and_then(Value::as_str) == Some(account))
            })
            .and_then(|m| m.get("Result"))
            .and_then(wire::as_i64);
        // 1 added, 2 already a member; no per-member result (10013 answers) is fine too.
        match result {
            None | Some(1) | Some(2) => Ok(()),
            Some(other) => {
                let class = if other == 3 {
                    FailureClass::Transient
                } else {
                    FailureClass::Terminal
                };
                let info = CallInfo {
                    message: format!(
                        "could not add {account} as a member before the transfer (Result {other})"
                    ),
                    ..reply.info
                };
                Err(self.error(op, class, info))
            }
        }
    }
}

#[async_trait]
impl GroupProvider for TencentClient {
    fn id_assignment(&self) -> IdAssignment {
        IdAssignment::CallerChosen
    }

    fn app(&self) -> AppIdentity {
        self.config.app()
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Tencent
    }

    fn max_batch(&self, _group_type: GroupType) -> usize {
        MAX_BATCH
    }

    fn validate_create(&self, request: &CreateRequest) -> Result<(), crate::provider::ConfigError> {
        validate_type_for(ProviderKind::Tencent, request.group_type)
            .and_then(|_| validate_attributes(request.group_type, &request.attributes))
            .and_then(|_| match &request.group_id {
                Some(id) => validate_tencent_group_id(request.group_type, id),
                None => validate_tencent_creatable(request.group_type),
            })
            .and_then(|_| self.check_reserved(&request.attributes.custom_data))
    }

    async fn create_group(&self, request: &CreateRequest) -> ProviderResult<CreateOutcome> {
        let op = Operation::Create;
        self.validate_create(request)
            .map_err(|e| self.rejected(op, &e))?;
        self.remember_keys(request.attributes.custom_data.keys());
        let reply = self
            .call(
                op,
                "create_group",
                &wire::create_body(&self.stamped(request)),
            )
            .await?;
        match classify(reply.code) {
            CodeOutcome::Ok => {
                let id = reply
                    .body
                    .get("GroupId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                match id.or_else(|| request.group_id.clone()) {
                    Some(group_id) => Ok(CreateOutcome::Created {
                        group_id,
                        info: reply.info,
                    }),
                    None => {
                        let info = CallInfo {
                            message: "the create answer has no GroupId".to_string(),
                            ..reply.info
                        };
                        Err(self.error(op, FailureClass::Transient, info))
                    }
                }
            }
            CodeOutcome::Fail(FailureClass::AlreadyExists) => {
                let existing = match &request.group_id {
                    Some(id) => self
                        .read_one(op, id, request.group_type)
                        .await
                        .ok()
                        .flatten(),
                    None => None,
                };
                Ok(CreateOutcome::AlreadyExists {
                    existing,
                    info: reply.info,
                })
            }
            CodeOutcome::Fail(class) => Err(self.error(op, class, reply.info)),
        }
    }

    async fn get_groups(&self, keys: &[GroupKey]) -> ProviderResult<Vec<(String, Lookup)>> {
        self.check_types(Operation::Get, keys)?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_BATCH) {
            out.extend(self.read_batch(Operation::Get, chunk).await?);
        }
        Ok(out)
    }

    async fn find_by_marker(&self, _query: &MarkerQuery) -> ProviderResult<Vec<ObservedGroup>> {
        Ok(Vec::new())
    }

    async fn update_group(
        &self,
        key: &GroupKey,
        changes: &AttributeChanges,
    ) -> ProviderResult<CallInfo> {
        let op = Operation::Update;
        self.check_types(op, std::slice::from_ref(key))?;
        validate_changes(key.group_type, changes)
            .and_then(|_| match &changes.custom_data {
                Some(data) => self.check_reserved(data),
                None => Ok(()),
            })
            .map_err(|e| self.rejected(op, &e))?;
        if changes.is_empty() {
            return Ok(CallInfo {
                code: 0,
                message: "nothing to change".to_string(),
                request_id: None,
            });
        }
        let mut current_keys = BTreeSet::new();
        if let Some(desired) = &changes.custom_data {
            self.remember_keys(desired.keys());
            match self.read_one(op, &key.id, key.group_type).await? {
                Some(group) => current_keys.extend(group.attributes.custom_data.into_keys()),
                None => {
                    let info = CallInfo {
                        code: 10010,
                        message: format!("group {} does not exist", key.id),
                        request_id: None,
                    };
                    return Err(self.error(op, FailureClass::NotFound, info));
                }
            }
        }
        let body = wire::modify_body(&key.id, changes, &current_keys);
        let reply = self.call(op, "modify_group_base_info", &body).await?;
        Ok(self.check(op, reply)?.info)
    }

    async fn transfer_owner(&self, key: &GroupKey, new_owner: &str) -> ProviderResult<CallInfo> {
        let op = Operation::TransferOwner;
        self.check_types(op, std::slice::from_ref(key))?;
        // AVChatRoom has no member list to join; the change itself answers 10007.
        if key.group_type != GroupType::AVChatRoom {
            self.ensure_member(key, new_owner).await?;
        }
        let body = json!({"GroupId": key.id, "NewOwner_Account": new_owner});
        let reply = self.call(op, "change_group_owner", &body).await?;
        Ok(self.check(op, reply)?.info)
    }

    fn carries_marker(&self) -> bool {
        self.config.marker_key.is_some()
    }

    /// Any Tencent id, server-assigned `@TGS#` ones included; the custom-id rules of a
    /// create are checked only if it comes to a create.
    fn validate_group_id(&self, id: &str) -> Result<(), crate::provider::ConfigError> {
        crate::provider::validate_tencent_group_id_to_adopt(id)
    }

    /// Writes `marker` under the app's marker key (AppDefinedData). The key is the
    /// operator's alone (named in the ChatProvider), so no data of the app's own is
    /// overwritten.
    async fn stamp(&self, key: &GroupKey, marker: &str) -> ProviderResult<Stamp> {
        let op = Operation::Update;
        let Some(marker_key) = &self.config.marker_key else {
            return Ok(Stamp::Unsupported);
        };
        self.check_types(op, std::slice::from_ref(key))?;
        let body = json!({
            "GroupId": key.id,
            "AppDefinedData": [{"Key": marker_key, "Value": marker}],
        });
        let reply = self.call(op, "modify_group_base_info", &body).await?;
        self.check(op, reply)?;
        Ok(Stamp::Written)
    }

    async fn disband(&self, key: &GroupKey) -> ProviderResult<DisbandOutcome> {
        let op = Operation::Disband;
        self.check_types(op, std::slice::from_ref(key))?;
        let reply = self
            .call(op, "destroy_group", &json!({"GroupId": key.id}))
            .await?;
        match classify_disband(reply.code) {
            DisbandCode::Disbanded => Ok(DisbandOutcome::Disbanded(reply.info)),
            DisbandCode::AlreadyGone => Ok(DisbandOutcome::AlreadyGone(reply.info)),
            DisbandCode::ConfirmByRead => self.confirm_invalid_id(key, reply.info).await,
            DisbandCode::Fail(class) => Err(self.error(op, class, reply.info)),
        }
    }

    fn add_answer_confirms_join(&self) -> bool {
        true
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
