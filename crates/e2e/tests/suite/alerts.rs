//! The chart's alert rules, checked by Prometheus's own promtool (`check rules`, and
//! `test rules` with input series and the alerts they must raise). That they read
//! only metrics the operator exports is checked against a live scrape
//! (`operations::metrics`).

use std::path::PathBuf;
use std::process::Command;

fn chart_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../charts/chatgroup-operator")
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(chart_dir())
        .output()
        .expect("promtool runs (scripts/install-test-tools.sh installs Debian's prometheus)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_rules_and_their_unit_tests_pass() {
    let checked = promtool(&["check", "rules", "files/alerts.yaml"]);
    assert!(checked.contains("SUCCESS: 7 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "tests/alerts_test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// The operator's metric names in a PromQL expression.
fn metric_names(expr: &str, names: &mut std::collections::BTreeSet<String>) {
    let mut rest = expr;
    while let Some(at) = rest.find("chatgroup_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.insert(name);
    }
}

/// Metric names in the alert rules' expressions.
pub fn metrics_in_rules() -> std::collections::BTreeSet<String> {
    let rules = std::fs::read_to_string(chart_dir().join("files/alerts.yaml")).expect("rules");
    let parsed: serde_json::Value = serde_norway::from_str(&rules).expect("YAML");
    let mut names = std::collections::BTreeSet::new();
    for rule in parsed["groups"][0]["rules"].as_array().expect("rules") {
        metric_names(rule["expr"].as_str().expect("expr"), &mut names);
    }
    names
}

/// Metric names in the dashboard's queries (the file must be valid JSON).
pub fn metrics_in_dashboard() -> std::collections::BTreeSet<String> {
    let text =
        std::fs::read_to_string(chart_dir().join("files/dashboard.json")).expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut names = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
        for target in targets {
            metric_names(target["expr"].as_str().expect("expr"), &mut names);
        }
    }
    names
}
