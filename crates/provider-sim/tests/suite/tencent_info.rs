//! Tencent get_group_info: per-item errors, the id cap and response filters.

use crate::common;

use common::*;
use provider_sim::{SimGroup, TencentSim, TencentSimConfig};
use serde_json::json;

async fn sim() -> TencentSim {
    TencentSim::start(TencentSimConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn get_group_info_reports_missing_groups_per_item_and_caps_the_list() {
    let sim = sim().await;
    create_public(&sim, "a", "alice").await;
    let v = tencent(
        &sim,
        "get_group_info",
        json!({"GroupIdList": ["a", "nope"]}),
    )
    .await;
    assert_eq!(code(&v), 0);
    assert_eq!(v["GroupInfo"][0]["ErrorCode"], 0);
    assert_eq!(
        (
            v["GroupInfo"][1]["GroupId"].as_str(),
            v["GroupInfo"][1]["ErrorCode"].as_i64()
        ),
        (Some("nope"), Some(10010))
    );
    let fifty: Vec<String> = (0..50).map(|i| format!("g{i}")).collect();
    assert_eq!(
        code(&tencent(&sim, "get_group_info", json!({"GroupIdList": fifty})).await),
        0
    );
    let fifty_one: Vec<String> = (0..51).map(|i| format!("g{i}")).collect();
    assert_eq!(
        code(&tencent(&sim, "get_group_info", json!({"GroupIdList": fifty_one})).await),
        10004
    );
    assert_eq!(
        code(&tencent(&sim, "get_group_info", json!({"GroupIdList": []})).await),
        10004
    );
}

#[tokio::test]
async fn response_filters_limit_the_fields_returned() {
    let sim = sim().await;
    let mut g = SimGroup {
        id: "f".into(),
        group_type: "Public".into(),
        name: "filtered".into(),
        max_members: 100,
        ..Default::default()
    };
    g.custom_data.insert("uid".into(), "1".into());
    g.custom_data.insert("other".into(), "2".into());
    g.members = vec!["alice".into()];
    g.owner = Some("alice".into());
    sim.insert_group(g);
    let v = tencent(
        &sim,
        "get_group_info",
        json!({"GroupIdList": ["f"], "ResponseFilter": {
            "GroupBaseInfoFilter": ["Name", "Owner_Account"], "AppDefinedDataFilter_Group": ["uid"],
        }}),
    )
    .await;
    let item = v["GroupInfo"][0].as_object().unwrap();
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "AppDefinedData",
            "ErrorCode",
            "ErrorInfo",
            "GroupId",
            "Name",
            "Owner_Account"
        ]
    );
    assert_eq!(
        item["AppDefinedData"],
        json!([{"Key": "uid", "Value": "1"}])
    );
    let v = tencent(&sim, "get_group_info", json!({"GroupIdList": ["f"]})).await;
    let full = &v["GroupInfo"][0];
    assert_eq!(full["MemberList"][0]["Member_Account"], "alice");
    assert_eq!(full["AppDefinedData"].as_array().unwrap().len(), 2);
    assert!(full.get("MaxMemberNum").is_some() && full.get("MaxMemberCount").is_none());
}
