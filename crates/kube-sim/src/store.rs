//! Objects, the cluster-wide resourceVersion, and the event history watches resume from.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::registry::Registry;

/// A watch event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, kept in the history and sent to open watches.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: EventType,
    /// The resource id, `group/plural`.
    pub res: String,
    pub ns: String,
    pub object: Value,
    /// The object before a modification (so selector watches can send DELETED).
    pub old: Option<Value>,
}

/// What open watches receive.
#[derive(Clone, Debug)]
pub enum Msg {
    Event(Arc<Event>),
    /// Ends every open watch (a fault, a compaction or shutdown).
    Close,
}

/// The resourceVersion asked for is older than the kept history.
#[derive(Debug)]
pub struct TooOld;

type Objects = BTreeMap<(String, String), Value>;

/// Everything the server knows, behind one lock.
pub struct Store {
    pub registry: Registry,
    objects: BTreeMap<String, Objects>,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    /// Watches from a resourceVersion below this get 410 Gone.
    oldest_resumable: u64,
    limit: usize,
    tx: broadcast::Sender<Msg>,
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(16_384);
        Store {
            registry: Registry::default(),
            objects: BTreeMap::new(),
            rv: 1,
            history: VecDeque::new(),
            oldest_resumable: 0,
            limit: history_limit.max(1),
            tx,
        }
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, res: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(res)
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
    }

    /// Objects of `res`, in namespace `ns` or everywhere, sorted by namespace and name.
    pub fn list(&self, res: &str, ns: Option<&str>) -> Vec<Value> {
        let Some(m) = self.objects.get(res) else {
            return Vec::new();
        };
        m.iter()
            .filter(|((o_ns, _), _)| ns.is_none_or(|n| n == o_ns))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether any object of any served resource lives in namespace `ns`
    /// (objects left stored by a CRD removed by hand are not served).
    pub fn namespace_is_empty(&self, ns: &str) -> bool {
        !self
            .objects
            .iter()
            .filter(|(res, _)| self.registry.serves(res))
            .any(|(_, m)| m.keys().any(|(o_ns, _)| o_ns == ns))
    }

    /// Stores `obj` under a new resourceVersion and tells the watches.
    pub fn put(&mut self, res: &str, kind: EventType, mut obj: Value, old: Option<Value>) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let (ns, name) = key_of(&obj);
        self.objects
            .entry(res.to_string())
            .or_default()
            .insert((ns.clone(), name), obj.clone());
        self.emit(res, kind, ns, obj.clone(), old);
        obj
    }

    /// Removes an object; the DELETED event carries a new resourceVersion.
    pub fn remove(&mut self, res: &str, ns: &str, name: &str) -> Option<Value> {
        let mut obj = self
            .objects
            .get_mut(res)?
            .remove(&(ns.to_string(), name.to_string()))?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.emit(res, EventType::Deleted, ns.to_string(), obj.clone(), None);
        Some(obj)
    }

    /// Removes the stored object; the DELETED event carries `last` (its final state).
    pub fn remove_as(&mut self, res: &str, mut last: Value) -> Value {
        let (ns, name) = key_of(&last);
        if let Some(m) = self.objects.get_mut(res) {
            m.remove(&(ns.clone(), name));
        }
        self.rv += 1;
        last["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.emit(res, EventType::Deleted, ns, last.clone(), None);
        last
    }

    fn emit(&mut self, res: &str, kind: EventType, ns: String, object: Value, old: Option<Value>) {
        let ev = Arc::new(Event {
            rv: self.rv,
            kind,
            res: res.to_string(),
            ns,
            object,
            old,
        });
        self.history.push_back(ev.clone());
        while self.history.len() > self.limit {
            if let Some(dropped) = self.history.pop_front() {
                self.oldest_resumable = dropped.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(Msg::Event(ev));
    }

    /// History after `rv` plus a receiver for what follows, with no gap between them.
    pub fn subscribe_from(
        &self,
        rv: u64,
    ) -> Result<(Vec<Arc<Event>>, broadcast::Receiver<Msg>), TooOld> {
        if rv < self.oldest_resumable {
            return Err(TooOld);
        }
        let past = self.history.iter().filter(|e| e.rv > rv).cloned().collect();
        Ok((past, self.tx.subscribe()))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Msg> {
        self.tx.subscribe()
    }

    /// Forgets the history: watches from any resourceVersion seen so far get 410.
    pub fn compact(&mut self) {
        self.history.clear();
        self.rv += 1;
        self.oldest_resumable = self.rv;
        self.close_watches();
    }

    pub fn close_watches(&self) {
        let _ = self.tx.send(Msg::Close);
    }
}

/// `(namespace, name)` of an object ("" namespace for cluster-scoped).
pub fn key_of(obj: &Value) -> (String, String) {
    let meta = &obj["metadata"];
    let s = |k: &str| meta[k].as_str().unwrap_or("").to_string();
    (s("namespace"), s("name"))
}
