//! Parsing request paths and query parameters, the way the API server's
//! request-info resolver does.

use std::collections::HashMap;

use axum::http::Method;

/// The resource a request is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Version,
    CoreVersions,
    Groups,
    Group(String),
    Discovery { group: String, version: String },
    Resource(Target),
    OpenApiV3Index,
    OpenApiV3(String),
    OpenApiV2,
    Unknown,
}

/// Query parameters, last value wins.
pub type Query = HashMap<String, String>;

pub fn parse_query(raw: Option<&str>) -> Query {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// `true`/`1` as the server reads boolean parameters.
pub fn flag(q: &Query, key: &str) -> bool {
    matches!(q.get(key).map(String::as_str), Some("true" | "1"))
}

pub fn route(path: &str) -> Route {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        ["version"] => Route::Version,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["api", v] => discovery("", v),
        ["apis", g, v] => discovery(g, v),
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        ["openapi", "v3"] => Route::OpenApiV3Index,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3(rest.join("/")),
        ["openapi", "v2"] => Route::OpenApiV2,
        _ => Route::Unknown,
    }
}

fn discovery(group: &str, version: &str) -> Route {
    Route::Discovery {
        group: group.to_string(),
        version: version.to_string(),
    }
}

/// `namespaces/{ns}/{plural}/...` or `{plural}/...`; `namespaces/{name}/status`
/// and `/finalize` address the namespace itself.
fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let mut t = Target {
        group: group.to_string(),
        version: version.to_string(),
        ..Target::default()
    };
    let mut parts = rest;
    if parts.first() == Some(&"namespaces")
        && parts.len() > 2
        && !matches!(parts[2], "status" | "finalize")
    {
        t.namespace = Some(parts[1].to_string());
        parts = &parts[2..];
    }
    match parts {
        [plural] => t.plural = plural.to_string(),
        [plural, name] => {
            t.plural = plural.to_string();
            t.name = Some(name.to_string());
        }
        [plural, name, sub] => {
            t.plural = plural.to_string();
            t.name = Some(name.to_string());
            t.subresource = Some(sub.to_string());
        }
        _ => return Route::Unknown,
    }
    Route::Resource(t)
}

/// The RBAC verb of a resource request.
pub fn verb(method: &Method, t: &Target, q: &Query) -> &'static str {
    let named = t.name.is_some();
    match *method {
        Method::GET if named => "get",
        Method::GET if flag(q, "watch") => "watch",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_paths_and_namespace_subresources_resolve_like_the_real_server() {
        let Route::Resource(t) = route("/api/v1/namespaces/dev/configmaps/cfg") else {
            panic!("not a resource route");
        };
        assert_eq!(t.namespace.as_deref(), Some("dev"));
        assert_eq!(
            (t.plural.as_str(), t.name.as_deref()),
            ("configmaps", Some("cfg"))
        );
        let Route::Resource(t) = route("/api/v1/namespaces/dev/status") else {
            panic!("not a resource route");
        };
        assert_eq!(t.namespace, None);
        assert_eq!(t.name.as_deref(), Some("dev"));
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let Route::Resource(t) = route("/apis/im.x.dev/v1/namespaces/a/groups/g/status") else {
            panic!("not a resource route");
        };
        assert_eq!(t.subresource.as_deref(), Some("status"));
        assert_eq!(route("/apis/im.x.dev/v1"), discovery("im.x.dev", "v1"));
    }
}
