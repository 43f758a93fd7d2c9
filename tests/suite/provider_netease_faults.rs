//! The NetEase client against the NetEase simulator: failure classes, throttles,
//! failed_list and recovering a create whose answer was lost.

use chatgroup_operator::provider::validate::MARKER_KEY;
use chatgroup_operator::provider::{
    AttributeChanges, CreateOutcome, DisbandOutcome, FailureClass, GroupKey, GroupProvider,
    GroupType, MarkerQuery, NeteaseClient, NeteaseEndpoint,
};
use provider_sim::{Fault, FaultKind, NeteaseSimConfig};

use crate::netease_support;
use netease_support::*;

async fn create(client: &NeteaseClient, marker: &str) -> String {
    match client
        .create_group(&request(marker))
        .await
        .expect("created")
    {
        CreateOutcome::Created { group_id, .. } => group_id,
        other => panic!("unexpected {other:?}"),
    }
}

/// A proxy on 127.0.0.1 that forwards each request to `target` and, once the answer
/// starts to arrive (the call was executed), closes the connection without passing it on.
async fn answer_losing_proxy(target: &str) -> String {
    let target = target.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_read, client_write) = inbound.into_split();
                let (mut sim_read, mut sim_write) = outbound.into_split();
                let forward = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut sim_write).await;
                });
                let mut first = [0u8; 64];
                let _ = tokio::io::AsyncReadExt::read(&mut sim_read, &mut first).await;
                forward.abort();
                drop(client_write);
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_lost_create_answer_is_recovered_by_marker() {
    let (sim, client) = start().await;
    // Many other teams of the owner, so the lookup pages.
    for i in 0..130 {
        seed(
            &sim,
            &format!("{}", 5000 + i),
            "alice",
            &format!("{{\"{MARKER_KEY}\":\"other-{i}\"}}"),
        );
    }
    let proxy = answer_losing_proxy(&sim.base_url()).await;
    let (_unused, lossy) = start_with(NeteaseSimConfig::default(), |c| {
        c.endpoint = NeteaseEndpoint::Url(proxy)
    })
    .await;
    let err = lossy
        .create_group(&request("uid-lost"))
        .await
        .expect_err("the answer is lost");
    assert_eq!(err.class, FailureClass::Transient);
    assert_eq!(sim.groups().len(), 131, "the create was executed");
    assert_eq!(
        sim.calls_to("create").iter().filter(|c| c.executed).count(),
        1
    );

    let found = client
        .find_by_marker(&query("uid-lost"))
        .await
        .expect("lookup");
    let team = found.first().expect("the team is found by its marker");
    assert_eq!(team.attributes.name, "Team");
    assert!(sim.group(&team.id).is_some());
    assert!(
        sim.calls_to("joined_teams").len() >= 2,
        "paged through the joined teams"
    );
    let none = client
        .find_by_marker(&query("uid-absent"))
        .await
        .expect("lookup");
    assert!(none.is_empty());
}

#[tokio::test]
async fn failed_list_entries_are_surfaced() {
    let sim_config = NeteaseSimConfig {
        accounts: Some(vec!["alice".into()]),
        ..Default::default()
    };
    let (sim, client) = start_with(sim_config, |_| {}).await;
    let id = create(&client, "uid-2").await;
    let err = client
        .transfer_owner(&key(&id, "alice"), "ghost")
        .await
        .expect_err("ghost cannot join");
    assert_eq!(err.class, FailureClass::Terminal);
    assert!(err.info.message.contains("ghost"), "{err}");
    assert!(
        sim.calls_to("transfer_owner").is_empty(),
        "no transfer without membership"
    );
    assert_eq!(sim.group(&id).unwrap().owner.as_deref(), Some("alice"));
}

#[tokio::test]
async fn transport_failures_are_transient() {
    let (sim, client) = start().await;
    let k = [key("1", "alice")];
    for (fault, text) in [
        (FaultKind::Http502, "HTTP 502"),
        (FaultKind::MalformedJson, "HTTP 200"),
        (FaultKind::DropConnection, ""),
    ] {
        sim.inject(Fault::times(None, fault, 1));
        let err = client.get_groups(&k).await.expect_err("fault");
        assert_eq!(err.class, FailureClass::Transient);
        assert!(err.info.message.contains(text), "{err}");
        assert!(
            err.info.request_id.is_some(),
            "the trace id is kept for support"
        );
    }
}

#[tokio::test]
async fn throttles_are_retried_then_reported() {
    let (sim, client) = start().await;
    let id = create(&client, "uid-3").await;
    sim.inject(Fault::times(Some("disband"), FaultKind::Code(416), 2));
    let outcome = client.disband(&key(&id, "alice")).await.expect("retried");
    assert!(matches!(outcome, DisbandOutcome::Disbanded(_)));
    assert_eq!(
        sim.calls_to("disband")
            .iter()
            .filter(|c| c.executed)
            .count(),
        1
    );

    sim.inject(Fault::always(Some("get"), FaultKind::Code(416)));
    let err = client
        .get_groups(&[key(&id, "alice")])
        .await
        .expect_err("throttled");
    assert_eq!((err.class, err.info.code), (FailureClass::Throttled, 416));
}

#[tokio::test]
async fn rule_violations_are_terminal_and_bad_input_never_leaves() {
    let (sim, client) = start().await;
    let id = create(&client, "uid-4").await;
    let changes = AttributeChanges {
        name: Some("x".into()),
        ..Default::default()
    };
    let err = client
        .update_group(&key(&id, "mallory"), &changes)
        .await
        .expect_err("not the owner");
    assert_eq!(err.class, FailureClass::Terminal);
    sim.inject(Fault::times(Some("create"), FaultKind::Code(108435), 1));
    let err = client
        .create_group(&request("uid-5"))
        .await
        .expect_err("quota");
    assert_eq!((err.class, err.info.code), (FailureClass::Terminal, 108435));

    let before = sim.calls().len();
    let mut no_owner = request("uid-6");
    no_owner.attributes.owner = None;
    let err = client
        .create_group(&no_owner)
        .await
        .expect_err("owner required");
    assert!(err.info.message.contains("spec.owner"), "{err}");
    let err = client
        .disband(&GroupKey {
            owner: None,
            ..key(&id, "")
        })
        .await
        .expect_err("operator required");
    assert!(err.info.message.contains("spec.owner"), "{err}");
    let err = client
        .get_groups(&[key("abc", "alice")])
        .await
        .expect_err("not a team id");
    assert_eq!(err.class, FailureClass::Terminal);
    assert_eq!(sim.calls().len(), before, "nothing was sent");
}

fn query(marker: &str) -> MarkerQuery {
    MarkerQuery {
        group_type: GroupType::Advanced,
        owner: "alice".into(),
        marker: marker.into(),
        name: Some("Team".into()),
        created_not_before_ms: 0,
    }
}
