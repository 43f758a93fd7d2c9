//! No secret (Tencent key, UserSig, NetEase AppSecret, CheckSum) reaches a log line,
//! an error message or Debug output, whether calls succeed or fail.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::fake;
use chatgroup_operator::provider::{
    AttributeChanges, CreateOutcome, CreateRequest, GroupAttributes, GroupKey, GroupProvider,
    GroupType, NeteaseClient, NeteaseConfig, NeteaseEndpoint, ProviderConfig, ProviderKind,
    RateBudget, Secret, TencentClient, TencentConfig, TencentEndpoint,
};
use provider_sim::tencent::SAMPLE_SECRET_KEY;
use provider_sim::{Fault, FaultKind, NeteaseSim, NeteaseSimConfig, TencentSim, TencentSimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const APP_SECRET: &str = "sim-app-secret";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Captures every event at TRACE on this thread (tests run on a current-thread runtime).
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

fn assert_hidden(haystack: &str, secrets: &[String], what: &str) {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !haystack.contains(secret.as_str()),
            "{what} contains a secret"
        );
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        assert!(
            !haystack.contains(&encoded),
            "{what} contains an encoded secret"
        );
    }
}

/// A port on 127.0.0.1 with nothing listening.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn request(group_type: GroupType, id: Option<&str>) -> CreateRequest {
    CreateRequest {
        group_type,
        group_id: id.map(str::to_string),
        marker: "uid-s".into(),
        attributes: GroupAttributes {
            name: "Secretive".into(),
            owner: Some("alice".into()),
            custom_data: BTreeMap::from([("k".into(), "v".into())]),
            ..Default::default()
        },
    }
}

fn tencent_client(endpoint: String) -> TencentClient {
    let mut config = TencentConfig::new(1_400_000_000, Secret::new(SAMPLE_SECRET_KEY));
    config.endpoint = TencentEndpoint::Url(endpoint);
    config.timeout = Duration::from_secs(1);
    let budget = RateBudget::new(ProviderKind::Tencent, config.rate)
        .with_max_throttle_wait(Duration::from_millis(500));
    TencentClient::new(config, Arc::new(budget)).unwrap()
}

/// Successful and failing calls of every kind; returns the errors as text.
async fn exercise_tencent(sim: &TencentSim, client: &TencentClient) -> Vec<String> {
    let key = GroupKey {
        id: "s1".into(),
        group_type: GroupType::Public,
        owner: None,
    };
    let keys = std::slice::from_ref(&key);
    client
        .create_group(&request(GroupType::Public, Some("s1")))
        .await
        .unwrap();
    client.get_groups(keys).await.unwrap();
    let changes = AttributeChanges {
        name: Some("Renamed".into()),
        ..Default::default()
    };
    client.update_group(&key, &changes).await.unwrap();
    client.transfer_owner(&key, "bob").await.unwrap();
    let mut texts = Vec::new();
    for fault in [
        FaultKind::Code(70001),
        FaultKind::Http502,
        FaultKind::MalformedJson,
        FaultKind::Code(60007),
        FaultKind::Code(10004),
    ] {
        sim.inject(Fault::always(Some("get_group_info"), fault));
        let err = client.get_groups(keys).await.expect_err("fault");
        texts.push(format!("{err} {err:?}"));
        sim.clear_faults();
    }
    client.disband(&key).await.unwrap();
    texts
}

fn usersigs_sent(sim: &TencentSim) -> Vec<String> {
    let sigs = sim.calls().into_iter().filter_map(|c| {
        url::form_urlencoded::parse(c.query.as_bytes())
            .find(|(k, _)| k == "usersig")
            .map(|(_, v)| v.into_owned())
    });
    sigs.collect()
}

#[tokio::test]
async fn tencent_secrets_never_leak() {
    let (log, _guard) = capture();
    let sim = TencentSim::start(TencentSimConfig::default())
        .await
        .unwrap();
    let client = tencent_client(sim.base_url());
    let mut texts = exercise_tencent(&sim, &client).await;

    // A transport error: reqwest would print the URL, query and UserSig included.
    let dead = tencent_client(format!("http://127.0.0.1:{}", closed_port().await));
    let key = GroupKey {
        id: "s2".into(),
        group_type: GroupType::Public,
        owner: None,
    };
    let err = dead.disband(&key).await.expect_err("nothing listens");
    texts.push(format!("{err} {err:?}"));
    texts.push(format!("{client:?} {dead:?}"));
    let config = TencentConfig::new(1, Secret::new(SAMPLE_SECRET_KEY));
    texts.push(format!(
        "{config:?} {:?}",
        ProviderConfig::Tencent(config.clone())
    ));

    let mut secrets = vec![SAMPLE_SECRET_KEY.to_string()];
    secrets.extend(usersigs_sent(&sim));
    secrets.extend(dead.current_usersig().map(|s| s.expose().to_string()));
    assert!(secrets.len() > 10, "usersigs were collected");
    let log = log.text();
    assert!(
        log.contains("provider call answered"),
        "calls were logged at all"
    );
    assert_hidden(&log, &secrets, "the log");
    for text in &texts {
        assert_hidden(text, &secrets, text);
    }
}

/// A server that records each request's CheckSum header, then either answers a
/// NetEase error that echoes the CheckSum and AppSecret, or drops the connection.
async fn checksum_recorder(answer: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let sum = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("checksum:")
                        .map(|v| v.trim().to_string())
                })
                .unwrap_or_default();
            record.lock().unwrap().push(sum.clone());
            if answer {
                let body = format!("{{\"code\":414,\"msg\":\"checksum {sum} for secret {APP_SECRET} mismatched\",\"data\":{{}}}}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
        }
    });
    (url, seen)
}

fn netease_client(endpoint: String, secret: &str) -> NeteaseClient {
    let mut config = NeteaseConfig::new("sim-app-key", Secret::new(secret));
    config.endpoint = NeteaseEndpoint::Url(endpoint);
    config.timeout = Duration::from_secs(1);
    let budget = RateBudget::new(ProviderKind::NetEase, config.rate)
        .with_max_throttle_wait(Duration::from_millis(500));
    NeteaseClient::new(config, Arc::new(budget)).unwrap()
}

/// True when `text` holds 40 hex digits in a row: the shape of a CheckSum.
fn has_sha1_hex(text: &str) -> bool {
    text.as_bytes().windows(40).any(|w| {
        w.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    })
}

/// Successful and failing calls against the simulator; returns the errors as text.
async fn exercise_netease(sim: &NeteaseSim, client: &NeteaseClient) -> (GroupKey, Vec<String>) {
    let created = client
        .create_group(&request(GroupType::Advanced, None))
        .await
        .unwrap();
    let CreateOutcome::Created { group_id, .. } = created else {
        panic!("{created:?}")
    };
    let key = GroupKey {
        id: group_id,
        group_type: GroupType::Advanced,
        owner: Some("alice".into()),
    };
    let keys = std::slice::from_ref(&key);
    client.get_groups(keys).await.unwrap();
    client.transfer_owner(&key, "bob").await.unwrap();
    let mut texts = Vec::new();
    for fault in [
        FaultKind::Http502,
        FaultKind::DropConnection,
        FaultKind::MalformedJson,
        FaultKind::Code(416),
    ] {
        sim.inject(Fault::always(Some("get"), fault));
        let err = client.get_groups(keys).await.expect_err("fault");
        texts.push(format!("{err} {err:?}"));
        sim.clear_faults();
    }
    let wrong = netease_client(sim.base_url(), "not-the-secret");
    let err = wrong.get_groups(keys).await.expect_err("414");
    texts.push(format!("{err} {err:?}"));
    (key, texts)
}

#[tokio::test]
async fn netease_secrets_never_leak() {
    let (log, _guard) = capture();
    let sim = NeteaseSim::start(NeteaseSimConfig::default())
        .await
        .unwrap();
    let client = netease_client(sim.base_url(), APP_SECRET);
    let (key, mut texts) = exercise_netease(&sim, &client).await;

    let (echo_url, echoed) = checksum_recorder(true).await;
    let echo = netease_client(echo_url, APP_SECRET);
    let err = echo
        .get_groups(std::slice::from_ref(&key))
        .await
        .expect_err("414");
    assert!(
        err.info.message.contains("[redacted]"),
        "an echoed secret is scrubbed: {err}"
    );
    texts.push(format!("{err} {err:?}"));
    let (drop_url, dropped) = checksum_recorder(false).await;
    let err = netease_client(drop_url, APP_SECRET)
        .disband(&key)
        .await
        .expect_err("dropped");
    texts.push(format!("{err} {err:?}"));
    texts.push(format!(
        "{client:?} {:?}",
        NeteaseConfig::new("k", Secret::new(APP_SECRET))
    ));

    let mut secrets = vec![APP_SECRET.to_string(), "not-the-secret".to_string()];
    secrets.extend(echoed.lock().unwrap().iter().cloned());
    secrets.extend(dropped.lock().unwrap().iter().cloned());
    assert!(
        secrets.iter().skip(2).all(|s| s.len() == 40),
        "CheckSums were recorded"
    );
    assert!(secrets.len() >= 4);
    let log = log.text();
    assert!(
        log.contains("provider call answered"),
        "calls were logged at all"
    );
    assert_hidden(&log, &secrets, "the log");
    assert!(!has_sha1_hex(&log), "no CheckSum-shaped value in the log");
    for text in &texts {
        assert_hidden(text, &secrets, text);
        assert!(!has_sha1_hex(text), "no CheckSum-shaped value in {text}");
    }
}

/// A Tencent answer for `command` whose every text field echoes `echo`, failing in the
/// way that carries the most provider text for that command.
fn tencent_echo(command: &str, echo: &str) -> String {
    let body = match command {
        "get_group_info" => serde_json::json!({
            "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": echo, "RequestId": "r-1",
            "GroupInfo": [{"GroupId": "s1", "ErrorCode": 10007, "ErrorInfo": echo}],
        }),
        _ => serde_json::json!({
            "ActionStatus": "FAIL", "ErrorCode": 10004, "ErrorInfo": echo, "RequestId": "r-2",
        }),
    };
    body.to_string()
}

#[tokio::test]
async fn credentials_echoed_in_every_field_of_an_answer_reach_no_error_or_log() {
    let (log, _guard) = capture();
    // Tencent: the answers repeat the key and the UserSig the request carried.
    let fake = fake::Fake::start(|seen| {
        let sig = seen.query.get("usersig").cloned().unwrap_or_default();
        let echo = format!("key {SAMPLE_SECRET_KEY} usersig={sig} sig {sig}");
        let command = seen.path.rsplit('/').next().unwrap_or_default();
        (200, tencent_echo(command, &echo))
    })
    .await;
    let tencent = tencent_client(fake.base_url.clone());
    let key = GroupKey {
        id: "s1".into(),
        group_type: GroupType::Public,
        owner: Some("alice".into()),
    };
    let mut texts = Vec::new();
    let create = request(GroupType::Public, Some("s1"));
    texts.push(format!("{:?}", tencent.create_group(&create).await));
    texts.push(format!(
        "{:?}",
        tencent.get_groups(std::slice::from_ref(&key)).await
    ));
    texts.push(format!("{:?}", tencent.disband(&key).await));
    let mut secrets = vec![SAMPLE_SECRET_KEY.to_string()];
    secrets.extend(
        fake.seen()
            .iter()
            .filter_map(|s| s.query.get("usersig").cloned()),
    );
    assert!(secrets.len() > 1, "UserSigs were sent");

    // NetEase: a create whose failed_list echoes the AppSecret in every field, and an
    // error whose message does.
    let echo = format!("secret {APP_SECRET} appsecret={APP_SECRET}");
    let fake = fake::Fake::start(move |seen| {
        let failed =
            serde_json::json!([{"account_id": echo, "error_code": 102404, "error_msg": echo}]);
        if seen.method == "POST" && seen.path.ends_with("/teams") {
            fake::netease_ok(serde_json::json!({
                "team_info": {"team_id": 7001, "name": echo},
                "failed_list": failed,
            }))
        } else {
            (
                200,
                serde_json::json!({"code": 414, "msg": echo, "data": {"failed_list": failed}})
                    .to_string(),
            )
        }
    })
    .await;
    let netease = netease_client(fake.base_url.clone(), APP_SECRET);
    let team = GroupKey {
        id: "7001".into(),
        group_type: GroupType::Advanced,
        owner: Some("alice".into()),
    };
    let create = request(GroupType::Advanced, None);
    texts.push(format!("{:?}", netease.create_group(&create).await));
    texts.push(format!(
        "{:?}",
        netease.get_groups(std::slice::from_ref(&team)).await
    ));
    texts.push(format!("{:?}", netease.transfer_owner(&team, "bob").await));
    secrets.push(APP_SECRET.to_string());

    for text in &texts {
        assert_hidden(text, &secrets, text);
    }
    assert!(texts.iter().any(|t| t.contains("[redacted]")), "{texts:?}");
    assert_hidden(&log.text(), &secrets, "the log");
}
