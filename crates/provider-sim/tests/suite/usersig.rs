//! UserSig verification against the documented vectors and every rejection code.

use crate::common;

use common::*;
use provider_sim::{gen_usersig, verify_usersig};
use serde_json::json;

const T: i64 = 1_700_000_000;

#[test]
fn documented_tls_sig_vectors_are_reproduced() {
    assert_eq!(
        sign_tls(SAMPLE_KEY, APP, "administrator", T, 86_400),
        "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="
    );
    assert_eq!(
        sign_tls(SAMPLE_KEY, APP, "xiaojun", T, 15_552_000),
        "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
    );
    assert_eq!(
        provider_sim::tencent::usersig::tls_sig(SAMPLE_KEY, APP, "xiaojun", T, 15_552_000),
        "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
    );
}

#[test]
fn usersigs_built_from_the_vectors_verify_within_their_lifetime() {
    let admin = usersig(SAMPLE_KEY, APP, "administrator", T, 86_400);
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", &admin, T + 86_400),
        Ok(())
    );
    let xiaojun = usersig(SAMPLE_KEY, APP, "xiaojun", T, 15_552_000);
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "xiaojun", &xiaojun, T + 10),
        Ok(())
    );
    let doc = provider_sim::tencent::usersig::decode_usersig(&admin).unwrap();
    assert_eq!(
        doc["TLS.sig"],
        "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="
    );
}

#[test]
fn expiry_is_checked_against_time_plus_expire() {
    let sig = usersig(SAMPLE_KEY, APP, "administrator", T, 100);
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", &sig, T + 100),
        Ok(())
    );
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", &sig, T + 101),
        Err(70001)
    );
}

#[test]
fn mismatches_get_their_documented_codes() {
    let sig = usersig(SAMPLE_KEY, APP, "administrator", T, 86_400);
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "someone", &sig, T),
        Err(70013)
    );
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP + 1, "administrator", &sig, T),
        Err(70014)
    );
    let other_key = "0".repeat(64);
    assert_eq!(
        verify_usersig(&other_key, APP, "administrator", &sig, T),
        Err(70009)
    );
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", "", T),
        Err(70002)
    );
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", "not-a-sig!", T),
        Err(70003)
    );
}

#[test]
fn a_document_whose_fields_were_changed_after_signing_is_rejected() {
    let good = sign_tls(SAMPLE_KEY, APP, "administrator", T, 86_400);
    let stretched = pack_usersig(&json!({
        "TLS.ver": "2.0", "TLS.identifier": "administrator", "TLS.sdkappid": APP,
        "TLS.time": T, "TLS.expire": 999_999_999, "TLS.sig": good,
    }));
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", &stretched, T),
        Err(70009)
    );
    let missing_sig = pack_usersig(&json!({
        "TLS.ver": "2.0", "TLS.identifier": "administrator", "TLS.sdkappid": APP,
        "TLS.time": T, "TLS.expire": 10,
    }));
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", &missing_sig, T),
        Err(70003)
    );
}

#[test]
fn the_exported_generator_round_trips_and_differs_per_identifier() {
    let sig = gen_usersig(SAMPLE_KEY, APP, "administrator", 60, T);
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", &sig, T + 60),
        Ok(())
    );
    assert_eq!(
        verify_usersig(SAMPLE_KEY, APP, "administrator", &sig, T + 61),
        Err(70001)
    );
    assert!(sig
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "*-_".contains(c)));
    assert_ne!(sig, gen_usersig(SAMPLE_KEY, APP, "xiaojun", 60, T));
}
