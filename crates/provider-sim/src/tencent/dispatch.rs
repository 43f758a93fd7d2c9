//! The request pipeline: faults, path, signature, rate limit, body, command.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::state::{err, Ctx, TErr, TResult, TencentState};
use super::usersig::verify_usersig;
use super::{groups, info, members, presets, roles, TencentInner};
use crate::core::{finish, now_unix, transport_fault_code, Answer, Incoming};
use crate::faults::lock;
use crate::types::{FaultKind, RecordedCall};

const BAD_URL: i64 = 60002;
const BAD_JSON: i64 = 60003;
const BAD_APP: i64 = 60006;
const WRONG_SERVICE: i64 = 60008;
const NOT_ADMIN: i64 = 60010;
const BAD_COMMAND: i64 = 10003;
const SERVICE: &str = "group_open_http_svc";

type Command = fn(&mut TencentState, &Ctx, &Map<String, Value>) -> TResult;

fn command(name: &str) -> Option<Command> {
    Some(match name {
        "create_group" => groups::create_group,
        "get_group_info" => info::get_group_info,
        "modify_group_base_info" => groups::modify_group_base_info,
        "change_group_owner" => groups::change_group_owner,
        "destroy_group" => groups::destroy_group,
        "add_group_member" => members::add_group_member,
        "delete_group_member" => members::delete_group_member,
        "get_role_in_group" => roles::get_role_in_group,
        "modify_group_member_info" => roles::modify_group_member_info,
        "get_group_member_info" => roles::get_group_member_info,
        "get_joined_group_list" => members::get_joined_group_list,
        "get_appid_group_list" => members::get_appid_group_list,
        _ => return None,
    })
}

/// `/v4/{service}/{command}` → (service, command).
fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v4/")?;
    let (service, cmd) = rest.split_once('/')?;
    (!cmd.is_empty() && !cmd.contains('/')).then_some((service, cmd))
}

pub(crate) async fn handle(State(sim): State<Arc<TencentInner>>, req: Request) -> Response {
    let req = Incoming::read(req).await;
    let api = split_path(&req.path)
        .map_or("unknown", |(_, cmd)| cmd)
        .to_string();
    let call = req.call(&api);
    let decision = sim.core.faults.decide(&api);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let (call, answer) = match decision.fatal.clone() {
        Some(FaultKind::Code(code)) => {
            let injected = err(code, presets::injected_info(code));
            reply(call, Err(injected), false)
        }
        Some(kind) if transport_fault_code(&kind).is_some() => {
            let mut call = call;
            call.code = transport_fault_code(&kind).unwrap_or(0);
            (call, Answer::Transport(kind))
        }
        _ => {
            let outcome = run(&sim, &req, &api);
            reply(call, outcome.result, outcome.executed)
        }
    };
    finish(&sim.core, call, answer, &decision, &req).await
}

struct Outcome {
    result: TResult,
    executed: bool,
}

fn rejected(code: i64, info: &str) -> Outcome {
    Outcome {
        result: Err(err(code, info)),
        executed: false,
    }
}

fn run(sim: &TencentInner, req: &Incoming, api: &str) -> Outcome {
    let Some((service, name)) = split_path(&req.path) else {
        return rejected(WRONG_SERVICE, "unknown service path");
    };
    if service != SERVICE || req.method != axum::http::Method::POST {
        return rejected(WRONG_SERVICE, "unknown service path or method");
    }
    let Some(cmd) = command(name) else {
        return rejected(BAD_COMMAND, "invalid command");
    };
    let ctx = match authenticate(sim, req) {
        Ok(ctx) => ctx,
        Err(e) => {
            return Outcome {
                result: Err(e),
                executed: false,
            }
        }
    };
    if !sim.core.limits.try_acquire(api) {
        return rejected(
            sim.config.rate_limit_code,
            "REST API call frequency exceeded",
        );
    }
    let body = match req.json() {
        Ok(Value::Object(map)) => map,
        _ => return rejected(BAD_JSON, "request body is not a valid JSON object"),
    };
    let mut state = lock(&sim.state);
    Outcome {
        result: cmd(&mut state, &ctx, &body),
        executed: true,
    }
}

/// `random` (an unsigned 32-bit integer) and `contenttype=json` are required
/// in every request URL. The code the service answers when they are wrong is
/// unconfirmed; the simulator answers 60002 (URL parse error).
fn check_url_params(req: &Incoming) -> Result<(), TErr> {
    let random = req.query_param("random").unwrap_or_default();
    let digits = !random.is_empty() && random.bytes().all(|b| b.is_ascii_digit());
    if !digits || random.parse::<u32>().is_err() {
        return Err(err(
            BAD_URL,
            "random must be an unsigned 32-bit integer (0..=4294967295)",
        ));
    }
    if req.query_param("contenttype").as_deref() != Some("json") {
        return Err(err(BAD_URL, "contenttype must be json"));
    }
    Ok(())
}

fn authenticate(sim: &TencentInner, req: &Incoming) -> Result<Ctx, TErr> {
    let cfg = &sim.config;
    let app = req
        .query_param("sdkappid")
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| err(BAD_URL, "sdkappid is missing or not a number"))?;
    check_url_params(req)?;
    if app != cfg.sdk_app_id {
        return Err(err(BAD_APP, "invalid SDKAppID"));
    }
    let identifier = req
        .query_param("identifier")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err(BAD_URL, "identifier is missing"))?;
    let usersig = req.query_param("usersig").unwrap_or_default();
    let now = now_unix();
    verify_usersig(&cfg.secret_key, app, &identifier, &usersig, now)
        .map_err(|code| err(code, "UserSig verification failed"))?;
    if !cfg.admins.contains(&identifier) {
        return Err(err(NOT_ADMIN, "identifier is not an App admin"));
    }
    let accounts = cfg
        .accounts
        .as_ref()
        .map(|a| a.iter().cloned().collect::<HashSet<_>>());
    Ok(Ctx {
        identifier,
        accounts,
        now,
        unknown_member_answer: cfg.unknown_member_answer,
        pending_on_need_permission: cfg.pending_on_need_permission,
        member_cursor: cfg.member_cursor,
    })
}

/// The envelope for `result`, and the call-log entry that goes with it.
fn reply(mut call: RecordedCall, result: TResult, executed: bool) -> (RecordedCall, Answer) {
    let mut body = match result {
        Ok(fields) => {
            let mut m = Map::new();
            m.insert("ActionStatus".into(), json!("OK"));
            m.insert("ErrorCode".into(), json!(0));
            m.insert("ErrorInfo".into(), json!(""));
            m.extend(fields);
            m
        }
        Err(e) => {
            let mut m = Map::new();
            m.insert("ActionStatus".into(), json!("FAIL"));
            m.insert("ErrorCode".into(), json!(e.code));
            m.insert("ErrorInfo".into(), json!(e.info));
            m
        }
    };
    body.insert("RequestId".into(), json!(uuid::Uuid::new_v4().to_string()));
    call.code = body.get("ErrorCode").and_then(Value::as_i64).unwrap_or(0);
    call.executed = executed;
    let response = (
        [(header::CONTENT_TYPE, "application/json")],
        Value::Object(body).to_string(),
    )
        .into_response();
    (call, Answer::Body(response))
}
