//! kube-openapi's string, format and number validators.

use std::net::IpAddr;

use serde_json::Value;

use super::errors::{FieldError, Kind};
use super::schema::{bound_message, range_error};

/// `maxLength`, `minLength`, `pattern` (lengths in characters); like
/// kube-openapi, only the first failure is reported.
pub(crate) fn string(s: &Value, text: &str, path: &str, errs: &mut Vec<FieldError>) {
    let chars = text.chars().count() as u64;
    if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
        if chars > max {
            return errs.push(FieldError::too_long(path, max));
        }
    }
    if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
        if chars < min {
            let msg = format!("{path} in body should be at least {min} chars long");
            return errs.push(FieldError::invalid(path, Value::from(text), msg));
        }
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
        // A pattern that does not compile was refused with the CRD; skip it here.
        if let Ok(re) = regex::Regex::new(pattern) {
            if !re.is_match(text) {
                let msg = format!("{path} in body should match '{pattern}'");
                errs.push(FieldError::invalid(path, Value::from(text), msg));
            }
        }
    }
}

/// The string formats that are cheap to check; unknown formats pass, as
/// kube-openapi lets formats outside its registry pass.
pub(crate) fn format(s: &Value, text: &str, path: &str, errs: &mut Vec<FieldError>) {
    let Some(format) = s.get("format").and_then(Value::as_str) else {
        return;
    };
    if format_ok(format, text) == Some(false) {
        let msg = format!("{path} in body must be of type {format}: \"{text}\"");
        errs.push(FieldError::new(
            Kind::TypeInvalid,
            path,
            Value::from(text),
            msg,
        ));
    }
}

fn format_ok(format: &str, text: &str) -> Option<bool> {
    Some(match format {
        "date-time" | "datetime" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        "uuid" => is_uuid(text),
        "ipv4" => text.contains('.') && text.parse::<IpAddr>().is_ok(),
        "ipv6" => text.contains(':') && text.parse::<IpAddr>().is_ok(),
        "cidr" => is_cidr(text),
        "hostname" => is_hostname(text),
        _ => return None,
    })
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_cidr(text: &str) -> bool {
    let Some((ip, bits)) = text.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.parse::<u8>().is_ok_and(|b| b <= max) && !bits.starts_with('+')
}

fn is_hostname(text: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !text.is_empty() && text.len() <= 255 && text.split('.').all(label)
}

/// Range of the integer/number format, `multipleOf`, `maximum`, `minimum`
/// (all reported, in kube-openapi's order).
pub(crate) fn number(s: &Value, d: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(x) = d.as_f64() else { return };
    let want = s.get("type").and_then(Value::as_str).unwrap_or("");
    if let Some(format) = s.get("format").and_then(Value::as_str) {
        if !fits_format(d, want, format) {
            errs.push(range_error(want, format, path));
        }
    }
    if let Some(m) = s
        .get("multipleOf")
        .and_then(Value::as_f64)
        .filter(|m| *m > 0.0)
    {
        let q = x / m;
        if (q - q.round()).abs() > 1e-9 {
            let msg = format!(
                "{path} in body should be a multiple of {}",
                super::errors::fmt_num(m)
            );
            errs.push(FieldError::invalid(path, d.clone(), msg));
        }
    }
    let exclusive = |key: &str| s.get(key).and_then(Value::as_bool) == Some(true);
    if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
        let (bad, rel) = if exclusive("exclusiveMaximum") {
            (x >= max, "less than")
        } else {
            (x > max, "less than or equal to")
        };
        if bad {
            errs.push(FieldError::invalid(
                path,
                d.clone(),
                bound_message(path, rel, max),
            ));
        }
    }
    if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
        let (bad, rel) = if exclusive("exclusiveMinimum") {
            (x <= min, "greater than")
        } else {
            (x < min, "greater than or equal to")
        };
        if bad {
            errs.push(FieldError::invalid(
                path,
                d.clone(),
                bound_message(path, rel, min),
            ));
        }
    }
}

/// Whether the value converts to the format's native type without loss.
fn fits_format(d: &Value, want: &str, format: &str) -> bool {
    let int = as_int(d);
    match (want, format) {
        ("integer", "int32") => int.is_some_and(|i| i32::try_from(i).is_ok()),
        ("integer", "int64") => int.is_some_and(|i| i64::try_from(i).is_ok()),
        ("integer", "uint32") => int.is_some_and(|i| u32::try_from(i).is_ok()),
        ("integer", "uint64") => int.is_some_and(|i| u64::try_from(i).is_ok()),
        ("number", "float" | "float32") => d
            .as_f64()
            .is_some_and(|f| f.is_finite() && (f as f32).is_finite()),
        _ => true,
    }
}

/// The value as an integer when it has one (`1.0` counts, `1.5` does not).
fn as_int(d: &Value) -> Option<i128> {
    if let Some(i) = d.as_i64() {
        return Some(i.into());
    }
    if let Some(u) = d.as_u64() {
        return Some(u.into());
    }
    d.as_f64()
        .filter(|f| f.fract() == 0.0 && f.abs() < 1e30)
        .map(|f| f as i128)
}
