//! A wrong path or method is not transient: HTTP 404 or 405 from either provider is a
//! terminal error naming the method and path (never the query, which holds the
//! UserSig), sent once and not retried.

use std::sync::Arc;
use std::time::Duration;

use chatgroup_operator::provider::{
    FailureClass, GroupProvider, GroupType, ProviderKind, RateBudget, Secret, TencentClient,
    TencentConfig, TencentEndpoint,
};

use crate::fake;
use crate::netease_support;
use crate::tencent_support;
use fake::Fake;

fn tencent_client_for(base_url: &str) -> TencentClient {
    let mut config = TencentConfig::new(
        1_400_000_000,
        Secret::new(provider_sim::tencent::SAMPLE_SECRET_KEY),
    );
    config.endpoint = TencentEndpoint::Url(base_url.to_string());
    config.timeout = Duration::from_secs(2);
    let budget = RateBudget::new(ProviderKind::Tencent, config.rate);
    TencentClient::new(config, Arc::new(budget)).expect("valid config")
}

#[tokio::test]
async fn tencent_404_and_405_are_terminal_and_name_the_path_not_the_query() {
    for status in [404u16, 405] {
        let fake = Fake::start(move |_| (status, "<html>no such page</html>".into())).await;
        let client = tencent_client_for(&fake.base_url);
        let error = client
            .disband(&tencent_support::key("g1", GroupType::Public))
            .await
            .expect_err("a 404/405 is an error");
        assert_eq!(error.class, FailureClass::Terminal, "HTTP {status}");
        let message = error.info.message;
        assert!(message.contains(&format!("HTTP {status}")), "{message}");
        assert!(
            message.contains("POST /v4/group_open_http_svc/destroy_group"),
            "{message}"
        );
        for secret_part in ["usersig", "sdkappid", "identifier=", "?"] {
            assert!(!message.contains(secret_part), "{secret_part} in {message}");
        }
        assert_eq!(fake.seen().len(), 1, "HTTP {status} is not retried");
    }
}

#[tokio::test]
async fn netease_404_and_405_are_terminal_and_name_the_path() {
    for status in [404u16, 405] {
        let fake = Fake::start(move |_| (status, String::new())).await;
        let client = netease_support::client_for(&fake.base_url);
        let error = client
            .create_group(&netease_support::request("uid-1"))
            .await
            .expect_err("a 404/405 is an error");
        assert_eq!(error.class, FailureClass::Terminal, "HTTP {status}");
        let message = error.info.message;
        assert!(message.contains(&format!("HTTP {status}")), "{message}");
        assert!(message.contains("POST /im/v2.1/teams"), "{message}");
        assert_eq!(fake.seen().len(), 1, "HTTP {status} is not retried");
    }
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_a_transient_error_and_not_read() {
    use chatgroup_operator::provider::MAX_ANSWER_BYTES;
    let padding = "x".repeat(MAX_ANSWER_BYTES + 1);
    let body = format!("{{\"ActionStatus\":\"OK\",\"ErrorCode\":0,\"Pad\":\"{padding}\"}}");
    let fake = Fake::start(move |_| (200, body.clone())).await;
    let client = tencent_client_for(&fake.base_url);
    let error = client
        .get_groups(&[tencent_support::key("g1", GroupType::Public)])
        .await
        .expect_err("too large");
    assert_eq!(error.class, FailureClass::Transient);
    assert!(
        error.info.message.contains("larger than"),
        "{}",
        error.info.message
    );
}

#[tokio::test]
async fn a_netease_404_on_a_read_names_the_path_but_not_its_query() {
    let fake = Fake::start(|_| (404, String::new())).await;
    let client = netease_support::client_for(&fake.base_url);
    let error = client
        .get_groups(&[netease_support::key("6000000007", "alice")])
        .await
        .expect_err("a 404 is an error");
    assert_eq!(error.class, FailureClass::Terminal);
    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "HTTP 404 is not retried");
    assert_eq!(seen[0].method, "GET");
    assert!(
        seen[0].query.contains_key("team_type"),
        "the read carried a query: {:?}",
        seen[0]
    );
    let message = error.info.message;
    assert!(message.contains("HTTP 404"), "{message}");
    assert!(
        message.contains(&format!("GET {}", seen[0].path)),
        "{message}"
    );
    for query_part in ["?", "team_type", "team_ids"] {
        assert!(!message.contains(query_part), "{query_part} in {message}");
    }
}
