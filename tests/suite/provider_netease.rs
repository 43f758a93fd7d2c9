//! The NetEase client against the NetEase simulator: every call, every outcome class.

use std::collections::BTreeMap;

use chatgroup_operator::provider::validate::MARKER_KEY;
use chatgroup_operator::provider::{
    AttributeChanges, CreateOutcome, DisbandOutcome, FailureClass, GroupProvider, JoinPolicy,
    Lookup, NeteaseClient, Secret,
};
use provider_sim::{NeteaseSim, NeteaseSimConfig};

use crate::netease_support;
use netease_support::*;

/// Creates the team of `request("uid-1")` and returns its id.
async fn create(client: &NeteaseClient) -> String {
    match client
        .create_group(&request("uid-1"))
        .await
        .expect("created")
    {
        CreateOutcome::Created { group_id, .. } => group_id,
        other => panic!("unexpected {other:?}"),
    }
}

fn stored_extension(sim: &NeteaseSim, id: &str) -> serde_json::Value {
    let stored = sim.group(id).expect("stored");
    serde_json::from_str(&stored.server_extension).expect("server_extension is JSON")
}

#[tokio::test]
async fn creating_a_team_stores_the_marker_next_to_the_custom_data() {
    let (sim, client) = start().await;
    let outcome = client
        .create_group(&request("uid-1"))
        .await
        .expect("created");
    let CreateOutcome::Created { group_id: id, info } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        id.bytes().all(|b| b.is_ascii_digit()),
        "decimal team id {id}"
    );
    let create_call = &sim.calls_to("create")[0];
    assert_eq!(
        info.request_id, create_call.trace_id,
        "the request id is the trace id"
    );
    assert_eq!(create_call.body["configuration"]["join_mode"], 2);
    assert_eq!(create_call.body["team_type"], 1);
    let extension = stored_extension(&sim, &id);
    assert_eq!(extension[MARKER_KEY], "uid-1");
    assert_eq!(extension["a"], "1");
}

#[tokio::test]
async fn a_team_reads_back_with_its_marker_split_from_the_custom_data() {
    let (_sim, client) = start().await;
    let id = create(&client).await;
    let read = client.get_groups(&[key(&id, "alice")]).await.expect("read");
    let Lookup::Found(team) = &read[0].1 else {
        panic!("{read:?}")
    };
    assert_eq!(team.marker.as_deref(), Some("uid-1"));
    assert_eq!(
        team.attributes.custom_data,
        BTreeMap::from([("a".to_string(), "1".to_string())])
    );
    assert_eq!(team.attributes.join_policy, Some(JoinPolicy::DisableApply));
    assert_eq!(team.attributes.owner.as_deref(), Some("alice"));
    assert_eq!(team.attributes.introduction.as_deref(), Some("intro"));
}

#[tokio::test]
async fn an_update_sends_only_the_changes_and_keeps_the_marker() {
    let (sim, client) = start().await;
    let id = create(&client).await;
    let changes = AttributeChanges {
        name: Some("Renamed".into()),
        custom_data: Some(BTreeMap::from([("b".into(), "2".into())])),
        ..Default::default()
    };
    client
        .update_group(&key(&id, "alice"), &changes)
        .await
        .expect("updated");
    let update = &sim.calls_to("update")[0];
    assert_eq!(update.method, "PATCH");
    assert_eq!(update.body["operator_id"], "alice");
    assert!(
        update.body.get("intro").is_none(),
        "only changed fields are sent"
    );
    assert_eq!(sim.group(&id).unwrap().name, "Renamed");
    let extension = stored_extension(&sim, &id);
    assert_eq!(
        extension[MARKER_KEY], "uid-1",
        "the marker survives an update"
    );
    assert_eq!(extension["b"], "2");
    assert!(extension.get("a").is_none());
}

#[tokio::test]
async fn a_transfer_invites_the_new_owner_and_keeps_the_old_one_as_member() {
    let (sim, client) = start().await;
    let id = create(&client).await;
    client
        .transfer_owner(&key(&id, "alice"), "bob")
        .await
        .expect("transferred");
    let team = sim.group(&id).unwrap();
    assert_eq!(team.owner.as_deref(), Some("bob"));
    assert!(
        team.members.contains(&"alice".to_string()),
        "old owner stays"
    );
    assert_eq!(sim.calls_to("invite").len(), 1);
    assert_eq!(sim.calls_to("transfer_owner")[0].body["leave"], 2);
}

#[tokio::test]
async fn disband_uses_the_v2_1_delete_with_the_owner_as_operator() {
    let (sim, client) = start().await;
    let id = create(&client).await;
    let gone = client.disband(&key(&id, "alice")).await.expect("disbanded");
    assert!(matches!(gone, DisbandOutcome::Disbanded(_)));
    assert!(sim.group(&id).is_none());
    let disband = &sim.calls_to("disband")[0];
    assert_eq!(disband.method, "DELETE");
    assert_eq!(disband.path, format!("/im/v2.1/teams/{id}"));
    assert!(disband.query.contains("operator_id=alice") && disband.query.contains("team_type=1"));
}

#[tokio::test]
async fn every_request_is_signed_and_has_a_fresh_trace_id() {
    let (sim, client) = start().await;
    seed(&sim, "100", "alice", "");
    for _ in 0..4 {
        client
            .get_groups(&[key("100", "alice")])
            .await
            .expect("read");
    }
    let calls = sim.calls();
    assert!(
        calls.iter().all(|c| c.code == 200),
        "CurTime and CheckSum accepted"
    );
    let mut ids: Vec<_> = calls
        .iter()
        .map(|c| c.trace_id.clone().expect("trace id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), calls.len(), "no trace id is reused");
}

#[tokio::test]
async fn a_wrong_app_secret_is_terminal() {
    let (_sim, client) = start_with(NeteaseSimConfig::default(), |c| {
        c.app_secret = Secret::new("wrong")
    })
    .await;
    let err = client
        .get_groups(&[key("1", "alice")])
        .await
        .expect_err("bad checksum");
    assert_eq!((err.class, err.info.code), (FailureClass::Terminal, 414));
}

#[tokio::test]
async fn batch_reads_report_missing_teams_in_order() {
    let (sim, client) = start().await;
    seed(&sim, "11", "alice", "");
    seed(&sim, "12", "alice", "not json");
    let keys = [key("12", "alice"), key("99", "alice"), key("11", "alice")];
    let read = client.get_groups(&keys).await.expect("read");
    assert_eq!(sim.calls_to("batch_get").len(), 1);
    let ids: Vec<&str> = read.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["12", "99", "11"]);
    assert!(matches!(&read[1].1, Lookup::NotFound(_)));
    let Lookup::Found(foreign) = &read[0].1 else {
        panic!()
    };
    assert_eq!(
        (
            foreign.marker.as_ref(),
            foreign.attributes.custom_data.len()
        ),
        (None, 0)
    );
    let single = client
        .get_groups(&[key("99", "alice")])
        .await
        .expect("read");
    assert!(matches!(&single[0].1, Lookup::NotFound(info) if info.code == 108404));
}

#[tokio::test]
async fn disbanding_a_missing_team_is_already_gone() {
    let (_sim, client) = start().await;
    let outcome = client.disband(&key("424242", "alice")).await.expect("ok");
    assert!(matches!(outcome, DisbandOutcome::AlreadyGone(info) if info.code == 108404));
}
