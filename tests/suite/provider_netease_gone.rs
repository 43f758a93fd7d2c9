//! NetEase "gone" is proven by the batch get's `invalid_tids`, not by one code; and
//! stamping the marker on an adopted team's `server_extension`.

use chatgroup_operator::provider::{
    DisbandOutcome, FailureClass, GroupKey, GroupProvider, Lookup, Stamp, MARKER_KEY,
};
use provider_sim::{Fault, FaultKind};
use serde_json::{json, Value};

use crate::netease_support;
use netease_support::*;

use crate::fake;
use fake::{netease_ok, Fake};

#[tokio::test]
async fn a_missing_team_is_gone_only_once_invalid_tids_lists_it() {
    let (sim, client) = start().await;
    let outcome = client.disband(&key("424242", "alice")).await.expect("ok");
    let DisbandOutcome::AlreadyGone(info) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(info.code, 108404);
    assert!(info.message.contains("missing"), "{}", info.message);
    let batches = sim.calls_to("batch_get");
    assert_eq!(
        batches.len(),
        2,
        "asked as advanced, then ruled out as super"
    );
    assert!(batches[0].query.contains("team_type=1"));
    assert!(batches[1].query.contains("team_type=2"));

    let read = client.get_groups(&[key("424242", "alice")]).await.unwrap();
    assert!(matches!(&read[0].1, Lookup::NotFound(info) if info.code == 108404));
}

#[tokio::test]
async fn a_not_found_code_for_a_live_team_is_not_believed() {
    let (sim, client) = start().await;
    seed(&sim, "501", "alice", "");
    sim.inject(Fault::times(Some("disband"), FaultKind::Code(108404), 1));
    let err = client
        .disband(&key("501", "alice"))
        .await
        .expect_err("the team still exists");
    assert_eq!(err.class, FailureClass::Transient);
    assert!(
        err.info.message.contains("still exists"),
        "{}",
        err.info.message
    );
    assert!(sim.group("501").is_some());

    sim.inject(Fault::times(Some("get"), FaultKind::Code(108404), 1));
    let read = client.get_groups(&[key("501", "alice")]).await.unwrap();
    assert!(matches!(&read[0].1, Lookup::Found(team) if team.id == "501"));

    // Another failure on disband keeps its class once the batch get finds the team.
    sim.inject(Fault::times(Some("disband"), FaultKind::Code(109432), 1));
    let err = client
        .disband(&key("501", "alice"))
        .await
        .expect_err("refused");
    assert_eq!((err.class, err.info.code), (FailureClass::Terminal, 109432));

    let outcome = client
        .disband(&key("501", "alice"))
        .await
        .expect("disbanded");
    assert!(matches!(outcome, DisbandOutcome::Disbanded(_)));
}

#[tokio::test]
async fn a_failed_confirmation_is_an_error_not_gone() {
    let (sim, client) = start().await;
    sim.inject(Fault::always(Some("batch_get"), FaultKind::Code(500)));
    let err = client
        .disband(&key("424242", "alice"))
        .await
        .expect_err("not confirmed");
    assert_eq!(err.class, FailureClass::Transient);
    assert!(
        err.info.message.contains("not confirmed gone"),
        "{}",
        err.info.message
    );
    let err = client
        .get_groups(&[key("424242", "alice")])
        .await
        .expect_err("not confirmed");
    assert_eq!(err.class, FailureClass::Transient);
}

#[tokio::test]
async fn a_team_of_the_other_type_is_not_gone() {
    let (sim, client) = start().await;
    seed_named(&sim, "777", "2", "Big", "alice", "");
    let err = client
        .get_groups(&[key("777", "alice")])
        .await
        .expect_err("a super team read as advanced");
    assert_eq!(err.class, FailureClass::Terminal);
    assert!(err.info.message.contains("super") && err.info.message.contains("spec.type"));
    let err = client
        .disband(&key("777", "alice"))
        .await
        .expect_err("wrong type");
    assert_eq!(err.class, FailureClass::Terminal);
    assert!(sim.group("777").is_some());
}

/// A fake whose disband and get answer "not found" and whose batch get answers `batch`.
async fn not_found_confirmed_by(batch: Value) -> Fake {
    Fake::start(move |seen| {
        if seen.path == "/im/v2.1/teams" {
            netease_ok(batch.clone())
        } else {
            (
                200,
                json!({"code": 108404, "msg": "team not exist", "data": {}}).to_string(),
            )
        }
    })
    .await
}

#[tokio::test]
async fn an_answer_listing_invalid_tids_without_the_team_is_an_error() {
    let fake = not_found_confirmed_by(json!({"team_info_list": [], "invalid_tids": []})).await;
    let client = client_for(&fake.base_url);
    let err = client
        .disband(&key("9", "alice"))
        .await
        .expect_err("not confirmed");
    assert_eq!(err.class, FailureClass::Transient);
    assert!(err.info.message.contains("neither"), "{}", err.info.message);
}

/// The Go SDK's batch-get type has no `invalid_tids`: a successful answer that leaves
/// the team out of `team_info_list` (under both team types) confirms it gone, so a
/// team disbanded outside the operator does not hold its object forever.
#[tokio::test]
async fn an_answer_in_the_go_sdk_shape_confirms_a_team_missing_from_its_list() {
    let fake = not_found_confirmed_by(json!({"team_info_list": []})).await;
    let client = client_for(&fake.base_url);
    let outcome = client.disband(&key("9", "alice")).await.expect("gone");
    assert!(
        matches!(outcome, DisbandOutcome::AlreadyGone(_)),
        "{outcome:?}"
    );
    let read = client.get_groups(&[key("9", "alice")]).await.unwrap();
    assert!(matches!(&read[0].1, Lookup::NotFound(_)), "{read:?}");
}

fn extension_of(sim: &provider_sim::NeteaseSim, id: &str) -> Value {
    serde_json::from_str(&sim.group(id).expect("team").server_extension).expect("JSON")
}

#[tokio::test]
async fn stamping_adds_the_marker_and_keeps_the_apps_own_keys() {
    let (sim, client) = start().await;
    assert!(client.carries_marker());
    seed(&sim, "601", "alice", "");
    seed(&sim, "602", "alice", r#"{"a":"1","n":2,"deep":{"x":[1]}}"#);
    assert_eq!(
        client.stamp(&key("601", "alice"), "uid-1").await.unwrap(),
        Stamp::Written
    );
    assert_eq!(extension_of(&sim, "601"), json!({ MARKER_KEY: "uid-1" }));
    let update = &sim.calls_to("update")[0];
    assert_eq!(update.method, "PATCH");
    assert_eq!(update.path, "/im/v2.1/teams/601");
    assert_eq!(
        (&update.body["team_type"], &update.body["operator_id"]),
        (&json!(1), &json!("alice"))
    );

    assert_eq!(
        client.stamp(&key("602", "alice"), "uid-2").await.unwrap(),
        Stamp::Written
    );
    assert_eq!(
        extension_of(&sim, "602"),
        json!({"a": "1", "n": 2, "deep": {"x": [1]}, MARKER_KEY: "uid-2"})
    );
    let read = client.get_groups(&[key("602", "alice")]).await.unwrap();
    let Lookup::Found(team) = &read[0].1 else {
        panic!()
    };
    assert_eq!(team.marker.as_deref(), Some("uid-2"));

    // Already there: no write.
    let updates = sim.calls_to("update").len();
    assert_eq!(
        client.stamp(&key("602", "alice"), "uid-2").await.unwrap(),
        Stamp::Written
    );
    assert_eq!(sim.calls_to("update").len(), updates);
}

#[tokio::test]
async fn a_server_extension_that_is_not_a_json_object_is_left_alone() {
    let (sim, client) = start().await;
    for (id, raw) in [("611", "plain text"), ("612", "[1,2]"), ("613", "\"s\"")] {
        seed(&sim, id, "alice", raw);
        assert_eq!(
            client.stamp(&key(id, "alice"), "uid").await.unwrap(),
            Stamp::Foreign
        );
        assert_eq!(sim.group(id).unwrap().server_extension, raw);
    }
    assert!(sim.calls_to("update").is_empty());
}

#[tokio::test]
async fn a_stamp_that_would_overflow_or_has_no_team_is_an_error() {
    let (sim, client) = start().await;
    let big = json!({ "blob": "x".repeat(1000) }).to_string();
    seed(&sim, "621", "alice", &big);
    let err = client
        .stamp(&key("621", "alice"), "00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("over 1024");
    assert_eq!(err.class, FailureClass::Terminal);
    assert!(
        err.info.message.contains("server_extension"),
        "{}",
        err.info.message
    );
    assert_eq!(sim.group("621").unwrap().server_extension, big);

    let err = client
        .stamp(&key("622", "alice"), "uid")
        .await
        .expect_err("no such team");
    assert_eq!(err.class, FailureClass::NotFound);
    let no_owner = GroupKey {
        owner: None,
        ..key("621", "alice")
    };
    assert!(client.stamp(&no_owner, "uid").await.is_err());
    let err = client
        .stamp(&key("621", "alice"), "")
        .await
        .expect_err("empty");
    assert_eq!(err.class, FailureClass::Terminal);
    assert!(sim.calls_to("update").is_empty());
}
