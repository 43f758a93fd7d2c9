//! TLSSigAPIv2 UserSig: HMAC-SHA256 over a four-line string, wrapped in
//! JSON, zlib, and a URL-safe base64 variant (`+`→`*`, `/`→`-`, `=`→`_`).

use std::io::{Read, Write};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Official signers differ on padding details; accept with or without.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Largest inflated UserSig accepted (a real one is ~200 bytes).
const MAX_INFLATED: u64 = 64 * 1024;

pub const SIG_EMPTY: i64 = 70002;
pub const SIG_UNPARSABLE: i64 = 70003;
pub const SIG_EXPIRED: i64 = 70001;
pub const SIG_BAD_KEY: i64 = 70009;
pub const SIG_IDENTIFIER_MISMATCH: i64 = 70013;
pub const SIG_SDKAPPID_MISMATCH: i64 = 70014;

/// Verifies `usersig` as the Tencent server does for a request whose query
/// carried `sdk_app_id` and `identifier`. `Err` holds the error code.
pub fn verify_usersig(
    secret_key: &str,
    sdk_app_id: u64,
    identifier: &str,
    usersig: &str,
    now_unix: i64,
) -> Result<(), i64> {
    if usersig.is_empty() {
        return Err(SIG_EMPTY);
    }
    let doc = decode(usersig).ok_or(SIG_UNPARSABLE)?;
    let field_str = |k: &str| doc.get(k).and_then(Value::as_str);
    let sig_identifier = field_str("TLS.identifier").ok_or(SIG_UNPARSABLE)?;
    let sig_app = number(doc.get("TLS.sdkappid")).ok_or(SIG_UNPARSABLE)?;
    let time = number(doc.get("TLS.time")).ok_or(SIG_UNPARSABLE)?;
    let expire = number(doc.get("TLS.expire")).ok_or(SIG_UNPARSABLE)?;
    let sig = field_str("TLS.sig").ok_or(SIG_UNPARSABLE)?;
    if u64::try_from(sig_app).ok() != Some(sdk_app_id) {
        return Err(SIG_SDKAPPID_MISMATCH);
    }
    if sig_identifier != identifier {
        return Err(SIG_IDENTIFIER_MISMATCH);
    }
    if now_unix > time.saturating_add(expire) {
        return Err(SIG_EXPIRED);
    }
    let content = content_to_sign(
        identifier,
        sdk_app_id,
        time,
        expire,
        field_str("TLS.userbuf"),
    );
    let given = LENIENT.decode(sig).map_err(|_| SIG_BAD_KEY)?;
    hmac_for(secret_key, &content)
        .verify_slice(&given)
        .map_err(|_| SIG_BAD_KEY)
}

/// Generates a UserSig the way the official signers do (for tests and tools).
pub fn gen_usersig(
    secret_key: &str,
    sdk_app_id: u64,
    identifier: &str,
    expire_secs: i64,
    now_unix: i64,
) -> String {
    let doc = serde_json::json!({
        "TLS.ver": "2.0",
        "TLS.identifier": identifier,
        "TLS.sdkappid": sdk_app_id,
        "TLS.expire": expire_secs,
        "TLS.time": now_unix,
        "TLS.sig": tls_sig(secret_key, sdk_app_id, identifier, now_unix, expire_secs),
    });
    encode_usersig(&doc)
}

/// `TLS.sig` for the given fields: base64 of HMAC-SHA256 over the four lines.
pub fn tls_sig(
    secret_key: &str,
    sdk_app_id: u64,
    identifier: &str,
    time: i64,
    expire: i64,
) -> String {
    let content = content_to_sign(identifier, sdk_app_id, time, expire, None);
    STANDARD.encode(hmac_for(secret_key, &content).finalize().into_bytes())
}

/// Decodes a UserSig into its JSON document (no checks).
pub fn decode_usersig(usersig: &str) -> Option<Value> {
    decode(usersig)
}

/// Encodes a JSON document as a UserSig (no signing; for building bad sigs in tests).
pub fn encode_usersig(doc: &Value) -> String {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    let _ = enc.write_all(doc.to_string().as_bytes());
    to_url_variant(&STANDARD.encode(enc.finish().unwrap_or_default()))
}

fn decode(usersig: &str) -> Option<Value> {
    let b64: String = usersig
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            other => other,
        })
        .collect();
    let compressed = LENIENT.decode(b64.trim()).ok()?;
    let mut inflated = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED)
        .read_to_end(&mut inflated)
        .ok()?;
    let doc: Value = serde_json::from_slice(&inflated).ok()?;
    doc.is_object().then_some(doc)
}

fn to_url_variant(b64: &str) -> String {
    b64.replace('+', "*").replace('/', "-").replace('=', "_")
}

/// Numbers may arrive as JSON numbers or numeric strings depending on the signer.
fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn content_to_sign(
    identifier: &str,
    app: u64,
    time: i64,
    expire: i64,
    userbuf: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{app}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(buf) = userbuf {
        s.push_str(&format!("TLS.userbuf:{buf}\n"));
    }
    s
}

fn hmac_for(secret_key: &str, content: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(content.as_bytes());
    mac
}
