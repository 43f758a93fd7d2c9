//! Object semantics: metadata, conflicts, status subresource, generation,
//! finalizers and namespaces.

use crate::common;

use common::{configmap, rv, widget, with_widgets, Raw, CONFIGMAPS, WIDGETS};
use kube_sim::KubeSim;
use serde_json::json;

#[tokio::test]
async fn create_sets_server_metadata_and_refuses_a_taken_name() {
    let (sim, raw) = with_widgets().await;
    let a = raw.post(WIDGETS, &widget("a", 1)).await;
    assert_eq!(a.code, 201);
    let meta = &a.body["metadata"];
    assert!(meta["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(meta["creationTimestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(meta["generation"], 1);
    assert_eq!(meta["namespace"], "default");
    let b = raw.post(WIDGETS, &widget("b", 1)).await;
    assert!(
        rv(&b.body) > rv(&a.body),
        "resourceVersion increases cluster-wide"
    );
    let again = raw.post(WIDGETS, &widget("a", 2)).await;
    assert_eq!(again.code, 409);
    assert_eq!(again.body["reason"], "AlreadyExists");
    assert_eq!(
        again.body["message"],
        "widgets.test.kube-sim.dev \"a\" already exists"
    );
    assert_eq!(again.body["details"]["group"], "test.kube-sim.dev");
    let stored = sim
        .object("test.kube-sim.dev", "v1", "widgets", Some("default"), "a")
        .unwrap();
    assert_eq!(stored["spec"]["size"], 1);
}

#[tokio::test]
async fn generate_name_appends_a_random_suffix() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let body =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "cfg-"}});
    let a = raw.post(CONFIGMAPS, &body).await;
    assert_eq!(a.code, 201);
    let name = a.body["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("cfg-") && name.len() == 9, "{name}");
}

#[tokio::test]
async fn update_with_a_stale_resource_version_conflicts() {
    let (_sim, raw) = with_widgets().await;
    let created = raw.post(WIDGETS, &widget("a", 1)).await.body;
    let mut first = created.clone();
    first["spec"]["size"] = json!(2);
    let ok = raw.put(&format!("{WIDGETS}/a"), &first).await;
    assert_eq!(ok.code, 200);
    assert_eq!(ok.body["metadata"]["generation"], 2);
    let mut stale = created;
    stale["spec"]["size"] = json!(3);
    let conflict = raw.put(&format!("{WIDGETS}/a"), &stale).await;
    assert_eq!(conflict.code, 409);
    assert_eq!(conflict.body["reason"], "Conflict");
    assert!(conflict.body["message"]
        .as_str()
        .unwrap()
        .contains("the object has been modified"));
}

#[tokio::test]
async fn status_subresource_writes_only_status_and_main_writes_never_status() {
    let (_sim, raw) = with_widgets().await;
    let mut w = widget("a", 1);
    w["status"] = json!({"phase": "Ignored"});
    let created = raw.post(WIDGETS, &w).await.body;
    assert!(
        created.get("status").is_none(),
        "status is dropped on create"
    );
    let status = json!({"spec": {"size": 5}, "status": {"phase": "Ready"}});
    let a = raw.merge(&format!("{WIDGETS}/a/status"), &status).await;
    assert_eq!(a.code, 200);
    assert_eq!(a.body["status"]["phase"], "Ready");
    assert_eq!(a.body["spec"]["size"], 1, "spec is untouched by /status");
    assert_eq!(
        a.body["metadata"]["generation"], 1,
        "status does not bump generation"
    );
    let main = json!({"spec": {"size": 2}, "status": {"phase": "Hacked"}});
    let b = raw.merge(&format!("{WIDGETS}/a"), &main).await;
    assert_eq!(b.body["status"]["phase"], "Ready");
    assert_eq!(b.body["spec"]["size"], 2);
    assert_eq!(b.body["metadata"]["generation"], 2);
    let meta_only = json!({"metadata": {"labels": {"x": "y"}}});
    let c = raw.merge(&format!("{WIDGETS}/a"), &meta_only).await;
    assert_eq!(
        c.body["metadata"]["generation"], 2,
        "metadata changes keep generation"
    );
}

#[tokio::test]
async fn kinds_without_status_subresource_bump_generation_on_any_data_change() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    raw.post(CONFIGMAPS, &configmap("c", json!({}))).await;
    let a = raw
        .merge(&format!("{CONFIGMAPS}/c"), &json!({"data": {"k": "w"}}))
        .await;
    assert_eq!(a.body["metadata"]["generation"], 2);
    let same = raw
        .merge(&format!("{CONFIGMAPS}/c"), &json!({"data": {"k": "w"}}))
        .await;
    assert_eq!(
        rv(&same.body),
        rv(&a.body),
        "a no-op write keeps the resourceVersion"
    );
}

#[tokio::test]
async fn finalizers_hold_deletion_until_the_last_one_is_removed() {
    let (sim, raw) = with_widgets().await;
    let mut w = widget("a", 1);
    w["metadata"]["finalizers"] = json!(["test.kube-sim.dev/cleanup"]);
    raw.post(WIDGETS, &w).await;
    let path = format!("{WIDGETS}/a");
    let d = raw.delete(&path).await;
    assert_eq!(d.code, 200);
    assert!(d.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(d.body["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(
        raw.get(&path).await.code,
        200,
        "still there while finalized"
    );
    let add = raw
        .merge(
            &path,
            &json!({"metadata": {"finalizers": ["test.kube-sim.dev/cleanup", "other"]}}),
        )
        .await;
    assert_eq!(add.code, 422);
    let msg = add.body["message"].as_str().unwrap();
    assert!(msg.contains("metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted"), "{msg}");
    let release = raw
        .merge(&path, &json!({"metadata": {"finalizers": null}}))
        .await;
    assert_eq!(release.code, 200);
    assert_eq!(raw.get(&path).await.code, 404);
    assert!(sim
        .object("test.kube-sim.dev", "v1", "widgets", Some("default"), "a")
        .is_none());
}

#[tokio::test]
async fn delete_without_finalizers_removes_and_a_second_delete_is_not_found() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    raw.post(CONFIGMAPS, &configmap("c", json!({}))).await;
    assert_eq!(raw.delete(&format!("{CONFIGMAPS}/c")).await.code, 200);
    let again = raw.delete(&format!("{CONFIGMAPS}/c")).await;
    assert_eq!(again.code, 404);
    assert_eq!(again.body["message"], "configmaps \"c\" not found");
}

#[tokio::test]
async fn deleting_a_namespace_terminates_it_until_its_objects_are_gone() {
    let (_sim, raw) = with_widgets().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
    assert_eq!(raw.post("/api/v1/namespaces", &ns).await.code, 201);
    let team = "/apis/test.kube-sim.dev/v1/namespaces/team/widgets";
    let mut held = widget("held", 1);
    held["metadata"]["finalizers"] = json!(["x/y"]);
    assert_eq!(raw.post(team, &held).await.code, 201);
    assert_eq!(raw.post(team, &widget("free", 1)).await.code, 201);
    let d = raw.delete("/api/v1/namespaces/team").await;
    assert_eq!(d.body["status"]["phase"], "Terminating");
    assert_eq!(raw.get(&format!("{team}/free")).await.code, 404);
    assert!(
        raw.get(&format!("{team}/held")).await.body["metadata"]["deletionTimestamp"].is_string()
    );
    let refused = raw.post(team, &widget("late", 1)).await;
    assert_eq!(refused.code, 403);
    assert_eq!(refused.body["reason"], "Forbidden");
    assert!(refused.body["message"]
        .as_str()
        .unwrap()
        .contains("because it is being terminated"));
    raw.merge(
        &format!("{team}/held"),
        &json!({"metadata": {"finalizers": []}}),
    )
    .await;
    assert_eq!(
        raw.get("/api/v1/namespaces/team").await.code,
        404,
        "empty namespace disappears"
    );
}

#[tokio::test]
async fn creating_in_a_missing_namespace_is_not_found() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let a = raw
        .post(
            "/api/v1/namespaces/nope/configmaps",
            &configmap("c", json!({})),
        )
        .await;
    assert_eq!(a.code, 404);
    assert_eq!(a.body["message"], "namespaces \"nope\" not found");
    assert_eq!(
        raw.get("/api/v1/namespaces/default").await.body["status"]["phase"],
        "Active"
    );
    assert_eq!(raw.get("/api/v1/namespaces/kube-system").await.code, 200);
}

#[tokio::test]
async fn names_must_be_dns_1123_subdomains() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let a = raw
        .post(CONFIGMAPS, &configmap("Bad_Name", json!({})))
        .await;
    assert_eq!(a.code, 422);
    assert_eq!(a.body["reason"], "Invalid");
    let msg = a.body["message"].as_str().unwrap();
    assert!(msg.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{msg}");
    assert_eq!(a.body["details"]["causes"][0]["field"], "metadata.name");
    let long = "a".repeat(254);
    assert_eq!(
        raw.post(CONFIGMAPS, &configmap(&long, json!({})))
            .await
            .code,
        422
    );
}

#[tokio::test]
async fn every_built_in_kind_round_trips() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let kinds = [
        ("/api/v1/namespaces/default/secrets", "v1", "Secret"),
        ("/api/v1/namespaces/default/events", "v1", "Event"),
        (
            "/api/v1/namespaces/default/serviceaccounts",
            "v1",
            "ServiceAccount",
        ),
        ("/api/v1/namespaces/default/services", "v1", "Service"),
        (
            "/apis/events.k8s.io/v1/namespaces/default/events",
            "events.k8s.io/v1",
            "Event",
        ),
        (
            "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            "coordination.k8s.io/v1",
            "Lease",
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            "apps/v1",
            "Deployment",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            "rbac.authorization.k8s.io/v1",
            "Role",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
        ),
    ];
    for (path, av, kind) in kinds {
        let body = json!({"apiVersion": av, "kind": kind, "metadata": {"name": "x1"}});
        let a = raw.post(path, &body).await;
        assert_eq!(a.code, 201, "{kind}: {}", a.body);
        assert_eq!(raw.get(&format!("{path}/x1")).await.body["kind"], kind);
    }
}

#[tokio::test]
async fn secret_string_data_is_merged_into_data() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let secrets = "/api/v1/namespaces/default/secrets";
    let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "data": {"a": "eA=="}, "stringData": {"b": "two"}});
    let created = raw.post(secrets, &s).await.body;
    assert_eq!(created["data"], json!({"a": "eA==", "b": "dHdv"}));
    assert!(created.get("stringData").is_none());
    assert_eq!(created["type"], "Opaque");
    let patched = raw
        .merge(
            &format!("{secrets}/s"),
            &json!({"stringData": {"a": "new"}}),
        )
        .await
        .body;
    assert_eq!(patched["data"], json!({"a": "bmV3", "b": "dHdv"}));
    assert!(patched.get("stringData").is_none());
}
