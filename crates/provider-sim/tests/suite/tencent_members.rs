//! Tencent member commands and list commands.

use crate::common;

use common::*;
use provider_sim::tencent::{MemberCursor, UnknownMemberAnswer};
use provider_sim::{TencentSim, TencentSimConfig};
use serde_json::json;

async fn sim() -> TencentSim {
    let config = TencentSimConfig {
        accounts: Some(
            ["alice", "bob", "carol", "administrator"]
                .map(String::from)
                .to_vec(),
        ),
        rate_limit_per_api: 1000,
        ..Default::default()
    };
    TencentSim::start(config).await.unwrap()
}

fn results(v: &serde_json::Value) -> Vec<(String, i64)> {
    v["MemberList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Member_Account"].as_str().unwrap().to_string(),
                m["Result"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn adding_members_reports_a_result_per_account() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    let v = tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "g", "MemberList": [
            {"Member_Account": "bob"}, {"Member_Account": "alice"},
        ]}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(results(&v), [("bob".into(), 1), ("alice".into(), 2)]);
    assert_eq!(sim.group("g").unwrap().members, ["alice", "bob"]);
    let too_many: Vec<_> = (0..21)
        .map(|i| json!({"Member_Account": format!("u{i}")}))
        .collect();
    let v = tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "g", "MemberList": too_many}),
    )
    .await;
    assert_eq!(code(&v), 10005);
}

#[tokio::test]
async fn an_unknown_account_fails_the_whole_add_by_default() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    let v = tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "ghost"}]}),
    )
    .await;
    assert_eq!(code(&v), 10019, "{v}");
    assert_eq!(sim.group("g").unwrap().members, ["alice"]);
}

#[tokio::test]
async fn an_unknown_account_can_be_answered_with_result_zero_instead() {
    let sim = TencentSim::start(TencentSimConfig {
        accounts: Some(["alice", "bob", "administrator"].map(String::from).to_vec()),
        unknown_member_answer: UnknownMemberAnswer::ResultZero,
        ..Default::default()
    })
    .await
    .unwrap();
    create_public(&sim, "g", "alice").await;
    let v = tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "ghost"}]}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(results(&v), [("bob".into(), 1), ("ghost".into(), 0)]);
    assert_eq!(sim.group("g").unwrap().members, ["alice", "bob"]);
}

#[tokio::test]
async fn invites_can_wait_for_consent_when_the_sim_is_set_up_so() {
    let sim = TencentSim::start(TencentSimConfig {
        pending_on_need_permission: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let v = tencent(
        &sim,
        "create_group",
        json!({"Type": "Public", "Name": "n", "GroupId": "g",
        "Owner_Account": "alice", "InviteJoinOption": "NeedPermission"}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    let v = tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "alice"}]}),
    )
    .await;
    assert_eq!(results(&v), [("bob".into(), 3), ("alice".into(), 2)]);
    assert_eq!(sim.group("g").unwrap().members, ["alice"]);
}

#[tokio::test]
async fn a_full_group_refuses_new_members() {
    let sim = sim().await;
    let v = tencent(&sim, "create_group", json!({"Type": "Public", "Name": "n", "GroupId": "g", "Owner_Account": "alice", "MaxMemberCount": 2})).await;
    assert_eq!(code(&v), 0);
    let v = tencent(&sim, "add_group_member", json!({"GroupId": "g", "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "carol"}]})).await;
    assert_eq!(code(&v), 10014);
    assert_eq!(sim.group("g").unwrap().members, ["alice"]);
}

#[tokio::test]
async fn deleting_members_is_idempotent_but_spares_the_owner() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "bob"}]}),
    )
    .await;
    for _ in 0..2 {
        let v = tencent(
            &sim,
            "delete_group_member",
            json!({"GroupId": "g", "MemberToDel_Account": ["bob", "carol"]}),
        )
        .await;
        assert_eq!(code(&v), 0, "{v}");
    }
    assert_eq!(sim.group("g").unwrap().members, ["alice"]);
    let v = tencent(
        &sim,
        "delete_group_member",
        json!({"GroupId": "g", "MemberToDel_Account": ["alice"]}),
    )
    .await;
    assert_eq!(code(&v), 10004);
    tencent(
        &sim,
        "create_group",
        json!({"Type": "AVChatRoom", "Name": "live", "GroupId": "live"}),
    )
    .await;
    let v = tencent(
        &sim,
        "delete_group_member",
        json!({"GroupId": "live", "MemberToDel_Account": ["bob"]}),
    )
    .await;
    assert_eq!(code(&v), 10004);
    let v = tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "live", "MemberList": [{"Member_Account": "bob"}]}),
    )
    .await;
    assert_eq!(code(&v), 10007);
}

#[tokio::test]
async fn joined_groups_list_only_the_members_groups() {
    let sim = sim().await;
    create_public(&sim, "a", "alice").await;
    create_public(&sim, "b", "bob").await;
    create_public(&sim, "c", "alice").await;
    let v = tencent(
        &sim,
        "get_joined_group_list",
        json!({"Member_Account": "alice"}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(v["TotalCount"], 2);
    assert_eq!(
        v["GroupIdList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["GroupId"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a", "c"]
    );
    let v = tencent(
        &sim,
        "get_joined_group_list",
        json!({"Member_Account": "alice", "Limit": 1, "Offset": 1}),
    )
    .await;
    assert_eq!(v["GroupIdList"][0]["GroupId"], "c");
    let v = tencent(
        &sim,
        "get_joined_group_list",
        json!({"Member_Account": "ghost"}),
    )
    .await;
    assert_eq!(code(&v), 10019);
}

#[tokio::test]
async fn the_app_group_list_pages_with_a_numeric_cursor() {
    let sim = sim().await;
    for id in ["a", "b", "c"] {
        create_public(&sim, id, "alice").await;
    }
    let v = tencent(&sim, "get_appid_group_list", json!({"Limit": 2})).await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(v["TotalCount"], 3);
    let ids = |v: &serde_json::Value| {
        v["GroupIdList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["GroupId"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&v), ["a", "b"]);
    let next = v["Next"].as_u64().unwrap();
    assert_ne!(next, 0);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let v = tencent(
        &sim,
        "get_appid_group_list",
        json!({"Limit": 2, "Next": next}),
    )
    .await;
    assert_eq!(
        (ids(&v), v["Next"].as_u64()),
        (vec!["c".to_string()], Some(0))
    );
}

async fn roles(sim: &TencentSim, group: &str, accounts: &[&str]) -> Vec<(String, String)> {
    let v = tencent(
        sim,
        "get_role_in_group",
        json!({"GroupId": group, "User_Account": accounts}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    v["UserIdList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["Member_Account"].as_str().unwrap().to_string(),
                r["Role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, r)| (a.to_string(), r.to_string()))
        .collect()
}

async fn add(sim: &TencentSim, group: &str, accounts: &[&str]) {
    let list: Vec<_> = accounts
        .iter()
        .map(|a| json!({"Member_Account": a}))
        .collect();
    let v = tencent(
        sim,
        "add_group_member",
        json!({"GroupId": group, "MemberList": list}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
}

async fn set_role(sim: &TencentSim, group: &str, account: &str, role: &str) -> i64 {
    let v = tencent(
        sim,
        "modify_group_member_info",
        json!({"GroupId": group, "Member_Account": account, "Role": role}),
    )
    .await;
    code(&v)
}

#[tokio::test]
async fn roles_are_reported_per_account_including_non_members() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    add(&sim, "g", &["bob", "carol"]).await;
    assert_eq!(set_role(&sim, "g", "bob", "Admin").await, 0);
    assert_eq!(
        roles(&sim, "g", &["alice", "bob", "carol", "ghost"]).await,
        pairs(&[
            ("alice", "Owner"),
            ("bob", "Admin"),
            ("carol", "Member"),
            ("ghost", "NotMember")
        ])
    );
    let many: Vec<String> = (0..501).map(|i| format!("u{i}")).collect();
    let v = tencent(
        &sim,
        "get_role_in_group",
        json!({"GroupId": "g", "User_Account": many}),
    )
    .await;
    assert_eq!(code(&v), 10005);
    let v = tencent(
        &sim,
        "get_role_in_group",
        json!({"GroupId": "g", "User_Account": many[..500]}),
    )
    .await;
    assert_eq!(v["UserIdList"].as_array().unwrap().len(), 500);
    let v = tencent(
        &sim,
        "get_role_in_group",
        json!({"GroupId": "nope", "User_Account": ["alice"]}),
    )
    .await;
    assert_eq!(code(&v), 10010);
    tencent(
        &sim,
        "create_group",
        json!({"Type": "AVChatRoom", "Name": "live", "GroupId": "live"}),
    )
    .await;
    let v = tencent(
        &sim,
        "get_role_in_group",
        json!({"GroupId": "live", "User_Account": ["alice"]}),
    )
    .await;
    assert_eq!(code(&v), 10007);
}

#[tokio::test]
async fn members_are_promoted_and_demoted_one_at_a_time() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    add(&sim, "g", &["bob"]).await;
    assert_eq!(set_role(&sim, "g", "bob", "Admin").await, 0);
    assert_eq!(sim.member_roles("g")["bob"], "Admin");
    assert_eq!(
        set_role(&sim, "g", "bob", "Admin").await,
        0,
        "twice is fine"
    );
    assert_eq!(set_role(&sim, "g", "bob", "Member").await, 0);
    assert_eq!(sim.member_roles("g")["bob"], "Member");
    assert_eq!(set_role(&sim, "g", "bob", "Owner").await, 10004);
    assert_eq!(set_role(&sim, "g", "alice", "Admin").await, 10004);
    assert_eq!(set_role(&sim, "g", "alice", "Member").await, 10004);
    assert_eq!(set_role(&sim, "g", "carol", "Admin").await, 10007);
    assert_eq!(set_role(&sim, "nope", "bob", "Admin").await, 10010);
    assert_eq!(sim.member_roles("g")["alice"], "Owner");
}

#[tokio::test]
async fn work_groups_have_no_admins_and_live_groups_no_member_roles() {
    let sim = sim().await;
    let v = tencent(
        &sim,
        "create_group",
        json!({"Type": "Private", "Name": "w", "GroupId": "w",
        "Owner_Account": "alice", "MemberList": [{"Member_Account": "bob"}]}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(set_role(&sim, "w", "bob", "Admin").await, 10007);
    assert_eq!(set_role(&sim, "w", "bob", "Member").await, 0);
    assert_eq!(sim.member_roles("w")["bob"], "Member");
    tencent(
        &sim,
        "create_group",
        json!({"Type": "AVChatRoom", "Name": "live", "GroupId": "live"}),
    )
    .await;
    assert_eq!(set_role(&sim, "live", "bob", "Admin").await, 10007);
}

#[tokio::test]
async fn a_new_owner_leaves_the_old_one_a_plain_member() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    add(&sim, "g", &["bob"]).await;
    assert_eq!(set_role(&sim, "g", "bob", "Admin").await, 0);
    let v = tencent(
        &sim,
        "change_group_owner",
        json!({"GroupId": "g", "NewOwner_Account": "bob"}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(
        roles(&sim, "g", &["alice", "bob"]).await,
        pairs(&[("alice", "Member"), ("bob", "Owner")])
    );
}

#[tokio::test]
async fn removing_an_admin_drops_the_admin_status() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    add(&sim, "g", &["bob", "carol"]).await;
    assert_eq!(set_role(&sim, "g", "bob", "Admin").await, 0);
    assert_eq!(set_role(&sim, "g", "carol", "Admin").await, 0);
    let v = tencent(
        &sim,
        "delete_group_member",
        json!({"GroupId": "g", "MemberToDel_Account": ["bob"]}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert!(sim.kick_out_of_band("g", "carol"));
    assert!(!sim.kick_out_of_band("g", "carol"), "no longer a member");
    assert!(!sim.kick_out_of_band("g", "alice"), "the owner stays");
    add(&sim, "g", &["bob", "carol"]).await;
    assert_eq!(
        sim.member_roles("g"),
        [("alice", "Owner"), ("bob", "Member"), ("carol", "Member")]
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .into()
    );
    assert!(sim.member_roles("nope").is_empty());
}

#[tokio::test]
async fn the_member_list_pages_with_limit_and_offset() {
    let sim = TencentSim::start(TencentSimConfig::default())
        .await
        .unwrap();
    create_public(&sim, "g", "owner").await;
    let accounts: Vec<String> = (0..14).map(|i| format!("u{i:02}")).collect();
    add(
        &sim,
        "g",
        &accounts.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(set_role(&sim, "g", "u03", "Admin").await, 0);
    let v = tencent(
        &sim,
        "get_group_member_info",
        json!({"GroupId": "g", "Limit": 10, "Offset": 10, "MemberInfoFilter": ["Role"]}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(v["MemberNum"], 15);
    let page = v["MemberList"].as_array().unwrap();
    assert_eq!(page.len(), 5);
    assert_eq!(page[0], json!({"Member_Account": "u09", "Role": "Member"}));
    assert!(v.get("Next").is_none(), "only Community pages with Next");
    let v = tencent(&sim, "get_group_member_info", json!({"GroupId": "g"})).await;
    let all = v["MemberList"].as_array().unwrap();
    assert_eq!(all.len(), 15, "no Limit: every member");
    assert_eq!(all[0]["Role"], "Owner");
    assert!(all[0]["JoinTime"].is_i64() && all[0]["MsgFlag"].is_string());
    let v = tencent(
        &sim,
        "get_group_member_info",
        json!({"GroupId": "g", "MemberRoleFilter": ["Admin"]}),
    )
    .await;
    assert_eq!(v["MemberList"][0]["Member_Account"], "u03");
    assert_eq!(v["MemberList"].as_array().unwrap().len(), 1);
    let v = tencent(
        &sim,
        "get_group_member_info",
        json!({"GroupId": "g", "Limit": 201}),
    )
    .await;
    assert_eq!(code(&v), 10004);
    let v = tencent(
        &sim,
        "get_group_member_info",
        json!({"GroupId": "g", "MemberInfoFilter": ["Bogus"]}),
    )
    .await;
    assert_eq!(code(&v), 10004);
    tencent(
        &sim,
        "create_group",
        json!({"Type": "AVChatRoom", "Name": "live", "GroupId": "live"}),
    )
    .await;
    let v = tencent(&sim, "get_group_member_info", json!({"GroupId": "live"})).await;
    assert_eq!(code(&v), 10007);
}

async fn community_pages(cursor: MemberCursor) -> Vec<serde_json::Value> {
    let sim = TencentSim::start(TencentSimConfig {
        member_cursor: cursor,
        ..Default::default()
    })
    .await
    .unwrap();
    let v = tencent(
        &sim,
        "create_group",
        json!({"Type": "Community", "Name": "c",
        "GroupId": "@TGS#_c", "Owner_Account": "owner"}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    add(&sim, "@TGS#_c", &["a", "b", "c", "d"]).await;
    let mut next = match cursor {
        MemberCursor::Integer => json!(0),
        MemberCursor::String => json!(""),
    };
    let mut seen = Vec::new();
    let mut cursors = Vec::new();
    for _ in 0..5 {
        let v = tencent(
            &sim,
            "get_group_member_info",
            json!({"GroupId": "@TGS#_c", "Limit": 2, "Next": next, "Offset": 99}),
        )
        .await;
        assert_eq!(code(&v), 0, "{v}");
        assert_eq!(v["MemberNum"], 5);
        for m in v["MemberList"].as_array().unwrap() {
            seen.push(m["Member_Account"].as_str().unwrap().to_string());
        }
        next = v["Next"].clone();
        cursors.push(next.clone());
        if next == json!(0) || next == json!("") {
            break;
        }
    }
    assert_eq!(seen, ["owner", "a", "b", "c", "d"], "Offset is ignored");
    cursors
}

#[tokio::test]
async fn community_member_lists_page_with_next_of_either_type() {
    assert_eq!(
        community_pages(MemberCursor::Integer).await,
        [json!(2), json!(4), json!(0)]
    );
    assert_eq!(
        community_pages(MemberCursor::String).await,
        [json!("2"), json!("4"), json!("")]
    );
}
