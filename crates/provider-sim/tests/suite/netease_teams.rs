//! NetEase team ops over HTTP: create, get, batch get, update, transfer, disband.

use crate::common;

use common::*;
use provider_sim::{NeteaseSim, NeteaseSimConfig};
use serde_json::json;

async fn sim() -> NeteaseSim {
    let config = NeteaseSimConfig {
        accounts: Some(["alice", "bob", "carol"].map(String::from).to_vec()),
        ..Default::default()
    };
    NeteaseSim::start(config).await.unwrap()
}

#[tokio::test]
async fn a_team_is_created_read_updated_transferred_and_disbanded() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let v = ne
        .call(
            "POST",
            "/im/v2.1/teams",
            Some(json!({
                "owner_account_id": "alice", "team_type": 1, "name": "ops", "intro": "i",
                "server_extension": "{\"uid\":\"k8s-1\"}", "invite_account_ids": ["bob", "ghost"],
                "configuration": {"agree_mode": 1, "join_mode": 2},
            })),
        )
        .await;
    assert_eq!(ne_code(&v), 200, "{v}");
    let info = &v["data"]["team_info"];
    let id = info["team_id"].as_u64().unwrap().to_string();
    assert_eq!(
        (
            info["member_count"].as_u64(),
            info["configuration"]["join_mode"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(
        v["data"]["failed_list"],
        json!([{"account_id": "ghost", "error_code": 102404, "error_msg": "account does not exist"}])
    );
    let g = sim.group(&id).unwrap();
    assert_eq!(
        (
            g.group_type.as_str(),
            g.join_option.as_str(),
            g.server_extension.as_str()
        ),
        ("1", "2", "{\"uid\":\"k8s-1\"}")
    );
    assert_eq!(g.members, ["alice", "bob"]);

    let v = ne
        .call("GET", &format!("/im/v2.1/teams/{id}?team_type=1"), None)
        .await;
    assert_eq!(
        (ne_code(&v), v["data"]["team_info"]["name"].as_str()),
        (200, Some("ops"))
    );

    let v = ne.call("PATCH", &format!("/im/v2.1/teams/{id}"), Some(json!({"team_type": 1, "operator_id": "alice", "name": "ops2", "members_limit": 50}))).await;
    assert_eq!(ne_code(&v), 200, "{v}");
    assert_eq!(
        (
            v["data"]["team_info"]["name"].as_str(),
            v["data"]["team_info"]["intro"].as_str()
        ),
        (Some("ops2"), Some("i"))
    );
    assert_eq!(sim.group(&id).unwrap().max_members, 50);

    let path = format!("/im/v2/teams/{id}/actions/transfer_owner");
    let v = ne
        .call(
            "PATCH",
            &path,
            Some(json!({"team_type": 1, "new_owner_account_id": "bob", "leave": 2})),
        )
        .await;
    assert_eq!(ne_code(&v), 200, "{v}");
    let g = sim.group(&id).unwrap();
    assert_eq!((g.owner.as_deref(), g.members.len()), (Some("bob"), 2));

    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2.1/teams/{id}?team_type=1&operator_id=bob"),
            None,
        )
        .await;
    assert_eq!(ne_code(&v), 200, "{v}");
    assert!(sim.groups().is_empty());
    let v = ne
        .call("GET", &format!("/im/v2.1/teams/{id}?team_type=1"), None)
        .await;
    assert_eq!(ne_code(&v), 108404);
    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2/teams/{id}"),
            Some(json!({"team_type": 1, "operator_id": "bob"})),
        )
        .await;
    assert_eq!(ne_code(&v), 108404);
}

#[tokio::test]
async fn only_the_owner_may_update_or_disband() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let id = ne_create(&sim, "alice", json!({})).await;
    let v = ne
        .call(
            "PATCH",
            &format!("/im/v2.1/teams/{id}"),
            Some(json!({"team_type": 1, "operator_id": "bob", "name": "x"})),
        )
        .await;
    assert_eq!(ne_code(&v), 109432);
    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2/teams/{id}"),
            Some(json!({"team_type": 1, "operator_id": "bob"})),
        )
        .await;
    assert_eq!(ne_code(&v), 109432);
    assert_eq!(sim.group(&id).unwrap().name, "team");
    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2/teams/{id}"),
            Some(json!({"team_type": 1, "operator_id": "alice"})),
        )
        .await;
    assert_eq!(ne_code(&v), 200);
    assert!(sim.group(&id).is_none());
}

#[tokio::test]
async fn team_type_is_required_and_must_match() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let id = ne_create(&sim, "alice", json!({})).await;
    assert_eq!(
        ne_code(&ne.call("GET", &format!("/im/v2.1/teams/{id}"), None).await),
        414
    );
    assert_eq!(
        ne_code(
            &ne.call("GET", &format!("/im/v2.1/teams/{id}?team_type=3"), None)
                .await
        ),
        414
    );
    assert_eq!(
        ne_code(
            &ne.call("GET", &format!("/im/v2.1/teams/{id}?team_type=2"), None)
                .await
        ),
        414
    );
    let super_id = ne_create(&sim, "alice", json!({"team_type": 2})).await;
    assert_eq!(
        ne_code(
            &ne.call(
                "GET",
                &format!("/im/v2.1/teams/{super_id}?team_type=1"),
                None
            )
            .await
        ),
        108302
    );
    let v = ne
        .call(
            "POST",
            "/im/v2.1/teams",
            Some(json!({"owner_account_id": "alice", "name": "n"})),
        )
        .await;
    assert_eq!(ne_code(&v), 414);
}

#[tokio::test]
async fn create_checks_lengths_and_accounts() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let base = json!({"owner_account_id": "alice", "team_type": 1, "name": "n"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("name", json!("名".repeat(65))), 414),
        (with("name", json!("")), 414),
        (with("intro", json!("i".repeat(513))), 414),
        (with("announcement", json!("a".repeat(1025))), 414),
        (with("server_extension", json!("s".repeat(1025))), 414),
        (with("configuration", json!({"join_mode": 7})), 414),
        (with("owner_account_id", json!("ghost")), 102404),
        (with("invite_account_ids", json!(["alice"])), 414),
    ];
    for (body, want) in cases {
        assert_eq!(
            ne_code(&ne.call("POST", "/im/v2.1/teams", Some(body.clone())).await),
            want,
            "{body}"
        );
    }
    assert!(sim.groups().is_empty());
    assert_eq!(
        ne_code(
            &ne.call(
                "POST",
                "/im/v2.1/teams",
                Some(with("name", json!("名".repeat(64))))
            )
            .await
        ),
        200
    );
}

#[tokio::test]
async fn transfer_owner_rules() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let id = ne_create(
        &sim,
        "alice",
        json!({"invite_account_ids": ["bob"], "configuration": {"agree_mode": 1}}),
    )
    .await;
    let path = format!("/im/v2/teams/{id}/actions/transfer_owner");
    let body = |to: &str, leave: i64| {
        Some(json!({"team_type": 1, "new_owner_account_id": to, "leave": leave}))
    };
    assert_eq!(
        ne_code(&ne.call("PATCH", &path, body("alice", 2)).await),
        108310
    );
    assert_eq!(
        ne_code(&ne.call("PATCH", &path, body("carol", 2)).await),
        109404
    );
    assert_eq!(
        ne_code(&ne.call("PATCH", &path, body("ghost", 2)).await),
        102404
    );
    assert_eq!(ne_code(&ne.call("PATCH", &path, body("bob", 3)).await), 414);
    assert_eq!(ne_code(&ne.call("PATCH", &path, body("bob", 1)).await), 200);
    let g = sim.group(&id).unwrap();
    assert_eq!(
        (g.owner.as_deref(), g.members.clone()),
        (Some("bob"), vec!["bob".to_string()])
    );
}

#[tokio::test]
async fn batch_get_lists_found_teams_and_invalid_ids() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let a = ne_create(&sim, "alice", json!({})).await;
    let b = ne_create(&sim, "alice", json!({})).await;
    ne.call(
        "DELETE",
        &format!("/im/v2/teams/{b}"),
        Some(json!({"team_type": 1, "operator_id": "alice"})),
    )
    .await;
    let v = ne
        .call(
            "GET",
            &format!("/im/v2.1/teams?team_type=1&team_ids=[{a},{b},42]"),
            None,
        )
        .await;
    assert_eq!(ne_code(&v), 200, "{v}");
    let found: Vec<String> = v["data"]["team_info_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team_id"].to_string())
        .collect();
    assert_eq!(found, vec![a.clone()]);
    assert_eq!(
        v["data"]["invalid_tids"],
        json!([b.parse::<u64>().unwrap(), 42])
    );
    let ids: Vec<u64> = (1..=31).collect();
    let v = ne
        .call(
            "GET",
            &format!(
                "/im/v2.1/teams?team_type=1&team_ids={}",
                serde_json::to_string(&ids).unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(ne_code(&v), 414);
    let ids: Vec<u64> = (1..=21).collect();
    let v = ne
        .call(
            "GET",
            &format!(
                "/im/v2.1/teams?team_type=2&team_ids={}",
                serde_json::to_string(&ids).unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(ne_code(&v), 414);
    assert_eq!(
        ne_code(
            &ne.call(
                "GET",
                &format!("/im/v2.1/teams?team_type=1&team_ids=[\"{a}\"]"),
                None
            )
            .await
        ),
        414,
        "the SDKs send team ids as numbers"
    );
    assert_eq!(
        ne_code(
            &ne.call("GET", "/im/v2.1/teams?team_type=1&team_ids=1,2", None)
                .await
        ),
        414
    );
}

#[tokio::test]
async fn a_manager_named_by_the_owner_may_disband() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let id = ne_create(
        &sim,
        "alice",
        json!({"configuration": {"agree_mode": 1}, "invite_account_ids": ["bob", "carol"]}),
    )
    .await;
    let add = |operator: &str, manager: &str| {
        Some(json!({"team_type": 1, "operator_id": operator, "managers": [manager]}))
    };
    let path = format!("/im/v2/teams/{id}/actions/add_manager");
    assert_eq!(
        ne_code(&ne.call("POST", &path, add("bob", "carol")).await),
        109427,
        "only the owner names managers"
    );
    assert_eq!(
        ne_code(&ne.call("POST", &path, add("alice", "bob")).await),
        200
    );
    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2/teams/{id}"),
            Some(json!({"team_type": 1, "operator_id": "carol"})),
        )
        .await;
    assert_eq!(ne_code(&v), 109432, "a plain member may not disband");
    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2/teams/{id}"),
            Some(json!({"team_type": 1, "operator_id": "bob"})),
        )
        .await;
    assert_eq!(ne_code(&v), 200);
    assert!(sim.group(&id).is_none());
}

#[tokio::test]
async fn a_removed_manager_may_no_longer_disband() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let id = ne_create(
        &sim,
        "alice",
        json!({"configuration": {"agree_mode": 1}, "invite_account_ids": ["bob"]}),
    )
    .await;
    let managers = Some(json!({"team_type": 1, "operator_id": "alice", "managers": ["bob"]}));
    let add = format!("/im/v2/teams/{id}/actions/add_manager");
    assert_eq!(ne_code(&ne.call("POST", &add, managers.clone()).await), 200);
    let remove = format!("/im/v2/teams/{id}/actions/remove_manager");
    assert_eq!(ne_code(&ne.call("DELETE", &remove, managers).await), 200);
    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2/teams/{id}"),
            Some(json!({"team_type": 1, "operator_id": "bob"})),
        )
        .await;
    assert_eq!(ne_code(&v), 109432, "bob is a plain member again");
    assert!(sim.group(&id).is_some(), "the team is not disbanded");
    assert!(
        sim.group(&id).unwrap().members.contains(&"bob".to_string()),
        "removing a manager keeps the member"
    );
}
