//! Tencent group lifecycle over HTTP: create, get, modify, change owner, destroy.

use crate::common;

use common::*;
use provider_sim::{TencentSim, TencentSimConfig};
use serde_json::json;

async fn sim() -> TencentSim {
    TencentSim::start(TencentSimConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_group_is_created_read_modified_handed_over_and_destroyed() {
    let sim = sim().await;
    let v = tencent(
        &sim,
        "create_group",
        json!({
            "Type": "Public", "Name": "ops", "GroupId": "ops-1", "Owner_Account": "alice",
            "Introduction": "intro", "MaxMemberCount": 500, "ApplyJoinOption": "FreeAccess",
            "AppDefinedData": [{"Key": "uid", "Value": "k8s-1"}],
            "MemberList": [{"Member_Account": "bob"}],
        }),
    )
    .await;
    assert_eq!(
        (code(&v), v["ActionStatus"].as_str()),
        (0, Some("OK")),
        "{v}"
    );
    assert_eq!(v["GroupId"], "ops-1");
    assert!(v["RequestId"].as_str().is_some_and(|r| !r.is_empty()));

    let info = tencent(&sim, "get_group_info", json!({"GroupIdList": ["ops-1"]})).await;
    let g = &info["GroupInfo"][0];
    assert_eq!((code(&info), g["ErrorCode"].as_i64()), (0, Some(0)));
    assert_eq!(
        (g["Name"].as_str(), g["Owner_Account"].as_str()),
        (Some("ops"), Some("alice"))
    );
    assert_eq!(
        (g["MaxMemberNum"].as_u64(), g["MemberNum"].as_u64()),
        (Some(500), Some(2))
    );
    assert_eq!(
        g["AppDefinedData"],
        json!([{"Key": "uid", "Value": "k8s-1"}])
    );

    let v = tencent(
        &sim,
        "modify_group_base_info",
        json!({
            "GroupId": "ops-1", "Name": "ops2", "MaxMemberNum": 300, "Notification": "hi",
            "AppDefinedData": [{"Key": "uid", "Value": ""}, {"Key": "env", "Value": "prod"}],
        }),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    let g = sim.group("ops-1").unwrap();
    assert_eq!(
        (g.name.as_str(), g.max_members, g.notification.as_str()),
        ("ops2", 300, "hi")
    );
    assert_eq!(
        g.custom_data.into_iter().collect::<Vec<_>>(),
        vec![("env".to_string(), "prod".to_string())]
    );

    let v = tencent(
        &sim,
        "change_group_owner",
        json!({"GroupId": "ops-1", "NewOwner_Account": "bob"}),
    )
    .await;
    assert_eq!(code(&v), 0, "{v}");
    assert_eq!(sim.group("ops-1").unwrap().owner.as_deref(), Some("bob"));

    let v = tencent(&sim, "destroy_group", json!({"GroupId": "ops-1"})).await;
    assert_eq!(code(&v), 0, "{v}");
    assert!(sim.group("ops-1").is_none() && sim.groups().is_empty());
    let again = tencent(&sim, "destroy_group", json!({"GroupId": "ops-1"})).await;
    assert_eq!(code(&again), 10010);
    let info = tencent(&sim, "get_group_info", json!({"GroupIdList": ["ops-1"]})).await;
    assert_eq!(
        (code(&info), info["GroupInfo"][0]["ErrorCode"].as_i64()),
        (0, Some(10010))
    );
    let v = tencent(
        &sim,
        "modify_group_base_info",
        json!({"GroupId": "ops-1", "Name": "x"}),
    )
    .await;
    assert_eq!(code(&v), 10010);
}

#[tokio::test]
async fn a_taken_custom_id_answers_10021_or_10025_for_its_owner() {
    let sim = sim().await;
    assert_eq!(code(&create_public(&sim, "mine", "administrator").await), 0);
    assert_eq!(code(&create_public(&sim, "theirs", "carol").await), 0);
    assert_eq!(
        code(&create_public(&sim, "mine", "administrator").await),
        10025
    );
    assert_eq!(
        code(&create_public(&sim, "theirs", "administrator").await),
        10021
    );
    assert_eq!(sim.groups().len(), 2);
}

#[tokio::test]
async fn without_a_group_id_the_server_assigns_a_tgs_id() {
    let sim = sim().await;
    let v = tencent(
        &sim,
        "create_group",
        json!({"Type": "Private", "Name": "x"}),
    )
    .await;
    let id = v["GroupId"].as_str().unwrap();
    assert!(id.starts_with("@TGS#") && sim.group(id).is_some(), "{v}");
    let v = tencent(
        &sim,
        "create_group",
        json!({"Type": "Community", "Name": "x"}),
    )
    .await;
    assert!(v["GroupId"].as_str().unwrap().starts_with("@TGS#_"), "{v}");
    assert!(
        sim.group(id).unwrap().owner.is_none(),
        "no owner when Owner_Account is omitted"
    );
}

#[tokio::test]
async fn custom_ids_and_field_sizes_follow_the_documented_rules() {
    let sim = sim().await;
    let create = |body: serde_json::Value| tencent(&sim, "create_group", body);
    let cases = [
        (
            json!({"Type": "Public", "Name": "n", "GroupId": "@TGS#mine"}),
            10004,
        ),
        (
            json!({"Type": "Community", "Name": "n", "GroupId": "plain"}),
            10004,
        ),
        (
            json!({"Type": "Public", "Name": "n", "GroupId": "x".repeat(49)}),
            10004,
        ),
        (
            json!({"Type": "Public", "Name": "n", "GroupId": "tab\there"}),
            10004,
        ),
        (
            json!({"Type": "Public", "Name": "n", "GroupId": "é"}),
            10004,
        ),
        (json!({"Type": "Public", "Name": "好".repeat(11)}), 10004),
        (
            json!({"Type": "Public", "Name": "n", "Introduction": "i".repeat(241)}),
            10004,
        ),
        (
            json!({"Type": "Public", "Name": "n", "Notification": "i".repeat(301)}),
            10004,
        ),
        (
            json!({"Type": "Public", "Name": "n", "FaceUrl": "u".repeat(101)}),
            10004,
        ),
        (json!({"Type": "Public"}), 10004),
        (json!({"Type": "Work", "Name": "n"}), 10004),
        (
            json!({"Type": "Public", "Name": "n", "ApplyJoinOption": "Sometimes"}),
            10004,
        ),
        (
            json!({"Type": "Public", "Name": "n", "AppDefinedData": [{"Key": "k".repeat(17), "Value": "v"}]}),
            10004,
        ),
        (
            json!({"Type": "AVChatRoom", "Name": "n", "MemberList": [{"Member_Account": "a"}]}),
            10007,
        ),
    ];
    for (body, want) in cases {
        assert_eq!(code(&create(body.clone()).await), want, "{body}");
    }
    assert!(sim.groups().is_empty());
    let ok = [
        json!({"Type": "Public", "Name": "好".repeat(10), "GroupId": "x".repeat(48)}),
        json!({"Type": "Community", "Name": "n", "GroupId": "@TGS#_mine"}),
        json!({"Type": "Public", "Name": "n", "GroupId": "with space ~!", "Introduction": "i".repeat(240)}),
    ];
    for body in ok {
        assert_eq!(code(&create(body.clone()).await), 0, "{body}");
    }
}

#[tokio::test]
async fn unknown_accounts_are_refused_when_accounts_are_listed() {
    let config = TencentSimConfig {
        accounts: Some(vec!["alice".into(), "bob".into()]),
        ..Default::default()
    };
    let sim = TencentSim::start(config).await.unwrap();
    let v = tencent(
        &sim,
        "create_group",
        json!({"Type": "Public", "Name": "n", "Owner_Account": "mallory"}),
    )
    .await;
    assert_eq!(code(&v), 10019);
    let v = tencent(
        &sim,
        "create_group",
        json!({
            "Type": "Public", "Name": "n", "GroupId": "g", "Owner_Account": "alice",
            "MemberList": [{"Member_Account": "ghost"}],
        }),
    )
    .await;
    assert_eq!(code(&v), 10019);
    assert_eq!(code(&create_public(&sim, "g", "alice").await), 0);
    let v = tencent(
        &sim,
        "change_group_owner",
        json!({"GroupId": "g", "NewOwner_Account": "ghost"}),
    )
    .await;
    assert_eq!(code(&v), 10019);
}

#[tokio::test]
async fn the_new_owner_must_be_a_member_and_avchatrooms_cannot_change_owner() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    let v = tencent(
        &sim,
        "change_group_owner",
        json!({"GroupId": "g", "NewOwner_Account": "bob"}),
    )
    .await;
    assert_eq!(code(&v), 10004);
    assert!(
        v["ErrorInfo"].as_str().unwrap().contains("not a member"),
        "{v}"
    );
    assert_eq!(sim.group("g").unwrap().owner.as_deref(), Some("alice"));
    let v = tencent(
        &sim,
        "create_group",
        json!({"Type": "AVChatRoom", "Name": "live", "GroupId": "live", "Owner_Account": "alice"}),
    )
    .await;
    assert_eq!(code(&v), 0);
    let v = tencent(
        &sim,
        "change_group_owner",
        json!({"GroupId": "live", "NewOwner_Account": "alice"}),
    )
    .await;
    assert_eq!(code(&v), 10007);
}

#[tokio::test]
async fn max_member_num_is_validated_on_modify_and_ignored_for_avchatroom() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    let v = tencent(
        &sim,
        "modify_group_base_info",
        json!({"GroupId": "g", "MaxMemberNum": 6001}),
    )
    .await;
    assert_eq!(code(&v), 10004);
    let v = tencent(
        &sim,
        "modify_group_base_info",
        json!({"GroupId": "g", "Name": ""}),
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
        "modify_group_base_info",
        json!({"GroupId": "live", "MaxMemberNum": 10}),
    )
    .await;
    assert_eq!(code(&v), 0);
    assert_eq!(sim.group("live").unwrap().max_members, 0);
}

#[tokio::test]
async fn a_group_disbanded_out_of_band_is_gone_for_every_command() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    assert!(sim.disband_out_of_band("g"));
    assert!(!sim.disband_out_of_band("g"));
    assert_eq!(
        code(&tencent(&sim, "destroy_group", json!({"GroupId": "g"})).await),
        10010
    );
    let v = tencent(
        &sim,
        "change_group_owner",
        json!({"GroupId": "g", "NewOwner_Account": "alice"}),
    )
    .await;
    assert_eq!(code(&v), 10010);
}
