//! The Tencent client against the Tencent simulator: every call, every outcome class.

use std::collections::BTreeMap;

use chatgroup_operator::provider::{
    AttributeChanges, CreateOutcome, DisbandOutcome, GroupProvider, GroupType, JoinPolicy, Lookup,
    MarkerQuery,
};

use crate::tencent_support;
use tencent_support::*;

#[tokio::test]
async fn creating_a_group_uses_the_chosen_id_and_the_rest_type_spelling() {
    let (sim, client) = start().await;
    let outcome = client
        .create_group(&request("team-1", GroupType::Work))
        .await
        .expect("created");
    assert!(
        matches!(&outcome, CreateOutcome::Created { group_id, info } if group_id == "team-1" && info.request_id.is_some()),
        "{outcome:?}"
    );
    let stored = sim.group("team-1").expect("the group exists");
    assert_eq!(
        (stored.group_type.as_str(), stored.max_members),
        ("Private", 500)
    );
    assert_eq!(stored.join_option, "FreeAccess");
    assert_eq!(stored.owner.as_deref(), Some("alice"));
    assert_eq!(stored.custom_data.len(), 2);
}

#[tokio::test]
async fn a_group_reads_back_with_its_custom_data() {
    let (_sim, client) = start().await;
    client
        .create_group(&request("team-1", GroupType::Work))
        .await
        .expect("created");
    let read = client
        .get_groups(&[key("team-1", GroupType::Work)])
        .await
        .expect("read");
    let Lookup::Found(group) = &read[0].1 else {
        panic!("not found: {read:?}")
    };
    assert_eq!(group.attributes.name, "Team");
    assert_eq!(
        group.group_type.map(GroupType::canonical),
        Some(GroupType::Private)
    );
    assert_eq!(group.attributes.owner.as_deref(), Some("alice"));
    assert_eq!(
        group.attributes.custom_data.get("k2").map(String::as_str),
        Some("v2")
    );
    assert_eq!(group.attributes.join_policy, Some(JoinPolicy::FreeAccess));
    assert_eq!(group.attributes.max_members, Some(500));
}

#[tokio::test]
async fn an_update_sends_only_changes_and_deletes_custom_keys_that_are_gone() {
    let (sim, client) = start().await;
    client
        .create_group(&request("team-1", GroupType::Public))
        .await
        .expect("created");
    let changes = AttributeChanges {
        name: Some("Renamed".into()),
        custom_data: Some(BTreeMap::from([("k1".into(), "new".into())])),
        ..Default::default()
    };
    client
        .update_group(&key("team-1", GroupType::Public), &changes)
        .await
        .expect("updated");
    let stored = sim.group("team-1").unwrap();
    assert_eq!(stored.name, "Renamed");
    let only_k1 = BTreeMap::from([("k1".to_string(), "new".to_string())]);
    assert_eq!(stored.custom_data, only_k1, "k2 was deleted");
    assert_eq!(
        stored.introduction, "intro",
        "fields not in the change are left alone"
    );
    let body = &sim.calls_to("modify_group_base_info")[0].body;
    assert!(body.get("Introduction").is_none() && body.get("MaxMemberNum").is_none());
}

#[tokio::test]
async fn a_transfer_adds_the_new_owner_silently_then_changes_the_owner() {
    let (sim, client) = start().await;
    client
        .create_group(&request("team-1", GroupType::Public))
        .await
        .expect("created");
    client
        .transfer_owner(&key("team-1", GroupType::Public), "bob")
        .await
        .expect("transferred");
    assert_eq!(sim.group("team-1").unwrap().owner.as_deref(), Some("bob"));
    assert_eq!(sim.calls_to("add_group_member")[0].body["Silence"], 1);
    // A second transfer back finds alice already a member (Result 2): fine.
    client
        .transfer_owner(&key("team-1", GroupType::Public), "alice")
        .await
        .expect("back");
    assert_eq!(sim.group("team-1").unwrap().owner.as_deref(), Some("alice"));
}

#[tokio::test]
async fn disbanding_a_group_removes_it() {
    let (sim, client) = start().await;
    seed(&sim, "team-1", "alice");
    let gone = client
        .disband(&key("team-1", GroupType::Public))
        .await
        .expect("disbanded");
    assert!(matches!(gone, DisbandOutcome::Disbanded(info) if info.code == 0));
    assert!(sim.group("team-1").is_none());
    assert_eq!(sim.calls_to("destroy_group")[0].body["GroupId"], "team-1");
}

#[tokio::test]
async fn every_request_carries_the_envelope_query_with_a_fresh_random() {
    let (sim, client) = start().await;
    seed(&sim, "g1", "alice");
    for _ in 0..3 {
        client
            .get_groups(&[key("g1", GroupType::Public)])
            .await
            .expect("read");
    }
    let calls = sim.calls_to("get_group_info");
    assert_eq!(calls.len(), 3);
    let mut randoms = Vec::new();
    for call in &calls {
        assert_eq!(call.path, "/v4/group_open_http_svc/get_group_info");
        assert_eq!(
            query_param(&call.query, "sdkappid").as_deref(),
            Some("1400000000")
        );
        assert_eq!(
            query_param(&call.query, "identifier").as_deref(),
            Some("administrator")
        );
        assert_eq!(
            query_param(&call.query, "contenttype").as_deref(),
            Some("json")
        );
        assert!(query_param(&call.query, "usersig").is_some_and(|s| !s.is_empty()));
        randoms.push(
            query_param(&call.query, "random")
                .expect("random")
                .parse::<u32>()
                .expect("u32"),
        );
        assert!(
            call.body["ResponseFilter"]["GroupBaseInfoFilter"].is_array(),
            "reads use a filter"
        );
    }
    randoms.dedup();
    assert!(randoms.len() > 1, "random changes between requests");
}

#[tokio::test]
async fn batches_are_split_at_fifty_and_missing_groups_are_not_found() {
    let (sim, client) = start().await;
    let mut keys = Vec::new();
    for i in 0..60 {
        seed(&sim, &format!("g{i}"), "alice");
        keys.push(key(&format!("g{i}"), GroupType::Public));
    }
    keys.insert(30, key("missing", GroupType::Public));
    let read = client.get_groups(&keys).await.expect("read");
    assert_eq!(sim.calls_to("get_group_info").len(), 2);
    assert_eq!(read.len(), 61);
    for (key, (id, _)) in keys.iter().zip(&read) {
        assert_eq!(&key.id, id, "answers are in the order asked");
    }
    assert!(matches!(&read[30].1, Lookup::NotFound(info) if info.code == 10010));
    assert!(matches!(&read[0].1, Lookup::Found(g) if g.attributes.name == "seeded g0"));
}

#[tokio::test]
async fn a_taken_id_returns_the_existing_group() {
    let (sim, client) = start().await;
    seed(&sim, "mine", "administrator");
    seed(&sim, "theirs", "carol");
    let CreateOutcome::AlreadyExists { existing, info } = client
        .create_group(&request("mine", GroupType::Public))
        .await
        .unwrap()
    else {
        panic!("expected AlreadyExists")
    };
    assert_eq!(info.code, 10025);
    assert_eq!(existing.expect("read back").attributes.name, "seeded mine");
    let CreateOutcome::AlreadyExists { existing, info } = client
        .create_group(&request("theirs", GroupType::Public))
        .await
        .unwrap()
    else {
        panic!("expected AlreadyExists")
    };
    assert_eq!(info.code, 10021);
    assert_eq!(
        existing.expect("read back").attributes.owner.as_deref(),
        Some("carol")
    );
}

#[tokio::test]
async fn disbanding_a_missing_group_is_already_gone() {
    let (_sim, client) = start().await;
    let outcome = client
        .disband(&key("never-was", GroupType::Public))
        .await
        .expect("ok");
    assert!(matches!(outcome, DisbandOutcome::AlreadyGone(info) if info.code == 10010));
}

#[tokio::test]
async fn find_by_marker_is_not_needed_on_tencent() {
    let (sim, client) = start().await;
    assert_eq!(
        client
            .find_by_marker(&MarkerQuery {
                group_type: GroupType::Public,
                owner: "alice".into(),
                marker: "uid".into(),
                name: Some("Team".into()),
                created_not_before_ms: 0,
            })
            .await
            .unwrap(),
        Vec::new()
    );
    assert!(sim.calls().is_empty());
}
