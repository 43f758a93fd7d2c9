//! Random answers never panic a client: arbitrary bytes, arbitrary JSON, and the
//! documented envelopes with arbitrary values where the parsers look deepest, fed to
//! every operation of both clients; each ends in an answer or a clear error. The
//! signing code takes arbitrary input too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatgroup_operator::provider::netease::checksum;
use chatgroup_operator::provider::tencent::usersig;
use chatgroup_operator::provider::{
    AttributeChanges, GroupProvider, GroupType, MarkerQuery, NeteaseClient, NeteaseConfig,
    NeteaseEndpoint, ProviderError, ProviderKind, RateBudget, Secret, TencentClient, TencentConfig,
    TencentEndpoint,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::fake::Fake;
use crate::{netease_support, tencent_support};

/// Cases per property: enough to meet every branch of the envelopes several times,
/// few enough to keep the suite quick (each case is a local HTTP exchange per call).
const CASES: u32 = 128;

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
        Just(json!("@TGS#1")),
        Just(json!(10010)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    ".{0,8}",
                    Just("ErrorCode".to_string()),
                    Just("GroupId".to_string()),
                    Just("team_id".to_string()),
                    Just("code".to_string()),
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Tencent envelopes with an arbitrary value in each place its parsers read.
fn tencent_answer() -> impl Strategy<Value = String> {
    let value = json_value();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        json_value().prop_map(|v| v.to_string()),
        (value.clone(), any::<i64>()).prop_map(|(v, code)| {
            json!({"ActionStatus": "OK", "ErrorCode": code, "GroupInfo": v}).to_string()
        }),
        value.clone().prop_map(|v| {
            json!({"ActionStatus": "OK", "ErrorCode": 0, "GroupInfo": [{"GroupId": "g1", "ErrorCode": 0, "Name": v, "Owner_Account": v, "AppDefinedData": v, "MemberNum": v}]}).to_string()
        }),
        value.clone().prop_map(|v| json!({"ActionStatus": "OK", "ErrorCode": 0, "GroupId": v}).to_string()),
        (value, any::<i64>()).prop_map(|(v, code)| {
            json!({"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": v, "RequestId": v}).to_string()
        }),
    ]
}

/// NetEase envelopes with an arbitrary value in each place its parsers read.
fn netease_answer() -> impl Strategy<Value = String> {
    let value = json_value();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        json_value().prop_map(|v| v.to_string()),
        (value.clone(), any::<i64>()).prop_map(|(v, code)| json!({"code": code, "msg": v, "data": v}).to_string()),
        value.clone().prop_map(|v| {
            json!({"code": 200, "data": {"team_info": v, "failed_list": v, "team_info_list": v, "invalid_tids": v}}).to_string()
        }),
        value.clone().prop_map(|v| {
            json!({"code": 200, "data": {"team_info": {"team_id": v, "name": v, "server_extension": v, "owner_account_id": v}}}).to_string()
        }),
        value.prop_map(|v| {
            json!({"code": 200, "data": {"items": v, "team_info_list": [{"team_id": 1, "team_type": v, "name": v}], "has_more": v, "next_token": v}}).to_string()
        }),
    ]
}

/// What one case's calls ended in.
type Outcomes = futures::future::BoxFuture<'static, Vec<Result<(), ProviderError>>>;

/// Runs `property` over `strategy`'s answers, served by a local fake to `exercise`.
fn answers_never_panic<S, C>(
    strategy: S,
    client: impl Fn(&str) -> C,
    exercise: fn(Arc<C>) -> Outcomes,
) where
    S: Strategy<Value = String>,
    C: Send + Sync + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let answer = Arc::new(Mutex::new(String::new()));
    let served = answer.clone();
    let fake = runtime.block_on(Fake::start(move |_| (200, served.lock().unwrap().clone())));
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |body| {
            *answer.lock().unwrap() = body;
            // A new client per case: a throttle code's cooldown must not spill over.
            let client = Arc::new(client(&fake.base_url));
            for outcome in runtime.block_on(exercise(client)) {
                if let Err(error) = outcome {
                    prop_assert!(
                        !error.info.message.is_empty(),
                        "an error says what went wrong"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

fn tencent_client(base_url: &str) -> TencentClient {
    let mut config = TencentConfig::new(
        1_400_000_000,
        Secret::new(provider_sim::tencent::SAMPLE_SECRET_KEY),
    );
    config.endpoint = TencentEndpoint::Url(base_url.to_string());
    config.timeout = Duration::from_secs(2);
    // Throttle codes are not waited out for long: the next case is another answer.
    let budget = RateBudget::new(ProviderKind::Tencent, config.rate)
        .with_max_throttle_wait(Duration::from_millis(1));
    TencentClient::new(config, Arc::new(budget)).expect("valid config")
}

fn netease_client(base_url: &str) -> NeteaseClient {
    let mut config = NeteaseConfig::new("sim-app-key", Secret::new("sim-app-secret"));
    config.endpoint = NeteaseEndpoint::Url(base_url.to_string());
    config.timeout = Duration::from_secs(2);
    let budget = RateBudget::new(ProviderKind::NetEase, config.rate)
        .with_max_throttle_wait(Duration::from_millis(1));
    NeteaseClient::new(config, Arc::new(budget)).expect("valid config")
}

fn changes() -> AttributeChanges {
    AttributeChanges {
        name: Some("Renamed".into()),
        ..AttributeChanges::default()
    }
}

#[test]
fn random_tencent_answers_end_in_an_answer_or_a_clear_error() {
    answers_never_panic(tencent_answer(), tencent_client, |client| {
        Box::pin(async move {
            let key = tencent_support::key("g1", GroupType::Public);
            let request = tencent_support::request("g1", GroupType::Public);
            vec![
                client.create_group(&request).await.map(drop),
                client
                    .get_groups(std::slice::from_ref(&key))
                    .await
                    .map(drop),
                client.update_group(&key, &changes()).await.map(drop),
                client.transfer_owner(&key, "bob").await.map(drop),
                client.disband(&key).await.map(drop),
                client.stamp(&key, "uid-1").await.map(drop),
            ]
        })
    });
}

#[test]
fn random_netease_answers_end_in_an_answer_or_a_clear_error() {
    answers_never_panic(netease_answer(), netease_client, |client| {
        Box::pin(async move {
            let key = netease_support::key("7001", "alice");
            let query = MarkerQuery {
                group_type: GroupType::Advanced,
                owner: "alice".into(),
                marker: "uid-1".into(),
                name: None,
                created_not_before_ms: 0,
            };
            vec![
                client
                    .create_group(&netease_support::request("uid-1"))
                    .await
                    .map(drop),
                client
                    .get_groups(std::slice::from_ref(&key))
                    .await
                    .map(drop),
                client.find_by_marker(&query).await.map(drop),
                client.update_group(&key, &changes()).await.map(drop),
                client.transfer_owner(&key, "bob").await.map(drop),
                client.disband(&key).await.map(drop),
            ]
        })
    });
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    #[test]
    fn a_usersig_of_any_input_decodes_to_what_it_was_made_of(
        key in ".{0,80}",
        identifier in ".{0,40}",
        app in any::<u64>(),
        time in any::<u32>(),
        expire in any::<u32>(),
    ) {
        let sig = usersig::generate(&key, &identifier, app, u64::from(time), u64::from(expire));
        let decoded = usersig::decode(&sig).expect("a generated sig decodes");
        prop_assert_eq!(decoded["TLS.identifier"].as_str(), Some(identifier.as_str()));
        prop_assert_eq!(decoded["TLS.sdkappid"].as_u64(), Some(app));
    }

    #[test]
    fn decoding_any_text_as_a_usersig_never_panics(text in ".{0,200}") {
        let _ = usersig::decode(&text);
    }

    #[test]
    fn a_checksum_of_any_input_is_40_lowercase_hex(
        secret in ".{0,64}",
        nonce in ".{0,128}",
        time in ".{0,12}",
    ) {
        let sum = checksum(&secret, &nonce, &time);
        prop_assert_eq!(sum.len(), 40);
        prop_assert!(sum.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
