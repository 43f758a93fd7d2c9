//! The events one watch stream holds back for a watch-event fault. Each
//! object's events leave in the order they happened; an object's events
//! queue behind its held ones even when they are not held themselves.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use tokio::time::Instant;

use crate::faults::WatchHold;
use crate::store::{key_of, Event, EventType};

struct Entry {
    key: (String, String),
    due: Instant,
    kind: EventType,
    ev: Arc<Event>,
}

/// What becomes of an event the stream would send.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admit {
    /// Send it now.
    Now,
    /// Queued; [`Held::take_due`] hands it back when it is due.
    Later,
    /// Never sent.
    Dropped,
}

#[derive(Default)]
pub(super) struct Held {
    queue: VecDeque<Entry>,
}

impl Held {
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Decides, and queues, an event held back by `hold` (None: not held).
    pub fn admit(
        &mut self,
        ev: &Arc<Event>,
        kind: EventType,
        hold: Option<WatchHold>,
        now: Instant,
    ) -> Admit {
        let key = key_of(&ev.object);
        let due = match hold {
            Some(WatchHold::Drop) => return Admit::Dropped,
            Some(WatchHold::Delay(d)) => now + d,
            None if self.queue.iter().any(|e| e.key == key) => now,
            None => return Admit::Now,
        };
        self.queue.push_back(Entry {
            key,
            due,
            kind,
            ev: ev.clone(),
        });
        Admit::Later
    }

    /// Events no hold applies to any more are due now.
    pub fn release(&mut self, still_held: impl Fn(&Event) -> bool, now: Instant) {
        for e in self.queue.iter_mut().filter(|e| !still_held(&e.ev)) {
            e.due = e.due.min(now);
        }
    }

    /// Removes and returns, in order, the events that are due and have no
    /// earlier event of the same object still waiting.
    pub fn take_due(&mut self, now: Instant) -> Vec<(EventType, Arc<Event>)> {
        let mut blocked = HashSet::new();
        let mut out = Vec::new();
        let mut keep = VecDeque::new();
        for e in self.queue.drain(..) {
            if !blocked.contains(&e.key) && e.due <= now {
                out.push((e.kind, e.ev));
            } else {
                blocked.insert(e.key.clone());
                keep.push_back(e);
            }
        }
        self.queue = keep;
        out
    }

    /// When the next event can leave, if any is waiting.
    pub fn next_due(&self) -> Option<Instant> {
        let mut seen = HashSet::new();
        self.queue
            .iter()
            .filter(|e| seen.insert(e.key.clone()))
            .map(|e| e.due)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn ev(rv: u64, name: &str) -> Arc<Event> {
        Arc::new(Event {
            rv,
            kind: EventType::Modified,
            res: "/configmaps".into(),
            ns: "default".into(),
            object: json!({ "metadata": { "namespace": "default", "name": name } }),
            old: None,
        })
    }

    fn rvs(taken: Vec<(EventType, Arc<Event>)>) -> Vec<u64> {
        taken.into_iter().map(|(_, e)| e.rv).collect()
    }

    #[test]
    fn an_objects_events_stay_in_order_behind_its_held_ones() {
        let (mut held, t0) = (Held::default(), Instant::now());
        let delay = Some(WatchHold::Delay(Duration::from_secs(10)));
        assert_eq!(
            held.admit(&ev(1, "a"), EventType::Modified, delay, t0),
            Admit::Later
        );
        assert_eq!(
            held.admit(&ev(2, "b"), EventType::Modified, None, t0),
            Admit::Now
        );
        assert_eq!(
            held.admit(&ev(3, "a"), EventType::Modified, None, t0),
            Admit::Later
        );
        assert!(held.take_due(t0).is_empty(), "rv 3 waits behind rv 1");
        assert_eq!(held.next_due(), Some(t0 + Duration::from_secs(10)));
        assert_eq!(rvs(held.take_due(t0 + Duration::from_secs(10))), [1, 3]);
        assert!(held.is_empty());
    }

    #[test]
    fn dropped_events_are_gone_and_released_ones_are_due_at_once() {
        let (mut held, t0) = (Held::default(), Instant::now());
        let hour = Some(WatchHold::Delay(Duration::from_secs(3600)));
        let drop = Some(WatchHold::Drop);
        assert_eq!(
            held.admit(&ev(1, "a"), EventType::Modified, drop, t0),
            Admit::Dropped
        );
        held.admit(&ev(2, "a"), EventType::Modified, hour, t0);
        held.admit(&ev(3, "b"), EventType::Modified, hour, t0);
        held.release(|e| e.rv == 3, t0);
        assert_eq!(rvs(held.take_due(t0)), [2]);
        assert_eq!(held.next_due(), Some(t0 + Duration::from_secs(3600)));
    }
}
