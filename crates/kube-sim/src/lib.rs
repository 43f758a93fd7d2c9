//! A local simulator of the Kubernetes API server for tests and development:
//! discovery, CRDs, built-in kinds, object semantics, list/watch, a request log
//! and injectable faults. Real `kubectl` and kube-rs clients talk to it over
//! plain HTTP on 127.0.0.1.
#![forbid(unsafe_code)]

pub mod admission;
mod crd;
mod discovery;
mod faults;
mod fields;
mod handlers;
mod jsonpath;
mod log;
mod object;
pub mod openapi;
mod protobuf;
mod registry;
mod request;
mod selectors;
mod server;
mod status;
mod store;
mod table;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde_json::Value;
use tokio::task::JoinHandle;

pub use faults::{FaultHandle, LeaseFailure, ObjectMatch, WatchHold};
pub use log::RequestRecord;

use handlers::Shared;
use store::{EventType, Store};

/// Settings of one simulator.
#[derive(Clone, Debug)]
pub struct KubeSimConfig {
    /// Watch events kept so clients can resume from a resourceVersion.
    pub history_limit: usize,
}

impl Default for KubeSimConfig {
    fn default() -> Self {
        KubeSimConfig {
            history_limit: 1000,
        }
    }
}

/// A running simulator. Dropping it, or [`KubeSim::shutdown`], stops it.
pub struct KubeSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl KubeSim {
    /// Starts on an ephemeral port of 127.0.0.1 with the default settings.
    pub async fn start() -> anyhow::Result<KubeSim> {
        Self::start_with(KubeSimConfig::default()).await
    }

    pub async fn start_with(config: KubeSimConfig) -> anyhow::Result<KubeSim> {
        Self::start_on(0, config).await
    }

    /// Starts on `port` of 127.0.0.1 (0: an ephemeral port).
    pub async fn start_on(port: u16, config: KubeSimConfig) -> anyhow::Result<KubeSim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("failed to bind 127.0.0.1:{port}"))?;
        let addr = listener
            .local_addr()
            .context("failed to read the bound address")?;
        let mut store = Store::new(config.history_limit);
        let now = object::now();
        for ns in ["default", "kube-system"] {
            let obj = handlers::hooks_namespace_object(ns, &now);
            store.put(handlers::NAMESPACES_ID, EventType::Added, obj, None);
        }
        let store = Arc::new(Mutex::new(store));
        let faults = FaultHandle::new(store.clone());
        let shared = Arc::new(Shared {
            store,
            faults,
            log: log::RequestLog::default(),
        });
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "kube-sim server stopped");
            }
        });
        Ok(KubeSim { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig whose cluster, user and context are all named `kube-sim`.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: {}\nusers:\n- name: kube-sim\n  user: {{}}\ncontexts:\n- name: kube-sim\n  context:\n    cluster: kube-sim\n    user: kube-sim\n    namespace: default\ncurrent-context: kube-sim\n",
            self.url()
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
            .with_context(|| format!("failed to write kubeconfig {}", path.display()))
    }

    /// Every resource request so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.all()
    }

    pub fn faults(&self) -> FaultHandle {
        self.shared.faults.clone()
    }

    /// Reads an object straight from the store, as served in `version`.
    pub fn object(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let st = self.shared.lock();
        let r = st.registry.lookup(group, version, plural)?;
        let obj = st.get(&r.id(), namespace.unwrap_or(""), name)?.clone();
        Some(object::present(obj, r, version))
    }

    /// Looks at an object in the store as stored, without copying it: cheap enough
    /// to poll thousands of objects.
    pub fn peek<R>(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
        look: impl FnOnce(&Value) -> R,
    ) -> Option<R> {
        let st = self.shared.lock();
        let r = st.registry.lookup(group, version, plural)?;
        st.get(&r.id(), namespace.unwrap_or(""), name).map(look)
    }

    /// Ends open watches and stops serving.
    pub async fn shutdown(self) {
        self.stop();
    }

    fn stop(&self) {
        self.shared.lock().close_watches();
        self.task.abort();
    }
}

impl Drop for KubeSim {
    fn drop(&mut self) {
        self.stop();
    }
}
