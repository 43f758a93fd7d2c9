//! Deleting a CRD as kube-apiserver does (apiextensions-apiserver v1.32, the
//! version the simulator reports): the DELETE marks the CRD Terminating with the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer; every object of it is
//! deleted, finalizers honoured; the CRD goes once none is left. Meanwhile its
//! objects can still be read, listed, watched and updated, but not created.

use crate::common;

use std::time::Duration;

use common::{widget, with_widgets, Raw, Watch, CRDS, WIDGETS};
use serde_json::{json, Value};

const CRD: &str =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.kube-sim.dev";
const CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";
const ALL_WIDGETS: &str = "/apis/test.kube-sim.dev/v1/widgets";
const OTHER_WIDGETS: &str = "/apis/test.kube-sim.dev/v1/namespaces/other/widgets";

fn with_finalizers(name: &str, finalizers: &[&str]) -> Value {
    let mut w = widget(name, 1);
    w["metadata"]["finalizers"] = json!(finalizers);
    w
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn condition<'a>(crd: &'a Value, type_: &str) -> Option<&'a Value> {
    crd["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["items"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();
    names
}

/// Sets the object's finalizers (a merge patch; `[]` removes them all).
async fn set_finalizers(raw: &Raw, path: &str, finalizers: &[&str]) -> common::Answer {
    raw.merge(path, &json!({"metadata": {"finalizers": finalizers}}))
        .await
}

/// Asserts the CRD is still there, Terminating, its cleanup finalizer kept.
async fn assert_terminating(raw: &Raw, why: &str) -> Value {
    let crd = raw.get(CRD).await;
    assert_eq!(crd.code, 200, "{why}: the CRD stays");
    let crd = crd.body;
    assert!(
        crd["metadata"]["deletionTimestamp"].is_string(),
        "{why}: {crd}"
    );
    assert!(
        finalizers(&crd).iter().any(|f| f == CLEANUP),
        "{why}: {crd}"
    );
    let terminating = condition(&crd, "Terminating").expect("Terminating condition");
    assert_eq!(terminating["status"], "True", "{why}: {terminating}");
    assert_eq!(
        terminating["reason"], "InstanceDeletionInProgress",
        "{why}: {terminating}"
    );
    crd
}

/// Watch events until `n` were received (each as (type, namespace/name, object)).
async fn events(watch: &mut Watch, n: usize) -> Vec<(String, String, Value)> {
    let mut seen = Vec::new();
    while seen.len() < n {
        let ev = watch
            .next()
            .await
            .unwrap_or_else(|| panic!("event {} of {n} did not come: {seen:#?}", seen.len() + 1));
        let obj = &ev["object"];
        let key = format!(
            "{}/{}",
            obj["metadata"]["namespace"].as_str().unwrap_or(""),
            obj["metadata"]["name"].as_str().unwrap_or("")
        );
        seen.push((
            ev["type"].as_str().unwrap_or("").to_string(),
            key,
            obj.clone(),
        ));
    }
    seen
}

#[tokio::test]
async fn a_crd_without_objects_is_deleted_at_once() {
    let (_sim, raw) = with_widgets().await;
    let d = raw.delete(CRD).await;
    assert_eq!(d.code, 200, "{}", d.body);
    // The answer is the CRD as the DELETE marked it, as kube-apiserver answers.
    assert!(
        d.body["metadata"]["deletionTimestamp"].is_string(),
        "{}",
        d.body
    );
    assert!(
        finalizers(&d.body).iter().any(|f| f == CLEANUP),
        "{}",
        d.body
    );
    assert_eq!(raw.get(CRD).await.code, 404, "nothing held it");
    assert_eq!(
        raw.get(WIDGETS).await.code,
        404,
        "its resource is no longer served"
    );
    assert_eq!(raw.get("/apis/test.kube-sim.dev/v1").await.code, 404);
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_honouring_their_finalizers() {
    let (_sim, raw) = with_widgets().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}});
    assert_eq!(raw.post("/api/v1/namespaces", &ns).await.code, 201);
    for (path, obj) in [
        (WIDGETS, with_finalizers("held", &["test.kube-sim.dev/a"])),
        (
            WIDGETS,
            with_finalizers("twice", &["test.kube-sim.dev/a", "test.kube-sim.dev/b"]),
        ),
        (WIDGETS, widget("free", 1)),
        (
            OTHER_WIDGETS,
            with_finalizers("elsewhere", &["test.kube-sim.dev/a"]),
        ),
    ] {
        let a = raw.post(path, &obj).await;
        assert_eq!(a.code, 201, "{}", a.body);
    }
    let list = raw.get(ALL_WIDGETS).await.body;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let mut watch = Watch::open(
        &raw,
        &format!("{ALL_WIDGETS}?watch=true&resourceVersion={rv}"),
    )
    .await;

    let d = raw.delete(CRD).await;
    assert_eq!(d.code, 200, "{}", d.body);
    assert!(
        d.body["metadata"]["deletionTimestamp"].is_string(),
        "{}",
        d.body
    );
    let crd = assert_terminating(&raw, "objects with finalizers are left").await;
    assert_eq!(
        condition(&crd, "Established").map(|c| c["status"].clone()),
        Some(json!("True")),
        "still served while terminating"
    );

    // Every object is deleted: those with finalizers are marked, the others go.
    let mut seen = events(&mut watch, 4).await;
    seen.sort_by(|a, b| a.1.cmp(&b.1));
    let kinds: Vec<(&str, &str)> = seen
        .iter()
        .map(|(t, k, _)| (t.as_str(), k.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("DELETED", "default/free"),
            ("MODIFIED", "default/held"),
            ("MODIFIED", "default/twice"),
            ("MODIFIED", "other/elsewhere"),
        ]
    );
    for (kind, key, obj) in &seen {
        if kind == "MODIFIED" {
            assert!(
                obj["metadata"]["deletionTimestamp"].is_string(),
                "{key}: {obj}"
            );
        }
    }
    assert_eq!(raw.get(&format!("{WIDGETS}/free")).await.code, 404);
    let held = raw.get(&format!("{WIDGETS}/held")).await;
    assert_eq!(held.code, 200, "held by its finalizer");
    assert!(held.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        finalizers(&held.body),
        vec!["test.kube-sim.dev/a"],
        "finalizers kept"
    );
    let twice = raw.get(&format!("{WIDGETS}/twice")).await.body;
    assert_eq!(
        finalizers(&twice),
        vec!["test.kube-sim.dev/a", "test.kube-sim.dev/b"]
    );

    // While terminating the objects are still listed, read and updated.
    assert_eq!(names(&raw.get(WIDGETS).await.body), vec!["held", "twice"]);
    assert_eq!(
        names(&raw.get(ALL_WIDGETS).await.body),
        vec!["elsewhere", "held", "twice"]
    );
    let update = raw
        .merge(&format!("{WIDGETS}/held"), &json!({"spec": {"size": 7}}))
        .await;
    assert_eq!(update.code, 200, "an update is allowed: {}", update.body);
    let (kind, key, obj) = events(&mut watch, 1).await.remove(0);
    assert_eq!((kind.as_str(), key.as_str()), ("MODIFIED", "default/held"));
    assert_eq!(obj["spec"]["size"], 7);

    // A create is refused; so is a new CRD of the same name.
    let create = raw.post(WIDGETS, &widget("late", 1)).await;
    assert_eq!(create.code, 405, "{}", create.body);
    assert_eq!(create.body["kind"], "Status");
    assert_eq!(create.body["reason"], "MethodNotAllowed");
    assert_eq!(
        create.body["message"],
        "create not allowed while custom resource definition is terminating"
    );
    assert_eq!(create.body["details"]["group"], "test.kube-sim.dev");
    assert_eq!(create.body["details"]["kind"], "widgets");
    assert_eq!(raw.get(&format!("{WIDGETS}/late")).await.code, 404);
    let again = raw.post(CRDS, &common::widget_crd()).await;
    assert_eq!(again.code, 409, "{}", again.body);
    assert_eq!(again.body["reason"], "AlreadyExists");

    // Removing finalizers lets the objects go, one by one; the CRD waits for the last.
    let r = set_finalizers(&raw, &format!("{WIDGETS}/held"), &[]).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(raw.get(&format!("{WIDGETS}/held")).await.code, 404);
    assert_terminating(&raw, "two objects left").await;
    let r = set_finalizers(&raw, &format!("{WIDGETS}/twice"), &["test.kube-sim.dev/b"]).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        raw.get(&format!("{WIDGETS}/twice")).await.code,
        200,
        "one finalizer left"
    );
    let r = set_finalizers(&raw, &format!("{WIDGETS}/twice"), &[]).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_terminating(&raw, "an object left in another namespace").await;
    let r = set_finalizers(&raw, &format!("{OTHER_WIDGETS}/elsewhere"), &[]).await;
    assert_eq!(r.code, 200, "{}", r.body);

    assert_eq!(
        raw.get(CRD).await.code,
        404,
        "the last object gone, the CRD goes"
    );
    assert_eq!(raw.get(WIDGETS).await.code, 404);
    let mut gone: Vec<(String, String)> = events(&mut watch, 4)
        .await
        .into_iter()
        .map(|(t, k, _)| (t, k))
        .collect();
    gone.sort();
    let mut expected: Vec<(String, String)> = [
        ("DELETED", "default/held"),
        ("MODIFIED", "default/twice"),
        ("DELETED", "default/twice"),
        ("DELETED", "other/elsewhere"),
    ]
    .iter()
    .map(|(t, k)| (t.to_string(), k.to_string()))
    .collect();
    expected.sort();
    assert_eq!(
        gone, expected,
        "one finalizer removed, then the last of each"
    );
    // kube-apiserver tears down the resource's storage once the CRD is gone,
    // which ends its watches; a client's re-list is then answered 404.
    assert!(
        watch.ends_within(Duration::from_secs(5)).await,
        "the watch of a removed CRD's resource ends"
    );
}

#[tokio::test]
async fn an_apply_that_creates_while_terminating_is_deleted_in_turn() {
    // v1.32 refuses only POST: a server-side apply that creates goes through
    // (kubernetes/kubernetes#121490, refused from v1.34), and the CRD finalizer
    // controller deletes the new object like the others.
    let (_sim, raw) = with_widgets().await;
    assert_eq!(
        raw.post(WIDGETS, &with_finalizers("keep", &["test.kube-sim.dev/a"]))
            .await
            .code,
        201
    );
    assert_eq!(raw.delete(CRD).await.code, 200);
    let mut late = with_finalizers("late", &["test.kube-sim.dev/a"]);
    late["metadata"]["namespace"] = json!("default");
    let path = format!("{WIDGETS}/late?fieldManager=test");
    let a = raw
        .patch(&path, "application/apply-patch+yaml", &late)
        .await;
    assert!(a.code == 201 || a.code == 200, "{}: {}", a.code, a.body);
    let obj = raw.get(&format!("{WIDGETS}/late")).await;
    assert_eq!(obj.code, 200);
    assert!(
        obj.body["metadata"]["deletionTimestamp"].is_string(),
        "deleted in turn, its finalizer honoured: {}",
        obj.body
    );
    let free = json!({
        "apiVersion": "test.kube-sim.dev/v1", "kind": "Widget",
        "metadata": {"name": "free", "namespace": "default"}, "spec": {"size": 1}
    });
    let a = raw
        .patch(
            &format!("{WIDGETS}/free?fieldManager=test"),
            "application/apply-patch+yaml",
            &free,
        )
        .await;
    assert!(a.code == 201 || a.code == 200, "{}: {}", a.code, a.body);
    assert_eq!(
        raw.get(&format!("{WIDGETS}/free")).await.code,
        404,
        "no finalizer: gone"
    );
    for name in ["keep", "late"] {
        let r = set_finalizers(&raw, &format!("{WIDGETS}/{name}"), &[]).await;
        assert_eq!(r.code, 200, "{}", r.body);
    }
    assert_eq!(raw.get(CRD).await.code, 404);
}

#[tokio::test]
async fn a_crd_with_its_own_finalizer_stays_after_its_objects_are_gone() {
    let (_sim, raw) = with_widgets().await;
    assert_eq!(
        raw.post(WIDGETS, &with_finalizers("a", &["test.kube-sim.dev/a"]))
            .await
            .code,
        201
    );
    let r = set_finalizers(&raw, CRD, &["example.com/keep"]).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(raw.delete(CRD).await.code, 200);
    let crd = assert_terminating(&raw, "an object left").await;
    let mut fins = finalizers(&crd);
    fins.sort();
    assert_eq!(
        fins,
        vec![CLEANUP.to_string(), "example.com/keep".to_string()]
    );

    let r = set_finalizers(&raw, &format!("{WIDGETS}/a"), &[]).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let crd = raw.get(CRD).await;
    assert_eq!(crd.code, 200, "its own finalizer holds it");
    assert_eq!(
        finalizers(&crd.body),
        vec!["example.com/keep"],
        "cleanup done"
    );
    let terminating = condition(&crd.body, "Terminating").expect("Terminating");
    assert_eq!(terminating["status"], "False");
    assert_eq!(terminating["reason"], "InstanceDeletionCompleted");
    // v1.32 refuses creates only while the Terminating condition is True (from
    // v1.37 while deletionTimestamp is set too): with the cleanup done, a create
    // goes through, and nothing deletes that object any more.
    assert_eq!(raw.post(WIDGETS, &widget("b", 1)).await.code, 201);

    let r = set_finalizers(&raw, CRD, &[]).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(raw.get(CRD).await.code, 404);
    assert_eq!(raw.get(WIDGETS).await.code, 404);
}
