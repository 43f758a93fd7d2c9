//! Extra operator replicas, each on its own thread, runtime and client, so one can be
//! stopped gracefully or killed like a crashed process while the others run on.

use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use chatgroup_operator::controller::{self, Settings};
use kube::Client;
use tokio::sync::oneshot;

/// An operator replica running outside the test's runtime.
pub struct Replica {
    stop: Option<oneshot::Sender<()>>,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Replica {
    /// Starts a replica against the API server at `url` with `settings`.
    pub fn start(url: &str, settings: Settings) -> anyhow::Result<Replica> {
        let config = crate::operator_config(url).context("the replica's client configuration")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (kill, killed) = oneshot::channel::<()>();
        // A current-thread runtime polls nothing once `block_on` returns, so dropping it
        // cancels every task without another step: no lease release, no last request.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("build the replica's runtime")?;
        let name = format!("replica-{}", settings.instance);
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                runtime.block_on(async move {
                    let client = match Client::try_from(config) {
                        Ok(client) => client,
                        Err(error) => {
                            tracing::error!(%error, "could not build the replica's client");
                            return;
                        }
                    };
                    let shutdown = async move {
                        let _ = stopped.await;
                    };
                    tokio::select! {
                        biased;
                        _ = killed => {}
                        result = controller::run(client, settings, shutdown) => {
                            if let Err(error) = result {
                                tracing::error!(%error, "replica stopped with an error");
                            }
                        }
                    }
                });
                drop(runtime);
            })
            .context("spawn the replica's thread")?;
        Ok(Replica {
            stop: Some(stop),
            kill: Some(kill),
            thread: Some(thread),
        })
    }

    /// Stops the replica the way SIGTERM does (in-flight reconciles finish, the lease is
    /// released) and waits for it; `false` when it did not end within `timeout`.
    pub async fn stop(mut self, timeout: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join(timeout).await
    }

    /// Ends the replica at once, as a crash would: nothing it was doing gets another step.
    pub async fn kill(mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.join(Duration::from_secs(10)).await;
    }

    async fn join(&mut self, timeout: Duration) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let joined = tokio::task::spawn_blocking(move || thread.join());
        matches!(tokio::time::timeout(timeout, joined).await, Ok(Ok(Ok(()))))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // Dropping the kill sender ends the replica; its thread finishes on its own.
        self.kill.take();
    }
}
