//! The GitOps examples: the Argo CD health check in a real Lua 5.4 on sample ChatGroups
//! (passed as the table `obj`, as Argo CD does), the promised safety valves, and every
//! manifest parses; the sample ChatGroups pass the CRD schema in the API simulator.

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::Client;
use kube_sim::KubeSim;
use serde_json::{json, Value};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples() -> PathBuf {
    workspace().join("examples")
}

/// `$CHATGROUP_LUA`, else `lua5.4` from PATH.
fn lua() -> String {
    std::env::var("CHATGROUP_LUA").unwrap_or_else(|_| "lua5.4".into())
}

/// A Lua string literal holding exactly `s` (bytes outside printable ASCII escaped).
fn lua_string(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' | b'\\' => out.push_str(&format!("\\{}", b as char)),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// A Lua table constructor for a JSON value: objects become string-keyed tables,
/// arrays 1-based sequences, null nil, integers integers.
fn lua_value(value: &Value) -> String {
    match value {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => lua_string(s),
        Value::Array(items) => {
            let items: Vec<_> = items.iter().map(lua_value).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Object(map) => {
            let fields: Vec<_> = map
                .iter()
                .map(|(k, v)| format!("[{}] = {}", lua_string(k), lua_value(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

/// Runs examples/argocd/health.lua on `obj` like Argo CD: `obj` is a global table,
/// no `os`/`io`, and the script's returned table is the verdict.
fn health(obj: &Value) -> (String, String) {
    let script = std::fs::read_to_string(examples().join("argocd/health.lua")).expect("health.lua");
    let program = format!(
        "local write = io.write\nos, io, require, dofile, loadfile = nil, nil, nil, nil, nil\n\
         obj = {}\nlocal function check()\n{script}\nend\nlocal hs = check()\n\
         write(tostring(hs.status), \"\\n\", tostring(hs.message))\n",
        lua_value(obj)
    );
    let output = Command::new(lua())
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(program.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); run scripts/install-test-tools.sh",
                lua()
            )
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "health.lua failed: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let (status, message) = stdout.split_once('\n').expect("status and message");
    (status.to_string(), message.to_string())
}

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 2})
}

fn group(generation: i64, observed: Option<i64>, conditions: Vec<Value>) -> Value {
    let mut status = json!({"conditions": conditions, "groupId": "cg-1", "origin": "Created"});
    if let Some(observed) = observed {
        status["observedGeneration"] = json!(observed);
    }
    json!({
        "apiVersion": "im.chatgroup.dev/v1alpha1", "kind": "ChatGroup",
        "metadata": {"name": "oncall", "namespace": "chat", "generation": generation,
                     "finalizers": ["im.chatgroup.dev/disband"]},
        "spec": {"providerRef": {"name": "tencent"}, "type": "Public", "name": "On-call \u{1F4DF}"},
        "status": status
    })
}

fn verdict(status: &str, message: &str) -> (String, String) {
    (status.to_string(), message.to_string())
}

#[test]
fn a_ready_group_is_healthy() {
    let ready = condition(
        "Ready",
        "True",
        "Available",
        "the group exists with the declared attributes",
    );
    let obj = group(
        2,
        Some(2),
        vec![ready, condition("Synced", "True", "ReconcileSuccess", "")],
    );
    assert_eq!(
        health(&obj),
        verdict(
            "Healthy",
            "Available: the group exists with the declared attributes"
        )
    );
    let mut disbanded = condition("Ready", "True", "Disbanded", "the group is disbanded");
    disbanded["observedGeneration"] = json!(3);
    assert_eq!(
        health(&group(3, Some(3), vec![disbanded])),
        verdict("Healthy", "Disbanded: the group is disbanded")
    );
}

#[test]
fn a_stalled_group_is_degraded_even_when_ready_was_kept() {
    let stalled = condition("Stalled", "True", "ProviderRejected", "10004: invalid name");
    let not_ready = condition("Ready", "False", "ProviderRejected", "10004: invalid name");
    let expected = verdict("Degraded", "ProviderRejected: 10004: invalid name");
    assert_eq!(
        health(&group(2, Some(2), vec![not_ready, stalled.clone()])),
        expected
    );
    let kept = condition("Ready", "True", "Available", "the group exists");
    assert_eq!(health(&group(2, Some(2), vec![kept, stalled])), expected);
}

#[test]
fn a_spec_the_operator_has_not_observed_is_progressing() {
    let ready = condition("Ready", "True", "Available", "the group exists");
    assert_eq!(
        health(&group(3, Some(2), vec![ready.clone()])),
        verdict(
            "Progressing",
            "Waiting for the operator to observe generation 3"
        )
    );
    assert_eq!(
        health(&group(1, None, vec![ready])),
        verdict(
            "Progressing",
            "Waiting for the operator to observe generation 1"
        )
    );
    let mut fresh = group(1, None, vec![]);
    fresh.as_object_mut().expect("object").remove("status");
    assert_eq!(
        health(&fresh),
        verdict("Progressing", "Waiting for the operator to report status")
    );
}

#[test]
fn a_ready_kept_from_an_older_generation_is_progressing_while_the_new_one_is_applied() {
    let mut kept = condition("Ready", "True", "Available", "the group exists");
    kept["observedGeneration"] = json!(1);
    let failed = condition("Synced", "False", "ReconcileError", "update failed");
    let retrying = condition("Reconciling", "True", "ProviderUnavailable", "code 10002");
    assert_eq!(
        health(&group(
            2,
            Some(2),
            vec![kept.clone(), failed.clone(), retrying]
        )),
        verdict("Progressing", "ProviderUnavailable: code 10002")
    );
    assert_eq!(
        health(&group(2, Some(2), vec![kept, failed])),
        verdict("Progressing", "Applying generation 2")
    );
}

#[test]
fn a_group_disbanded_outside_kubernetes_is_degraded() {
    let gone = "the group was disbanded outside Kubernetes and is not recreated";
    let ready = condition("Ready", "False", "ExternallyDisbanded", gone);
    let expected = verdict("Degraded", &format!("ExternallyDisbanded: {gone}"));
    assert_eq!(health(&group(2, Some(2), vec![ready.clone()])), expected);
    let stalled = condition(
        "Stalled",
        "True",
        "ExternallyDisbanded",
        "the group no longer exists on the provider",
    );
    let (status, message) = health(&group(2, Some(2), vec![ready, stalled]));
    assert_eq!(status, "Degraded");
    assert!(message.starts_with("ExternallyDisbanded"), "{message}");
}

#[test]
fn a_retrying_group_is_progressing_with_the_ready_message() {
    let ready = condition(
        "Ready",
        "False",
        "ProviderThrottled",
        "rate limited (\"10012\"), retrying\nsoon",
    );
    let retrying = condition("Reconciling", "True", "ProviderThrottled", "rate limited");
    assert_eq!(
        health(&group(2, Some(2), vec![ready, retrying])),
        verdict(
            "Progressing",
            "ProviderThrottled: rate limited (\"10012\"), retrying\nsoon"
        )
    );
    assert_eq!(
        health(&group(2, Some(2), vec![])),
        verdict("Progressing", "Waiting for the operator to report status")
    );
}

/// Every YAML file under `dir`, recursively, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read examples dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Every document of a YAML file.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read YAML");
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| {
            serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
        })
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn every_gitops_example_parses_as_kubernetes_objects() {
    let mut seen = 0;
    for dir in ["argocd", "flux"] {
        for path in yaml_files(&examples().join(dir)) {
            for doc in documents(&path) {
                let kind = doc["kind"].as_str().unwrap_or_default();
                assert!(
                    !kind.is_empty(),
                    "{}: a document without kind",
                    path.display()
                );
                assert!(
                    doc["apiVersion"].is_string(),
                    "{}: {kind} without apiVersion",
                    path.display()
                );
                seen += 1;
            }
        }
    }
    assert!(seen >= 12, "only {seen} documents found");
}

#[test]
fn the_argocd_configmap_carries_health_lua_verbatim() {
    let script = std::fs::read_to_string(examples().join("argocd/health.lua")).expect("health.lua");
    let docs = documents(&examples().join("argocd/argocd-cm.yaml"));
    let cm = find(&docs, "ConfigMap", "argocd-cm");
    let key = "resource.customizations.health.im.chatgroup.dev_ChatGroup";
    assert_eq!(cm["data"][key].as_str(), Some(script.as_str()));
}

#[test]
fn the_examples_keep_their_deletion_safety_valves() {
    let argocd = examples().join("argocd");
    let kustomization = documents(&argocd.join("groups/kustomization.yaml"));
    let annotations = &kustomization[0]["commonAnnotations"];
    assert_eq!(
        annotations["argocd.argoproj.io/sync-options"],
        "Prune=confirm"
    );
    for (file, name) in [
        ("chatgroups-application.yaml", "chatgroups-oncall"),
        ("crds-application.yaml", "chatgroup-crds"),
    ] {
        let docs = documents(&argocd.join(file));
        let app = find(&docs, "Application", name);
        assert!(
            app["metadata"]["finalizers"].is_null(),
            "{name} must not cascade-delete"
        );
    }
    let docs = documents(&argocd.join("crds-application.yaml"));
    let crds = find(&docs, "Application", "chatgroup-crds");
    assert_eq!(crds["spec"]["syncPolicy"]["automated"]["prune"], false);

    let flux = examples().join("flux");
    let docs = documents(&flux.join("kustomizations.yaml"));
    let groups = find(&docs, "Kustomization", "chatgroups");
    assert_eq!(
        (&groups["spec"]["wait"], &groups["spec"]["prune"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(groups["spec"]["deletionPolicy"], "Orphan");
    let operator = find(&docs, "Kustomization", "chatgroup-operator");
    assert!(operator["spec"]["healthChecks"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    let docs = documents(&flux.join("groups/oncall.yaml"));
    let oncall = find(&docs, "ChatGroup", "oncall");
    assert_eq!(
        oncall["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"],
        "disabled"
    );
}

async fn sim_with_crds() -> (KubeSim, Client) {
    let sim = KubeSim::start().await.expect("start kube-sim");
    let client =
        Client::try_from(kube::Config::new(sim.url().parse().expect("url"))).expect("client");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for doc in documents(&workspace().join("crds/crds.yaml")) {
        let crd: CustomResourceDefinition = serde_json::from_value(doc).expect("CRD");
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("create CRD");
    }
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "chat"}})).expect("ns");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    (sim, client)
}

#[tokio::test]
async fn the_sample_chatgroups_pass_the_crd_schema() {
    let (_sim, client) = sim_with_crds().await;
    let resource = ApiResource {
        group: "im.chatgroup.dev".into(),
        version: "v1alpha1".into(),
        api_version: "im.chatgroup.dev/v1alpha1".into(),
        kind: "ChatGroup".into(),
        plural: "chatgroups".into(),
    };
    let groups: Api<DynamicObject> = Api::namespaced_with(client, "chat", &resource);
    let mut created = 0;
    for dir in ["argocd/groups", "flux/groups"] {
        for path in yaml_files(&examples().join(dir)) {
            for doc in documents(&path)
                .into_iter()
                .filter(|d| d["kind"] == "ChatGroup")
            {
                let mut obj: DynamicObject = serde_json::from_value(doc).expect("ChatGroup");
                obj.metadata.name = Some(format!(
                    "{}-{created}",
                    obj.metadata.name.unwrap_or_default()
                ));
                groups
                    .create(&PostParams::default(), &obj)
                    .await
                    .unwrap_or_else(|e| panic!("{} rejected: {e}", path.display()));
                created += 1;
            }
        }
    }
    assert_eq!(created, 3);
    let mut invalid: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "im.chatgroup.dev/v1alpha1", "kind": "ChatGroup",
        "metadata": {"name": "invalid"},
        "spec": {"providerRef": {"name": "tencent"}, "type": "Public", "name": "x", "joinPolicy": "Anyone"}
    }))
    .expect("ChatGroup");
    invalid.metadata.namespace = Some("chat".into());
    let error = groups
        .create(&PostParams::default(), &invalid)
        .await
        .expect_err("the schema check must be able to fail");
    assert!(error.to_string().contains("joinPolicy"), "{error}");
}
