//! Validation ratcheting on update (`CRDValidationRatcheting`, on by default
//! since Kubernetes 1.30): a failure at a value the update left unchanged is
//! not reported, so objects stored under an older, looser schema stay
//! updatable. Values are correlated with the old object by field name, by key
//! in `x-kubernetes-list-type: map` lists and by value in sets; items of
//! atomic lists are not correlated.

use serde_json::Value;

use super::errors::{FieldError, Kind};

pub(crate) enum Segment {
    Name(String),
    Index(usize),
}

/// `spec.members[0].name` → `spec`, `members`, `[0]`, `name`.
pub(crate) fn segments(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Segment::Name(name.to_string()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']')?;
            out.push(Segment::Index(stripped[..end].parse().ok()?));
            rest = &stripped[end + 1..];
        }
    }
    Some(out)
}

/// The old list item that corresponds to `item`, if the list type allows one.
fn correlate<'a>(list_schema: &Value, item: &Value, old: &'a [Value]) -> Option<&'a Value> {
    match list_schema
        .get("x-kubernetes-list-type")
        .and_then(Value::as_str)
    {
        Some("map") => {
            let keys: Vec<&str> = list_schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            old.iter()
                .find(|o| keys.iter().all(|k| o.get(k) == item.get(k)))
        }
        Some("set") => old.iter().find(|o| *o == item),
        _ => None,
    }
}

/// Whether the value at `path`, or at one of its ancestors, is the same in
/// `new` and its correlated counterpart in `old`.
pub(crate) fn unchanged(schema: &Value, new: &Value, old: &Value, path: &str) -> bool {
    let Some(segs) = segments(path) else {
        return false;
    };
    let (mut s, mut n, mut o) = (schema, new, old);
    if n == o {
        return true;
    }
    for seg in segs {
        let next = match seg {
            Segment::Name(name) => {
                let child = s
                    .get("properties")
                    .and_then(|p| p.get(&name))
                    .or_else(|| s.get("additionalProperties"));
                n.get(&name)
                    .zip(o.get(&name))
                    .map(|(n, o)| (child.unwrap_or(&Value::Null), n, o))
            }
            Segment::Index(i) => {
                let item = n.get(i);
                let old_item = item
                    .zip(o.as_array())
                    .and_then(|(it, a)| correlate(s, it, a));
                item.zip(old_item)
                    .map(|(n, o)| (s.get("items").unwrap_or(&Value::Null), n, o))
            }
        };
        let Some((ns, nn, no)) = next else {
            return false;
        };
        (s, n, o) = (ns, nn, no);
        if n == o {
            return true;
        }
    }
    false
}

/// Whether a schema failure may be ratcheted: type, nullable and list-type
/// invariants never are, nor failures without a field.
pub(crate) fn ratchetable(e: &FieldError) -> bool {
    e.field != super::errors::NIL_PATH && !matches!(e.kind, Kind::TypeInvalid | Kind::Duplicate)
}

/// The node a failure is about: `Required value` is about the parent object.
pub(crate) fn node_path(e: &FieldError) -> &str {
    if e.kind == Kind::Required {
        e.field.rsplit_once('.').map_or("", |(parent, _)| parent)
    } else {
        &e.field
    }
}
