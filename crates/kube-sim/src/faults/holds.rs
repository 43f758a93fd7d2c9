//! Watch-event holds: which objects' events a watch holds back, and how.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// Chooses objects by kind, namespace and name (or name prefix); what is not
/// set matches anything.
///
/// ```
/// use kube_sim::ObjectMatch;
/// let one = ObjectMatch::kind("ChatGroup").in_namespace("default").named("g1");
/// let some = ObjectMatch::kind("ConfigMap").name_prefix("cache-");
/// let all = ObjectMatch::any();
/// # let _ = (one, some, all);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMatch {
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<Name>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Name {
    Exact(String),
    Prefix(String),
}

impl ObjectMatch {
    /// Every object of every kind.
    pub fn any() -> Self {
        ObjectMatch::default()
    }

    /// Objects of this kind (`ChatGroup`, `ConfigMap`), in any API group.
    pub fn kind(kind: &str) -> Self {
        ObjectMatch {
            kind: Some(kind.to_string()),
            ..ObjectMatch::default()
        }
    }

    /// Only objects in namespace `ns`.
    pub fn in_namespace(mut self, ns: &str) -> Self {
        self.namespace = Some(ns.to_string());
        self
    }

    /// Only the object named `name`.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(Name::Exact(name.to_string()));
        self
    }

    /// Only objects whose name starts with `prefix`.
    pub fn name_prefix(mut self, prefix: &str) -> Self {
        self.name = Some(Name::Prefix(prefix.to_string()));
        self
    }

    /// Whether `obj`, of kind `kind`, is one of the chosen objects.
    pub(crate) fn matches(&self, kind: &str, obj: &Value) -> bool {
        let meta = |k: &str| obj["metadata"][k].as_str().unwrap_or("");
        let name = meta("name");
        self.kind.as_deref().is_none_or(|k| k == kind)
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == meta("namespace"))
            && match &self.name {
                None => true,
                Some(Name::Exact(n)) => n == name,
                Some(Name::Prefix(p)) => name.starts_with(p.as_str()),
            }
    }
}

/// What happens to the held-back watch events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchHold {
    /// Each event is sent this long after it happened, in order with the
    /// object's other events.
    Delay(Duration),
    /// Events are never sent; the next event sent for the object carries its
    /// latest state, as on a real watch that missed some.
    Drop,
}

/// One hold: these objects, this way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HoldRule {
    pub objects: ObjectMatch,
    pub hold: WatchHold,
}

/// The holds in force, shared with every open watch.
pub(crate) type HoldRules = Arc<Vec<HoldRule>>;

/// How an event of `obj` is held back: dropping wins over delaying, and the
/// longest delay over shorter ones.
pub(crate) fn hold_for(rules: &[HoldRule], kind: &str, obj: &Value) -> Option<WatchHold> {
    let mut found = None;
    for r in rules.iter().filter(|r| r.objects.matches(kind, obj)) {
        found = match (found, r.hold) {
            (_, WatchHold::Drop) | (Some(WatchHold::Drop), _) => Some(WatchHold::Drop),
            (Some(WatchHold::Delay(a)), WatchHold::Delay(b)) => Some(WatchHold::Delay(a.max(b))),
            (None, hold) => Some(hold),
        };
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(ns: &str, name: &str) -> Value {
        json!({ "metadata": { "namespace": ns, "name": name } })
    }

    #[test]
    fn objects_match_by_kind_namespace_and_name_or_prefix() {
        let m = ObjectMatch::kind("ConfigMap")
            .in_namespace("a")
            .name_prefix("x-");
        assert!(m.matches("ConfigMap", &cm("a", "x-1")));
        assert!(!m.matches("Secret", &cm("a", "x-1")));
        assert!(!m.matches("ConfigMap", &cm("b", "x-1")));
        assert!(!m.matches("ConfigMap", &cm("a", "y-1")));
        assert!(ObjectMatch::kind("ConfigMap")
            .named("y")
            .matches("ConfigMap", &cm("q", "y")));
        assert!(ObjectMatch::any().matches("Lease", &cm("", "l")));
    }

    #[test]
    fn dropping_wins_over_delaying_and_longer_delays_over_shorter() {
        let rule = |objects: ObjectMatch, hold| HoldRule { objects, hold };
        let secs = |s| WatchHold::Delay(Duration::from_secs(s));
        let rules = vec![
            rule(ObjectMatch::any(), secs(1)),
            rule(ObjectMatch::kind("ConfigMap"), secs(5)),
            rule(ObjectMatch::kind("ConfigMap").named("d"), WatchHold::Drop),
        ];
        assert_eq!(hold_for(&rules, "ConfigMap", &cm("a", "c")), Some(secs(5)));
        assert_eq!(
            hold_for(&rules, "ConfigMap", &cm("a", "d")),
            Some(WatchHold::Drop)
        );
        assert_eq!(hold_for(&rules, "Secret", &cm("a", "c")), Some(secs(1)));
        assert_eq!(hold_for(&rules[1..], "Secret", &cm("a", "c")), None);
    }
}
