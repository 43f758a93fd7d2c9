//! The documented signature vectors: Tencent TLSSigAPIv2 and NetEase CheckSum.

use chatgroup_operator::provider::netease::checksum;
use chatgroup_operator::provider::tencent::usersig;

const SAMPLE_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

fn check_vector(identifier: &str, expire: u64, expected_sig: &str) {
    let sig = usersig::generate(SAMPLE_KEY, identifier, 1_400_000_000, 1_700_000_000, expire);
    assert!(
        sig.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '-' | '_')),
        "the UserSig uses the URL-safe alphabet *, -, _"
    );
    let json = usersig::decode(&sig).expect("a generated UserSig decodes");
    assert_eq!(json["TLS.ver"], "2.0");
    assert_eq!(json["TLS.identifier"], identifier);
    assert_eq!(json["TLS.sdkappid"], 1_400_000_000u64);
    assert_eq!(json["TLS.time"], 1_700_000_000u64);
    assert_eq!(json["TLS.expire"], expire);
    assert_eq!(json["TLS.sig"], expected_sig);
}

#[test]
fn tls_sig_vector_for_the_administrator_matches_the_docs() {
    check_vector(
        "administrator",
        86_400,
        "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60=",
    );
}

#[test]
fn tls_sig_vector_for_xiaojun_matches_the_docs() {
    check_vector(
        "xiaojun",
        15_552_000,
        "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=",
    );
}

#[test]
fn a_different_key_gives_a_different_signature() {
    let other = usersig::tls_sig(
        "another-key",
        "administrator",
        1_400_000_000,
        1_700_000_000,
        86_400,
    );
    assert_ne!(other, "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60=");
}

#[test]
fn a_string_that_is_not_a_usersig_does_not_decode() {
    assert!(usersig::decode("not-a-sig").is_none());
}

#[test]
fn netease_checksum_vector_matches_the_docs() {
    assert_eq!(
        checksum("secret", "nonce123", "1700000000"),
        "d8f433adc37ba88a9e831ce4b6dece5815d2e060"
    );
}

#[test]
fn netease_checksum_depends_on_every_part() {
    let base = checksum("secret", "nonce123", "1700000000");
    assert_ne!(checksum("secret", "nonce124", "1700000000"), base);
    assert_ne!(checksum("secret", "nonce123", "1700000001"), base);
    assert_ne!(checksum("secreT", "nonce123", "1700000000"), base);
}
