//! A credential that never shows up in logs, errors or Debug output.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// A secret string (Tencent secret key, NetEase AppSecret, a UserSig, a CheckSum).
/// Debug prints `Secret([redacted])`; there is no Display, so it cannot end up in a
/// formatted message by accident. Read it with [`Secret::expose`] where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for signing or sending. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

/// Removes every occurrence of the given secrets from a text that may have echoed
/// one (a provider message, a transport error), then whatever [`scrub_text`] removes.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, REDACTED);
    }
    scrub_text(&out)
}

const REDACTED: &str = "[redacted]";

/// What a credential looks like in a text that does not know the credential itself:
/// a URL's query string (a Tencent UserSig travels there), a sensitive name followed
/// by a value, 40 or 64 hex digits standing alone (a CheckSum, a Tencent key), a run
/// of 100 or more UserSig characters.
static PATTERNS: LazyLock<[(Regex, &'static str); 4]> = LazyLock::new(|| {
    let rule =
        |pattern: &str, with: &'static str| (Regex::new(pattern).expect("a valid pattern"), with);
    [
        rule(r#"(https?://[^\s?"'<>]*)\?[^\s"'<>]*"#, "${1}?[redacted]"),
        rule(
            r#"(?i)\b(user_?sig|check_?sum|app_?secret|secret_?key|secret|key)(["']?\s*[:=]\s*["']?)[^\s"',;&}]+"#,
            "${1}${2}[redacted]",
        ),
        // A CheckSum (40) or a Tencent key (64) standing alone; object names built on
        // a hash (`tencent-<40 hex>`) are not credentials.
        rule(
            r"(^|[^0-9A-Za-z_./-])([0-9A-Fa-f]{64}|[0-9A-Fa-f]{40})\b",
            "${1}[redacted]",
        ),
        rule(r"[A-Za-z0-9*_\-]{100,}", REDACTED),
    ]
});

/// Removes what looks like a credential from `text` (see [`PATTERNS`]). Every provider
/// text bound for a log, an Event, a condition or `lastError` passes through it.
pub fn scrub_text(text: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(text);
    for (pattern, with) in PATTERNS.iter() {
        if let std::borrow::Cow::Owned(changed) = pattern.replace_all(&out, *with) {
            out = std::borrow::Cow::Owned(changed);
        }
    }
    out.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("hunter2-key");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(secret.expose(), "hunter2-key");
    }

    #[test]
    fn credential_shapes_are_removed_from_texts_that_do_not_know_them() {
        let sig = "eJw1jcEKgjAYhV-l-K8QuaWp66*q6lBEUtFhD2jgQhuqbxK6eIlEiu3t17vuON4PnOdEyN8dJy9KjUaD2aqaV1-c5x-W2PWLgyxlWdCz12v3BJKCNrVe7BR1lFk0UtKzXZK1VNz";
        let cases = [
            (
                "POST https://console.tim.qq.com/v4/x?sdkappid=1&usersig=abc&random=2 failed",
                "POST https://console.tim.qq.com/v4/x?[redacted] failed",
            ),
            (
                "checksum=d8f433adc37ba88a9e831ce4b6dece5815d2e060",
                "checksum=[redacted]",
            ),
            ("CheckSum: 0123", "CheckSum: [redacted]"),
            (
                "{\"AppSecret\": \"s3cr3t\"}",
                "{\"AppSecret\": \"[redacted]\"}",
            ),
            (
                "key 5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e rejected",
                "key [redacted] rejected",
            ),
            ("team 1234567 not found", "team 1234567 not found"),
            (
                "ChatGroupClaim tencent-0123456789abcdef0123456789abcdef01234567 is held",
                "ChatGroupClaim tencent-0123456789abcdef0123456789abcdef01234567 is held",
            ),
            (
                "sum d8f433adc37ba88a9e831ce4b6dece5815d2e060.",
                "sum [redacted].",
            ),
            (
                "request id 7c1d8a2e-5b4f-4c3a-9e2d-1f0a6b8c9d7e",
                "request id 7c1d8a2e-5b4f-4c3a-9e2d-1f0a6b8c9d7e",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(scrub_text(text), expected, "{text}");
        }
        assert_eq!(
            scrub_text(&format!("sig {sig} expired")),
            "sig [redacted] expired"
        );
    }

    #[test]
    fn scrub_removes_every_occurrence() {
        let text = "sig abcdef and again abcdef";
        assert_eq!(
            scrub(text, &["abcdef"]),
            "sig [redacted] and again [redacted]"
        );
    }
}
