//! TLSSigAPIv2 UserSigs (HMAC-SHA256), generated locally and cached per client.

use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::provider::secret::Secret;

/// `TLS.sig`: base64 of HMAC-SHA256 over the four-line string to sign.
pub fn tls_sig(key: &str, identifier: &str, sdk_app_id: u64, time: u64, expire: u64) -> String {
    let content = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdk_app_id}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(content.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// A complete UserSig for `identifier`, valid for `expire` seconds from `time`.
pub fn generate(key: &str, identifier: &str, sdk_app_id: u64, time: u64, expire: u64) -> String {
    let json = serde_json::json!({
        "TLS.ver": "2.0",
        "TLS.identifier": identifier,
        "TLS.sdkappid": sdk_app_id,
        "TLS.expire": expire,
        "TLS.time": time,
        "TLS.sig": tls_sig(key, identifier, sdk_app_id, time, expire),
    });
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(json.to_string().as_bytes());
    let compressed = encoder.finish().unwrap_or_default();
    STANDARD
        .encode(compressed)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            other => other,
        })
        .collect()
}

/// Reverses [`generate`] into the signed JSON; `None` if `sig` is not a UserSig.
pub fn decode(sig: &str) -> Option<serde_json::Value> {
    let mapped: String = sig
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            other => other,
        })
        .collect();
    let compressed = STANDARD.decode(mapped).ok()?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .read_to_end(&mut json)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

struct Cached {
    sig: Secret,
    /// Unix time after which the provider rejects the sig.
    expires_at: Duration,
}

/// The client's current UserSig, renewed before it runs out.
pub(crate) struct UserSigCache {
    key: Secret,
    identifier: String,
    sdk_app_id: u64,
    ttl: Duration,
    current: Mutex<Option<Cached>>,
}

impl UserSigCache {
    pub fn new(key: Secret, identifier: String, sdk_app_id: u64, ttl: Duration) -> UserSigCache {
        UserSigCache {
            key,
            identifier,
            sdk_app_id,
            ttl,
            current: Mutex::new(None),
        }
    }

    /// Renew when less than 10% of the lifetime, or less than an hour, remains
    /// (whichever margin is smaller).
    fn renew_margin(&self) -> Duration {
        (self.ttl / 10).min(Duration::from_secs(3600))
    }

    /// The sig to send now; a fresh one when the cached one is near its end.
    pub fn get(&self) -> Secret {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let now = unix_now();
        if let Some(cached) = current.as_ref() {
            if cached.expires_at.saturating_sub(now) > self.renew_margin() {
                return cached.sig.clone();
            }
        }
        let time = now.as_secs();
        let expire = self.ttl.as_secs().max(1);
        let sig = Secret::new(generate(
            self.key.expose(),
            &self.identifier,
            self.sdk_app_id,
            time,
            expire,
        ));
        tracing::debug!(provider = "tencent", "generated a new UserSig");
        *current = Some(Cached {
            sig: sig.clone(),
            expires_at: Duration::from_secs(time + expire),
        });
        sig
    }

    /// Drops the cached sig (after the provider rejected it) unless it was already
    /// replaced by another caller.
    pub fn invalidate(&self, rejected: &Secret) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|c| &c.sig == rejected) {
            *current = None;
        }
    }

    /// The cached sig, for tests that check it never leaks.
    pub fn peek(&self) -> Option<Secret> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().map(|c| c.sig.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

    #[test]
    fn sig_is_cached_until_near_expiry() {
        let cache = UserSigCache::new(
            Secret::new(KEY),
            "administrator".into(),
            1_400_000_000,
            Duration::from_secs(86400),
        );
        let first = cache.get();
        assert_eq!(cache.get(), first);
        cache.invalidate(&first);
        assert!(cache.peek().is_none());
    }

    #[test]
    fn a_sig_near_its_end_is_renewed() {
        let cache = UserSigCache::new(
            Secret::new(KEY),
            "administrator".into(),
            1_400_000_000,
            Duration::from_secs(86400),
        );
        cache.get();
        // Pretend the sig expires in 30 minutes: less than the 1 h margin.
        let soon = unix_now() + Duration::from_secs(1800);
        cache.current.lock().unwrap().as_mut().unwrap().expires_at = soon;
        cache.get();
        let renewed = cache.current.lock().unwrap().as_ref().unwrap().expires_at;
        assert!(renewed > soon + Duration::from_secs(80_000));
    }
}
