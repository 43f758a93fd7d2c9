//! NetEase envelope: signing headers, CurTime window, trace-id dedup, rate limits, faults.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use provider_sim::{netease_checksum, Fault, FaultKind, NeteaseSim, NeteaseSimConfig};
use serde_json::json;

async fn sim() -> NeteaseSim {
    NeteaseSim::start(NeteaseSimConfig::default())
        .await
        .unwrap()
}

fn create_body() -> Option<serde_json::Value> {
    Some(json!({"owner_account_id": "alice", "team_type": 1, "name": "n"}))
}

#[test]
fn checksum_matches_the_documented_vector() {
    assert_eq!(
        netease_checksum("secret", "nonce123", "1700000000"),
        "d8f433adc37ba88a9e831ce4b6dece5815d2e060"
    );
}

#[tokio::test]
async fn wrong_key_bad_checksum_and_stale_curtime_are_rejected_without_executing() {
    let sim = sim().await;
    let mut wrong_key = Ne::new(&sim);
    wrong_key.app_key = "other".into();
    assert_eq!(
        ne_code(
            &wrong_key
                .call("POST", "/im/v2.1/teams", create_body())
                .await
        ),
        101303
    );
    let mut wrong_secret = Ne::new(&sim);
    wrong_secret.secret = "other".into();
    assert_eq!(
        ne_code(
            &wrong_secret
                .call("POST", "/im/v2.1/teams", create_body())
                .await
        ),
        414
    );
    // 302, not 301: the second may tick between this clock read and the server's.
    for skew in [-302, 302] {
        let mut stale = Ne::new(&sim);
        stale.curtime = now() + skew;
        assert_eq!(
            ne_code(&stale.call("POST", "/im/v2.1/teams", create_body()).await),
            414,
            "skew {skew}"
        );
    }
    let mut edge = Ne::new(&sim);
    edge.curtime = now() - 250;
    assert_eq!(
        ne_code(&edge.call("POST", "/im/v2.1/teams", create_body()).await),
        200
    );
    let calls = sim.calls_to("create");
    assert_eq!(
        calls.iter().map(|c| c.executed).collect::<Vec<_>>(),
        [false, false, false, false, true]
    );
    assert_eq!(sim.groups().len(), 1);
}

#[tokio::test]
async fn missing_headers_answer_414() {
    let sim = sim().await;
    let resp = client()
        .post(format!("{}/im/v2.1/teams", sim.base_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ne_code(&v), 414);
    let resp = client()
        .post(format!("{}/im/v2.1/teams", sim.base_url()))
        .header("AppKey", "sim-app-key")
        .header("Nonce", "n")
        .header("CurTime", now().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(ne_code(&resp.json().await.unwrap()), 414);
}

#[tokio::test]
async fn a_malformed_body_answers_414() {
    let sim = sim().await;
    for body in ["{oops", "[]", ""] {
        let resp = Ne::new(&sim)
            .raw("POST", "/im/v2.1/teams", Some(body.to_string()))
            .await;
        assert_eq!(ne_code(&resp.json().await.unwrap()), 414, "{body:?}");
    }
    assert!(sim.groups().is_empty());
}

#[tokio::test]
async fn a_repeated_trace_id_gets_the_first_answer_without_running_again() {
    let sim = sim().await;
    let ne = Ne::new(&sim).trace("trace-1");
    let first = ne.call("POST", "/im/v2.1/teams", create_body()).await;
    let second = ne.call("POST", "/im/v2.1/teams", create_body()).await;
    assert_eq!(first, second);
    assert_eq!(sim.groups().len(), 1);
    let calls = sim.calls_to("create");
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.trace_id.as_deref(), c.executed))
            .collect::<Vec<_>>(),
        [(Some("trace-1"), true), (Some("trace-1"), false)]
    );
    let fresh = Ne::new(&sim)
        .trace("trace-2")
        .call("POST", "/im/v2.1/teams", create_body())
        .await;
    assert_ne!(
        fresh["data"]["team_info"]["team_id"],
        first["data"]["team_info"]["team_id"]
    );
    assert_eq!(sim.groups().len(), 2);
}

#[tokio::test]
async fn the_trace_id_is_echoed_on_the_response() {
    let sim = sim().await;
    let resp = Ne::new(&sim)
        .trace("abc-123")
        .raw("GET", "/im/v2.1/teams/1?team_type=1", None)
        .await;
    assert_eq!(resp.headers().get("X-custom-traceid").unwrap(), "abc-123");
    assert_eq!(ne_code(&resp.json().await.unwrap()), 108404);
}

#[tokio::test]
async fn calls_over_the_rate_answer_416_and_are_not_executed() {
    let config = NeteaseSimConfig {
        rate_limit_per_api: 2,
        ..Default::default()
    };
    let sim = NeteaseSim::start(config).await.unwrap();
    at_the_start_of_a_second().await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(ne_code(
            &Ne::new(&sim)
                .call("POST", "/im/v2.1/teams", create_body())
                .await,
        ));
    }
    assert_eq!(codes, [200, 200, 416]);
    assert_eq!(sim.groups().len(), 2);
    assert!(!sim.calls_to("create")[2].executed);
    sim.set_rate_limit(50);
    assert_eq!(
        ne_code(
            &Ne::new(&sim)
                .call("POST", "/im/v2.1/teams", create_body())
                .await
        ),
        200
    );
}

#[tokio::test]
async fn injected_codes_and_http_faults_do_not_execute() {
    let sim = sim().await;
    sim.inject(Fault::times(Some("create"), FaultKind::Code(108449), 1));
    sim.inject(Fault::times(Some("create"), FaultKind::Http502, 1));
    let v = Ne::new(&sim)
        .call("POST", "/im/v2.1/teams", create_body())
        .await;
    assert_eq!((ne_code(&v), v["data"].clone()), (108449, json!({})));
    let resp = Ne::new(&sim)
        .raw(
            "POST",
            "/im/v2.1/teams",
            create_body().map(|b| b.to_string()),
        )
        .await;
    assert_eq!(resp.status(), 502);
    sim.inject(Fault::times(None, FaultKind::MalformedJson, 1));
    let resp = Ne::new(&sim)
        .raw(
            "POST",
            "/im/v2.1/teams",
            create_body().map(|b| b.to_string()),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.json::<serde_json::Value>().await.is_err());
    assert!(sim.groups().is_empty());
    let calls = sim.calls_to("create");
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.code, c.executed))
            .collect::<Vec<_>>(),
        [(108449, false), (502, false), (200, false)]
    );
    assert_eq!(
        ne_code(
            &Ne::new(&sim)
                .call("POST", "/im/v2.1/teams", create_body())
                .await
        ),
        200
    );
}

#[tokio::test]
async fn a_dropped_connection_and_latency() {
    let sim = sim().await;
    sim.inject(Fault::times(Some("get"), FaultKind::DropConnection, 1));
    sim.inject(Fault::times(
        Some("create"),
        FaultKind::Latency(Duration::from_millis(250)),
        1,
    ));
    let start = Instant::now();
    let id = ne_create(&sim, "alice", json!({})).await;
    assert!(start.elapsed() >= Duration::from_millis(250));
    let path = format!("{}/im/v2.1/teams/{id}?team_type=1", sim.base_url());
    let nonce = "n1";
    let curtime = now().to_string();
    let result = client()
        .get(path)
        .header("AppKey", "sim-app-key")
        .header("Nonce", nonce)
        .header("CurTime", &curtime)
        .header(
            "CheckSum",
            netease_checksum("sim-app-secret", nonce, &curtime),
        )
        .send()
        .await;
    assert!(
        result.is_err(),
        "expected a transport error, got {result:?}"
    );
    let calls = sim.calls_to("get");
    assert_eq!((calls.len(), calls[0].executed), (1, false));
}

#[tokio::test]
async fn the_v2_and_v2_1_disband_forms_both_work() {
    let sim = sim().await;
    let ne = Ne::new(&sim);
    let a = ne_create(&sim, "alice", json!({})).await;
    let b = ne_create(&sim, "alice", json!({})).await;
    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2/teams/{a}"),
            Some(json!({"team_type": 1, "operator_id": "alice", "extension": "bye"})),
        )
        .await;
    assert_eq!(ne_code(&v), 200, "{v}");
    let v = ne
        .call(
            "DELETE",
            &format!("/im/v2.1/teams/{b}?team_type=1&operator_id=alice&extension=bye"),
            None,
        )
        .await;
    assert_eq!(ne_code(&v), 200, "{v}");
    assert!(sim.groups().is_empty());
    assert_eq!(sim.calls_to("disband").len(), 2);
    let v = ne.call("DELETE", &format!("/im/v2/teams/{a}"), None).await;
    assert_eq!(ne_code(&v), 414, "v2 disband needs its JSON body");
}

#[tokio::test]
async fn an_unknown_path_is_a_404_and_is_logged() {
    let sim = sim().await;
    let resp = Ne::new(&sim).raw("GET", "/im/v9/nothing", None).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(sim.calls()[0].api, "unknown");
}

#[tokio::test]
async fn a_create_answered_late_or_never_has_already_taken_effect() {
    let sim = sim().await;
    sim.inject(Fault::times(
        Some("create"),
        FaultKind::LatencyAfterExecution(Duration::from_millis(300)),
        1,
    ));
    let ne = Ne::new(&sim);
    let late = {
        let ne = &ne;
        async move { ne.call("POST", "/im/v2.1/teams", create_body()).await }
    };
    let watcher = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        sim.groups().len()
    };
    let start = Instant::now();
    let (answer, seen_before_answer) = tokio::join!(late, watcher);
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        (ne_code(&answer), seen_before_answer),
        (200, 1),
        "the team exists before its answer arrives"
    );

    sim.inject(Fault::times(
        Some("create"),
        FaultKind::DropAfterExecution,
        1,
    ));
    let result = ne
        .send(
            "POST",
            "/im/v2.1/teams",
            create_body().map(|b| b.to_string()),
        )
        .await;
    assert!(result.is_err(), "expected no answer, got {result:?}");
    assert_eq!(sim.groups().len(), 2, "the dropped create still ran");
    let last = sim.calls_to("create").pop().unwrap();
    assert_eq!((last.executed, last.dropped, last.code), (true, true, 200));
}

#[tokio::test]
async fn a_body_integer_sent_as_a_string_is_refused() {
    let sim = sim().await;
    let v = Ne::new(&sim)
        .call(
            "POST",
            "/im/v2.1/teams",
            Some(json!({"owner_account_id": "alice", "team_type": "1", "name": "n"})),
        )
        .await;
    assert_eq!(ne_code(&v), 414, "{v}");
    assert!(sim.groups().is_empty());
}
