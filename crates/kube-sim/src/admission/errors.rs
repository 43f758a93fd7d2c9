//! Field errors rendered the way `k8s.io/apimachinery/pkg/util/validation/field`
//! renders them (`Error.ErrorBody()`), so causes read like the real server's.

use serde_json::Value;

use super::FieldCause;

/// `field.ErrorType`: the cause reason and its human prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    TypeInvalid,
    Internal,
}

impl Kind {
    fn reason(self) -> &'static str {
        match self {
            Kind::Required => "FieldValueRequired",
            Kind::Duplicate => "FieldValueDuplicate",
            Kind::Invalid => "FieldValueInvalid",
            Kind::NotSupported => "FieldValueNotSupported",
            Kind::Forbidden => "FieldValueForbidden",
            Kind::TooLong => "FieldValueTooLong",
            Kind::TooMany => "FieldValueTooMany",
            Kind::TypeInvalid => "FieldValueTypeInvalid",
            Kind::Internal => "InternalError",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::Required => "Required value",
            Kind::Duplicate => "Duplicate value",
            Kind::Invalid | Kind::TypeInvalid => "Invalid value",
            Kind::NotSupported => "Unsupported value",
            Kind::Forbidden => "Forbidden",
            Kind::TooLong => "Too long",
            Kind::TooMany => "Too many",
            Kind::Internal => "Internal error",
        }
    }

    /// Kinds whose body never shows the bad value.
    fn omits_value(self) -> bool {
        matches!(
            self,
            Kind::Required | Kind::Forbidden | Kind::TooLong | Kind::Internal
        )
    }
}

/// One `field.Error`: `field` is `<nil>` for errors without a path, as the
/// real server prints a nil `*field.Path`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldError {
    pub kind: Kind,
    pub field: String,
    /// `None` renders the value as omitted (`TooMany` without a count).
    pub bad: Option<Value>,
    pub detail: String,
}

/// The path a nil `*field.Path` prints as.
pub(crate) const NIL_PATH: &str = "<nil>";

impl FieldError {
    pub fn new(kind: Kind, field: &str, bad: Value, detail: impl Into<String>) -> Self {
        let field = if field.is_empty() { NIL_PATH } else { field };
        FieldError {
            kind,
            field: field.to_string(),
            bad: Some(bad),
            detail: detail.into(),
        }
    }

    pub fn required(field: &str, detail: impl Into<String>) -> Self {
        Self::new(Kind::Required, field, Value::Null, detail)
    }

    pub fn invalid(field: &str, bad: Value, detail: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, field, bad, detail)
    }

    /// `field.TooLong`: `may not be more than N bytes` (CRD maxLength counts
    /// characters, but the real message still says bytes).
    pub fn too_long(field: &str, max: u64) -> Self {
        let unit = if max == 1 { "byte" } else { "bytes" };
        let detail = format!("may not be more than {max} {unit}");
        Self::new(Kind::TooLong, field, Value::Null, detail)
    }

    /// `field.TooMany`: `Too many: 5: must have at most 3 items`.
    pub fn too_many(field: &str, actual: usize, max: u64) -> Self {
        let unit = if max == 1 { "item" } else { "items" };
        let detail = format!("must have at most {max} {unit}");
        Self::new(Kind::TooMany, field, Value::from(actual), detail)
    }

    /// `field.NotSupported`: `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: &str, bad: Value, supported: &[String]) -> Self {
        let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        let detail = if quoted.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(Kind::NotSupported, field, bad, detail)
    }

    /// `ErrorBody()`: the message without the field.
    pub fn body(&self) -> String {
        let mut s = self.kind.prefix().to_string();
        if !self.kind.omits_value() {
            if let Some(bad) = &self.bad {
                s.push_str(": ");
                s.push_str(&render_value(bad));
            }
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    pub fn into_cause(self) -> FieldCause {
        FieldCause {
            reason: self.kind.reason().to_string(),
            message: self.body(),
            field: self.field,
        }
    }
}

/// How `ErrorBody()` prints a bad value: strings quoted, simple values bare,
/// anything else as JSON.
pub(crate) fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        other => other.to_string(),
    }
}

/// Go's `%q` for a string, close enough for printable text.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The JSON type name kube-openapi reports for a value.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's `%v` of a float64 bound: `1`, `0.5`.
pub(crate) fn fmt_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}
