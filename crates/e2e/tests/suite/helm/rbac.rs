//! The chart's RBAC rules as sets, and the checker that holds an operator's request
//! log against them: every request allowed, every granted permission used.

use std::collections::BTreeSet;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use kube::api::{Api, ListParams};
use kube_sim::RequestRecord;
use serde_json::Value;

use super::support::install;

/// One rule, order-insensitive: (apiGroups, resources, verbs, resourceNames).
pub type RuleKey = (
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<String>,
);

pub fn rule_key(rule: &PolicyRule) -> RuleKey {
    let set = |v: &Option<Vec<String>>| v.iter().flatten().cloned().collect();
    (
        set(&rule.api_groups),
        set(&rule.resources),
        rule.verbs.iter().cloned().collect(),
        set(&rule.resource_names),
    )
}

pub fn rule(group: &str, resource: &str, verbs: &[&str]) -> RuleKey {
    let one = |s: &str| BTreeSet::from([s.to_string()]);
    (
        one(group),
        one(resource),
        verbs.iter().map(|v| v.to_string()).collect(),
        BTreeSet::new(),
    )
}

pub fn rule_set(rules: &Option<Vec<PolicyRule>>) -> BTreeSet<RuleKey> {
    rules.iter().flatten().map(rule_key).collect()
}

/// The operator's rules on watched objects, exactly.
pub fn operator_rules() -> BTreeSet<RuleKey> {
    BTreeSet::from([
        rule(
            "im.chatgroup.dev",
            "chatgroups",
            &["get", "list", "watch", "patch"],
        ),
        rule("im.chatgroup.dev", "chatgroups/status", &["patch"]),
        rule(
            "im.chatgroup.dev",
            "chatproviders",
            &["get", "list", "watch"],
        ),
        rule("im.chatgroup.dev", "chatproviders/status", &["patch"]),
        rule("", "secrets", &["get"]),
        rule("events.k8s.io", "events", &["create", "patch"]),
    ])
}

/// The operator's rules when Secrets are granted only in listed namespaces.
pub fn operator_rules_without_secrets() -> BTreeSet<RuleKey> {
    let mut rules = operator_rules();
    rules.retain(|(_, resources, _, _)| !resources.contains("secrets"));
    rules
}

/// Reading Secrets by name, and nothing else on them.
pub fn secret_rules() -> BTreeSet<RuleKey> {
    BTreeSet::from([rule("", "secrets", &["get"])])
}

/// The cluster-wide rules on claims, granted whatever namespace is watched.
pub fn claim_rules() -> BTreeSet<RuleKey> {
    BTreeSet::from([rule(
        "im.chatgroup.dev",
        "chatgroupclaims",
        &["get", "list", "create", "update", "delete"],
    )])
}

/// The disband ledger's ConfigMap, in the release namespace.
pub fn ledger_rules() -> BTreeSet<RuleKey> {
    BTreeSet::from([rule("", "configmaps", &["get", "create", "patch"])])
}

pub fn lease_rules() -> BTreeSet<RuleKey> {
    BTreeSet::from([rule(
        "coordination.k8s.io",
        "leases",
        &["get", "create", "update"],
    )])
}

/// Every rule the chart grants with `values`, read back from a fresh install.
pub async fn rendered_rules(values: Value) -> Vec<PolicyRule> {
    let env = install(values).await;
    let lp = ListParams::default();
    let cluster = Api::<ClusterRole>::all(env.client.clone())
        .list(&lp)
        .await
        .expect("list");
    let roles = Api::<Role>::all(env.client.clone())
        .list(&lp)
        .await
        .expect("list");
    let from_cluster = cluster
        .items
        .into_iter()
        .flat_map(|r| r.rules.unwrap_or_default());
    from_cluster
        .chain(
            roles
                .items
                .into_iter()
                .flat_map(|r| r.rules.unwrap_or_default()),
        )
        .collect()
}

/// What [`check_requests`] found: requests no rule allows, and granted permissions
/// (`verb group/resource[/subresource]`) no request used.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RbacReport {
    pub denied: Vec<String>,
    pub unused: Vec<String>,
}

impl RbacReport {
    pub fn is_exact(&self) -> bool {
        self.denied.is_empty() && self.unused.is_empty()
    }
}

fn permission(verb: &str, group: &str, resource: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    format!("{verb} {group}/{resource}")
}

fn allows(rule: &PolicyRule, verb: &str, group: &str, resource: &str) -> bool {
    let has = |list: &Option<Vec<String>>, item: &str| {
        list.iter().flatten().any(|x| x == "*" || x == item)
    };
    has(&rule.api_groups, group)
        && has(&rule.resources, resource)
        && rule.verbs.iter().any(|v| v == "*" || v == verb)
}

/// Checks `(verb, group, resource, subresource)` requests against `rules`: each must
/// be allowed by some rule, and every (verb, group, resource) a rule grants must be
/// used by some request.
pub fn check_requests(
    requests: &[(&str, &str, &str, Option<&str>)],
    rules: &[PolicyRule],
) -> RbacReport {
    let mut report = RbacReport::default();
    let mut used = BTreeSet::new();
    for &(verb, group, resource, sub) in requests {
        let full = sub.map_or(resource.to_string(), |s| format!("{resource}/{s}"));
        let wanted = permission(verb, group, &full);
        if rules.iter().any(|r| allows(r, verb, group, &full)) {
            used.insert(wanted);
        } else if !report.denied.contains(&wanted) {
            report.denied.push(wanted);
        }
    }
    for rule in rules {
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                for verb in &rule.verbs {
                    let granted = permission(verb, group, resource);
                    if !used.contains(&granted) && !report.unused.contains(&granted) {
                        report.unused.push(granted);
                    }
                }
            }
        }
    }
    report
}

/// [`check_requests`] over the simulator's request log.
pub fn check_request_log(log: &[RequestRecord], rules: &[PolicyRule]) -> RbacReport {
    let requests: Vec<_> = log
        .iter()
        .map(|r| {
            (
                r.verb.as_str(),
                r.group.as_str(),
                r.resource.as_str(),
                r.subresource.as_deref(),
            )
        })
        .collect();
    check_requests(&requests, rules)
}

pub fn policy(group: &str, resource: &str, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..PolicyRule::default()
    }
}

#[test]
fn request_checker_accepts_requests_that_use_every_rule() {
    let rules = [
        policy("im.chatgroup.dev", "chatgroups", &["list", "patch"]),
        policy("im.chatgroup.dev", "chatgroups/status", &["patch"]),
    ];
    let requests = [
        ("list", "im.chatgroup.dev", "chatgroups", None),
        ("patch", "im.chatgroup.dev", "chatgroups", None),
        ("patch", "im.chatgroup.dev", "chatgroups", Some("status")),
    ];
    let report = check_requests(&requests, &rules);
    assert!(report.is_exact(), "{report:?}");
}

#[test]
fn request_checker_reports_a_request_no_rule_allows_and_an_unused_verb() {
    let rules = [
        policy("", "secrets", &["get", "list", "watch"]),
        policy("im.chatgroup.dev", "chatgroups", &["patch"]),
    ];
    let requests = [
        ("get", "", "secrets", None),
        ("list", "", "secrets", None),
        ("watch", "", "secrets", None),
        // A status write is not covered by a rule on the main resource.
        ("patch", "im.chatgroup.dev", "chatgroups", Some("status")),
        ("delete", "", "secrets", None),
    ];
    let report = check_requests(&requests, &rules);
    assert_eq!(
        report.denied,
        [
            "patch im.chatgroup.dev/chatgroups/status",
            "delete core/secrets"
        ]
    );
    assert_eq!(report.unused, ["patch im.chatgroup.dev/chatgroups"]);
    assert!(!report.is_exact());
}
