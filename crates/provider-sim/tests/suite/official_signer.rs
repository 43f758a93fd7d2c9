//! Interop: UserSigs made by Tencent's official Python signer (PyPI
//! `tls-sig-api-v2`) are accepted, and tampered or expired ones rejected.

use crate::common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;
use provider_sim::tencent::usersig::{decode_usersig, encode_usersig};
use provider_sim::{verify_usersig, TencentSim, TencentSimConfig};
use serde_json::{json, Value};

const SCRIPT: &str = r#"
import json, sys, time
import TLSSigAPIv2
req = json.load(sys.stdin)
api = TLSSigAPIv2.TLSSigAPIv2(req["sdkappid"], req["key"])
print(json.dumps({
    "now": int(time.time()),
    "admin": api.gen_sig("administrator", 86400),
    "short": api.gen_sig("administrator", 1),
    "userbuf": api.gen_sig_with_userbuf("administrator", 600, b"abc"),
}))
"#;

fn python() -> PathBuf {
    match std::env::var_os("CHATGROUP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
    }
}

/// Runs the official signer; fails the test (never skips) when it is unavailable.
fn official_sigs() -> Value {
    let py = python();
    let hint = "run `bash scripts/test.sh` (it creates .venv and installs the tls-sig-api-v2 package), or set CHATGROUP_PYTHON";
    let mut child = Command::new(&py)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start Python interpreter {}: {e}; {hint}",
                py.display()
            )
        });
    let request = json!({"sdkappid": APP, "key": SAMPLE_KEY}).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the official signer (Python module TLSSigAPIv2) failed via {}: {}; {hint}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("signer printed JSON")
}

fn with_sig_char_changed(sig: &str) -> String {
    let mut doc = decode_usersig(sig).expect("official sig decodes");
    let tls = doc["TLS.sig"].as_str().unwrap().to_string();
    let first = if tls.starts_with('A') { "B" } else { "A" };
    doc["TLS.sig"] = json!(format!("{first}{}", &tls[1..]));
    encode_usersig(&doc)
}

async fn call(sim: &TencentSim, identifier: &str, sig: &str, group: &str) -> i64 {
    let url = tencent_url(&sim.base_url(), "create_group", identifier, sig);
    let body = json!({"Type": "Public", "Name": "n", "GroupId": group});
    let resp = client().post(url).json(&body).send().await.unwrap();
    code(&resp.json().await.unwrap())
}

#[tokio::test]
async fn official_tls_sig_api_v2_usersig_is_accepted() {
    let sigs = official_sigs();
    let (now, admin) = (
        sigs["now"].as_i64().unwrap(),
        sigs["admin"].as_str().unwrap(),
    );
    let doc = decode_usersig(admin).unwrap();
    assert_eq!(
        (doc["TLS.sdkappid"].as_u64(), doc["TLS.expire"].as_i64()),
        (Some(APP), Some(86_400))
    );
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", admin, now),
        Ok(())
    );
    let userbuf = sigs["userbuf"].as_str().unwrap();
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", userbuf, now),
        Ok(())
    );

    // Tampering: a changed TLS.sig, a changed character anywhere, another identifier.
    let tampered = with_sig_char_changed(admin);
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", &tampered, now),
        Err(70009)
    );
    let mid = admin.len() / 2;
    let flip = if &admin[mid..=mid] == "A" { "B" } else { "A" };
    let raw_tampered = format!("{}{flip}{}", &admin[..mid], &admin[mid + 1..]);
    assert!(verify_usersig(SAMPLE_KEY, APP, "administrator", &raw_tampered, now).is_err());
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "xiaojun", admin, now),
        Err(70013)
    );

    // Expiry: `now > time + expire`.
    let short = sigs["short"].as_str().unwrap();
    let issued = decode_usersig(short).unwrap()["TLS.time"].as_i64().unwrap();
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", short, issued + 1),
        Ok(())
    );
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", short, issued + 2),
        Err(70001)
    );

    // The same over HTTP.
    let config = TencentSimConfig {
        admins: vec!["administrator".into(), "xiaojun".into()],
        ..Default::default()
    };
    let sim = TencentSim::start(config).await.unwrap();
    assert_eq!(call(&sim, "administrator", admin, "ok").await, 0);
    assert!(sim.group("ok").is_some());
    assert_eq!(call(&sim, "administrator", &tampered, "t1").await, 70009);
    assert_eq!(call(&sim, "xiaojun", admin, "t2").await, 70013);
    let wait = (issued + 2 - common::now()).max(0) as u64 * 1000 + 100;
    tokio::time::sleep(std::time::Duration::from_millis(wait.min(3_100))).await;
    assert_eq!(call(&sim, "administrator", short, "t3").await, 70001);
    assert_eq!(sim.groups().len(), 1);
}
