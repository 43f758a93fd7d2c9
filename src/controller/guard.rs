//! A blast-radius guard: at most N disbands per hour across the operator. A bad
//! commit, a removed CRD or a deleted namespace can ask for hundreds of irreversible
//! disbands at once; past the budget they wait (finalizers kept, a condition and an
//! Event say why) instead of going through. A disband counts from the moment it is
//! reserved, before the provider is called; a reservation whose call failed, or found
//! the group already gone, is given back.
//!
//! The ledger is a list of instants kept in a ConfigMap (see [`LedgerStore`]), so the
//! count survives a restart and a change of leader. This module holds the rules;
//! the store only loads and saves.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::Client;

use crate::{Error, Result};

const WINDOW: Duration = Duration::from_secs(3600);

/// When each counted disband of the last hour was reserved (unsorted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger(pub Vec<Timestamp>);

impl Ledger {
    /// The entries still inside the hour that ends at `now`.
    fn recent(&self, now: Timestamp) -> Vec<Timestamp> {
        let window = SignedDuration::try_from(WINDOW).unwrap_or(SignedDuration::MAX);
        let mut recent: Vec<Timestamp> = self
            .0
            .iter()
            .copied()
            .filter(|t| now.duration_since(*t) < window)
            .collect();
        recent.sort();
        recent
    }

    /// Counts one more disband at `now`, or says how long until one is free.
    pub fn reserve(&self, limit: NonZeroU32, now: Timestamp) -> Result<Ledger, Duration> {
        let mut recent = self.recent(now);
        if recent.len() >= limit.get() as usize {
            let frees_at = recent[recent.len() - limit.get() as usize] + WINDOW;
            let wait = frees_at.duration_since(now).unsigned_abs();
            return Err(wait.max(Duration::from_secs(1)));
        }
        recent.push(now);
        Ok(Ledger(recent))
    }

    /// Gives back the disband reserved at `at`.
    pub fn give_back(&self, at: Timestamp) -> Ledger {
        let mut entries = self.0.clone();
        if let Some(i) = entries.iter().position(|t| *t == at) {
            entries.remove(i);
        }
        Ledger(entries)
    }

    fn encode(&self) -> String {
        let mut entries = self.0.clone();
        entries.sort();
        entries
            .iter()
            .map(Timestamp::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn decode(text: &str) -> Ledger {
        Ledger(
            text.lines()
                .filter_map(|line| line.trim().parse().ok())
                .collect(),
        )
    }
}

/// Where the ledger is kept between reservations, so the count survives a restart
/// and a change of leader.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// The stored ledger and the version it was read at (`None`: none stored yet).
    async fn load(&self) -> Result<(Ledger, Option<String>)>;

    /// Saves `ledger` if the stored one is still at `version`; `false` when another
    /// writer changed it since.
    async fn save(&self, ledger: &Ledger, version: Option<String>) -> Result<bool>;
}

/// The ledger in one ConfigMap, written under its resourceVersion so two writers
/// never lose each other's entries.
pub struct ConfigMapLedger {
    api: Api<ConfigMap>,
    name: String,
}

const LEDGER_KEY: &str = "disbands";

impl ConfigMapLedger {
    pub fn new(client: Client, namespace: &str, name: &str) -> ConfigMapLedger {
        ConfigMapLedger {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
        }
    }

    fn error(&self, action: &str, e: kube::Error) -> Error {
        Error::kube(
            format!("{action} disband ledger ConfigMap {}", self.name),
            e,
        )
    }
}

#[async_trait]
impl LedgerStore for ConfigMapLedger {
    async fn load(&self) -> Result<(Ledger, Option<String>)> {
        let current = self.api.get_opt(&self.name).await;
        let current = current.map_err(|e| self.error("read", e))?;
        let ledger = current
            .as_ref()
            .and_then(|c| c.data.as_ref()?.get(LEDGER_KEY).map(|t| Ledger::decode(t)))
            .unwrap_or_default();
        Ok((ledger, current.and_then(|c| c.metadata.resource_version)))
    }

    async fn save(&self, ledger: &Ledger, version: Option<String>) -> Result<bool> {
        let saved = match version {
            // A merge patch under the version read: other fields of the ConfigMap stay.
            Some(version) => {
                let patch = serde_json::json!({
                    "metadata": {"resourceVersion": version},
                    "data": {LEDGER_KEY: ledger.encode()},
                });
                let params = PatchParams::default();
                self.api
                    .patch(&self.name, &params, &Patch::Merge(&patch))
                    .await
            }
            None => {
                let object = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..ObjectMeta::default()
                    },
                    data: Some([(LEDGER_KEY.to_string(), ledger.encode())].into()),
                    ..ConfigMap::default()
                };
                self.api.create(&PostParams::default(), &object).await
            }
        };
        match saved {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(self.error("write", e)),
        }
    }
}

/// Applies `change` to the stored ledger and saves it; retried when another writer
/// changed it in between. Returns what `change` returned.
async fn update<T>(
    store: &dyn LedgerStore,
    change: impl Fn(&Ledger) -> Result<(Ledger, T)>,
) -> Result<T> {
    for _ in 0..5 {
        let (ledger, version) = store.load().await?;
        let (next, answer) = change(&ledger)?;
        if store.save(&next, version).await? {
            return Ok(answer);
        }
    }
    Err(Error::Contended {
        object: "the disband ledger".to_string(),
    })
}

/// Disbands allowed per hour across the operator; unlimited when `per_hour` is `None`
/// (then nothing is stored).
pub struct DisbandGuard {
    per_hour: Option<NonZeroU32>,
    store: Option<Arc<dyn LedgerStore>>,
    /// One reservation at a time, so this replica never conflicts with itself.
    turn: tokio::sync::Mutex<()>,
}

/// A counted disband; [`give_back`](DisbandGuard::give_back) it if the provider did
/// not disband the group.
#[derive(Debug)]
pub struct Reservation {
    at: Option<Timestamp>,
}

impl DisbandGuard {
    pub fn new(per_hour: Option<NonZeroU32>, store: Option<Arc<dyn LedgerStore>>) -> Self {
        DisbandGuard {
            per_hour,
            store: per_hour.and(store),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    pub fn per_hour(&self) -> u32 {
        self.per_hour.map_or(0, NonZeroU32::get)
    }

    /// Counts one disband (stored before it returns), or fails with
    /// [`Error::DisbandBudgetExhausted`] for `group_id`.
    pub async fn reserve(&self, group_id: &str) -> Result<Reservation> {
        let (Some(limit), Some(store)) = (self.per_hour, &self.store) else {
            return Ok(Reservation { at: None });
        };
        let _turn = self.turn.lock().await;
        let now = Timestamp::now();
        update(store.as_ref(), |ledger| match ledger.reserve(limit, now) {
            Ok(next) => Ok((next, Reservation { at: Some(now) })),
            Err(wait) => Err(Error::DisbandBudgetExhausted {
                per_hour: limit.get(),
                group_id: group_id.to_string(),
                retry_in: wait,
            }),
        })
        .await
    }

    /// The provider did not disband the group: the reservation no longer counts. A
    /// failure to store that is logged; the entry then counts until it ages out.
    pub async fn give_back(&self, reservation: Reservation) {
        let (Some(at), Some(store)) = (reservation.at, &self.store) else {
            return;
        };
        let _turn = self.turn.lock().await;
        if let Err(error) = update(store.as_ref(), |l| Ok((l.give_back(at), ()))).await {
            tracing::warn!(%error, "could not give back a disband reservation");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn limit(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn the_disband_past_the_budget_waits_until_the_oldest_leaves_the_hour() {
        let mut ledger = Ledger::default();
        for s in [0, 10, 20] {
            ledger = ledger.reserve(limit(3), at(s)).expect("within budget");
        }
        let wait = ledger
            .reserve(limit(3), at(30))
            .expect_err("fourth in an hour");
        assert_eq!(wait, Duration::from_secs(3600 - 30));
        assert!(
            ledger.reserve(limit(3), at(3600)).is_ok(),
            "the first aged out"
        );
    }

    #[test]
    fn a_given_back_reservation_frees_its_place() {
        let ledger = Ledger::default().reserve(limit(1), at(0)).unwrap();
        assert!(ledger.reserve(limit(1), at(1)).is_err());
        let ledger = ledger.give_back(at(0));
        assert!(ledger.reserve(limit(1), at(1)).is_ok());
    }

    #[test]
    fn the_ledger_reads_back_what_it_wrote_and_skips_garbage() {
        let ledger = Ledger(vec![at(5), at(1)]);
        let text = format!("{}\nnot a time\n", ledger.encode());
        assert_eq!(Ledger::decode(&text), Ledger(vec![at(1), at(5)]));
    }
}
