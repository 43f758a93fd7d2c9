//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!exists`) and the
//! `metadata.name` / `metadata.namespace` field selectors.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

#[derive(Clone, Debug, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label and field selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector {
    labels: Vec<Requirement>,
    fields: Vec<Requirement>,
}

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn parse_set(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

fn parse_requirement(s: &str) -> Result<Requirement, String> {
    let err = || format!("unable to parse requirement: invalid selector: '{s}'");
    let req = |key: &str, op: Op| {
        let key = key.trim();
        if valid_key(key) {
            Ok(Requirement {
                key: key.to_string(),
                op,
            })
        } else {
            Err(err())
        }
    };
    if let Some(key) = s.strip_prefix('!') {
        return req(key, Op::NotExists);
    }
    for (sep, is_eq) in [("!=", false), ("==", true), ("=", true)] {
        if let Some((k, v)) = s.split_once(sep) {
            let v = v.trim().to_string();
            return req(k, if is_eq { Op::Eq(v) } else { Op::NotEq(v) });
        }
    }
    for (word, is_in) in [(" notin ", false), (" in ", true)] {
        if let Some((k, rest)) = s.split_once(word) {
            let set = parse_set(rest).ok_or_else(err)?;
            return req(k, if is_in { Op::In(set) } else { Op::NotIn(set) });
        }
    }
    req(s, Op::Exists)
}

fn matches(reqs: &[Requirement], get: impl Fn(&str) -> Option<String>) -> bool {
    reqs.iter().all(|r| {
        let v = get(&r.key);
        match &r.op {
            Op::Eq(x) => v.as_deref() == Some(x.as_str()),
            Op::NotEq(x) => v.as_deref() != Some(x.as_str()),
            Op::In(set) => v.is_some_and(|v| set.contains(&v)),
            Op::NotIn(set) => v.is_none_or(|v| !set.contains(&v)),
            Op::Exists => v.is_some(),
            Op::NotExists => v.is_none(),
        }
    })
}

impl Selector {
    /// Parses `labelSelector` and `fieldSelector`; the error is a BadRequest message.
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> Result<Selector, String> {
        let labels = split_top(labels.unwrap_or(""))
            .iter()
            .map(|s| parse_requirement(s))
            .collect::<Result<Vec<_>, _>>()?;
        let fields = split_top(fields.unwrap_or(""))
            .iter()
            .map(|s| parse_requirement(s))
            .collect::<Result<Vec<_>, _>>()?;
        for f in &fields {
            let supported = matches!(f.op, Op::Eq(_) | Op::NotEq(_));
            if !supported || !["metadata.name", "metadata.namespace"].contains(&f.key.as_str()) {
                return Err(format!(
                    "\"{}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                    f.key
                ));
            }
        }
        Ok(Selector { labels, fields })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let meta = &obj["metadata"];
        let label_ok = matches(&self.labels, |k| {
            meta["labels"][k].as_str().map(String::from)
        });
        let field_ok = matches(&self.fields, |k| {
            let key = k.trim_start_matches("metadata.");
            Some(meta[key].as_str().unwrap_or("").to_string())
        });
        label_ok && field_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns", "labels": labels}})
    }

    #[test]
    fn set_based_and_equality_requirements_combine() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let sel = |l: &str| Selector::parse(Some(l), None).unwrap().matches(&o);
        assert!(sel("app=web,tier in (front, back)"));
        assert!(sel("app==web,!missing"));
        assert!(!sel("app!=web"));
        assert!(!sel("tier notin (front)"));
        assert!(sel("tier"));
        assert!(!sel("missing"));
    }

    #[test]
    fn field_selectors_accept_only_name_and_namespace() {
        let o = obj(json!({}));
        let f = |s: &str| Selector::parse(None, Some(s));
        assert!(f("metadata.name=a").unwrap().matches(&o));
        assert!(!f("metadata.namespace!=ns").unwrap().matches(&o));
        assert!(f("spec.x=1").is_err());
    }
}
