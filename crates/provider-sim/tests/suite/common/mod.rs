//! Test clients for the simulators: just enough signing and envelope handling.
#![allow(dead_code)]

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use provider_sim::{netease_checksum, NeteaseSim, TencentSim};
use serde_json::{json, Value};
use sha2::Sha256;

pub const SAMPLE_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
pub const APP: u64 = 1_400_000_000;

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Test-side TLSSigAPIv2 signer, written from the documented steps
/// (independent of the simulator's own code).
pub fn sign_tls(key: &str, app: u64, identifier: &str, time: i64, expire: i64) -> String {
    let content = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{app}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(content.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Packs a UserSig document: JSON, zlib, base64, URL-safe mapping.
pub fn pack_usersig(doc: &Value) -> String {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(doc.to_string().as_bytes()).unwrap();
    STANDARD
        .encode(enc.finish().unwrap())
        .replace('+', "*")
        .replace('/', "-")
        .replace('=', "_")
}

pub fn usersig(key: &str, app: u64, identifier: &str, time: i64, expire: i64) -> String {
    pack_usersig(&json!({
        "TLS.ver": "2.0",
        "TLS.identifier": identifier,
        "TLS.sdkappid": app,
        "TLS.time": time,
        "TLS.expire": expire,
        "TLS.sig": sign_tls(key, app, identifier, time, expire),
    }))
}

pub fn admin_sig() -> String {
    usersig(SAMPLE_KEY, APP, "administrator", now(), 86_400)
}

pub fn tencent_url(base: &str, command: &str, identifier: &str, sig: &str) -> String {
    format!(
        "{base}/v4/group_open_http_svc/{command}?sdkappid={APP}&identifier={identifier}&usersig={sig}&random=12345&contenttype=json"
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Calls a Tencent command as the admin and returns the JSON body.
pub async fn tencent(sim: &TencentSim, command: &str, body: Value) -> Value {
    let url = tencent_url(&sim.base_url(), command, "administrator", &admin_sig());
    let resp = client().post(url).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

pub fn code(v: &Value) -> i64 {
    v["ErrorCode"]
        .as_i64()
        .unwrap_or_else(|| panic!("no ErrorCode in {v}"))
}

pub async fn create_public(sim: &TencentSim, id: &str, owner: &str) -> Value {
    tencent(
        sim,
        "create_group",
        json!({"Type": "Public", "Name": "team", "GroupId": id, "Owner_Account": owner}),
    )
    .await
}

/// A NetEase request with correct signing headers.
pub struct Ne<'a> {
    pub sim: &'a NeteaseSim,
    pub app_key: String,
    pub secret: String,
    pub curtime: i64,
    pub trace: Option<String>,
}

impl<'a> Ne<'a> {
    pub fn new(sim: &'a NeteaseSim) -> Ne<'a> {
        Ne {
            sim,
            app_key: "sim-app-key".into(),
            secret: "sim-app-secret".into(),
            curtime: now(),
            trace: None,
        }
    }

    pub fn trace(mut self, t: &str) -> Self {
        self.trace = Some(t.into());
        self
    }

    pub async fn raw(&self, method: &str, path: &str, body: Option<String>) -> reqwest::Response {
        self.send(method, path, body).await.unwrap()
    }

    /// Sends a signed request; a transport failure is returned, not a panic.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> reqwest::Result<reqwest::Response> {
        let nonce = format!("{:032x}", rand_u128());
        let curtime = self.curtime.to_string();
        let mut req = client()
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.sim.base_url()),
            )
            .header("AppKey", &self.app_key)
            .header("Nonce", &nonce)
            .header("CurTime", &curtime)
            .header("CheckSum", netease_checksum(&self.secret, &nonce, &curtime));
        if let Some(t) = &self.trace {
            req = req.header("X-custom-traceid", t);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json;charset=UTF-8")
                .body(b);
        }
        req.send().await
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let resp = self.raw(method, path, body.map(|b| b.to_string())).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}

fn rand_u128() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    u128::from(N.fetch_add(1, Ordering::Relaxed)) * 0x9e37_79b9_7f4a_7c15
}

pub fn ne_code(v: &Value) -> i64 {
    v["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no code in {v}"))
}

/// Creates an advanced team owned by `owner` and returns its id as a decimal string.
pub async fn ne_create(sim: &NeteaseSim, owner: &str, extra: Value) -> String {
    let mut body = json!({"owner_account_id": owner, "team_type": 1, "name": "team"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let v = Ne::new(sim)
        .call("POST", "/im/v2.1/teams", Some(body))
        .await;
    assert_eq!(ne_code(&v), 200, "{v}");
    v["data"]["team_info"]["team_id"]
        .as_u64()
        .expect("team_id is a number")
        .to_string()
}

/// Waits for the next wall-clock second to begin: the simulators count rate limits
/// in whole seconds, so calls made right after it fall in one count.
pub async fn at_the_start_of_a_second() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = now.subsec_nanos();
    let rest = std::time::Duration::from_nanos(1_000_000_000 - u64::from(into));
    tokio::time::sleep(rest + std::time::Duration::from_millis(5)).await;
}
