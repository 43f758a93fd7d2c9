//! Decoding of `application/vnd.kubernetes.protobuf` request bodies for the
//! built-in kinds typed clients create with it (`kubectl create configmap`,
//! `secret`, `namespace`, `serviceaccount`, `role`, `rolebinding`, ...).
//! Responses stay JSON, which those clients also accept.

use base64::Engine;
use serde_json::{json, Map, Value};

/// How one field is encoded.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    I64,
    Bool,
    Time,
    Msg(&'static [F]),
    MapStr,
    MapBytes,
    RepStr,
    RepMsg(&'static [F]),
}

/// Field number, JSON name, encoding.
type F = (u64, &'static str, Ty);

use Ty::*;

const OWNER_REF: &[F] = &[
    (1, "kind", Str),
    (3, "name", Str),
    (4, "uid", Str),
    (5, "apiVersion", Str),
    (6, "controller", Bool),
    (7, "blockOwnerDeletion", Bool),
];
const META: &[F] = &[
    (1, "name", Str),
    (2, "generateName", Str),
    (3, "namespace", Str),
    (5, "uid", Str),
    (6, "resourceVersion", Str),
    (7, "generation", I64),
    (8, "creationTimestamp", Time),
    (11, "labels", MapStr),
    (12, "annotations", MapStr),
    (13, "ownerReferences", RepMsg(OWNER_REF)),
    (14, "finalizers", RepStr),
];
const CONFIG_MAP: &[F] = &[
    (1, "metadata", Msg(META)),
    (2, "data", MapStr),
    (3, "binaryData", MapBytes),
    (4, "immutable", Bool),
];
const SECRET: &[F] = &[
    (1, "metadata", Msg(META)),
    (2, "data", MapBytes),
    (3, "type", Str),
    (4, "stringData", MapStr),
    (5, "immutable", Bool),
];
const NAMESPACE: &[F] = &[
    (1, "metadata", Msg(META)),
    (2, "spec", Msg(&[(1, "finalizers", RepStr)])),
];
const OBJECT_REF: &[F] = &[(1, "kind", Str), (2, "namespace", Str), (3, "name", Str)];
const SERVICE_ACCOUNT: &[F] = &[
    (1, "metadata", Msg(META)),
    (2, "secrets", RepMsg(OBJECT_REF)),
    (4, "automountServiceAccountToken", Bool),
];
const POLICY_RULE: &[F] = &[
    (1, "verbs", RepStr),
    (2, "apiGroups", RepStr),
    (3, "resources", RepStr),
    (4, "resourceNames", RepStr),
    (5, "nonResourceURLs", RepStr),
];
const ROLE: &[F] = &[
    (1, "metadata", Msg(META)),
    (2, "rules", RepMsg(POLICY_RULE)),
];
const SUBJECT: &[F] = &[
    (1, "kind", Str),
    (2, "apiGroup", Str),
    (3, "name", Str),
    (4, "namespace", Str),
];
const ROLE_REF: &[F] = &[(1, "apiGroup", Str), (2, "kind", Str), (3, "name", Str)];
const BINDING: &[F] = &[
    (1, "metadata", Msg(META)),
    (2, "subjects", RepMsg(SUBJECT)),
    (3, "roleRef", Msg(ROLE_REF)),
];

fn schema_of(kind: &str) -> Option<&'static [F]> {
    Some(match kind {
        "ConfigMap" => CONFIG_MAP,
        "Secret" => SECRET,
        "Namespace" => NAMESPACE,
        "ServiceAccount" => SERVICE_ACCOUNT,
        "Role" | "ClusterRole" => ROLE,
        "RoleBinding" | "ClusterRoleBinding" => BINDING,
        _ => return None,
    })
}

/// Why a protobuf body was not decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum ProtoError {
    /// A kind this decoder has no schema for.
    Unsupported(String),
    Malformed,
}

enum Wire<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Fixed,
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.buf.split_first()?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    /// The next field, None at the end; Err on malformed input.
    fn field(&mut self) -> Result<Option<(u64, Wire<'a>)>, ProtoError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let bad = || ProtoError::Malformed;
        let key = self.varint().ok_or_else(bad)?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint().ok_or_else(bad)?),
            1 => self.take(8).map(|_| Wire::Fixed).ok_or_else(bad)?,
            2 => {
                let n = usize::try_from(self.varint().ok_or_else(bad)?).map_err(|_| bad())?;
                Wire::Len(self.take(n).ok_or_else(bad)?)
            }
            5 => self.take(4).map(|_| Wire::Fixed).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        Ok(Some((key >> 3, wire)))
    }
}

fn text(b: &[u8]) -> Result<Value, ProtoError> {
    std::str::from_utf8(b)
        .map(|s| json!(s))
        .map_err(|_| ProtoError::Malformed)
}

fn time(b: &[u8]) -> Result<Value, ProtoError> {
    let mut r = Reader { buf: b };
    let mut secs = 0i64;
    while let Some((n, w)) = r.field()? {
        if let (1, Wire::Varint(v)) = (n, w) {
            secs = v as i64;
        }
    }
    let t = chrono::DateTime::from_timestamp(secs, 0).ok_or(ProtoError::Malformed)?;
    Ok(json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// A map entry: key (1) and value (2).
fn entry(b: &[u8], bytes: bool) -> Result<(String, Value), ProtoError> {
    let mut r = Reader { buf: b };
    let (mut key, mut value) = (String::new(), json!(""));
    while let Some((n, w)) = r.field()? {
        match (n, w) {
            (1, Wire::Len(k)) => key = text(k)?.as_str().unwrap_or("").to_string(),
            (2, Wire::Len(v)) if bytes => {
                value = json!(base64::engine::general_purpose::STANDARD.encode(v))
            }
            (2, Wire::Len(v)) => value = text(v)?,
            _ => {}
        }
    }
    Ok((key, value))
}

fn push(out: &mut Map<String, Value>, name: &str, v: Value) {
    let slot = out.entry(name).or_insert_with(|| json!([]));
    if let Some(a) = slot.as_array_mut() {
        a.push(v);
    }
}

fn insert(out: &mut Map<String, Value>, name: &str, (k, v): (String, Value)) {
    let slot = out.entry(name).or_insert_with(|| json!({}));
    if let Some(m) = slot.as_object_mut() {
        m.insert(k, v);
    }
}

fn message(b: &[u8], schema: &[F]) -> Result<Value, ProtoError> {
    let mut r = Reader { buf: b };
    let mut out = Map::new();
    while let Some((n, w)) = r.field()? {
        let Some(&(_, name, ty)) = schema.iter().find(|f| f.0 == n) else {
            continue;
        };
        match (ty, w) {
            // Empty strings are Go zero values, which JSON would have omitted.
            (Str, Wire::Len([])) => {}
            (Str, Wire::Len(b)) => drop(out.insert(name.into(), text(b)?)),
            (I64, Wire::Varint(v)) => drop(out.insert(name.into(), json!(v as i64))),
            (Bool, Wire::Varint(v)) => drop(out.insert(name.into(), json!(v != 0))),
            (Time, Wire::Len(b)) => drop(out.insert(name.into(), time(b)?)),
            (Msg(s), Wire::Len(b)) => drop(out.insert(name.into(), message(b, s)?)),
            (MapStr, Wire::Len(b)) => insert(&mut out, name, entry(b, false)?),
            (MapBytes, Wire::Len(b)) => insert(&mut out, name, entry(b, true)?),
            (RepStr, Wire::Len(b)) => push(&mut out, name, text(b)?),
            (RepMsg(s), Wire::Len(b)) => push(&mut out, name, message(b, s)?),
            _ => return Err(ProtoError::Malformed),
        }
    }
    Ok(Value::Object(out))
}

/// Decodes a `k8s\0`-prefixed `runtime.Unknown` envelope into a JSON object.
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    let rest = body.strip_prefix(b"k8s\0").ok_or(ProtoError::Malformed)?;
    let mut r = Reader { buf: rest };
    let (mut type_meta, mut raw) = (json!({}), &[][..]);
    while let Some((n, w)) = r.field()? {
        match (n, w) {
            (1, Wire::Len(b)) => {
                type_meta = message(b, &[(1, "apiVersion", Str), (2, "kind", Str)])?
            }
            (2, Wire::Len(b)) => raw = b,
            _ => {}
        }
    }
    let kind = type_meta["kind"].as_str().unwrap_or("").to_string();
    let schema = schema_of(&kind).ok_or_else(|| ProtoError::Unsupported(kind.clone()))?;
    let mut obj = message(raw, schema)?;
    obj["apiVersion"] = type_meta["apiVersion"].clone();
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(field: u64, body: &[u8]) -> Vec<u8> {
        let mut out = vec![((field << 3) | 2) as u8, body.len() as u8];
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn a_config_map_envelope_decodes_to_json() {
        let meta = [
            len(1, b"cfg"),
            len(11, &[len(1, b"app"), len(2, b"web")].concat()),
        ]
        .concat();
        let cm = [
            len(1, &meta),
            len(2, &[len(1, b"k"), len(2, b"v")].concat()),
        ]
        .concat();
        let tm = [len(1, b"v1"), len(2, b"ConfigMap")].concat();
        let body = [b"k8s\0".to_vec(), len(1, &tm), len(2, &cm)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(v["kind"], "ConfigMap");
        assert_eq!(v["metadata"]["name"], "cfg");
        assert_eq!(v["metadata"]["labels"]["app"], "web");
        assert_eq!(v["data"]["k"], "v");
        assert_eq!(decode(b"k8s\0\x0a\xff"), Err(ProtoError::Malformed));
        assert_eq!(decode(b"nope"), Err(ProtoError::Malformed));
    }
}
