//! One joined-teams scan serves every marker search of the same owner and team type
//! that asked for it before it started. A search needs a scan at least as fresh as
//! itself (one that started after the search was asked for), so searches that arrive
//! while a scan runs wait for it to end and then share the next one: N pending creates
//! of one owner cost about two scans, not N.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::wire::JoinedEntry;
use crate::provider::ProviderResult;

/// A finished scan: when it started and what it read (all pages, or the error that
/// made it incomplete).
#[derive(Clone, Debug)]
struct Scan {
    started: Instant,
    result: ProviderResult<Arc<Vec<JoinedEntry>>>,
}

/// The last scan of one (owner, team type), behind a lock held while scanning.
type Slot = Arc<tokio::sync::Mutex<Option<Scan>>>;

/// The latest scan of each (owner, team type).
#[derive(Debug, Default)]
pub(super) struct SharedScans {
    slots: Mutex<HashMap<(String, u8), Slot>>,
}

impl SharedScans {
    /// The entries of a scan that started no earlier than this call: the last one when
    /// it qualifies, else a new one made by `scan`.
    pub(super) async fn fresh<F, Fut>(
        &self,
        owner: &str,
        team_type: u8,
        scan: F,
    ) -> ProviderResult<Arc<Vec<JoinedEntry>>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ProviderResult<Vec<JoinedEntry>>>,
    {
        let asked = Instant::now();
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .entry((owner.to_string(), team_type))
                .or_default()
                .clone()
        };
        let mut last = slot.lock().await;
        if let Some(done) = last.as_ref().filter(|s| s.started >= asked) {
            return done.result.clone();
        }
        let started = Instant::now();
        let result = scan().await.map(Arc::new);
        *last = Some(Scan {
            started,
            result: result.clone(),
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn entry(id: &str) -> JoinedEntry {
        JoinedEntry {
            id: id.into(),
            name: "Ops".into(),
            create_time: None,
        }
    }

    #[tokio::test]
    async fn searches_asked_during_a_scan_share_the_next_one() {
        let scans = Arc::new(SharedScans::default());
        let count = Arc::new(AtomicUsize::new(0));
        let run = |scans: Arc<SharedScans>, count: Arc<AtomicUsize>| async move {
            scans
                .fresh("alice", 1, || async move {
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(vec![entry(&format!("scan-{n}"))])
                })
                .await
        };
        let first = tokio::spawn(run(scans.clone(), count.clone()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let waiting: Vec<_> = (0..5)
            .map(|_| tokio::spawn(run(scans.clone(), count.clone())))
            .collect();
        let first = first.await.unwrap().unwrap();
        assert_eq!(first[0].id, "scan-0");
        for task in waiting {
            // Each was asked while scan 0 ran, so scan 0 is too old for it; all share scan 1.
            assert_eq!(task.await.unwrap().unwrap()[0].id, "scan-1");
        }
        assert_eq!(count.load(Ordering::SeqCst), 2);

        // A search asked after the last scan ended gets a new one; another owner too.
        let later = run(scans.clone(), count.clone()).await.unwrap();
        assert_eq!(later[0].id, "scan-2");
        let other = scans
            .fresh("bob", 1, || async { Ok(vec![entry("bob-1")]) })
            .await
            .unwrap();
        assert_eq!(other[0].id, "bob-1");
    }
}
