//! Tencent request envelope: signatures, admin check, bad JSON, rate limits, faults, call log.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use provider_sim::{Fault, FaultKind, TencentSim, TencentSimConfig};
use serde_json::json;

async fn sim() -> TencentSim {
    TencentSim::start(TencentSimConfig::default())
        .await
        .unwrap()
}

async fn post(url: String, body: &str) -> serde_json::Value {
    let resp = client()
        .post(url)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn every_signature_problem_gets_its_code_and_nothing_runs() {
    let sim = sim().await;
    let body = r#"{"Type":"Public","Name":"n"}"#;
    let base = sim.base_url();
    let t = now();
    let cases = [
        (
            tencent_url(&base, "create_group", "administrator", ""),
            70002,
        ),
        (
            tencent_url(&base, "create_group", "administrator", "garbage"),
            70003,
        ),
        (
            tencent_url(
                &base,
                "create_group",
                "administrator",
                &usersig(SAMPLE_KEY, APP, "bob", t, 600),
            ),
            70013,
        ),
        (
            tencent_url(
                &base,
                "create_group",
                "administrator",
                &usersig(SAMPLE_KEY, APP + 1, "administrator", t, 600),
            ),
            70014,
        ),
        (
            tencent_url(
                &base,
                "create_group",
                "administrator",
                &usersig(SAMPLE_KEY, APP, "administrator", t - 700, 600),
            ),
            70001,
        ),
        (
            tencent_url(
                &base,
                "create_group",
                "administrator",
                &usersig(&"1".repeat(64), APP, "administrator", t, 600),
            ),
            70009,
        ),
        (
            tencent_url(
                &base,
                "create_group",
                "bob",
                &usersig(SAMPLE_KEY, APP, "bob", t, 600),
            ),
            60010,
        ),
        (
            tencent_url(&base, "create_group", "administrator", &admin_sig())
                .replace("sdkappid=1400000000", "sdkappid=1400000001"),
            60006,
        ),
    ];
    for (url, want) in cases {
        let v = post(url.clone(), body).await;
        assert_eq!(code(&v), want, "{url}");
        assert_eq!(v["ActionStatus"], "FAIL");
    }
    assert!(sim.groups().is_empty());
    let calls = sim.calls_to("create_group");
    assert_eq!(calls.len(), 8);
    assert!(calls.iter().all(|c| !c.executed));
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_answers_60003() {
    let sim = sim().await;
    let url = tencent_url(
        &sim.base_url(),
        "create_group",
        "administrator",
        &admin_sig(),
    );
    for body in ["{not json", "", "[1,2]"] {
        assert_eq!(code(&post(url.clone(), body).await), 60003, "{body:?}");
    }
    let v = post(
        tencent_url(&sim.base_url(), "nonsense", "administrator", &admin_sig()),
        "{}",
    )
    .await;
    assert_eq!(code(&v), 10003);
    let resp = client()
        .post(format!("{}/v4/other_svc/create_group", sim.base_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(code(&resp.json().await.unwrap()), 60008);
}

#[tokio::test]
async fn calls_over_the_rate_answer_the_configured_code_and_are_not_executed() {
    let config = TencentSimConfig {
        rate_limit_per_api: 2,
        rate_limit_code: 60011,
        ..Default::default()
    };
    let sim = TencentSim::start(config).await.unwrap();
    at_the_start_of_a_second().await;
    let mut codes = Vec::new();
    for i in 0..3 {
        codes.push(code(&create_public(&sim, &format!("g{i}"), "alice").await));
    }
    assert_eq!(codes, [0, 0, 60011]);
    assert!(sim.group("g2").is_none());
    let calls = sim.calls_to("create_group");
    assert_eq!(
        calls.iter().map(|c| c.executed).collect::<Vec<_>>(),
        [true, true, false]
    );
    // Buckets are per command: reads still pass.
    assert_eq!(
        code(&tencent(&sim, "get_group_info", json!({"GroupIdList": ["g0"]})).await),
        0
    );
    sim.set_rate_limit(0);
    assert_eq!(
        code(&tencent(&sim, "get_group_info", json!({"GroupIdList": ["g0"]})).await),
        60011
    );
}

#[tokio::test]
async fn the_app_wide_group_list_is_held_to_one_call_per_second() {
    let sim = sim().await;
    at_the_start_of_a_second().await;
    assert_eq!(
        code(&tencent(&sim, "get_appid_group_list", json!({})).await),
        0
    );
    assert_eq!(
        code(&tencent(&sim, "get_appid_group_list", json!({})).await),
        60007
    );
}

#[tokio::test]
async fn an_injected_code_is_answered_without_executing_and_counts_down() {
    let sim = sim().await;
    sim.inject(Fault::times(
        Some("create_group"),
        FaultKind::Code(10002),
        1,
    ));
    assert_eq!(code(&create_public(&sim, "g", "alice").await), 10002);
    assert!(sim.group("g").is_none());
    assert_eq!(code(&create_public(&sim, "g", "alice").await), 0);
    let calls = sim.calls_to("create_group");
    assert_eq!((calls[0].code, calls[0].executed), (10002, false));
    assert_eq!((calls[1].code, calls[1].executed), (0, true));
}

#[tokio::test]
async fn http_502_and_malformed_bodies_reach_the_client_and_do_not_execute() {
    let sim = sim().await;
    sim.inject(Fault::times(None, FaultKind::Http502, 1));
    let url = tencent_url(
        &sim.base_url(),
        "create_group",
        "administrator",
        &admin_sig(),
    );
    let body = r#"{"Type":"Public","Name":"n","GroupId":"g"}"#;
    let resp = client().post(&url).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 502);
    sim.inject(Fault::times(None, FaultKind::MalformedJson, 1));
    let resp = client().post(&url).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.json::<serde_json::Value>().await.is_err(),
        "body must not parse as JSON"
    );
    assert!(sim.group("g").is_none());
    let calls = sim.calls();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.code, c.executed))
            .collect::<Vec<_>>(),
        [(502, false), (200, false)]
    );
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_for_the_client() {
    let sim = sim().await;
    let http = client();
    // Warm the connection pool so the drop hits a reused connection too.
    let warm = tencent_url(
        &sim.base_url(),
        "get_group_info",
        "administrator",
        &admin_sig(),
    );
    let resp = http
        .post(&warm)
        .body(r#"{"GroupIdList":["x"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(code(&resp.json().await.unwrap()), 0);
    sim.inject(Fault::times(
        Some("create_group"),
        FaultKind::DropConnection,
        2,
    ));
    let url = tencent_url(
        &sim.base_url(),
        "create_group",
        "administrator",
        &admin_sig(),
    );
    for _ in 0..2 {
        let err = http
            .post(&url)
            .body(r#"{"Type":"Public","Name":"n","GroupId":"g"}"#)
            .send()
            .await;
        assert!(err.is_err(), "expected a transport error, got {err:?}");
    }
    assert!(sim.group("g").is_none());
    let dropped = sim.calls_to("create_group");
    assert_eq!(dropped.len(), 2);
    assert!(dropped.iter().all(|c| !c.executed && c.code == 0));
    // The server keeps serving after dropping connections.
    assert_eq!(code(&create_public(&sim, "g", "alice").await), 0);
}

#[tokio::test]
async fn latency_delays_the_answer_but_the_call_runs() {
    let sim = sim().await;
    sim.inject(Fault::times(
        Some("create_group"),
        FaultKind::Latency(Duration::from_millis(300)),
        1,
    ));
    let start = Instant::now();
    assert_eq!(code(&create_public(&sim, "g", "alice").await), 0);
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(sim.group("g").is_some());
    assert!(sim.calls_to("create_group")[0].executed);
}

#[tokio::test]
async fn faults_can_be_cleared_and_probability_zero_never_fires() {
    let sim = sim().await;
    sim.inject(Fault {
        probability: 0.0,
        ..Fault::always(None, FaultKind::Code(10002))
    });
    assert_eq!(code(&create_public(&sim, "a", "alice").await), 0);
    sim.inject(Fault::always(None, FaultKind::Code(10002)));
    assert_eq!(code(&create_public(&sim, "b", "alice").await), 10002);
    sim.clear_faults();
    assert_eq!(code(&create_public(&sim, "b", "alice").await), 0);
}

#[tokio::test]
async fn the_call_log_records_path_query_and_parsed_body() {
    let sim = sim().await;
    create_public(&sim, "g", "alice").await;
    let call = &sim.calls()[0];
    assert_eq!(
        (call.api.as_str(), call.method.as_str()),
        ("create_group", "POST")
    );
    assert_eq!(call.path, "/v4/group_open_http_svc/create_group");
    assert!(call.query.contains("sdkappid=1400000000"));
    assert_eq!(call.body["GroupId"], "g");
    assert_eq!(call.trace_id, None);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sim = sim().await;
    let url = sim.base_url();
    sim.shutdown().await;
    assert!(client()
        .post(format!("{url}/v4/group_open_http_svc/create_group"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn random_and_contenttype_are_required_in_the_url() {
    let sim = TencentSim::start(TencentSimConfig::default())
        .await
        .unwrap();
    let good = tencent_url(
        &sim.base_url(),
        "get_group_info",
        "administrator",
        &admin_sig(),
    );
    let body = json!({"GroupIdList": ["x"]});
    for (what, url) in [
        ("no random", good.replace("&random=12345", "")),
        (
            "random not a number",
            good.replace("random=12345", "random=abc"),
        ),
        (
            "random over 32 bits",
            good.replace("random=12345", "random=4294967296"),
        ),
        ("no contenttype", good.replace("&contenttype=json", "")),
    ] {
        let v: serde_json::Value = client()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["ErrorCode"], 60002, "{what}: {v}");
    }
    assert!(sim.calls().iter().all(|c| !c.executed));
}
