//! `meta.k8s.io/v1` Table responses for `kubectl get`, from printer columns.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::jsonpath;
use crate::registry::{Column, Version};

/// Whether the client asked for a Table (`Accept: application/json;as=Table;...`).
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table") && first.contains("g=meta.k8s.io"))
}

/// Whether the client asked for metadata only
/// (`Accept: application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1`).
pub fn wants_metadata(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        first.contains("as=PartialObjectMetadata") && first.contains("g=meta.k8s.io")
    })
}

/// An object reduced to its metadata.
pub fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    })
}

/// The `includeObject` query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(v: Option<&str>) -> Include {
        match v {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// Like the API server's `duration.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    let with = |big: i64, bu: &str, small: i64, su: &str| {
        if small == 0 {
            format!("{big}{bu}")
        } else {
            format!("{big}{bu}{small}{su}")
        }
    };
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 => with(m, "m", s % 60, "s"),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 => with(h, "h", m % 60, "m"),
        _ if h < 48 => format!("{h}h"),
        _ if h < 24 * 8 => with(d, "d", h % 24, "h"),
        _ if h < 24 * 365 * 2 => format!("{d}d"),
        _ if h < 24 * 365 * 8 => with(d / 365, "y", d % 365, "d"),
        _ => format!("{}y", d / 365),
    }
}

fn age(ts: &Value) -> Value {
    let Some(t) = ts.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok()) else {
        return Value::Null;
    };
    json!(human_duration((Utc::now() - t).num_seconds()))
}

fn default_columns() -> Vec<Column> {
    vec![Column {
        name: "Age".into(),
        type_: "date".into(),
        format: String::new(),
        description: "CreationTimestamp is a timestamp representing the server time when this object was created.".into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    }]
}

fn columns(version: &Version) -> Vec<Column> {
    if version.columns.is_empty() {
        default_columns()
    } else {
        version.columns.clone()
    }
}

fn definitions(cols: &[Column]) -> Vec<Value> {
    let name = json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace."
    });
    std::iter::once(name)
        .chain(cols.iter().map(|c| {
            json!({
                "name": c.name, "type": c.type_, "format": c.format,
                "description": c.description, "priority": c.priority
            })
        }))
        .collect()
}

fn cell(obj: &Value, c: &Column) -> Value {
    let Some(v) = jsonpath::find(obj, &c.json_path).into_iter().next() else {
        return Value::Null;
    };
    match c.type_.as_str() {
        "date" => age(v),
        "string" => match v {
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        },
        _ => v.clone(),
    }
}

fn row(obj: &Value, cols: &[Column], include: Include) -> Value {
    let mut cells = vec![obj["metadata"]["name"].clone()];
    cells.extend(cols.iter().map(|c| cell(obj, c)));
    let mut r = json!({ "cells": cells });
    match include {
        Include::None => {}
        Include::Object => r["object"] = obj.clone(),
        Include::Metadata => r["object"] = partial(obj),
    }
    r
}

/// A Table of `objects`; `headers` false leaves out the column definitions
/// (watch events after the first).
pub fn table(
    version: &Version,
    objects: &[Value],
    list_meta: Value,
    include: Include,
    headers: bool,
) -> Value {
    let cols = columns(version);
    let defs = if headers {
        definitions(&cols)
    } else {
        Vec::new()
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": defs,
        "rows": objects.iter().map(|o| row(o, &cols, include)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(3 * 86_400), "3d");
    }
}
