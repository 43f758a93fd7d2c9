//! Kubernetes `Status` errors and JSON responses.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

/// One `metav1.StatusCause`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub reason: String,
    pub field: String,
    pub message: String,
}

/// An error answered as a `Status` object.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

/// Names the resource an error is about, as `details` and messages do.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub group: String,
    pub plural: String,
    pub name: String,
}

impl Subject {
    /// `configmaps` or `chatgroups.im.chatgroup.dev`.
    pub fn qualified_resource(&self) -> String {
        qualify(&self.plural, &self.group)
    }

    fn details(&self) -> Value {
        let mut d = json!({ "name": self.name, "kind": self.plural });
        if !self.group.is_empty() {
            d["group"] = json!(self.group);
        }
        d
    }
}

/// `name` or `name.group` for the core group's empty name.
pub fn qualify(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{group}")
    }
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn not_found(s: &Subject) -> Self {
        let msg = format!("{} \"{}\" not found", s.qualified_resource(), s.name);
        ApiError::new(404, "NotFound", msg).with_details(s.details())
    }

    pub fn unknown_resource() -> Self {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn already_exists(s: &Subject) -> Self {
        let msg = format!("{} \"{}\" already exists", s.qualified_resource(), s.name);
        ApiError::new(409, "AlreadyExists", msg).with_details(s.details())
    }

    pub fn conflict(s: &Subject) -> Self {
        let msg = format!(
            "Operation cannot be fulfilled on {} \"{}\": the object has been modified; \
             please apply your changes to the latest version and try again",
            s.qualified_resource(),
            s.name
        );
        ApiError::new(409, "Conflict", msg).with_details(s.details())
    }

    /// 422 Invalid, `Kind.group "name" is invalid: [field: message, ...]`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> Self {
        let parts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let joined = match parts.len() {
            1 => parts[0].clone(),
            _ => format!("[{}]", parts.join(", ")),
        };
        let msg = format!(
            "{} \"{}\" is invalid: {}",
            qualify(kind, group),
            name,
            joined
        );
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field }))
            .collect();
        let mut details = json!({ "name": name, "kind": kind, "causes": causes });
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        ApiError::new(422, "Invalid", msg).with_details(details)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media(accepted: &str) -> Self {
        let msg = format!(
            "the body of the request was in an unknown format - accepted media types include: {accepted}"
        );
        ApiError::new(415, "UnsupportedMediaType", msg)
    }

    pub fn gone(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }

    pub fn forbidden(s: &Subject, why: &str, cause: Option<(&str, &str)>) -> Self {
        let msg = format!(
            "{} \"{}\" is forbidden: {}",
            s.qualified_resource(),
            s.name,
            why
        );
        let mut details = s.details();
        if let Some((reason, message)) = cause {
            details["causes"] = json!([{ "reason": reason, "message": message }]);
        }
        ApiError::new(403, "Forbidden", msg).with_details(details)
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }

    pub fn into_response(self) -> Response<Body> {
        let mut resp = json_response(self.code, &self.to_status(), &[]);
        if self.code == 429 || self.code == 503 {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// A JSON response with `Warning: 299 - "..."` headers.
pub fn json_response(code: u16, body: &Value, warnings: &[String]) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

pub type ApiResult<T> = Result<T, ApiError>;
