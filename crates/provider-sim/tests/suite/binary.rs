//! The standalone binary prints a loopback URL and serves the simulator there.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::json;

/// Kills the child when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provider-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reads the URL line");
    (running, line.trim().to_string())
}

#[tokio::test]
async fn tencent_binary_serves_on_loopback() {
    let (_child, url) = start(&["tencent", "--port", "0"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let call = tencent_url(&url, "create_group", "administrator", &admin_sig());
    let v: serde_json::Value = client()
        .post(call)
        .json(&json!({"Type": "Public", "Name": "n"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&v), 0, "{v}");
}

#[tokio::test]
async fn netease_binary_serves_on_loopback() {
    let (_child, url) = start(&["netease", "--app-key", "k", "--app-secret", "s"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let curtime = now().to_string();
    let resp = client()
        .get(format!("{url}/im/v2.1/teams/1?team_type=1"))
        .header("AppKey", "k")
        .header("Nonce", "n")
        .header("CurTime", &curtime)
        .header(
            "CheckSum",
            provider_sim::netease_checksum("s", "n", &curtime),
        )
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ne_code(&v), 108404, "{v}");
}
