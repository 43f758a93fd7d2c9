//! Header authentication: AppKey, Nonce, CurTime, CheckSum.

use sha1::{Digest, Sha1};

use super::state::{err, NErr, PARAM};
use crate::core::Incoming;

/// App key unknown.
pub(crate) const BAD_APP_KEY: i64 = 101303;
const MAX_NONCE: usize = 128;

/// `CheckSum`: lowercase hex SHA1 of AppSecret + Nonce + CurTime (plain concatenation).
pub fn netease_checksum(app_secret: &str, nonce: &str, curtime: &str) -> String {
    let mut h = Sha1::new();
    h.update(app_secret.as_bytes());
    h.update(nonce.as_bytes());
    h.update(curtime.as_bytes());
    hex::encode(h.finalize())
}

/// Checks the signing headers as the service does; wrong key → 101303, the rest → 414.
pub(crate) fn check_headers(
    req: &Incoming,
    app_key: &str,
    app_secret: &str,
    window_secs: i64,
    now: i64,
) -> Result<(), NErr> {
    let header = |name: &str| req.header(name).filter(|v| !v.is_empty());
    let key = header("AppKey").ok_or_else(|| err(PARAM, "AppKey header is missing"))?;
    if key != app_key {
        return Err(err(BAD_APP_KEY, "app key is not valid"));
    }
    let nonce = header("Nonce").ok_or_else(|| err(PARAM, "Nonce header is missing"))?;
    if nonce.len() > MAX_NONCE {
        return Err(err(PARAM, "Nonce is longer than 128 characters"));
    }
    let curtime = header("CurTime").ok_or_else(|| err(PARAM, "CurTime header is missing"))?;
    let secs: i64 = curtime
        .trim()
        .parse()
        .map_err(|_| err(PARAM, "CurTime is not a number of seconds"))?;
    if (now - secs).abs() > window_secs {
        return Err(err(PARAM, "CurTime is outside the allowed window"));
    }
    let given = header("CheckSum").ok_or_else(|| err(PARAM, "CheckSum header is missing"))?;
    let expected = netease_checksum(app_secret, &nonce, &curtime);
    if !constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        return Err(err(PARAM, "CheckSum does not match"));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_the_documented_vector() {
        assert_eq!(
            netease_checksum("secret", "nonce123", "1700000000"),
            "d8f433adc37ba88a9e831ce4b6dece5815d2e060"
        );
    }
}
