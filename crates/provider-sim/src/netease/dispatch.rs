//! The request pipeline: route, faults, headers, trace-id dedup, rate limit, op.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::auth::check_headers;
use super::state::{err, Ctx, Input, NErr, NResult, NeteaseState, PARAM};
use super::{joined, managers, members, roster, teams, NeteaseInner};
use crate::core::{finish, now_ms, now_unix, transport_fault_code, Answer, Incoming};
use crate::faults::lock;
use crate::types::{FaultKind, RecordedCall};

const TRACE_HEADER: &str = "X-custom-traceid";
const RATE_LIMITED: i64 = 416;

type Op = fn(&mut NeteaseState, &Ctx, &Input) -> NResult;

/// How an op takes its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Params {
    Body,
    Query,
}

struct Route {
    name: &'static str,
    op: Op,
    params: Params,
    team_id: Option<String>,
    account_id: Option<String>,
}

/// Route table. Paths and methods: the official SDKs' URL contexts
/// (`team_v2_url_context.go`, `team_member_v2_url_context.go`) and seed 000
/// (v2 disband with a JSON body); v2 forms of the v2.1 calls per
/// `docs/providers/netease-yunxin.md` §1 ("v2 keeps working").
fn route(method: &str, path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let v2 = |v: &str| v == "v2" || v == "v2.1";
    let r = |name, op: Op, params, team_id: Option<&str>, account_id: Option<&str>| Route {
        name,
        op,
        params,
        team_id: team_id.map(str::to_string),
        account_id: account_id.map(str::to_string),
    };
    use Params::*;
    Some(match (method, segs.as_slice()) {
        ("POST", ["im", v, "teams"]) if v2(v) => r("create", teams::create, Body, None, None),
        ("GET", ["im", v, "teams"]) if v2(v) => r("batch_get", teams::batch_get, Query, None, None),
        ("GET", ["im", v, "teams", id]) if v2(v) => r("get", teams::get, Query, Some(id), None),
        ("PATCH", ["im", v, "teams", id]) if v2(v) => {
            r("update", teams::update, Body, Some(id), None)
        }
        ("DELETE", ["im", "v2", "teams", id]) => r("disband", teams::disband, Body, Some(id), None),
        ("DELETE", ["im", "v2.1", "teams", id]) => {
            r("disband", teams::disband, Query, Some(id), None)
        }
        ("PATCH", ["im", "v2", "teams", id, "actions", "transfer_owner"]) => r(
            "transfer_owner",
            teams::transfer_owner,
            Body,
            Some(id),
            None,
        ),
        ("POST", ["im", "v2", "teams", id, "actions", "add_manager"]) => {
            r("add_manager", managers::add_manager, Body, Some(id), None)
        }
        ("DELETE", ["im", "v2", "teams", id, "actions", "remove_manager"]) => r(
            "remove_manager",
            managers::remove_manager,
            Body,
            Some(id),
            None,
        ),
        ("GET", ["im", v, "team_members", acc, "actions", "joined_teams"]) if v2(v) => {
            r("joined_teams", joined::joined_teams, Query, None, Some(acc))
        }
        ("POST", ["im", "v2", "team_members"]) => r("invite", members::invite, Body, None, None),
        ("DELETE", ["im", "v2", "team_members", "actions", "kick_member"]) => {
            r("kick", members::kick, Query, None, None)
        }
        ("GET", ["im", "v2.1", "teams", id, "actions", "list_members"]) => {
            r("list_members", roster::list_members, Query, Some(id), None)
        }
        _ => return None,
    })
}

/// Methods the path is served with (empty: no such path).
fn allowed_methods(path: &str) -> Vec<&'static str> {
    ["GET", "POST", "PATCH", "DELETE"]
        .into_iter()
        .filter(|m| route(m, path).is_some())
        .collect()
}

pub(crate) async fn handle(State(sim): State<Arc<NeteaseInner>>, req: Request) -> Response {
    let req = Incoming::read(req).await;
    let route = route(req.method.as_str(), &req.path);
    let api = route.as_ref().map_or("unknown", |r| r.name);
    let mut call = req.call(api);
    call.trace_id = req.header(TRACE_HEADER).filter(|t| !t.is_empty());
    let decision = sim.core.faults.decide(api);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let (call, answer) = match (decision.fatal.clone(), route) {
        (Some(FaultKind::Code(code)), _) => reply(call, Err(err(code, "injected fault")), false),
        (Some(kind), _) if transport_fault_code(&kind).is_some() => {
            call.code = transport_fault_code(&kind).unwrap_or(0);
            (call, Answer::Transport(kind))
        }
        (_, None) => no_route(call, &req),
        (_, Some(route)) => match run(&sim, &req, &route, call.trace_id.as_deref()) {
            (Replay::Fresh(result), executed) => reply(call, result, executed),
            (Replay::Stored(body), _) => {
                call.code = body["code"].as_i64().unwrap_or(0);
                (call, Answer::Body(json_response(body)))
            }
        },
    };
    let answer = match answer {
        Answer::Body(response) => Answer::Body(with_trace(response, &req)),
        other => other,
    };
    finish(&sim.core, call, answer, &decision, &req).await
}

/// An unknown path is HTTP 404; a known path with another method is HTTP 405
/// with `Allow`. What the real gateway answers is unconfirmed.
fn no_route(mut call: RecordedCall, req: &Incoming) -> (RecordedCall, Answer) {
    let allowed = allowed_methods(&req.path);
    let response = if allowed.is_empty() {
        call.code = 404;
        (StatusCode::NOT_FOUND, "no such API").into_response()
    } else {
        call.code = 405;
        let allow = allowed.join(", ");
        (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, allow)],
            "method not allowed",
        )
            .into_response()
    };
    (call, Answer::Body(response))
}

enum Replay {
    Fresh(NResult),
    /// The stored answer to an earlier request with the same trace id.
    Stored(Value),
}

fn run(sim: &NeteaseInner, req: &Incoming, route: &Route, trace: Option<&str>) -> (Replay, bool) {
    let cfg = &sim.config;
    let now = now_unix();
    if let Err(e) = check_headers(
        req,
        &cfg.app_key,
        &cfg.app_secret,
        cfg.curtime_window_secs,
        now,
    ) {
        return (Replay::Fresh(Err(e)), false);
    }
    if let Some(stored) = trace.and_then(|t| lock(&sim.seen).get(t).cloned()) {
        return (Replay::Stored(stored), false);
    }
    if !sim.core.limits.try_acquire(route.name) {
        return (
            Replay::Fresh(Err(err(
                RATE_LIMITED,
                "frequency control: too many requests",
            ))),
            false,
        );
    }
    let input = match parse_input(req, route) {
        Ok(input) => input,
        Err(e) => return (Replay::Fresh(Err(e)), false),
    };
    let accounts = cfg
        .accounts
        .as_ref()
        .map(|a| a.iter().cloned().collect::<HashSet<_>>());
    let ctx = Ctx {
        accounts,
        now_ms: now_ms(),
        joined_order: *lock(&sim.joined_order),
        member_paging: *lock(&sim.member_paging),
        manager_limit: *lock(&sim.manager_limit),
    };
    let result = (route.op)(&mut lock(&sim.state), &ctx, &input);
    if let Some(t) = trace {
        lock(&sim.seen).insert(t.to_string(), envelope(&result));
    }
    (Replay::Fresh(result), true)
}

fn parse_input(req: &Incoming, route: &Route) -> Result<Input, NErr> {
    let params = match route.params {
        Params::Query => url::form_urlencoded::parse(req.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect::<Map<String, Value>>(),
        Params::Body => match req.json() {
            Ok(Value::Object(map)) => map,
            _ => return Err(err(PARAM, "request body is not a valid JSON object")),
        },
    };
    Ok(Input {
        team_id: route.team_id.clone(),
        account_id: route.account_id.clone(),
        params,
        from_body: route.params == Params::Body,
    })
}

fn envelope(result: &NResult) -> Value {
    match result {
        Ok(data) => json!({"code": 200, "msg": "success", "data": data}),
        Err(e) => json!({"code": e.code, "msg": e.msg, "data": {}}),
    }
}

fn reply(mut call: RecordedCall, result: NResult, executed: bool) -> (RecordedCall, Answer) {
    let body = envelope(&result);
    call.code = body["code"].as_i64().unwrap_or(0);
    call.executed = executed;
    (call, Answer::Body(json_response(body)))
}

fn json_response(body: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// Echoes the caller's trace id so a log line can be matched to the request.
fn with_trace(mut response: Response, req: &Incoming) -> Response {
    if let Some(v) = req
        .header(TRACE_HEADER)
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        response.headers_mut().insert(TRACE_HEADER, v);
    }
    response
}
