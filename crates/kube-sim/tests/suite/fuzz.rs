//! Random requests never panic the simulator: arbitrary bytes, JSON, YAML and
//! protobuf bodies to create, replace and every kind of patch, and arbitrary label
//! and field selectors, each answered with a 2xx or a 4xx Status, never a 5xx or a
//! dropped connection.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{self, configmap, widget, Raw, CONFIGMAPS, WIDGETS};

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 20, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    ".{0,6}",
                    Just("metadata".to_string()),
                    Just("name".to_string()),
                    Just("labels".to_string()),
                    Just("spec".to_string()),
                    Just("op".to_string()),
                    Just("path".to_string()),
                    Just("$patch".to_string()),
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A body in any of the shapes a decoder meets.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..96),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (json_value(), json_value()).prop_map(|(meta, spec)| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": spec})
                .to_string()
                .into_bytes()
        }),
        (json_value(), json_value()).prop_map(|(meta, spec)| {
            json!({"apiVersion": "test.kube-sim.dev/v1", "kind": "Widget", "metadata": meta, "spec": spec})
                .to_string()
                .into_bytes()
        }),
        json_value().prop_map(|v| json!([{"op": "replace", "path": "/spec/size", "value": v}, v]).to_string().into_bytes()),
        ".{0,80}".prop_map(|yaml: String| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n{yaml}").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| [b"k8s\0".as_slice(), &b].concat()),
    ]
}

const CONTENT_TYPES: [&str; 7] = [
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

fn request() -> impl Strategy<Value = (Method, String, &'static str, Vec<u8>)> {
    let target = prop_oneof![
        Just((Method::POST, WIDGETS.to_string())),
        Just((Method::POST, CONFIGMAPS.to_string())),
        Just((Method::PUT, format!("{WIDGETS}/w1"))),
        Just((Method::PUT, format!("{CONFIGMAPS}/c1"))),
        Just((Method::PATCH, format!("{WIDGETS}/w1?fieldManager=fuzz"))),
        Just((Method::PATCH, format!("{CONFIGMAPS}/c1?fieldManager=fuzz"))),
        Just((
            Method::PATCH,
            format!("{WIDGETS}/w1/status?fieldManager=fuzz")
        )),
    ];
    (target, prop::sample::select(CONTENT_TYPES.to_vec()), body())
        .prop_map(|((method, path), ctype, body)| (method, path, ctype, body))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Starts a simulator with a widget `w1` and a ConfigMap `c1` to replace and patch.
async fn seeded() -> (kube_sim::KubeSim, Raw) {
    let (sim, raw) = common::with_widgets().await;
    assert_eq!(raw.post(WIDGETS, &widget("w1", 1)).await.code, 201);
    let cm = raw
        .post(CONFIGMAPS, &configmap("c1", json!({"a": "1"})))
        .await;
    assert_eq!(cm.code, 201);
    (sim, raw)
}

#[test]
fn random_bodies_are_answered_with_a_status_never_a_server_error() {
    let runtime = runtime();
    let (_sim, raw) = runtime.block_on(seeded());
    runner(256)
        .run(&request(), |(method, path, ctype, body)| {
            let answer = runtime.block_on(raw.send(method.clone(), &path, ctype, body));
            prop_assert!(
                !answer.code.is_server_error(),
                "{method} {path} ({ctype}) answered {}: {}",
                answer.code,
                answer.body
            );
            if answer.code.is_client_error() {
                prop_assert_eq!(answer.body["kind"].as_str(), Some("Status"));
                prop_assert!(answer.body["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()));
            }
            Ok(())
        })
        .unwrap();
    // Still serving.
    let after = runtime.block_on(raw.get(CONFIGMAPS));
    assert_eq!(after.code, 200);
}

#[test]
fn random_selectors_are_answered_with_a_list_or_a_bad_request() {
    let runtime = runtime();
    let (_sim, raw) = runtime.block_on(seeded());
    let selector = prop_oneof![
        ".{0,40}",
        "[a-z=!,() .in-]{0,30}",
        Just("a in (1,2),b notin (3),!c,d!=4".to_string()),
    ];
    let strategy = (selector, prop::bool::ANY);
    runner(256)
        .run(&strategy, |(selector, by_field)| {
            let param = if by_field {
                "fieldSelector"
            } else {
                "labelSelector"
            };
            let encoded: String =
                url::form_urlencoded::byte_serialize(selector.as_bytes()).collect();
            let path = format!("{CONFIGMAPS}?{param}={encoded}");
            let answer = runtime.block_on(raw.get(&path));
            prop_assert!(
                answer.code == 200 || answer.code == 400,
                "{param}={selector:?} answered {}: {}",
                answer.code,
                answer.body
            );
            Ok(())
        })
        .unwrap();
}
