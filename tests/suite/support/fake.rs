//! A tiny local HTTP server answering canned bodies, for answers the simulators never
//! give (undocumented shapes, 404 / 405). Records every request it receives.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
}

type Responder = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

#[derive(Clone)]
struct Shared {
    responder: Arc<Responder>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub struct Fake {
    pub base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    /// Starts on an ephemeral port of 127.0.0.1; `responder` gives status and body.
    pub async fn start(responder: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Fake {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            responder: Arc::new(responder),
            seen: seen.clone(),
        };
        let router = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Fake {
            base_url,
            seen,
            task,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests to paths ending with `suffix`.
    pub fn seen_to(&self, suffix: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.ends_with(suffix))
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let query = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let seen = Seen {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
        query,
    };
    shared.seen.lock().unwrap().push(seen.clone());
    let (status, body) = (shared.responder)(&seen);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "application/json")], body).into_response()
}

/// A NetEase envelope with `code` 200 around `data`.
pub fn netease_ok(data: serde_json::Value) -> (u16, String) {
    (
        200,
        serde_json::json!({"code": 200, "msg": "", "data": data}).to_string(),
    )
}
