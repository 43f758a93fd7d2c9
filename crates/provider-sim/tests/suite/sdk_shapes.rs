//! Issue 14 item 6: every answer the simulators give, deserialized into structs
//! transcribed from the official sources (field names and JSON types only).
//!
//! NetEase: the official server SDKs, `netease-im/yunxin-server-sdk-golang`
//! (Go, `src/im/v2/...`) and `netease-im/yunxin-server-sdk-java` (Java,
//! `src/main/java/com/netease/nim/server/sdk/im/v2/...`). Where the two differ,
//! a struct holds the union and says which side has which field.
//! Tencent: the REST API pages on cloud.tencent.com (`document/api/269/...`)
//! and tencentcloud.com (`document/product/1047/...`), and seed 001; for the
//! member commands also their sources in `tencentyun/qcloud-documents` (QCD,
//! `…/服务端API/群组管理/*.md`) and, where a later name or type differs, the
//! third-party `doocs/qcloud-im-server-sdk-java` (DOOCS).
//!
//! `deny_unknown_fields` is set where the source lists the whole object, so a
//! field renamed in the simulator fails here as an unknown field; required
//! fields are plain types, so a field dropped or changing JSON type fails too.
//! Go pointer fields (`*int`, `*bool`) and Java boxed fields the Go side lacks
//! are `Option`.
// Fields exist to be checked by deserialization; many are never read.
#![allow(dead_code)]

use crate::common;

use common::*;
use provider_sim::tencent::MemberCursor;
use provider_sim::{NeteaseSim, NeteaseSimConfig, TencentSim, TencentSimConfig};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

fn parse<T: DeserializeOwned>(what: &str, v: &Value) -> T {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what}: the answer does not match the source shape: {e}\n{v}"))
}

// ---------------------------------------------------------------- NetEase

/// The v2 answer envelope: Go `src/im/v2/util/result_utils.go` `Convert` reads
/// `code` (number), `msg` (string) and `data` (object); `code == 200` is
/// success (Go `src/core/result.go` `Result.IsSuccess`). Seed 000 shows the
/// same three fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeEnvelope<T> {
    code: i64,
    msg: String,
    data: T,
}

/// An empty `data`: Go `DisbandTeamResponseV2`, `TransferTeamOwnerResponseV2`,
/// `AddTeamManagersResponseV2`, `RemoveTeamManagersResponseV2`
/// (`src/im/v2/team/team_v2_responses.go`: "data is an empty object {}"); the
/// same classes in Java `im/v2/team/response/`. Also the `data` of a failure
/// (seed 000 sample: `"data": {}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// Go `Configuration` (`src/im/v2/team/team_v2_requests.go`, used by
/// `TeamInfo`): `join_mode`, `agree_mode`, `invite_mode`,
/// `update_team_info_mode`, `update_extension_mode` (`*int`); Java
/// `GetTeamInfoResponseV2.Configuration` (and the Create/Update/BatchQuery
/// ones) adds `chat_banned_mode` (`Integer`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeConfiguration {
    join_mode: Option<i32>,
    agree_mode: Option<i32>,
    invite_mode: Option<i32>,
    update_team_info_mode: Option<i32>,
    update_extension_mode: Option<i32>,
    chat_banned_mode: Option<i32>,
}

/// Go `TeamInfo` (`src/im/v2/team/team_v2_responses.go`); Java
/// `GetTeamInfoResponseV2.TeamInfo`, `CreateTeamResponseV2.TeamInfo`,
/// `UpdateTeamResponseV2.TeamInfo`, `BatchQueryTeamInfoResponseV2.TeamInfo`
/// (the last one without `owner_account_id`). `team_id` is Go `int64` / Java
/// `Long`: a JSON number.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeTeamInfo {
    team_type: Option<i32>,
    team_id: i64,
    owner_account_id: String,
    member_count: Option<i32>,
    name: String,
    icon: String,
    announcement: String,
    intro: String,
    members_limit: i32,
    server_extension: String,
    customer_extension: String,
    create_time: i64,
    update_time: i64,
    configuration: Option<NeConfiguration>,
}

/// Go `FailedAccount` (`team_v2_responses.go`); Java
/// `CreateTeamResponseV2.FailedAccount`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeFailedAccount {
    account_id: String,
    error_code: i32,
    error_msg: String,
}

/// Go `CreateTeamResponseV2` (`team_v2_responses.go`); Java
/// `CreateTeamResponseV2`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeCreateTeamResponse {
    failed_list: Vec<NeFailedAccount>,
    team_info: NeTeamInfo,
}

/// Go `GetTeamInfoResponseV2` and `UpdateTeamResponseV2`
/// (`team_v2_responses.go`); Java `GetTeamInfoResponseV2`,
/// `UpdateTeamResponseV2`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeTeamInfoResponse {
    team_info: NeTeamInfo,
}

/// Go `BatchQueryTeamInfoResponseV2` (`team_info_list` only,
/// `team_v2_responses.go`); Java `BatchQueryTeamInfoResponseV2` adds
/// `invalid_tids` (`List<Long>`: numbers).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeBatchQueryTeamInfoResponse {
    team_info_list: Vec<NeTeamInfo>,
    invalid_tids: Option<Vec<i64>>,
}

/// Go `TeamConfiguration` (`src/im/v2/team_member/team_member_v2_responses.go`);
/// Java `QueryJoinedTeamsResponseV2.TeamConfiguration`: the same five keys, no
/// `chat_banned_mode`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeJoinedConfiguration {
    join_mode: Option<i32>,
    agree_mode: Option<i32>,
    invite_mode: Option<i32>,
    update_team_info_mode: Option<i32>,
    update_extension_mode: Option<i32>,
}

/// Go `MemberInfo` (`team_member_v2_responses.go`: `account_id`,
/// `team_member_type`, `team_nick`, `chat_banned`, `message_notify_state`,
/// `join_time`, `extension`, `server_extension`) and Java
/// `QueryJoinedTeamsResponseV2.MemberInfo` (`member_role`, `account_id`,
/// `chat_banned`, `team_nick`, `join_time`, `update_time`,
/// `follow_account_ids`, `invitor_account_id`, `server_extension`): the union.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeMemberInfo {
    account_id: String,
    team_member_type: Option<i32>,
    member_role: Option<i32>,
    team_nick: Option<String>,
    chat_banned: Option<bool>,
    message_notify_state: Option<i32>,
    join_time: Option<i64>,
    update_time: Option<i64>,
    extension: Option<String>,
    server_extension: Option<String>,
    follow_account_ids: Option<Vec<String>>,
    invitor_account_id: Option<String>,
}

/// Go `JoinedTeamInfo` (`team_member_v2_responses.go`); Java
/// `QueryJoinedTeamsResponseV2.TeamInfo`. No team `server_extension`: an entry
/// carrying one is refused here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeJoinedTeamInfo {
    team_id: i64,
    owner_account_id: String,
    name: String,
    icon: String,
    member_count: Option<i32>,
    members_limit: i32,
    create_time: i64,
    update_time: i64,
    configuration: Option<NeJoinedConfiguration>,
    member_info: Option<NeMemberInfo>,
}

/// Go `QueryJoinedTeamsResponseV2` (`team_member_v2_responses.go`): `has_more`
/// (`*bool`), `next_token` (string), `team_info_list`; Java
/// `QueryJoinedTeamsResponseV2` the same.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeQueryJoinedTeamsResponse {
    has_more: Option<bool>,
    next_token: String,
    team_info_list: Vec<NeJoinedTeamInfo>,
}

/// Go `FailedOperation` (`team_member_v2_responses.go`); Java
/// `InviteTeamMembersResponseV2.FailedInvitation` and
/// `KickTeamMembersResponseV2.FailedKick` (`error_code` `Integer`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeFailedOperation {
    account_id: String,
    error_code: i32,
    error_msg: String,
}

/// Go `InviteTeamMembersResponseV2` (`team_member_v2_responses.go`); Java
/// `InviteTeamMembersResponseV2`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeInviteTeamMembersResponse {
    success_list: Vec<String>,
    failed_list: Vec<NeFailedOperation>,
}

/// Go `KickTeamMembersResponseV2` (`team_member_v2_responses.go`:
/// `success_list` `[]string`, `failed_list` `[]FailedOperation`); Java
/// `im/v2/team_member/response/KickTeamMembersResponseV2` (`success_list`,
/// `failed_list` of `FailedKick`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeKickTeamMembersResponse {
    success_list: Vec<String>,
    failed_list: Vec<NeFailedOperation>,
}

/// Go `TeamMember` (`src/im/v2/team/team_v2_responses.go`): `team_id` (`int64`),
/// `account_id`, `member_role` (`*int`: 0 normal, 1 owner, 2 manager),
/// `team_nick`, `server_extension`, `chat_banned` (`*bool`), `join_time`,
/// `update_time` (`int64`), `invitor_account_id`; Java
/// `im/v2/team/response/ListTeamMembersResponseV2.TeamMember`: the same nine
/// keys (`Long`, `Integer`, `Boolean`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeTeamMember {
    team_id: i64,
    account_id: String,
    member_role: Option<i32>,
    team_nick: String,
    server_extension: String,
    chat_banned: Option<bool>,
    join_time: i64,
    update_time: i64,
    invitor_account_id: String,
}

/// Go `ListTeamMembersResponseV2` (`team_v2_responses.go`): `items`,
/// `next_token` (string), `has_more` (`*bool`); Java
/// `ListTeamMembersResponseV2` the same three keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeListTeamMembersResponse {
    items: Vec<NeTeamMember>,
    next_token: String,
    has_more: Option<bool>,
}

async fn ne_ok<T: DeserializeOwned>(
    ne: &Ne<'_>,
    what: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> T {
    let v = ne.call(method, path, body).await;
    let env: NeEnvelope<T> = parse(what, &v);
    assert_eq!(env.code, 200, "{what}: {v}");
    env.data
}

#[tokio::test]
async fn netease_answers_deserialize_into_the_sdk_types() {
    let sim = NeteaseSim::start(NeteaseSimConfig {
        accounts: Some(["alice", "bob", "carol"].map(String::from).to_vec()),
        ..Default::default()
    })
    .await
    .unwrap();
    let ne = Ne::new(&sim);

    // Create (v2.1; Go `CreateTeam`, `team_v2_url_context.go`).
    let created: NeCreateTeamResponse = ne_ok(
        &ne,
        "create",
        "POST",
        "/im/v2.1/teams",
        Some(json!({
            "owner_account_id": "alice", "team_type": 1, "name": "shapes",
            "server_extension": "{\"k\":\"v\"}", "invite_account_ids": ["bob", "ghost"],
            "configuration": {"agree_mode": 1, "join_mode": 1},
        })),
    )
    .await;
    assert_eq!(created.failed_list.len(), 1);
    assert_eq!(created.failed_list[0].account_id, "ghost");
    let info = &created.team_info;
    assert_eq!(
        (info.team_type, info.member_count, info.name.as_str()),
        (Some(1), Some(2), "shapes")
    );
    assert_eq!(info.server_extension, "{\"k\":\"v\"}");
    let cfg = info.configuration.as_ref().expect("configuration");
    assert_eq!((cfg.join_mode, cfg.agree_mode), (Some(1), Some(1)));
    let id = info.team_id;

    // Get (v2.1).
    let got: NeTeamInfoResponse = ne_ok(
        &ne,
        "get",
        "GET",
        &format!("/im/v2.1/teams/{id}?team_type=1"),
        None,
    )
    .await;
    assert_eq!(got.team_info.team_id, id);
    assert_eq!(got.team_info.owner_account_id, "alice");

    // Batch get (v2.1; `team_ids` a JSON array of numbers, Go `BatchQueryTeamInfo`).
    let missing = 42_i64;
    let batch: NeBatchQueryTeamInfoResponse = ne_ok(
        &ne,
        "batch_get",
        "GET",
        &format!("/im/v2.1/teams?team_type=1&team_ids=[{id},{missing}]"),
        None,
    )
    .await;
    assert_eq!(batch.team_info_list.len(), 1);
    assert_eq!(batch.team_info_list[0].team_id, id);
    assert_eq!(batch.invalid_tids, Some(vec![missing]));

    // Update (v2.1 PATCH).
    let updated: NeTeamInfoResponse = ne_ok(
        &ne,
        "update",
        "PATCH",
        &format!("/im/v2.1/teams/{id}"),
        Some(json!({"team_type": 1, "operator_id": "alice", "intro": "new"})),
    )
    .await;
    assert_eq!(updated.team_info.intro, "new");

    // Managers (v2; empty data).
    for (method, action) in [("POST", "add_manager"), ("DELETE", "remove_manager")] {
        let _: Empty = ne_ok(
            &ne,
            action,
            method,
            &format!("/im/v2/teams/{id}/actions/{action}"),
            Some(json!({"team_type": 1, "operator_id": "alice", "managers": ["bob"]})),
        )
        .await;
    }

    // Invite (v2 team_members; `team_id` a number, Go `InviteTeamMembersRequestV2`).
    let invited: NeInviteTeamMembersResponse = ne_ok(
        &ne,
        "invite",
        "POST",
        "/im/v2/team_members",
        Some(
            json!({"operator_id": "alice", "team_id": id, "team_type": 1,
            "invite_account_ids": ["carol", "ghost"]}),
        ),
    )
    .await;
    assert_eq!(invited.success_list, ["carol"]);
    assert_eq!(invited.failed_list[0].account_id, "ghost");

    // List members (v2.1 GET, query parameters; Go `ListTeamMembers`, Java
    // `listTeamMembers`): carol made a manager first so all three roles show.
    let _: Empty = ne_ok(
        &ne,
        "add_manager carol",
        "POST",
        &format!("/im/v2/teams/{id}/actions/add_manager"),
        Some(json!({"team_type": 1, "operator_id": "alice", "managers": ["carol"]})),
    )
    .await;
    let list = format!("/im/v2.1/teams/{id}/actions/list_members?team_type=1&limit=2");
    let page1: NeListTeamMembersResponse = ne_ok(&ne, "list_members", "GET", &list, None).await;
    assert_eq!(page1.has_more, Some(true));
    assert!(!page1.next_token.is_empty());
    // The cursor under the Java name (`page_token`) and the Go name (`next_token`).
    for cursor in ["page_token", "next_token"] {
        let page2: NeListTeamMembersResponse = ne_ok(
            &ne,
            "list_members page 2",
            "GET",
            &format!("{list}&{cursor}={}", page1.next_token),
            None,
        )
        .await;
        assert_eq!(
            (page2.has_more, page2.next_token.as_str()),
            (Some(false), "")
        );
        let all: Vec<&NeTeamMember> = page1.items.iter().chain(&page2.items).collect();
        let mut roles: Vec<(&str, Option<i32>)> = all
            .iter()
            .map(|m| (m.account_id.as_str(), m.member_role))
            .collect();
        roles.sort();
        assert_eq!(
            roles,
            [("alice", Some(1)), ("bob", Some(0)), ("carol", Some(2))],
            "{cursor}"
        );
        assert!(all.iter().all(|m| m.team_id == id));
        let carol = all.iter().find(|m| m.account_id == "carol").unwrap();
        assert_eq!(carol.invitor_account_id, "alice");
    }

    // Kick (v2 DELETE, query parameters, ids comma-joined; Go `KickTeamMembers`).
    let kicked: NeKickTeamMembersResponse = ne_ok(
        &ne,
        "kick_member",
        "DELETE",
        &format!(
            "/im/v2/team_members/actions/kick_member?operator_id=alice&team_id={id}\
             &team_type=1&kick_account_ids=carol,ghost"
        ),
        None,
    )
    .await;
    assert_eq!(kicked.success_list, ["carol"]);
    assert_eq!(kicked.failed_list.len(), 1);
    assert_eq!(kicked.failed_list[0].account_id, "ghost");
    assert!(!kicked.failed_list[0].error_msg.is_empty());
    let after: NeListTeamMembersResponse = ne_ok(
        &ne,
        "list_members after kick",
        "GET",
        &format!("/im/v2.1/teams/{id}/actions/list_members?team_type=1"),
        None,
    )
    .await;
    let left: Vec<&str> = after.items.iter().map(|m| m.account_id.as_str()).collect();
    assert_eq!((left, after.has_more), (vec!["alice", "bob"], Some(false)));

    // Joined teams (v2.1), paged, with and without member_info.
    let second = ne_create(&sim, "alice", json!({})).await;
    let path = "/im/v2.1/team_members/alice/actions/joined_teams?team_type=1&limit=1";
    let page1: NeQueryJoinedTeamsResponse = ne_ok(&ne, "joined_teams", "GET", path, None).await;
    assert_eq!(
        (page1.has_more, page1.team_info_list.len()),
        (Some(true), 1)
    );
    assert!(!page1.next_token.is_empty());
    assert!(page1.team_info_list[0].member_info.is_none());
    let page2: NeQueryJoinedTeamsResponse = ne_ok(
        &ne,
        "joined_teams",
        "GET",
        &format!(
            "{path}&need_return_member_info=1&page_token={}",
            page1.next_token
        ),
        None,
    )
    .await;
    assert_eq!(page2.has_more, Some(false));
    let mut seen: Vec<String> = page1
        .team_info_list
        .iter()
        .chain(&page2.team_info_list)
        .map(|t| t.team_id.to_string())
        .collect();
    seen.sort();
    let mut want = vec![id.to_string(), second.clone()];
    want.sort();
    assert_eq!(seen, want);
    let member = page2.team_info_list[0]
        .member_info
        .as_ref()
        .expect("member_info when asked for");
    assert_eq!(member.account_id, "alice");

    // Transfer owner (v2 PATCH; empty data).
    let _: Empty = ne_ok(
        &ne,
        "transfer_owner",
        "PATCH",
        &format!("/im/v2/teams/{id}/actions/transfer_owner"),
        Some(json!({"team_type": 1, "new_owner_account_id": "bob", "leave": 2})),
    )
    .await;

    // Disband: v2.1 with query parameters (Go `DisbandTeam`), v2 with a JSON
    // body (seed 000). Empty data.
    let _: Empty = ne_ok(
        &ne,
        "disband v2.1",
        "DELETE",
        &format!("/im/v2.1/teams/{id}?team_type=1&operator_id=bob"),
        None,
    )
    .await;
    let _: Empty = ne_ok(
        &ne,
        "disband v2",
        "DELETE",
        &format!("/im/v2/teams/{second}"),
        Some(json!({"team_type": 1, "operator_id": "alice"})),
    )
    .await;

    // A failure: the same envelope, `data` {}.
    let v = ne
        .call("GET", &format!("/im/v2.1/teams/{id}?team_type=1"), None)
        .await;
    let failed: NeEnvelope<Empty> = parse("failed get", &v);
    assert_ne!(failed.code, 200);
    assert!(!failed.msg.is_empty());
}

// ---------------------------------------------------------------- Tencent

/// Seed 001 (destroy_group "Response fields"): `ActionStatus` (String, "OK" |
/// "FAIL"), `ErrorCode` (Integer), `ErrorInfo` (String): the whole answer of
/// destroy_group, and of modify_group_base_info
/// (cloud.tencent.com/document/api/269/1620), change_group_owner (269/1633)
/// and delete_group_member (269/1622). `RequestId` is served by the simulator
/// but in none of these pages' samples: unconfirmed, optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcEnvelope {
    action_status: String,
    error_code: i64,
    error_info: String,
    request_id: Option<String>,
}

/// create_group answer (cloud.tencent.com/document/api/269/1615;
/// tencentcloud.com/document/product/1047/34895): the envelope and `GroupId`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcCreateGroup {
    action_status: String,
    error_code: i64,
    error_info: String,
    request_id: Option<String>,
    group_id: String,
}

/// `AppDefinedData` / `AppMemberDefinedData` items (269/1616): `Key`, `Value`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcKeyValue {
    key: String,
    value: String,
}

/// get_group_info `MemberList[]` item (269/1616 sample): `Member_Account`,
/// `Role`, `JoinTime`, `MsgSeq`, `MsgFlag`, `LastSendMsgTime`, `MuteUntil`
/// (older edition `ShutUpUntil`), `AppMemberDefinedData`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcMember {
    #[serde(rename = "Member_Account")]
    member_account: String,
    role: Option<String>,
    join_time: Option<u64>,
    msg_seq: Option<u64>,
    msg_flag: Option<String>,
    last_send_msg_time: Option<u64>,
    mute_until: Option<u64>,
    shut_up_until: Option<u64>,
    app_member_defined_data: Option<Vec<TcKeyValue>>,
}

/// get_group_info `GroupInfo[]` item (cloud.tencent.com/document/api/269/1616,
/// tencentcloud.com/document/product/1047/34961, sample response): `GroupId`,
/// per-item `ErrorCode` / `ErrorInfo`, then the base info a filter may leave
/// out (hence `Option`). `MuteAllMember` (English page) is `ShutUpAllMember` in
/// the older Chinese edition. `InviteJoinOption` is documented for create and
/// modify (269/1615, 269/1620) but not in this page's sample: unconfirmed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcGroupInfo {
    group_id: String,
    error_code: i64,
    error_info: String,
    #[serde(rename = "Type")]
    group_type: Option<String>,
    name: Option<String>,
    appid: Option<u64>,
    introduction: Option<String>,
    notification: Option<String>,
    face_url: Option<String>,
    #[serde(rename = "Owner_Account")]
    owner_account: Option<String>,
    create_time: Option<u64>,
    info_seq: Option<u64>,
    last_info_time: Option<u64>,
    last_msg_time: Option<u64>,
    next_msg_seq: Option<u64>,
    member_num: Option<u64>,
    max_member_num: Option<u64>,
    apply_join_option: Option<String>,
    invite_join_option: Option<String>,
    mute_all_member: Option<String>,
    shut_up_all_member: Option<String>,
    app_defined_data: Option<Vec<TcKeyValue>>,
    member_list: Option<Vec<TcMember>>,
}

/// get_group_info answer (269/1616): the envelope and `GroupInfo[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcGetGroupInfo {
    action_status: String,
    error_code: i64,
    error_info: String,
    request_id: Option<String>,
    group_info: Vec<TcGroupInfo>,
}

/// add_group_member `MemberList[]` item (cloud.tencent.com/document/api/269/1621,
/// tencentcloud.com/document/product/1047/34921): `Member_Account` and `Result`
/// (Integer: 0 failed, 1 added, 2 already a member, 3 awaiting confirmation).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcAddResult {
    #[serde(rename = "Member_Account")]
    member_account: String,
    result: i64,
}

/// add_group_member answer (269/1621): the envelope and `MemberList[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcAddGroupMember {
    action_status: String,
    error_code: i64,
    error_info: String,
    request_id: Option<String>,
    member_list: Vec<TcAddResult>,
}

/// get_joined_group_list `GroupIdList[]` item (cloud.tencent.com/document/api/269/1625,
/// sample with a filter): `GroupId` and the base-info fields asked for. Which
/// fields come without a filter is unconfirmed; the simulator adds `Type` and
/// `Name`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcJoinedGroup {
    group_id: String,
    #[serde(rename = "Type")]
    group_type: Option<String>,
    name: Option<String>,
    introduction: Option<String>,
    notification: Option<String>,
    face_url: Option<String>,
    #[serde(rename = "Owner_Account")]
    owner_account: Option<String>,
    create_time: Option<u64>,
    last_info_time: Option<u64>,
    last_msg_time: Option<u64>,
    next_msg_seq: Option<u64>,
    member_num: Option<u64>,
    max_member_num: Option<u64>,
    apply_join_option: Option<String>,
    shut_up_all_member: Option<String>,
    mute_all_member: Option<String>,
    self_info: Option<Value>,
}

/// get_joined_group_list answer (269/1625): the envelope, `TotalCount`,
/// `GroupIdList[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcJoinedGroupList {
    action_status: String,
    error_code: i64,
    error_info: String,
    request_id: Option<String>,
    total_count: u64,
    group_id_list: Vec<TcJoinedGroup>,
}

/// get_appid_group_list `GroupIdList[]` item (cloud.tencent.com/document/api/269/1614).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcGroupIdItem {
    group_id: String,
}

/// get_appid_group_list answer (269/1614): the envelope, `TotalCount`,
/// `GroupIdList[]` and `Next` (an unsigned integer cursor, 0 when done).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcAppidGroupList {
    action_status: String,
    error_code: i64,
    error_info: String,
    request_id: Option<String>,
    total_count: u64,
    group_id_list: Vec<TcGroupIdItem>,
    next: u64,
}

/// get_role_in_group `UserIdList[]` item (cloud.tencent.com/document/api/269/1626;
/// QCD `查询用户在群组中的身份.md`): `Member_Account` and `Role` (String: `Owner`,
/// `Admin`, `Member`, `NotMember`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcRoleItem {
    #[serde(rename = "Member_Account")]
    member_account: String,
    role: String,
}

/// get_role_in_group answer (269/1626): the envelope and `UserIdList[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcGetRoleInGroup {
    action_status: String,
    error_code: i64,
    error_info: String,
    request_id: Option<String>,
    user_id_list: Vec<TcRoleItem>,
}

/// get_group_member_info `MemberList[]` item (cloud.tencent.com/document/api/269/1617;
/// QCD `获取群组成员详细资料.md`, sample responses): `Member_Account`, then what
/// `MemberInfoFilter` names (all without one): `Role`, `JoinTime`, `MsgSeq`,
/// `MsgFlag`, `LastSendMsgTime`, `ShutUpUntil` (`MuteUntil` in DOOCS
/// `model/group/MemberProfile.java`, the newer name), `NameCard`,
/// `AppMemberDefinedData` [{`Key`, `Value`}]. Numbers for times and `MsgSeq`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcGroupMember {
    #[serde(rename = "Member_Account")]
    member_account: String,
    role: Option<String>,
    join_time: Option<u64>,
    msg_seq: Option<u64>,
    msg_flag: Option<String>,
    last_send_msg_time: Option<u64>,
    shut_up_until: Option<u64>,
    mute_until: Option<u64>,
    name_card: Option<String>,
    app_member_defined_data: Option<Vec<TcKeyValue>>,
}

/// The Community cursor `Next`: an Integer per QCD `获取群组成员详细资料.md`
/// ("首次调用填写0"), a String per DOOCS `GetGroupMemberInfoResult.next`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged)]
enum TcNext {
    Integer(u64),
    String(String),
}

/// get_group_member_info answer (269/1617; QCD `获取群组成员详细资料.md`; DOOCS
/// `GetGroupMemberInfoResult`): the envelope, `MemberNum` (Integer, the group's
/// member count), `MemberList[]`, and `Next` for Community groups only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TcGetGroupMemberInfo {
    action_status: String,
    error_code: i64,
    error_info: String,
    request_id: Option<String>,
    member_num: u64,
    member_list: Vec<TcGroupMember>,
    next: Option<TcNext>,
}

fn tc_ok(env: &TcEnvelope, what: &str) {
    assert_eq!(
        (env.action_status.as_str(), env.error_code),
        ("OK", 0),
        "{what}"
    );
}

#[tokio::test]
async fn tencent_answers_deserialize_into_the_documented_shapes() {
    let sim = TencentSim::start(TencentSimConfig::default())
        .await
        .unwrap();

    let v = tencent(
        &sim,
        "create_group",
        json!({
            "Type": "Public", "Name": "shapes", "GroupId": "shapes-1", "Owner_Account": "alice",
            "MaxMemberCount": 100, "AppDefinedData": [{"Key": "k", "Value": "v"}],
            "MemberList": [{"Member_Account": "bob"}],
        }),
    )
    .await;
    let created: TcCreateGroup = parse("create_group", &v);
    assert_eq!(
        (created.action_status.as_str(), created.error_code),
        ("OK", 0)
    );
    assert_eq!(created.group_id, "shapes-1");

    // Full answer (no filter), a filtered one, and a missing group.
    let v = tencent(
        &sim,
        "get_group_info",
        json!({"GroupIdList": ["shapes-1", "missing"]}),
    )
    .await;
    let info: TcGetGroupInfo = parse("get_group_info", &v);
    assert_eq!((info.action_status.as_str(), info.error_code), ("OK", 0));
    let group = &info.group_info[0];
    assert_eq!(
        (group.error_code, group.group_type.as_deref()),
        (0, Some("Public"))
    );
    assert_eq!(
        (group.member_num, group.max_member_num),
        (Some(2), Some(100))
    );
    assert_eq!(group.owner_account.as_deref(), Some("alice"));
    assert!(group.create_time.is_some() && group.mute_all_member.is_some());
    let members = group.member_list.as_ref().expect("MemberList");
    assert_eq!(members[0].member_account, "alice");
    assert_eq!(members[0].role.as_deref(), Some("Owner"));
    let data = group.app_defined_data.as_ref().expect("AppDefinedData");
    assert_eq!((data[0].key.as_str(), data[0].value.as_str()), ("k", "v"));
    let gone = &info.group_info[1];
    assert_eq!(
        (gone.group_id.as_str(), gone.error_code),
        ("missing", 10010)
    );
    assert!(gone.name.is_none());

    let v = tencent(
        &sim,
        "get_group_info",
        json!({"GroupIdList": ["shapes-1"], "ResponseFilter": {
            "GroupBaseInfoFilter": ["Type", "Name", "Owner_Account", "MaxMemberNum"],
            "AppDefinedDataFilter_Group": ["k"],
        }}),
    )
    .await;
    let filtered: TcGetGroupInfo = parse("get_group_info (filtered)", &v);
    let group = &filtered.group_info[0];
    assert!(group.member_list.is_none() && group.introduction.is_none());
    assert_eq!(group.name.as_deref(), Some("shapes"));

    let v = tencent(
        &sim,
        "modify_group_base_info",
        json!({"GroupId": "shapes-1", "Name": "renamed", "MaxMemberNum": 50}),
    )
    .await;
    tc_ok(
        &parse("modify_group_base_info", &v),
        "modify_group_base_info",
    );

    let v = tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "shapes-1", "Silence": 1,
            "MemberList": [{"Member_Account": "carol"}, {"Member_Account": "bob"}]}),
    )
    .await;
    let added: TcAddGroupMember = parse("add_group_member", &v);
    assert_eq!(added.error_code, 0);
    let results: Vec<(&str, i64)> = added
        .member_list
        .iter()
        .map(|m| (m.member_account.as_str(), m.result))
        .collect();
    assert_eq!(results, [("carol", 1), ("bob", 2)]);

    // modify_group_member_info (cloud.tencent.com/document/api/269/1623; QCD
    // `修改群成员资料.md`): the envelope only.
    let v = tencent(
        &sim,
        "modify_group_member_info",
        json!({"GroupId": "shapes-1", "Member_Account": "carol", "Role": "Admin",
            "NameCard": "c"}),
    )
    .await;
    tc_ok(
        &parse("modify_group_member_info", &v),
        "modify_group_member_info",
    );

    let v = tencent(
        &sim,
        "get_role_in_group",
        json!({"GroupId": "shapes-1", "User_Account": ["alice", "carol", "bob", "nobody"]}),
    )
    .await;
    let roles: TcGetRoleInGroup = parse("get_role_in_group", &v);
    assert_eq!((roles.action_status.as_str(), roles.error_code), ("OK", 0));
    let roles: Vec<(&str, &str)> = roles
        .user_id_list
        .iter()
        .map(|r| (r.member_account.as_str(), r.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("alice", "Owner"),
            ("carol", "Admin"),
            ("bob", "Member"),
            ("nobody", "NotMember")
        ]
    );

    // get_group_member_info: unfiltered (every field), then filtered and paged.
    let v = tencent(
        &sim,
        "get_group_member_info",
        json!({"GroupId": "shapes-1"}),
    )
    .await;
    let listed: TcGetGroupMemberInfo = parse("get_group_member_info", &v);
    assert_eq!((listed.error_code, listed.member_num), (0, 3));
    assert!(listed.next.is_none(), "Next is for Community only");
    let mut roles: Vec<(&str, Option<&str>)> = listed
        .member_list
        .iter()
        .map(|m| (m.member_account.as_str(), m.role.as_deref()))
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            ("alice", Some("Owner")),
            ("bob", Some("Member")),
            ("carol", Some("Admin"))
        ]
    );
    for m in &listed.member_list {
        assert!(
            m.join_time.is_some() && m.msg_flag.is_some() && m.name_card.is_some(),
            "no filter: the full profile, {m:?}"
        );
    }
    let v = tencent(
        &sim,
        "get_group_member_info",
        json!({"GroupId": "shapes-1", "Limit": 1, "Offset": 1,
            "MemberInfoFilter": ["Role", "NameCard"], "MemberRoleFilter": ["Admin", "Member"]}),
    )
    .await;
    let page: TcGetGroupMemberInfo = parse("get_group_member_info (filtered)", &v);
    assert_eq!((page.member_num, page.member_list.len()), (3, 1));
    let m = &page.member_list[0];
    assert!(m.role.is_some() && m.name_card.is_some());
    assert!(m.join_time.is_none() && m.msg_seq.is_none() && m.shut_up_until.is_none());

    let v = tencent(
        &sim,
        "delete_group_member",
        json!({"GroupId": "shapes-1", "MemberToDel_Account": ["carol"]}),
    )
    .await;
    tc_ok(&parse("delete_group_member", &v), "delete_group_member");

    let v = tencent(
        &sim,
        "change_group_owner",
        json!({"GroupId": "shapes-1", "NewOwner_Account": "bob"}),
    )
    .await;
    tc_ok(&parse("change_group_owner", &v), "change_group_owner");

    let v = tencent(
        &sim,
        "get_joined_group_list",
        json!({"Member_Account": "bob"}),
    )
    .await;
    let joined: TcJoinedGroupList = parse("get_joined_group_list", &v);
    assert_eq!((joined.error_code, joined.total_count), (0, 1));
    assert_eq!(joined.group_id_list[0].group_id, "shapes-1");

    let v = tencent(&sim, "get_appid_group_list", json!({"Limit": 10})).await;
    let listed: TcAppidGroupList = parse("get_appid_group_list", &v);
    assert_eq!(
        (listed.error_code, listed.total_count, listed.next),
        (0, 1, 0)
    );
    assert_eq!(listed.group_id_list[0].group_id, "shapes-1");

    let v = tencent(&sim, "destroy_group", json!({"GroupId": "shapes-1"})).await;
    tc_ok(&parse("destroy_group", &v), "destroy_group");

    // The failure envelope: seed 001, `ActionStatus` "FAIL" and the code.
    let v = tencent(&sim, "destroy_group", json!({"GroupId": "shapes-1"})).await;
    let failed: TcEnvelope = parse("destroy_group (gone)", &v);
    assert_eq!(
        (failed.action_status.as_str(), failed.error_code),
        ("FAIL", 10010)
    );
    assert!(!failed.error_info.is_empty());
}

/// get_group_member_info on a Community group pages with `Next` (269/1617): the
/// answer carries it under either reading of its type (`member_cursor`).
#[tokio::test]
async fn tencent_community_member_pages_deserialize_into_the_documented_shape() {
    for cursor in [MemberCursor::Integer, MemberCursor::String] {
        let sim = TencentSim::start(TencentSimConfig {
            member_cursor: cursor,
            ..Default::default()
        })
        .await
        .unwrap();
        let v = tencent(
            &sim,
            "create_group",
            json!({"Type": "Community", "Name": "c", "GroupId": "@TGS#_shapes",
                "Owner_Account": "alice"}),
        )
        .await;
        let created: TcCreateGroup = parse("create_group (Community)", &v);
        assert_eq!(created.error_code, 0);
        let v = tencent(
            &sim,
            "add_group_member",
            json!({"GroupId": "@TGS#_shapes", "MemberList": [{"Member_Account": "bob"}]}),
        )
        .await;
        let _: TcAddGroupMember = parse("add_group_member (Community)", &v);
        let (first, last) = match cursor {
            MemberCursor::Integer => (json!(0), TcNext::Integer(0)),
            MemberCursor::String => (json!(""), TcNext::String(String::new())),
        };
        let v = tencent(
            &sim,
            "get_group_member_info",
            json!({"GroupId": "@TGS#_shapes", "Limit": 1, "Next": first}),
        )
        .await;
        let page1: TcGetGroupMemberInfo = parse("get_group_member_info (Community)", &v);
        assert_eq!((page1.member_num, page1.member_list.len()), (2, 1));
        let next = page1.next.expect("Next on a Community page");
        assert_ne!(next, last, "{cursor:?}: a cursor while members remain");
        let next = match next {
            TcNext::Integer(n) => json!(n),
            TcNext::String(s) => json!(s),
        };
        let v = tencent(
            &sim,
            "get_group_member_info",
            json!({"GroupId": "@TGS#_shapes", "Limit": 1, "Next": next}),
        )
        .await;
        let page2: TcGetGroupMemberInfo = parse("get_group_member_info (Community, 2)", &v);
        assert_eq!(page2.member_list.len(), 1);
        assert_eq!(page2.next, Some(last), "{cursor:?}: done");
    }
}
