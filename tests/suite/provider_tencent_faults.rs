//! The Tencent client against the Tencent simulator: failure classes, throttles and
//! UserSig handling.

use std::time::Duration;

use chatgroup_operator::provider::{DisbandOutcome, FailureClass, GroupProvider, GroupType};
use provider_sim::{Fault, FaultKind, SimGroup, TencentSimConfig};

use crate::tencent_support;
use tencent_support::*;

#[tokio::test]
async fn code_10015_on_disband_is_confirmed_by_a_read() {
    let (sim, client) = start().await;
    sim.inject(Fault::times(
        Some("destroy_group"),
        FaultKind::Code(10015),
        1,
    ));
    let outcome = client
        .disband(&key("absent", GroupType::Public))
        .await
        .expect("confirmed gone");
    assert!(matches!(outcome, DisbandOutcome::AlreadyGone(info) if info.code == 10015));
    assert_eq!(
        sim.calls_to("get_group_info").len(),
        1,
        "a read confirmed it"
    );

    seed(&sim, "present", "alice");
    sim.inject(Fault::times(
        Some("destroy_group"),
        FaultKind::Code(10015),
        1,
    ));
    let err = client
        .disband(&key("present", GroupType::Public))
        .await
        .expect_err("the group still exists");
    assert_eq!(err.class, FailureClass::Terminal);
    assert!(sim.group("present").is_some());
}

/// Only 10010 counts as already disbanded: a destroy answered 10015 whose confirming
/// read answers 10015 too names an id that is wrong for this app, a terminal error
/// naming the id and the way out, never "already gone".
#[tokio::test]
async fn code_10015_confirmed_by_another_10015_is_terminal_not_gone() {
    let (sim, client) = start().await;
    // An id over 48 bytes: the simulator answers 10015 to destroy and read alike.
    let bad = "x".repeat(49);
    let err = client
        .disband(&key(&bad, GroupType::Public))
        .await
        .expect_err("not gone: the id is invalid");
    assert_eq!(err.class, FailureClass::Terminal);
    assert!(err.info.message.contains(&bad), "{}", err.info.message);
    assert!(
        err.info.message.contains("deletionPolicy: Orphan"),
        "{}",
        err.info.message
    );
    assert_eq!(sim.calls_to("destroy_group").len(), 1);
    assert_eq!(
        sim.calls_to("get_group_info").len(),
        1,
        "confirmed by one read"
    );
}

#[tokio::test]
async fn terminal_codes_are_terminal() {
    let (sim, client) = start().await;
    sim.insert_group(SimGroup {
        id: "live".into(),
        group_type: "AVChatRoom".into(),
        name: "live".into(),
        owner: Some("alice".into()),
        join_option: "FreeAccess".into(),
        ..Default::default()
    });
    let err = client
        .transfer_owner(&key("live", GroupType::AVChatRoom), "bob")
        .await
        .expect_err("AVChatRoom");
    assert_eq!((err.class, err.info.code), (FailureClass::Terminal, 10007));
    assert!(
        sim.calls_to("add_group_member").is_empty(),
        "no member add for AVChatRoom"
    );
    sim.inject(Fault::times(
        Some("create_group"),
        FaultKind::Code(10004),
        1,
    ));
    let err = client
        .create_group(&request("x1", GroupType::Public))
        .await
        .expect_err("10004");
    assert_eq!((err.class, err.info.code), (FailureClass::Terminal, 10004));
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_call() {
    let (sim, client) = start().await;
    let mut bad = request("@TGS#reserved", GroupType::Public);
    let err = client
        .create_group(&bad)
        .await
        .expect_err("reserved prefix");
    assert!(err.info.message.contains("spec.groupId"), "{err}");
    bad.group_id = Some("ok-id".into());
    bad.attributes.name = "n".repeat(31);
    let err = client.create_group(&bad).await.expect_err("long name");
    assert!(err.info.message.contains("spec.name"), "{err}");
    let err = client
        .disband(&key("1", GroupType::Advanced))
        .await
        .expect_err("NetEase type");
    assert!(err.info.message.contains("spec.type"), "{err}");
    assert!(sim.calls().is_empty());
}

#[tokio::test]
async fn transport_failures_are_transient_with_the_http_status() {
    let (sim, client) = start_with(TencentSimConfig::default(), |c| {
        c.timeout = Duration::from_millis(500)
    })
    .await;
    let k = [key("g", GroupType::Public)];
    sim.inject(Fault::times(None, FaultKind::Http502, 1));
    let err = client.get_groups(&k).await.expect_err("502");
    assert_eq!(err.class, FailureClass::Transient);
    assert!(err.info.message.contains("HTTP 502"), "{err}");
    sim.inject(Fault::times(None, FaultKind::DropConnection, 1));
    let err = client.get_groups(&k).await.expect_err("dropped");
    assert_eq!(err.class, FailureClass::Transient);
    sim.inject(Fault::times(None, FaultKind::MalformedJson, 1));
    let err = client.get_groups(&k).await.expect_err("malformed");
    assert_eq!(err.class, FailureClass::Transient);
    assert!(err.info.message.contains("HTTP 200"), "{err}");
    sim.inject(Fault::times(
        None,
        FaultKind::Latency(Duration::from_secs(2)),
        1,
    ));
    let err = client.get_groups(&k).await.expect_err("timeout");
    assert_eq!(err.class, FailureClass::Transient);
    assert!(err.info.message.contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_throttle_is_retried_and_then_gives_up_as_throttled() {
    let (sim, client) = start().await;
    seed(&sim, "g", "alice");
    sim.inject(Fault::times(
        Some("destroy_group"),
        FaultKind::Code(60007),
        2,
    ));
    let outcome = client
        .disband(&key("g", GroupType::Public))
        .await
        .expect("retried past the throttle");
    assert!(matches!(outcome, DisbandOutcome::Disbanded(_)));
    let executed = sim
        .calls_to("destroy_group")
        .iter()
        .filter(|c| c.executed)
        .count();
    assert_eq!(executed, 1);

    sim.inject(Fault::always(
        Some("get_group_info"),
        FaultKind::Code(10006),
    ));
    let started = std::time::Instant::now();
    let err = client
        .get_groups(&[key("g", GroupType::Public)])
        .await
        .expect_err("throttled");
    assert_eq!((err.class, err.info.code), (FailureClass::Throttled, 10006));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the wait is bounded"
    );
    assert!(
        sim.calls_to("get_group_info").len() >= 2,
        "the call was retried"
    );
    assert!(client.budget().stats().throttles >= 3);
}

#[tokio::test]
async fn an_expired_usersig_is_regenerated_and_retried_exactly_once() {
    let (sim, client) = start().await;
    seed(&sim, "g", "alice");
    sim.inject(Fault::times(
        Some("get_group_info"),
        FaultKind::Code(70001),
        1,
    ));
    client
        .get_groups(&[key("g", GroupType::Public)])
        .await
        .expect("retried with a new sig");
    assert_eq!(sim.calls_to("get_group_info").len(), 2);

    sim.inject(Fault::times(
        Some("get_group_info"),
        FaultKind::Code(70052),
        2,
    ));
    let err = client
        .get_groups(&[key("g", GroupType::Public)])
        .await
        .expect_err("second rejection");
    assert_eq!(err.info.code, 70052);
    assert_eq!(
        sim.calls_to("get_group_info").len(),
        4,
        "one retry, not more"
    );
}

#[tokio::test]
async fn a_short_lived_usersig_is_renewed_before_it_expires() {
    let (sim, client) = start_with(TencentSimConfig::default(), |c| {
        c.usersig_ttl = Duration::from_secs(2)
    })
    .await;
    seed(&sim, "g", "alice");
    for _ in 0..12 {
        client
            .get_groups(&[key("g", GroupType::Public)])
            .await
            .expect("read");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let calls = sim.calls_to("get_group_info");
    assert!(
        calls.iter().all(|c| c.code == 0),
        "no call was rejected: {:?}",
        calls.iter().map(|c| c.code).collect::<Vec<_>>()
    );
    let mut sigs: Vec<String> = calls
        .iter()
        .filter_map(|c| query_param(&c.query, "usersig"))
        .collect();
    sigs.dedup();
    assert!(sigs.len() >= 2, "the sig was renewed");
}

#[tokio::test]
async fn a_wrong_identifier_is_terminal() {
    let (_sim, client) = start_with(TencentSimConfig::default(), |c| {
        c.identifier = "intruder".into()
    })
    .await;
    let err = client
        .get_groups(&[key("g", GroupType::Public)])
        .await
        .expect_err("not an admin");
    assert_eq!(err.class, FailureClass::Terminal);
}

#[tokio::test]
async fn a_usersig_lockout_holds_back_every_api_without_waiting_a_minute() {
    let (sim, client) = start().await;
    seed(&sim, "g", "alice");
    sim.inject(Fault::times(
        Some("get_group_info"),
        FaultKind::Code(70050),
        1,
    ));
    let started = std::time::Instant::now();
    let err = client
        .get_groups(&[key("g", GroupType::Public)])
        .await
        .expect_err("locked");
    assert_eq!((err.class, err.info.code), (FailureClass::Throttled, 70050));
    let err = client
        .disband(&key("g", GroupType::Public))
        .await
        .expect_err("the whole app is locked");
    assert_eq!(err.class, FailureClass::Throttled);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "gave up at once instead of waiting 60 s"
    );
    assert!(
        sim.calls_to("destroy_group").is_empty(),
        "nothing was sent during the lock"
    );
    assert!(sim.group("g").is_some());
}
