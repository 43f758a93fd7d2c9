//! kube-rs against the in-process simulator: typed `Api`, `watcher` (list-watch
//! and streaming lists) and a `Controller` that survives dropped watches and 410s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{finalizer, Event as Finalizer};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, CustomResource, CustomResourceExt, ResourceExt};
use kube_sim::KubeSim;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A test kind of this crate's own.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "test.kube-sim.dev",
    version = "v1",
    kind = "Gizmo",
    namespaced,
    status = "GizmoStatus",
    shortname = "gz"
)]
pub struct GizmoSpec {
    pub size: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
pub struct GizmoStatus {
    pub ready: bool,
    pub observed_size: i64,
}

const FINALIZER: &str = "test.kube-sim.dev/cleanup";

async fn client_for(sim: &KubeSim) -> Client {
    let mut config = kube::Config::new(sim.url().parse().expect("url"));
    config.default_namespace = "default".into();
    Client::try_from(config).expect("client")
}

async fn setup() -> (KubeSim, Client, Api<Gizmo>) {
    let sim = KubeSim::start().await.expect("simulator");
    let client = client_for(&sim).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Gizmo::crd())
        .await
        .expect("CRD created");
    let api = Api::namespaced(client.clone(), "default");
    (sim, client, api)
}

fn gizmo(name: &str, size: i64) -> Gizmo {
    Gizmo::new(name, GizmoSpec { size })
}

/// Waits (bounded) until `check` holds for the simulator's stored object.
async fn eventually(sim: &KubeSim, name: &str, what: &str, check: impl Fn(Option<&Value>) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let obj = sim.object("test.kube-sim.dev", "v1", "gizmos", Some("default"), name);
        if check(obj.as_ref()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {name} {what}: {obj:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ready_for(size: i64) -> impl Fn(Option<&Value>) -> bool {
    move |o| o.is_some_and(|o| o["status"]["ready"] == true && o["status"]["observed_size"] == size)
}

#[tokio::test]
async fn typed_api_round_trips_built_in_and_custom_objects() {
    let (_sim, client, gizmos) = setup().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("c".into());
    cm.data = Some([("k".to_string(), "v".to_string())].into());
    cms.create(&PostParams::default(), &cm).await.unwrap();
    assert_eq!(cms.get("c").await.unwrap().data.unwrap()["k"], "v");
    let created = gizmos
        .create(&PostParams::default(), &gizmo("g", 2))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let status = json!({"apiVersion": "test.kube-sim.dev/v1", "kind": "Gizmo", "status": {"ready": true, "observed_size": 2}});
    let patched = gizmos
        .patch_status(
            "g",
            &PatchParams::apply("tests").force(),
            &Patch::Apply(status),
        )
        .await
        .unwrap();
    assert!(patched.status.unwrap().ready);
    let list = gizmos
        .list(&ListParams::default().labels("missing"))
        .await
        .unwrap();
    assert!(list.items.is_empty());
    let err = gizmos
        .create(&PostParams::default(), &gizmo("g", 2))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("an API error")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );
    gizmos.delete("g", &DeleteParams::default()).await.unwrap();
    assert!(gizmos.get_opt("g").await.unwrap().is_none());
}

async fn watcher_sees(api: Api<Gizmo>, config: watcher::Config, sim: &KubeSim) {
    let mut stream = watcher(api.clone(), config).applied_objects().boxed();
    api.create(&PostParams::default(), &gizmo("w1", 1))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await;
    assert_eq!(first.unwrap().unwrap().unwrap().name_any(), "w1");
    sim.faults()
        .end_watches_after(Some(Duration::from_millis(200)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.create(&PostParams::default(), &gizmo("w2", 1))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("w2 seen");
        if let Some(Ok(g)) = next {
            if g.name_any() == "w2" {
                break;
            }
        }
    }
    sim.faults().clear();
}

#[tokio::test]
async fn watcher_with_list_watch_survives_dropped_watches() {
    let (sim, _client, api) = setup().await;
    watcher_sees(api, watcher::Config::default(), &sim).await;
    assert!(sim
        .requests()
        .iter()
        .any(|r| r.verb == "list" && r.resource == "gizmos"));
}

#[tokio::test]
async fn watcher_with_streaming_lists_survives_dropped_watches() {
    let (sim, _client, api) = setup().await;
    watcher_sees(api, watcher::Config::default().streaming_lists(), &sim).await;
    let gizmo_reqs: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.resource == "gizmos")
        .collect();
    assert!(
        gizmo_reqs.iter().all(|r| r.verb != "list"),
        "streaming lists use watch only"
    );
}

struct Ctx {
    api: Api<Gizmo>,
    cleaned: Mutex<Vec<String>>,
}

async fn reconcile(
    g: Arc<Gizmo>,
    ctx: Arc<Ctx>,
) -> Result<Action, kube::runtime::finalizer::Error<kube::Error>> {
    let api = ctx.api.clone();
    finalizer(&api, FINALIZER, g, |event| async {
        match event {
            Finalizer::Apply(g) => {
                let status = json!({"status": {"ready": true, "observed_size": g.spec.size}});
                api.patch_status(
                    &g.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(status),
                )
                .await?;
                Ok(Action::await_change())
            }
            Finalizer::Cleanup(g) => {
                ctx.cleaned.lock().unwrap().push(g.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await
}

fn error_policy(
    _g: Arc<Gizmo>,
    _e: &kube::runtime::finalizer::Error<kube::Error>,
    _ctx: Arc<Ctx>,
) -> Action {
    Action::requeue(Duration::from_millis(100))
}

#[tokio::test]
async fn controller_finalizes_writes_status_and_survives_watch_drops_and_410() {
    let (sim, _client, api) = setup().await;
    let ctx = Arc::new(Ctx {
        api: api.clone(),
        cleaned: Mutex::new(Vec::new()),
    });
    let controller = Controller::new(api.clone(), watcher::Config::default())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});
    let task = tokio::spawn(controller);

    api.create(&PostParams::default(), &gizmo("g1", 1))
        .await
        .unwrap();
    eventually(&sim, "g1", "finalized and ready", |o| {
        ready_for(1)(o) && o.is_some_and(|o| o["metadata"]["finalizers"] == json!([FINALIZER]))
    })
    .await;

    sim.faults()
        .end_watches_after(Some(Duration::from_millis(150)));
    tokio::time::sleep(Duration::from_millis(400)).await;
    api.create(&PostParams::default(), &gizmo("g2", 2))
        .await
        .unwrap();
    eventually(&sim, "g2", "ready after watch drops", ready_for(2)).await;
    sim.faults().clear();

    let lists_before = sim
        .requests()
        .iter()
        .filter(|r| r.verb == "list" && r.resource == "gizmos")
        .count();
    sim.faults().compact_history();
    api.create(&PostParams::default(), &gizmo("g3", 3))
        .await
        .unwrap();
    eventually(&sim, "g3", "ready after 410", ready_for(3)).await;
    let lists_after = sim
        .requests()
        .iter()
        .filter(|r| r.verb == "list" && r.resource == "gizmos")
        .count();
    assert!(
        lists_after > lists_before,
        "the 410 made the watcher list again"
    );

    api.delete("g1", &DeleteParams::default()).await.unwrap();
    eventually(&sim, "g1", "released and gone", |o| o.is_none()).await;
    assert_eq!(*ctx.cleaned.lock().unwrap(), vec!["g1".to_string()]);
    task.abort();
}
