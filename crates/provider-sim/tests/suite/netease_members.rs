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

fn codes_of(v: &serde_json::Value) -> Vec<(String, i64)> {
    v["data"]["failed_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["account_id"].as_str().unwrap().to_string(),
                f["error_code"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn roles(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, r)| (a.to_string(), r.to_string()))
        .collect()
}

async fn invite(ne: &Ne<'_>, team: &str, operator: &str, accounts: &[&str]) -> serde_json::Value {
    ne.call(
        "POST",
        "/im/v2/team_members",
        Some(
            json!({"operator_id": operator, "team_id": team.parse::<u64>().unwrap(),
            "team_type": 1, "invite_account_ids": accounts}),
        ),
    )
    .await
}

async fn kick(ne: &Ne<'_>, team: &str, operator: &str, accounts: &str) -> serde_json::Value {
    let path = format!(
        "/im/v2/team_members/actions/kick_member?operator_id={operator}&team_id={team}\
         &team_type=1&kick_account_ids={accounts}"
    );
    ne.call("DELETE", &path, None).await
}

#[tokio::test]
async fn an_invite_without_agree_mode_1_waits_until_the_invitee_accepts() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let id = ne_create(&sim, "alice", json!({})).await;
    let v = invite(&ne, &id, "alice", &["bob"]).await;
    assert_eq!(v["data"]["success_list"], json!(["bob"]), "{v}");
    assert_eq!(sim.pending_invitations(&id), ["bob"]);
    assert_eq!(sim.member_roles(&id), roles(&[("alice", "Owner")]));
    let path = format!("/im/v2.1/teams/{id}/actions/list_members?team_type=1");
    let v = ne.call("GET", &path, None).await;
    assert_eq!(v["data"]["items"].as_array().unwrap().len(), 1, "{v}");
    assert!(sim.accept_invitation(&id, "bob"));
    assert!(
        !sim.accept_invitation(&id, "bob"),
        "the invitation is used up"
    );
    assert!(!sim.accept_invitation(&id, "carol"), "never invited");
    assert!(sim.pending_invitations(&id).is_empty());
    assert_eq!(
        sim.member_roles(&id),
        roles(&[("alice", "Owner"), ("bob", "Member")])
    );
    let v = ne.call("GET", &path, None).await;
    let bob = &v["data"]["items"][1];
    assert_eq!(
        (
            bob["account_id"].as_str(),
            bob["invitor_account_id"].as_str()
        ),
        (Some("bob"), Some("alice"))
    );
}

#[tokio::test]
async fn a_full_team_refuses_invitees_with_108437() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let open = ne_create(
        &sim,
        "alice",
        json!({"members_limit": 2, "configuration": {"agree_mode": 1}}),
    )
    .await;
    let v = invite(&ne, &open, "alice", &["bob", "carol"]).await;
    assert_eq!(ne_code(&v), 200);
    assert_eq!(v["data"]["success_list"], json!(["bob"]));
    assert_eq!(codes_of(&v), [("carol".to_string(), 108437)]);
    let closed = ne_create(&sim, "alice", json!({"members_limit": 2})).await;
    invite(&ne, &closed, "alice", &["bob", "carol"]).await;
    assert!(sim.accept_invitation(&closed, "bob"));
    assert!(!sim.accept_invitation(&closed, "carol"), "no room left");
    assert_eq!(sim.pending_invitations(&closed), ["carol"]);
}

#[tokio::test]
async fn kick_reads_a_comma_joined_query_and_reports_each_account() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let id = ne_create(
        &sim,
        "alice",
        json!({"configuration": {"agree_mode": 1}, "invite_account_ids": ["bob", "carol"]}),
    )
    .await;
    let managers = Some(json!({"team_type": 1, "operator_id": "alice", "managers": ["bob"]}));
    let add = format!("/im/v2/teams/{id}/actions/add_manager");
    assert_eq!(ne_code(&ne.call("POST", &add, managers).await), 200);
    assert_eq!(ne_code(&kick(&ne, &id, "carol", "bob").await), 109432);
    let v = kick(&ne, &id, "bob", "alice,bob,carol").await;
    assert_eq!(
        codes_of(&v),
        [("alice".to_string(), 109308), ("bob".to_string(), 109310)]
    );
    assert_eq!(v["data"]["success_list"], json!(["carol"]));
    let v = kick(&ne, &id, "alice", "carol,ghost,bob").await;
    assert_eq!(
        codes_of(&v),
        [("carol".to_string(), 109404), ("ghost".to_string(), 102404)]
    );
    assert_eq!(sim.member_roles(&id), roles(&[("alice", "Owner")]));
    invite(&ne, &id, "alice", &["bob"]).await;
    assert_eq!(
        sim.member_roles(&id)["bob"],
        "Member",
        "a kicked manager comes back as a plain member"
    );
    let eleven = (0..11)
        .map(|i| format!("u{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(ne_code(&kick(&ne, &id, "alice", &eleven).await), 414);
    assert_eq!(sim.calls_to("kick")[0].method, "DELETE");
}

#[tokio::test]
async fn the_member_list_pages_with_either_token_name() {
    let sim = NeteaseSim::start(NeteaseSimConfig::default())
        .await
        .unwrap();
    let ne = Ne::new(&sim);
    let members: Vec<String> = (0..150).map(|i| format!("m{i:03}")).collect();
    sim.insert_group(SimGroup {
        id: "77".into(),
        group_type: "1".into(),
        owner: Some("m000".into()),
        members: members.clone(),
        max_members: 500,
        ..Default::default()
    });
    let managers = Some(json!({"team_type": 1, "operator_id": "m000", "managers": ["m001"]}));
    let add = "/im/v2/teams/77/actions/add_manager";
    assert_eq!(ne_code(&ne.call("POST", add, managers).await), 200);
    let base = "/im/v2.1/teams/77/actions/list_members?team_type=1&limit=100";
    let first = ne.call("GET", base, None).await;
    assert_eq!(first["data"]["has_more"], true);
    let items = first["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 100);
    let role = |i: usize| items[i]["member_role"].as_i64().unwrap();
    assert_eq!((role(0), role(1), role(2)), (1, 2, 0));
    assert_eq!(items[0]["team_id"], 77);
    let token = first["data"]["next_token"].as_str().unwrap().to_string();
    for name in ["page_token", "next_token"] {
        let v = ne
            .call("GET", &format!("{base}&{name}={token}"), None)
            .await;
        assert_eq!(v["data"]["has_more"], false, "{name}");
        assert_eq!(v["data"]["next_token"], "", "{name}");
        assert_eq!(v["data"]["items"][0]["account_id"], "m100", "{name}");
        assert_eq!(v["data"]["items"].as_array().unwrap().len(), 50);
    }
    let both = format!("{base}&page_token={token}&next_token=6d30");
    assert_eq!(ne_code(&ne.call("GET", &both, None).await), 414);
    sim.set_member_paging(provider_sim::netease::MemberPaging::PageToken);
    let v = ne
        .call("GET", &format!("{base}&next_token={token}"), None)
        .await;
    assert_eq!(
        v["data"]["items"][0]["account_id"], "m000",
        "Java reading ignores next_token"
    );
    sim.set_member_paging(provider_sim::netease::MemberPaging::NextToken);
    let v = ne
        .call("GET", &format!("{base}&page_token={token}"), None)
        .await;
    assert_eq!(
        v["data"]["items"][0]["account_id"], "m000",
        "Go reading ignores page_token"
    );
    let v = ne
        .call(
            "GET",
            "/im/v2.1/teams/77/actions/list_members?team_type=1&member_type=1",
            None,
        )
        .await;
    assert_eq!(v["data"]["items"].as_array().unwrap().len(), 2);
    let v = ne
        .call(
            "GET",
            "/im/v2.1/teams/77/actions/list_members?team_type=1&offset=149",
            None,
        )
        .await;
    assert_eq!(v["data"]["items"][0]["account_id"], "m149");
    assert_eq!(
        ne_code(&ne.call("GET", &base.replace("100", "101"), None).await),
        414
    );
    assert_eq!(
        ne_code(
            &ne.call(
                "GET",
                "/im/v2.1/teams/78/actions/list_members?team_type=1",
                None
            )
            .await
        ),
        108404
    );
}

#[tokio::test]
async fn managers_are_members_other_than_the_owner_within_the_limit() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let id = ne_create(
        &sim,
        "alice",
        json!({"configuration": {"agree_mode": 1}, "invite_account_ids": ["bob", "carol"]}),
    )
    .await;
    let body = |m: &[&str]| Some(json!({"team_type": 1, "operator_id": "alice", "managers": m}));
    let add = format!("/im/v2/teams/{id}/actions/add_manager");
    let remove = format!("/im/v2/teams/{id}/actions/remove_manager");
    assert_eq!(
        ne_code(&ne.call("POST", &add, body(&["alice"])).await),
        108430
    );
    assert_eq!(
        ne_code(&ne.call("DELETE", &remove, body(&["alice"])).await),
        109314
    );
    sim.set_manager_limit(Some(1));
    assert_eq!(
        ne_code(&ne.call("POST", &add, body(&["bob", "carol"])).await),
        108303
    );
    assert_eq!(sim.member_roles(&id)["bob"], "Member", "all or nothing");
    assert_eq!(ne_code(&ne.call("POST", &add, body(&["bob"])).await), 200);
    assert_eq!(sim.member_roles(&id)["bob"], "Admin");
    let transfer = format!("/im/v2/teams/{id}/actions/transfer_owner");
    let v = ne
        .call(
            "PATCH",
            &transfer,
            Some(json!({"team_type": 1, "new_owner_account_id": "bob", "leave": 2})),
        )
        .await;
    assert_eq!(ne_code(&v), 200);
    assert_eq!(
        sim.member_roles(&id),
        roles(&[("alice", "Member"), ("bob", "Owner"), ("carol", "Member")]),
        "the old owner stays as a plain member; the new one is no manager"
    );
    assert!(sim.kick_out_of_band(&id, "carol"));
    assert!(!sim.kick_out_of_band(&id, "carol"));
    assert!(!sim.kick_out_of_band(&id, "bob"), "the owner stays");
    assert!(sim.member_roles("404").is_empty());
}
