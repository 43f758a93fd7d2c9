//! LIST and WATCH as client-go and kube-rs use them.

use crate::common;

use std::time::Duration;

use common::{configmap, event_summary, rv, widget, with_widgets, Raw, Watch, CONFIGMAPS, WIDGETS};
use kube_sim::{KubeSim, KubeSimConfig};
use serde_json::{json, Value};

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn summary(kind: &str, name: &str) -> Option<(String, String)> {
    Some((kind.to_string(), name.to_string()))
}

async fn labelled(raw: &Raw) {
    for (name, labels) in [
        ("a", json!({"app": "web", "tier": "front"})),
        ("b", json!({"app": "web", "tier": "back"})),
        ("c", json!({"app": "db"})),
    ] {
        raw.post(CONFIGMAPS, &configmap(name, labels)).await;
    }
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    labelled(&raw).await;
    let q = |s: &str| format!("{CONFIGMAPS}?labelSelector={}", urlencode(s));
    assert_eq!(names(&raw.get(&q("app=web")).await.body), ["a", "b"]);
    assert_eq!(
        names(&raw.get(&q("app==web,tier!=front")).await.body),
        ["b"]
    );
    assert_eq!(
        names(&raw.get(&q("tier in (front,back)")).await.body),
        ["a", "b"]
    );
    assert_eq!(names(&raw.get(&q("app notin (web)")).await.body), ["c"]);
    assert_eq!(names(&raw.get(&q("tier")).await.body), ["a", "b"]);
    assert_eq!(names(&raw.get(&q("!tier")).await.body), ["c"]);
    let by_name = raw
        .get(&format!("{CONFIGMAPS}?fieldSelector=metadata.name%3Db"))
        .await;
    assert_eq!(names(&by_name.body), ["b"]);
    let list = raw.get(CONFIGMAPS).await.body;
    assert_eq!(list["kind"], "ConfigMapList");
    assert!(list["metadata"]["resourceVersion"].as_str().is_some());
}

fn urlencode(s: &str) -> String {
    s.replace('=', "%3D")
        .replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('!', "%21")
        .replace(',', "%2C")
}

#[tokio::test]
async fn limit_and_continue_page_through_a_list() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    labelled(&raw).await;
    let first = raw.get(&format!("{CONFIGMAPS}?limit=2")).await.body;
    assert_eq!(names(&first), ["a", "b"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 1);
    let token = first["metadata"]["continue"].as_str().unwrap();
    let second = raw
        .get(&format!("{CONFIGMAPS}?limit=2&continue={token}"))
        .await
        .body;
    assert_eq!(names(&second), ["c"]);
    assert!(second["metadata"].get("continue").is_none());
}

#[tokio::test]
async fn cluster_wide_list_spans_namespaces() {
    let (_sim, raw) = with_widgets().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}});
    raw.post("/api/v1/namespaces", &ns).await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    raw.post(
        "/apis/test.kube-sim.dev/v1/namespaces/other/widgets",
        &widget("b", 1),
    )
    .await;
    let all = raw.get("/apis/test.kube-sim.dev/v1/widgets").await.body;
    assert_eq!(names(&all), ["a", "b"]);
    assert_eq!(names(&raw.get(WIDGETS).await.body), ["a"]);
}

#[tokio::test]
async fn watch_without_resource_version_sends_current_objects_then_changes() {
    let (_sim, raw) = with_widgets().await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    let mut w = Watch::open(&raw, &format!("{WIDGETS}?watch=true")).await;
    assert_eq!(
        w.next().await.as_ref().map(event_summary),
        summary("ADDED", "a")
    );
    raw.post(WIDGETS, &widget("b", 1)).await;
    raw.merge(&format!("{WIDGETS}/a"), &json!({"spec": {"size": 2}}))
        .await;
    raw.delete(&format!("{WIDGETS}/b")).await;
    assert_eq!(
        w.next().await.as_ref().map(event_summary),
        summary("ADDED", "b")
    );
    let modified = w.next().await.unwrap();
    assert_eq!(event_summary(&modified), ("MODIFIED".into(), "a".into()));
    assert_eq!(modified["object"]["spec"]["size"], 2);
    assert_eq!(
        w.next().await.as_ref().map(event_summary),
        summary("DELETED", "b")
    );
}

#[tokio::test]
async fn watch_from_a_resource_version_replays_only_later_events() {
    let (_sim, raw) = with_widgets().await;
    let a = raw.post(WIDGETS, &widget("a", 1)).await.body;
    raw.post(WIDGETS, &widget("b", 1)).await;
    let mut w = Watch::open(
        &raw,
        &format!("{WIDGETS}?watch=1&resourceVersion={}", rv(&a)),
    )
    .await;
    assert_eq!(
        w.next().await.as_ref().map(event_summary),
        summary("ADDED", "b")
    );
    assert!(w.next_within(Duration::from_millis(200)).await.is_none());
}

#[tokio::test]
async fn label_selector_watch_turns_leaving_objects_into_deletions() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let c = raw
        .post(CONFIGMAPS, &configmap("c", json!({"app": "web"})))
        .await
        .body;
    let path = format!(
        "{CONFIGMAPS}?watch=true&labelSelector=app%3Dweb&resourceVersion={}",
        rv(&c)
    );
    let mut w = Watch::open(&raw, &path).await;
    raw.merge(
        &format!("{CONFIGMAPS}/c"),
        &json!({"metadata": {"labels": {"app": "db"}}}),
    )
    .await;
    assert_eq!(
        w.next().await.as_ref().map(event_summary),
        summary("DELETED", "c")
    );
}

#[tokio::test]
async fn streaming_list_ends_initial_events_with_an_annotated_bookmark() {
    let (_sim, raw) = with_widgets().await;
    raw.post(WIDGETS, &widget("a", 1)).await;
    let path = format!("{WIDGETS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true");
    let mut w = Watch::open(&raw, &path).await;
    assert_eq!(
        w.next().await.as_ref().map(event_summary),
        summary("ADDED", "a")
    );
    let bookmark = w.next().await.unwrap();
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(
        bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert!(bookmark["object"]["metadata"]["resourceVersion"]
        .as_str()
        .is_some());
}

#[tokio::test]
async fn periodic_bookmarks_carry_the_latest_resource_version() {
    let (_sim, raw) = with_widgets().await;
    let a = raw.post(WIDGETS, &widget("a", 1)).await.body;
    let path = format!(
        "{WIDGETS}?watch=true&allowWatchBookmarks=true&resourceVersion={}",
        rv(&a)
    );
    let mut w = Watch::open(&raw, &path).await;
    let b = raw.post(WIDGETS, &widget("b", 1)).await.body;
    assert_eq!(
        w.next().await.as_ref().map(event_summary),
        summary("ADDED", "b")
    );
    let bm = w
        .next_within(Duration::from_secs(8))
        .await
        .expect("a bookmark within 8 s");
    assert_eq!(bm["type"], "BOOKMARK");
    assert_eq!(rv(&bm["object"]), rv(&b));
}

#[tokio::test]
async fn timeout_seconds_ends_the_watch() {
    let (_sim, raw) = with_widgets().await;
    let mut w = Watch::open(&raw, &format!("{WIDGETS}?watch=true&timeoutSeconds=1")).await;
    assert!(w.ends_within(Duration::from_secs(4)).await);
}

#[tokio::test]
async fn a_resource_version_older_than_the_history_gets_410_gone() {
    let sim = KubeSim::start_with(KubeSimConfig { history_limit: 3 })
        .await
        .unwrap();
    let raw = Raw::new(&sim);
    let first = raw.post(CONFIGMAPS, &configmap("c0", json!({}))).await.body;
    for i in 1..6 {
        raw.post(CONFIGMAPS, &configmap(&format!("c{i}"), json!({})))
            .await;
    }
    let mut w = Watch::open(
        &raw,
        &format!("{CONFIGMAPS}?watch=true&resourceVersion={}", rv(&first)),
    )
    .await;
    let ev = w.next().await.unwrap();
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    assert_eq!(ev["object"]["kind"], "Status");
    assert!(w.ends_within(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn table_watch_events_carry_rows() {
    let (_sim, raw) = with_widgets().await;
    raw.post(WIDGETS, &widget("a", 4)).await;
    let resp = raw
        .http
        .get(format!("{}{WIDGETS}?watch=true", raw.base))
        .header(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    let mut resp = resp;
    let chunk = resp.chunk().await.unwrap().unwrap();
    let line: Value = serde_json::from_slice(chunk.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["object"]["kind"], "Table");
    assert_eq!(line["object"]["rows"][0]["cells"][1], 4);
}

#[tokio::test]
async fn metadata_only_clients_get_partial_object_metadata() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    raw.post(CONFIGMAPS, &configmap("c", json!({"app": "web"})))
        .await;
    let accept =
        |kind: &str| format!("application/json;as={kind};g=meta.k8s.io;v=v1,application/json");
    let get = |path: String, kind: &str| {
        raw.http
            .get(format!("{}{path}", raw.base))
            .header("accept", accept(kind))
            .timeout(Duration::from_secs(5))
            .send()
    };
    let list: Value = get(CONFIGMAPS.to_string(), "PartialObjectMetadataList")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["items"][0]["kind"], "PartialObjectMetadata");
    assert_eq!(list["items"][0]["metadata"]["labels"]["app"], "web");
    assert!(list["items"][0].get("data").is_none());
    let one: Value = get(format!("{CONFIGMAPS}/c"), "PartialObjectMetadata")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["kind"], "PartialObjectMetadata");
    let mut resp = get(format!("{CONFIGMAPS}?watch=true"), "PartialObjectMetadata")
        .await
        .unwrap();
    let chunk = resp.chunk().await.unwrap().unwrap();
    let ev: Value = serde_json::from_slice(chunk.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(ev["object"]["kind"], "PartialObjectMetadata");
}
