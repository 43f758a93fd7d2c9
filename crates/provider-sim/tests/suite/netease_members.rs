//! NetEase member ops over HTTP: invite and joined teams.

use crate::common;

use common::*;
use provider_sim::{NeteaseSim, NeteaseSimConfig, SimGroup};
use serde_json::json;

async fn sim() -> NeteaseSim {
    let config = NeteaseSimConfig {
        accounts: Some(["alice", "bob", "carol"].map(String::from).to_vec()),
        ..Default::default()
    };
    NeteaseSim::start(config).await.unwrap()
}

#[tokio::test]
async fn invite_joins_at_once_only_with_agree_mode_1() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let open = ne_create(&sim, "alice", json!({"configuration": {"agree_mode": 1}})).await;
    let closed = ne_create(&sim, "alice", json!({})).await;
    for id in [&open, &closed] {
        let v = ne
            .call(
                "POST",
                "/im/v2/team_members",
                Some(json!({
                    "operator_id": "alice", "team_id": id.parse::<u64>().unwrap(), "team_type": 1,
                    "invite_account_ids": ["bob", "alice", "ghost"],
                })),
            )
            .await;
        assert_eq!(ne_code(&v), 200, "{v}");
        assert_eq!(v["data"]["success_list"], json!(["bob"]));
        let failed: Vec<i64> = v["data"]["failed_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["error_code"].as_i64().unwrap())
            .collect();
        assert_eq!(failed, [109311, 102404]);
    }
    assert_eq!(sim.group(&open).unwrap().members, ["alice", "bob"]);
    assert_eq!(sim.group(&closed).unwrap().members, ["alice"]);
    let v = ne.call("POST", "/im/v2/team_members", Some(json!({"operator_id": "carol", "team_id": open, "team_type": 1, "invite_account_ids": ["carol"]}))).await;
    assert_eq!(ne_code(&v), 109432);
}

#[tokio::test]
async fn joined_teams_are_paged_with_a_token() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(ne_create(&sim, "alice", json!({})).await);
    }
    ne_create(&sim, "bob", json!({})).await;
    sim.insert_group(SimGroup {
        group_type: "2".into(),
        owner: Some("alice".into()),
        members: vec!["alice".into()],
        ..Default::default()
    });
    let path = "/im/v2.1/team_members/alice/actions/joined_teams?team_type=1&limit=2";
    let v = ne.call("GET", path, None).await;
    assert_eq!(ne_code(&v), 200, "{v}");
    let page_ids = |v: &serde_json::Value| {
        v["data"]["team_info_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["team_id"].to_string())
            .collect::<Vec<_>>()
    };
    // Newest first by default; the order is not documented (the operator's
    // client must not depend on it).
    ids.reverse();
    assert_eq!(
        (page_ids(&v), v["data"]["has_more"].as_bool()),
        (ids[..2].to_vec(), Some(true))
    );
    let token = v["data"]["next_token"].as_str().unwrap().to_string();
    let v = ne
        .call("GET", &format!("{path}&page_token={token}"), None)
        .await;
    assert_eq!(
        (page_ids(&v), v["data"]["has_more"].as_bool()),
        (ids[2..].to_vec(), Some(false))
    );
    assert_eq!(
        ne_code(
            &ne.call(
                "GET",
                "/im/v2.1/team_members/alice/actions/joined_teams?team_type=1&limit=101",
                None
            )
            .await
        ),
        414
    );
    assert_eq!(
        ne_code(
            &ne.call(
                "GET",
                "/im/v2.1/team_members/ghost/actions/joined_teams?team_type=1",
                None
            )
            .await
        ),
        102404
    );
}
