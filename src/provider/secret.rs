//! A credential that never shows up in logs, errors or Debug output.

use std::fmt;

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
/// one (a provider message, a transport error).
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "[redacted]");
    }
    out
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
    fn scrub_removes_every_occurrence() {
        let text = "sig abcdef and again abcdef";
        assert_eq!(
            scrub(text, &["abcdef"]),
            "sig [redacted] and again [redacted]"
        );
    }
}
