//! Helpers shared by the kube-sim integration tests: a raw HTTP client and a
//! test CRD (`widgets.test.kube-sim.dev`).
#![allow(dead_code)]

use std::time::Duration;

use kube_sim::KubeSim;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const WIDGETS: &str = "/apis/test.kube-sim.dev/v1/namespaces/default/widgets";
pub const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
pub const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// A raw HTTP client against one simulator.
pub struct Raw {
    pub base: String,
    pub http: reqwest::Client,
}

/// One answer: status code, JSON body (Null when not JSON) and headers.
pub struct Answer {
    pub code: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    pub fn warnings(&self) -> Vec<String> {
        self.headers
            .get_all("warning")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect()
    }
}

impl Raw {
    pub fn new(sim: &KubeSim) -> Raw {
        Raw {
            base: sim.url(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("http client"),
        }
    }

    pub async fn send(&self, method: Method, path: &str, ctype: &str, body: Vec<u8>) -> Answer {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if !ctype.is_empty() {
            req = req.header(CONTENT_TYPE, ctype).body(body);
        }
        let resp = req.send().await.expect("request reaches the simulator");
        let code = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            code,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, "", Vec::new()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(
            Method::POST,
            path,
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(
            Method::PUT,
            path,
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn patch(&self, path: &str, ctype: &str, body: &Value) -> Answer {
        self.send(Method::PATCH, path, ctype, body.to_string().into_bytes())
            .await
    }

    pub async fn merge(&self, path: &str, body: &Value) -> Answer {
        self.patch(path, "application/merge-patch+json", body).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, "", Vec::new()).await
    }
}

/// The test CRD: namespaced `Widget` with a status subresource, printer
/// columns, a short name and a category.
pub fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "widgets.test.kube-sim.dev" },
        "spec": {
            "group": "test.kube-sim.dev",
            "scope": "Namespaced",
            "names": {
                "plural": "widgets", "singular": "widget", "kind": "Widget",
                "shortNames": ["wd"], "categories": ["all"]
            },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": { "status": {} },
                "additionalPrinterColumns": [
                    { "name": "Size", "type": "integer", "jsonPath": ".spec.size" },
                    { "name": "Ready", "type": "string",
                      "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status" },
                    { "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp" }
                ],
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "description": "What the widget should be.",
                            "properties": {
                                "size": { "type": "integer", "description": "How big the widget is." },
                                "color": { "type": "string" }
                            }
                        },
                        "status": {
                            "type": "object",
                            "properties": {
                                "phase": { "type": "string" },
                                "conditions": { "type": "array", "items": {
                                    "type": "object",
                                    "properties": {
                                        "type": { "type": "string" },
                                        "status": { "type": "string" }
                                    }
                                }}
                            }
                        }
                    }
                }}
            }]
        }
    })
}

pub fn widget(name: &str, size: i64) -> Value {
    json!({
        "apiVersion": "test.kube-sim.dev/v1",
        "kind": "Widget",
        "metadata": { "name": name },
        "spec": { "size": size }
    })
}

pub fn configmap(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": name, "labels": labels },
        "data": { "k": "v" }
    })
}

/// Starts a simulator with the widget CRD installed.
pub async fn with_widgets() -> (KubeSim, Raw) {
    let sim = KubeSim::start().await.expect("simulator starts");
    let raw = Raw::new(&sim);
    let a = raw.post(CRDS, &widget_crd()).await;
    assert_eq!(a.code, 201, "CRD create: {}", a.body);
    (sim, raw)
}

pub fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("resourceVersion is a number in a string")
}

/// Reads newline-delimited watch events from an open response.
pub struct Watch {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Watch {
    pub async fn open(raw: &Raw, path: &str) -> Watch {
        let resp = raw
            .http
            .get(format!("{}{}", raw.base, path))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .expect("watch opens");
        assert_eq!(resp.status(), 200, "watch {path}");
        Watch {
            resp,
            buf: Vec::new(),
        }
    }

    /// The next event, or None when the stream ended or nothing came within 5 s.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(Duration::from_secs(5)).await
    }

    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(serde_json::from_slice(&line).expect("each line is JSON"));
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?;
            match chunk {
                Ok(Some(c)) => self.buf.extend_from_slice(&c),
                _ => return None,
            }
        }
    }

    /// Whether the server ended the stream within `wait`.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Err(_) => return false,
                Ok(Ok(Some(c))) => self.buf.extend_from_slice(&c),
                Ok(_) => return true,
            }
        }
    }
}

pub fn event_summary(ev: &Value) -> (String, String) {
    (
        ev["type"].as_str().unwrap_or("").to_string(),
        ev["object"]["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}
