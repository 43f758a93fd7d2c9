//! Object metadata rules: names, generated names, timestamps, finalizers, generation.

use rand::Rng;
use serde_json::{json, Value};

use crate::registry::{NameRule, Resource};
use crate::status::{ApiError, ApiResult, Cause, Subject};

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.chars().all(|c| ok_char(c) || c == '-')
        && s.starts_with(ok_char)
        && s.ends_with(ok_char)
}

fn name_problems(rule: NameRule, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                out.push("must be no more than 253 characters".to_string());
            }
            if !name.split('.').all(is_label) {
                out.push(SUBDOMAIN_MSG.to_string());
            }
        }
        NameRule::Label => {
            if name.len() > 63 {
                out.push("must be no more than 63 characters".to_string());
            }
            if !is_label(name) {
                out.push(LABEL_MSG.to_string());
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                out.push(format!("may not be '{name}'"));
            }
            if name.contains('/') || name.contains('%') {
                out.push("may not contain '/' or '%'".to_string());
            }
        }
    }
    out
}

/// 422 Invalid unless `name` is a valid name for `r`.
pub fn validate_name(r: &Resource, name: &str) -> ApiResult<()> {
    let causes: Vec<Cause> = if name.is_empty() {
        vec![Cause {
            reason: "FieldValueRequired".into(),
            field: "metadata.name".into(),
            message: "Required value: name or generateName is required".into(),
        }]
    } else {
        name_problems(r.name_rule, name)
            .into_iter()
            .map(|p| Cause {
                reason: "FieldValueInvalid".into(),
                field: "metadata.name".into(),
                message: format!("Invalid value: \"{name}\": {p}"),
            })
            .collect()
    };
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&r.kind, &r.group, name, causes))
    }
}

/// `prefix` plus five random characters, as the real name generator does.
pub fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn meta_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj["metadata"][key].as_str().unwrap_or("")
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    !meta_str(obj, "deletionTimestamp").is_empty()
}

/// Whether anything that bumps `metadata.generation` changed: everything but
/// metadata, and also but status when the kind has a status subresource.
pub fn generation_changed(old: &Value, new: &Value, has_status: bool) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("apiVersion");
            m.remove("kind");
            if has_status {
                m.remove("status");
            }
        }
        v
    };
    strip(old) != strip(new)
}

/// Server-owned metadata an update can't change.
pub fn keep_server_metadata(old: &Value, new: &mut Value) {
    if !new["metadata"].is_object() {
        new["metadata"] = json!({});
    }
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "name",
        "generation",
        "resourceVersion",
        "generateName",
    ] {
        match old["metadata"].get(key) {
            Some(v) => new["metadata"][key] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(key);
                }
            }
        }
    }
}

/// 422 when an update adds finalizers to an object that is being deleted.
pub fn check_no_new_finalizers(r: &Resource, old: &Value, new: &Value) -> ApiResult<()> {
    if !is_deleting(old) {
        return Ok(());
    }
    let before = finalizers(old);
    let added: Vec<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = added.iter().map(|f| format!("\"{f}\"")).collect();
    let cause = Cause {
        reason: "FieldValueForbidden".into(),
        field: "metadata.finalizers".into(),
        message: format!(
            "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
            list.join(", ")
        ),
    };
    Err(ApiError::invalid(
        &r.kind,
        &r.group,
        meta_str(old, "name"),
        vec![cause],
    ))
}

pub fn subject(r: &Resource, name: &str) -> Subject {
    Subject {
        group: r.group.clone(),
        plural: r.plural.clone(),
        name: name.to_string(),
    }
}

/// The object as served in `version`.
pub fn present(mut obj: Value, r: &Resource, version: &str) -> Value {
    obj["apiVersion"] = json!(r.api_version(version));
    obj["kind"] = json!(r.kind);
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    #[test]
    fn names_follow_dns_1123_rules() {
        let reg = Registry::default();
        let cm = reg.get("", "configmaps").unwrap();
        assert!(validate_name(cm, "a.b-c").is_ok());
        let err = validate_name(cm, "Bad_Name").unwrap_err();
        assert_eq!(err.code, 422);
        assert!(err.message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
        let ns = reg.get("", "namespaces").unwrap();
        assert!(validate_name(ns, "a.b").is_err());
        let role = reg
            .get("rbac.authorization.k8s.io", "clusterroles")
            .unwrap();
        assert!(validate_name(role, "system:reader").is_ok());
    }
}
