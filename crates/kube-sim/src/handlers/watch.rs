//! WATCH: newline-delimited events from a resourceVersion, initial ADDED events
//! or streaming-list initial events, bookmarks, timeouts, 410 Gone, and faults
//! (including events held back for chosen objects).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Response};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{sleep_until, Instant};

use super::held::{Admit, Held};
use super::read::selector;
use super::{Req, Shared};
use crate::faults::{hold_for, HoldRules};
use crate::request::flag;
use crate::selectors::Selector;
use crate::status::ApiError;
use crate::store::{Event, EventType, Msg};
use crate::table::{self, Include};

const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

/// What one watch stream sends, fixed when it opens.
struct Plan {
    req: Req,
    sel: Selector,
    table: bool,
    metadata_only: bool,
    bookmarks: bool,
    deadline: Option<Instant>,
    max_events: Option<usize>,
    /// Watch-event holds, followed as they change.
    holds: tokio::sync::watch::Receiver<HoldRules>,
}

pub(super) fn watch(shared: &Shared, req: Req) -> Response<Body> {
    match open(shared, req) {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

/// The stream's settings, the resourceVersion asked for, and whether initial
/// events come first.
fn plan(shared: &Shared, mut req: Req) -> Result<(Plan, String, bool), ApiError> {
    let mut sel = selector(&req)?;
    if let Some(name) = req.target.name.take() {
        // A watch on one object is a watch filtered to its name.
        let labels = req.query.get("labelSelector").map(String::as_str);
        sel = Selector::parse(labels, Some(&format!("metadata.name={name}")))
            .map_err(ApiError::bad_request)?;
    }
    let faults = shared.faults.snapshot();
    let q = |k: &str| req.query.get(k).map(String::as_str);
    let timeout = q("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let limit = [timeout, faults.watch_duration].into_iter().flatten().min();
    let rv_param = q("resourceVersion").unwrap_or("").to_string();
    let send_initial = match q("sendInitialEvents") {
        Some("true") => true,
        Some("false") => false,
        _ => rv_param.is_empty() || rv_param == "0",
    };
    let plan = Plan {
        table: table::wants_table(&req.header(header::ACCEPT)),
        metadata_only: table::wants_metadata(&req.header(header::ACCEPT)),
        bookmarks: flag(&req.query, "allowWatchBookmarks"),
        deadline: limit.map(|d| Instant::now() + d),
        max_events: faults.watch_events,
        holds: shared.faults.holds(),
        sel,
        req,
    };
    Ok((plan, rv_param, send_initial))
}

fn open(shared: &Shared, req: Req) -> Result<Response<Body>, ApiError> {
    let (plan, rv_param, send_initial) = plan(shared, req)?;
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let st = shared.lock();
    if send_initial {
        let initial: Vec<Value> = st
            .list(&plan.req.r.id(), plan.req.target.namespace.as_deref())
            .into_iter()
            .filter(|o| plan.sel.matches(o))
            .collect();
        let (sub, rv) = (st.subscribe(), st.current_rv());
        drop(st);
        tokio::spawn(run(plan, tx, Start::Initial(initial, rv), sub));
        return Ok(stream_response(rx));
    }
    let from = match rv_param.as_str() {
        // sendInitialEvents=false without a version: changes from now on.
        "" | "0" => st.current_rv(),
        v => v
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {v}")))?,
    };
    match st.subscribe_from(from) {
        Ok((past, sub)) => {
            drop(st);
            tokio::spawn(run(plan, tx, Start::Resume(past), sub));
        }
        Err(_) => {
            let current = st.current_rv();
            drop(st);
            let err = ApiError::gone(format!("too old resource version: {from} ({current})"));
            let line = line("ERROR", err.to_status());
            tokio::spawn(async move { tx.send(line).await });
        }
    }
    Ok(stream_response(rx))
}

enum Start {
    Initial(Vec<Value>, u64),
    Resume(Vec<Arc<Event>>),
}

fn stream_response(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn line(kind: &str, object: Value) -> Bytes {
    let mut s = json!({ "type": kind, "object": object }).to_string();
    s.push('\n');
    Bytes::from(s)
}

/// Sends events until the client goes, a limit is reached or watches are closed.
struct Sender {
    plan: Plan,
    tx: mpsc::Sender<Bytes>,
    sent: usize,
    last_rv: u64,
    held: Held,
}

impl Sender {
    /// False once the stream must end.
    async fn event(&mut self, kind: EventType, obj: &Value) -> bool {
        let obj = self.plan.req.present(obj.clone());
        let body = if self.plan.table {
            let meta = json!({ "resourceVersion": obj["metadata"]["resourceVersion"] });
            table::table(
                &self.plan.req.version,
                &[obj],
                meta,
                Include::Metadata,
                self.sent == 0,
            )
        } else if self.plan.metadata_only {
            table::partial(&obj)
        } else {
            obj
        };
        if self.tx.send(line(kind.as_str(), body)).await.is_err() {
            return false;
        }
        self.sent += 1;
        self.plan.max_events.is_none_or(|n| self.sent < n)
    }

    /// A bookmark promises every event up to its resourceVersion was sent, so
    /// none goes out while events are held back.
    async fn bookmark(&mut self, initial_end: bool) -> bool {
        if !self.plan.bookmarks || (!initial_end && !self.held.is_empty()) {
            return !self.tx.is_closed();
        }
        let mut meta = json!({ "resourceVersion": self.last_rv.to_string() });
        if initial_end {
            meta["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        let obj = json!({
            "kind": self.plan.req.r.kind,
            "apiVersion": self.plan.req.r.api_version(&self.plan.req.version.name),
            "metadata": meta,
        });
        self.tx.send(line("BOOKMARK", obj)).await.is_ok()
    }

    /// The event as this watch sees it, if at all (resource, namespace, selectors).
    fn translate(&self, ev: &Event) -> Option<EventType> {
        let req = &self.plan.req;
        if ev.res != req.r.id() || ev.rv <= self.last_rv {
            return None;
        }
        if req
            .target
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != ev.ns)
        {
            return None;
        }
        let now = self.plan.sel.matches(&ev.object);
        let before = ev.old.as_ref().is_some_and(|o| self.plan.sel.matches(o));
        match (ev.kind, before, now) {
            (EventType::Modified, true, false) => Some(EventType::Deleted),
            (EventType::Modified, false, true) => Some(EventType::Added),
            (_, _, true) => Some(ev.kind),
            _ => None,
        }
    }

    async fn deliver(&mut self, ev: &Arc<Event>) -> bool {
        let Some(kind) = self.translate(ev) else {
            return true;
        };
        self.last_rv = ev.rv;
        let hold = hold_for(&self.plan.holds.borrow(), &self.plan.req.r.kind, &ev.object);
        match self.held.admit(ev, kind, hold, Instant::now()) {
            Admit::Now => self.event(kind, &ev.object).await,
            Admit::Later | Admit::Dropped => true,
        }
    }

    /// Sends the held-back events that are due.
    async fn send_due(&mut self) -> bool {
        for (kind, ev) in self.held.take_due(Instant::now()) {
            if !self.event(kind, &ev.object).await {
                return false;
            }
        }
        true
    }

    /// Holds changed: events no hold applies to any more go out now.
    async fn holds_changed(&mut self) -> bool {
        let rules = self.plan.holds.borrow_and_update().clone();
        let kind = &self.plan.req.r.kind;
        self.held.release(
            |e| hold_for(&rules, kind, &e.object).is_some(),
            Instant::now(),
        );
        self.send_due().await
    }
}

async fn run(plan: Plan, tx: mpsc::Sender<Bytes>, start: Start, mut sub: broadcast::Receiver<Msg>) {
    let deadline = plan.deadline;
    let mut s = Sender {
        plan,
        tx,
        sent: 0,
        last_rv: 0,
        held: Held::default(),
    };
    let ok = match start {
        Start::Initial(objects, rv) => initial(&mut s, objects, rv).await,
        Start::Resume(past) => {
            let mut ok = true;
            for ev in past {
                ok = ok && s.deliver(&ev).await;
            }
            ok
        }
    };
    if !ok {
        return;
    }
    let far = Instant::now() + Duration::from_secs(365 * 86_400);
    let end = sleep_until(deadline.unwrap_or(far));
    tokio::pin!(end);
    let mut tick = tokio::time::interval_at(Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
    loop {
        let due = sleep_until(s.held.next_due().unwrap_or(far));
        let more = tokio::select! {
            _ = &mut end => false,
            _ = s.tx.closed() => false,
            _ = tick.tick() => s.bookmark(false).await,
            _ = due => s.send_due().await,
            changed = s.plan.holds.changed() => changed.is_ok() && s.holds_changed().await,
            msg = sub.recv() => match msg {
                Ok(Msg::Event(ev)) => s.deliver(&ev).await,
                // Closed, lagged or told to stop: the client resumes from its last resourceVersion.
                _ => false,
            },
        };
        if !more {
            return;
        }
    }
}

async fn initial(s: &mut Sender, objects: Vec<Value>, rv: u64) -> bool {
    for o in &objects {
        if !s.event(EventType::Added, o).await {
            return false;
        }
    }
    s.last_rv = rv;
    let streaming = flag(&s.plan.req.query, "sendInitialEvents");
    if streaming {
        return s.bookmark(true).await;
    }
    true
}
