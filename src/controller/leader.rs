//! Leader election through a Lease (kube-lease-manager): only the holder reconciles,
//! a dead holder is replaced within the lease duration, and a replica that loses the
//! lease stops reconciling at once.

use std::future::Future;

use futures::future::BoxFuture;
use futures::FutureExt;
use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;

use super::LeaderElection;
use crate::{Error, Result};

/// Waits for the lease, then runs `work` with a future that resolves if the lease is
/// lost. Returns an error when the lease was lost (the caller exits and is restarted),
/// `Ok` when `shutdown` ended the work; the lease is released on the way out.
pub async fn run_while_leader<W, Fut>(
    client: Client,
    identity: String,
    election: LeaderElection,
    shutdown: impl Future<Output = ()>,
    work: W,
) -> Result<()>
where
    W: FnOnce(BoxFuture<'static, ()>) -> Fut,
    Fut: Future<Output = ()>,
{
    let duration = election.lease_duration.as_secs().max(2);
    let manager = LeaseManagerBuilder::new(client, &election.lease_name)
        .with_namespace(&election.lease_namespace)
        .with_identity(identity.clone())
        .with_duration(duration)
        .with_grace((duration / 3).max(1))
        .build()
        .await
        .map_err(|e| {
            Error::Leadership(format!(
                "failed to set up lease {}: {e}",
                election.lease_name
            ))
        })?;
    let (mut leading, task) = manager.watch().await;
    let acquired = async {
        while !*leading.borrow_and_update() {
            if leading.changed().await.is_err() {
                return false;
            }
        }
        true
    };
    tokio::select! {
        acquired = acquired => if !acquired {
            return Err(Error::Leadership("the lease manager stopped".into()));
        },
        _ = shutdown => {
            drop(leading);
            let _ = task.await;
            return Ok(());
        }
    }
    tracing::info!(lease = %election.lease_name, %identity, "acquired the lease; reconciling");
    let mut watching = leading.clone();
    let lost = async move {
        while watching.changed().await.is_ok() {
            if !*watching.borrow() {
                break;
            }
        }
    }
    .boxed();
    work(lost).await;
    let still_leader = *leading.borrow();
    drop(leading);
    let _ = task.await;
    if still_leader {
        Ok(())
    } else {
        Err(Error::Leadership(format!(
            "lost lease {}; stopping so a new leader takes over",
            election.lease_name
        )))
    }
}
