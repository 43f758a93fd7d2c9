//! Tencent member commands and list commands.

use crate::common;

use common::*;
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

#[tokio::test]
async fn adding_members_reports_a_result_per_account() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    let v = tencent(
        &sim,
        "add_group_member",
        json!({"GroupId": "g", "MemberList": [
            {"Member_Account": "bob"}, {"Member_Account": "alice"}, {"Member_Account": "ghost"},
        ]}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    let results: Vec<(String, i64)> = v["MemberList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Member_Account"].as_str().unwrap().to_string(),
                m["Result"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [("bob".into(), 1), ("alice".into(), 2), ("ghost".into(), 0)]
    );
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
