//! Discovery, CRD lifecycle and OpenAPI endpoints.

use crate::common;

use common::{widget, with_widgets, Raw, CRDS, WIDGETS};
use kube_sim::KubeSim;
use serde_json::{json, Value};

fn find<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list["resources"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == name)
}

#[tokio::test]
async fn version_and_core_discovery_list_built_in_kinds() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    assert_eq!(raw.get("/version").await.body["major"], "1");
    assert_eq!(raw.get("/api").await.body["versions"], json!(["v1"]));
    let core = raw.get("/api/v1").await.body;
    let ns = find(&core, "namespaces").expect("namespaces served");
    assert_eq!(ns["namespaced"], false);
    assert_eq!(ns["shortNames"], json!(["ns"]));
    for plural in [
        "configmaps",
        "secrets",
        "events",
        "serviceaccounts",
        "services",
    ] {
        assert!(find(&core, plural).is_some(), "{plural} in /api/v1");
    }
    let apps = raw.get("/apis/apps/v1").await.body;
    assert!(find(&apps, "deployments/status").is_some());
    let groups = raw.get("/apis").await.body;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    for g in [
        "apps",
        "rbac.authorization.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
    ] {
        assert!(names.contains(&g), "{g} in /apis: {names:?}");
    }
}

#[tokio::test]
async fn aggregated_discovery_accept_still_gets_legacy_json() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let resp = raw
        .http
        .get(format!("{}/apis", raw.base))
        .header(
            "accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["kind"], "APIGroupList");
}

#[tokio::test]
async fn creating_a_crd_serves_its_resource_with_names_and_status_subresource() {
    let (_sim, raw) = with_widgets().await;
    let crd = raw
        .get(&format!("{CRDS}/widgets.test.kube-sim.dev"))
        .await
        .body;
    let conds = crd["status"]["conditions"].as_array().unwrap();
    for t in ["NamesAccepted", "Established"] {
        assert!(
            conds
                .iter()
                .any(|c| c["type"] == t && c["status"] == "True"),
            "{t}"
        );
    }
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    let list = raw.get("/apis/test.kube-sim.dev/v1").await.body;
    let w = find(&list, "widgets").expect("widgets served");
    assert_eq!(w["kind"], "Widget");
    assert_eq!(w["singularName"], "widget");
    assert_eq!(w["namespaced"], true);
    assert_eq!(w["shortNames"], json!(["wd"]));
    assert_eq!(w["categories"], json!(["all"]));
    assert!(w["verbs"].as_array().unwrap().contains(&json!("watch")));
    assert_eq!(
        find(&list, "widgets/status").unwrap()["verbs"],
        json!(["get", "patch", "update"])
    );
    let groups = raw.get("/apis").await.body.to_string();
    assert!(groups.contains("test.kube-sim.dev/v1"));
}

#[tokio::test]
async fn updating_a_crd_changes_what_is_served() {
    let (_sim, raw) = with_widgets().await;
    let path = format!("{CRDS}/widgets.test.kube-sim.dev");
    let mut crd = raw.get(&path).await.body;
    let mut v2 = crd["spec"]["versions"][0].clone();
    v2["name"] = json!("v2");
    v2["storage"] = json!(false);
    crd["spec"]["versions"].as_array_mut().unwrap().push(v2);
    crd["spec"]["names"]["shortNames"] = json!(["wd", "wdg"]);
    assert_eq!(raw.put(&path, &crd).await.code, 200);
    let list = raw.get("/apis/test.kube-sim.dev/v2").await.body;
    assert_eq!(
        find(&list, "widgets").unwrap()["shortNames"],
        json!(["wd", "wdg"])
    );
    assert_eq!(raw.post(WIDGETS, &widget("a", 1)).await.code, 201);
    let v2obj = raw
        .get("/apis/test.kube-sim.dev/v2/namespaces/default/widgets/a")
        .await;
    assert_eq!(v2obj.body["apiVersion"], "test.kube-sim.dev/v2");
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_and_stops_serving() {
    let (sim, raw) = with_widgets().await;
    assert_eq!(raw.post(WIDGETS, &widget("a", 1)).await.code, 201);
    assert_eq!(
        raw.delete(&format!("{CRDS}/widgets.test.kube-sim.dev"))
            .await
            .code,
        200
    );
    assert_eq!(raw.get(WIDGETS).await.code, 404);
    assert_eq!(raw.get("/apis/test.kube-sim.dev/v1").await.code, 404);
    // Re-creating the CRD does not bring the old objects back.
    assert_eq!(raw.post(CRDS, &common::widget_crd()).await.code, 201);
    assert!(sim
        .object("test.kube-sim.dev", "v1", "widgets", Some("default"), "a")
        .is_none());
    assert_eq!(raw.get(WIDGETS).await.body["items"], json!([]));
}

#[tokio::test]
async fn a_crd_whose_name_does_not_match_its_names_is_invalid() {
    let sim = KubeSim::start().await.unwrap();
    let raw = Raw::new(&sim);
    let mut crd = common::widget_crd();
    crd["metadata"]["name"] = json!("gadgets.test.kube-sim.dev");
    let a = raw.post(CRDS, &crd).await;
    assert_eq!(a.code, 422);
    assert_eq!(a.body["reason"], "Invalid");
    assert_eq!(a.body["details"]["causes"][0]["field"], "metadata.name");
}

#[tokio::test]
async fn openapi_v3_is_served_per_group_version() {
    let (_sim, raw) = with_widgets().await;
    assert_eq!(raw.get("/openapi/v3").await.code, 200);
    let doc = raw.get("/openapi/v3/apis/test.kube-sim.dev/v1").await;
    assert_eq!(doc.code, 200);
    assert!(doc.body.is_object());
    assert_eq!(
        raw.get("/openapi/v3/apis/nothing.example.com/v1")
            .await
            .code,
        404
    );
}
