//! Member calls of the Tencent client against its simulator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatgroup_operator::provider::{
    FailureClass, GroupKey, GroupProvider, GroupType, MemberRole, ProviderKind, RateBudget,
    RateConfig, Secret, TencentClient, TencentConfig, TencentEndpoint, WriteGate,
};
use provider_sim::tencent::{MemberCursor, UnknownMemberAnswer, SAMPLE_SECRET_KEY};
use provider_sim::{SimGroup, TencentSim, TencentSimConfig};
use serde_json::{json, Value};

use crate::fake::Fake;
use crate::tencent_support;
use tencent_support::*;

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:04}")).collect()
}

/// A group of `group_type` owned by "owner" with `members` besides the owner.
fn group(sim: &TencentSim, id: &str, group_type: &str, max: u32, members: &[String]) {
    let mut all = vec!["owner".to_string()];
    all.extend(members.iter().cloned());
    sim.insert_group(SimGroup {
        id: id.into(),
        group_type: group_type.into(),
        name: "team".into(),
        owner: Some("owner".into()),
        max_members: max,
        join_option: "NeedPermission".into(),
        members: all,
        ..Default::default()
    });
}

fn roles(sim: &TencentSim, id: &str) -> Vec<(String, String)> {
    sim.member_roles(id).into_iter().collect()
}

/// The accounts sent in each add_group_member call.
fn add_batches(sim: &TencentSim) -> Vec<Vec<String>> {
    sim.calls_to("add_group_member")
        .iter()
        .map(|c| {
            c.body["MemberList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["Member_Account"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

async fn sim_with(config: TencentSimConfig) -> (TencentSim, TencentClient) {
    start_with(
        TencentSimConfig {
            rate_limit_per_api: 10_000,
            ..config
        },
        |c| {
            c.rate = RateConfig {
                requests_per_second: 10_000,
                burst: 100,
            }
        },
    )
    .await
}

#[tokio::test]
async fn forty_five_members_are_added_in_three_calls_of_at_most_twenty() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    group(&sim, "g", "Public", 200, &[]);
    let accounts = names("u", 45);
    let write = client
        .add_members(&key("g", GroupType::Public), &accounts)
        .await
        .expect("added");
    assert_eq!(write, Default::default(), "nothing refused or pending");
    let batches = add_batches(&sim);
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [20, 20, 5]
    );
    assert_eq!(batches.concat(), accounts, "every account once, in order");
    assert_eq!(sim.group("g").unwrap().members.len(), 46);
}

#[tokio::test]
async fn already_members_count_as_added() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    group(&sim, "g", "Public", 200, &names("u", 3));
    let write = client
        .add_members(&key("g", GroupType::Public), &names("u", 4))
        .await
        .expect("added");
    assert_eq!(write, Default::default());
    assert_eq!(sim.group("g").unwrap().members.len(), 5);
}

/// A simulator that knows every account of `known` (plus the owner and the admin).
fn knowing(known: &[String], answer: UnknownMemberAnswer) -> TencentSimConfig {
    let mut accounts = known.to_vec();
    accounts.extend(["owner".to_string(), "administrator".to_string()]);
    TencentSimConfig {
        accounts: Some(accounts),
        unknown_member_answer: answer,
        ..Default::default()
    }
}

#[tokio::test]
async fn an_unknown_account_refused_for_the_whole_call_is_isolated_by_bisection() {
    let known = names("u", 49);
    let (sim, client) = sim_with(knowing(&known, UnknownMemberAnswer::WholeCall)).await;
    group(&sim, "g", "Public", 200, &[]);
    let mut accounts = known.clone();
    accounts.insert(30, "ghost".into());
    let write = client
        .add_members(&key("g", GroupType::Public), &accounts)
        .await
        .expect("the others are added");
    assert_eq!(write.refused.len(), 1, "{write:?}");
    assert_eq!(write.refused[0].account, "ghost");
    assert_eq!(write.refused[0].code, Some(10019));
    assert!(write.pending.is_empty());
    let members = sim.group("g").unwrap().members;
    assert_eq!(members.len(), 50, "the owner and the 49 known accounts");
    assert!(known.iter().all(|a| members.contains(a)));
    let calls = sim.calls_to("add_group_member").len();
    assert!(
        calls <= 15,
        "a bounded bisection, not a call per account: {calls}"
    );
}

#[tokio::test]
async fn an_unknown_account_answered_with_result_zero_is_refused_without_a_code() {
    let known = names("u", 49);
    let (sim, client) = sim_with(knowing(&known, UnknownMemberAnswer::ResultZero)).await;
    group(&sim, "g", "Public", 200, &[]);
    let mut accounts = known.clone();
    accounts.insert(7, "ghost".into());
    let write = client
        .add_members(&key("g", GroupType::Public), &accounts)
        .await
        .expect("the others are added");
    assert_eq!(write.refused.len(), 1, "{write:?}");
    assert_eq!(
        (write.refused[0].account.as_str(), write.refused[0].code),
        ("ghost", None)
    );
    assert!(write.refused[0].message.contains("no code"));
    assert_eq!(sim.group("g").unwrap().members.len(), 50);
    assert_eq!(sim.calls_to("add_group_member").len(), 3);
}

#[tokio::test]
async fn a_full_group_refuses_the_rest_with_10014_and_no_more_calls_are_made() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    group(&sim, "g", "Public", 25, &[]);
    let accounts = names("u", 60);
    let write = client
        .add_members(&key("g", GroupType::Public), &accounts)
        .await
        .expect("an answer per account");
    assert_eq!(sim.calls_to("add_group_member").len(), 2, "no retry storm");
    let refused: Vec<&str> = write.refused.iter().map(|r| r.account.as_str()).collect();
    assert_eq!(
        refused,
        accounts[20..]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert!(write.refused.iter().all(|r| r.code == Some(10014)));
    assert_eq!(sim.group("g").unwrap().members.len(), 21);
}

#[tokio::test]
async fn a_batch_refused_as_too_large_is_split_in_halves() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    group(&sim, "g", "Public", 200, &[]);
    sim.inject(provider_sim::Fault::times(
        Some("add_group_member"),
        provider_sim::FaultKind::Code(10005),
        1,
    ));
    let accounts = names("u", 20);
    let write = client
        .add_members(&key("g", GroupType::Public), &accounts)
        .await
        .expect("added");
    assert_eq!(write, Default::default());
    let sizes: Vec<usize> = add_batches(&sim).iter().map(Vec::len).collect();
    assert_eq!(sizes, [20, 10, 10]);
    assert_eq!(sim.group("g").unwrap().members.len(), 21);
}

#[tokio::test]
async fn adding_to_a_missing_group_is_not_found_and_a_live_group_is_refused_before_any_call() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    let error = client
        .add_members(&key("nope", GroupType::Public), &names("u", 2))
        .await
        .expect_err("no such group");
    assert_eq!(error.class, FailureClass::NotFound);
    let live = key("live", GroupType::AVChatRoom);
    let before = sim.calls().len();
    for error in [
        client.add_members(&live, &names("u", 2)).await.err(),
        client.remove_members(&live, &names("u", 2)).await.err(),
        client.member_roles(&live, &names("u", 2)).await.err(),
        client.list_members(&live).await.err(),
    ] {
        let error = error.expect("refused");
        assert_eq!(error.class, FailureClass::Terminal);
        assert!(error.info.message.contains("spec.members"), "{error}");
    }
    assert_eq!(sim.calls().len(), before, "no call for AVChatRoom members");
}

/// A gate that is always closed.
#[derive(Debug)]
struct Closed;

impl WriteGate for Closed {
    fn may_write(&self) -> Result<Option<Duration>, String> {
        Err("not the leader".into())
    }
}

#[tokio::test]
async fn invites_waiting_for_consent_are_pending_and_only_writes_wait_for_the_gate() {
    let (sim, client) = sim_with(TencentSimConfig {
        pending_on_need_permission: true,
        ..Default::default()
    })
    .await;
    group(&sim, "g", "Public", 200, &[]);
    raw(
        &sim,
        "modify_group_base_info",
        json!({"GroupId": "g", "InviteJoinOption": "NeedPermission"}),
    )
    .await;
    let write = client
        .add_members(&key("g", GroupType::Public), &names("u", 2))
        .await
        .expect("invited");
    assert_eq!(write.pending, names("u", 2));
    assert!(write.refused.is_empty());

    let client = client.with_write_gate(Arc::new(Closed));
    let error = client
        .add_members(&key("g", GroupType::Public), &names("u", 1))
        .await
        .expect_err("a write waits for the gate");
    assert_eq!(error.class, FailureClass::Transient);
    let roster = client
        .list_members(&key("g", GroupType::Public))
        .await
        .expect("reads are not gated");
    assert_eq!(roster.len(), 1);
    client
        .member_roles(&key("g", GroupType::Public), &names("u", 1))
        .await
        .expect("reads are not gated");
}

/// Calls the simulator directly as the app admin.
async fn raw(sim: &TencentSim, command: &str, body: Value) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sig = provider_sim::gen_usersig(
        SAMPLE_SECRET_KEY,
        1_400_000_000,
        "administrator",
        86_400,
        now,
    );
    let url = format!(
        "{}/v4/group_open_http_svc/{command}?sdkappid=1400000000&identifier=administrator&usersig={sig}&random=1&contenttype=json",
        sim.base_url()
    );
    let answer: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    answer
}

#[tokio::test]
async fn roles_of_a_thousand_accounts_take_two_calls_and_non_members_are_absent() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    let members = names("m", 10);
    group(&sim, "g", "Public", 200, &members);
    client
        .set_role(
            &key("g", GroupType::Public),
            &members[..1],
            MemberRole::Admin,
        )
        .await
        .expect("promoted");
    let mut asked = names("x", 989);
    asked.extend(members.iter().cloned());
    asked.push("owner".into());
    let roster = client
        .member_roles(&key("g", GroupType::Public), &asked)
        .await
        .expect("read");
    let calls = sim.calls_to("get_role_in_group");
    assert_eq!(calls.len(), 2);
    assert!(calls
        .iter()
        .all(|c| c.body["User_Account"].as_array().unwrap().len() <= 500));
    assert_eq!(roster.len(), 11, "{roster:?}");
    assert_eq!(roster["owner"], MemberRole::Owner);
    assert_eq!(roster[&members[0]], MemberRole::Admin);
    assert_eq!(roster[&members[9]], MemberRole::Member);
}

#[tokio::test]
async fn the_member_list_is_paged_by_offset_until_member_num() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    let members = names("m", 249);
    group(&sim, "g", "Public", 2000, &members);
    client
        .set_role(
            &key("g", GroupType::Public),
            &members[200..201],
            MemberRole::Admin,
        )
        .await
        .expect("promoted");
    let roster = client
        .list_members(&key("g", GroupType::Public))
        .await
        .expect("listed");
    assert_eq!(roster.len(), 250);
    assert_eq!(roster["owner"], MemberRole::Owner);
    assert_eq!(roster[&members[200]], MemberRole::Admin);
    assert_eq!(roster[&members[248]], MemberRole::Member);
    let pages: Vec<(Value, Value)> = sim
        .calls_to("get_group_member_info")
        .iter()
        .map(|c| (c.body["Limit"].clone(), c.body["Offset"].clone()))
        .collect();
    assert_eq!(
        pages,
        [
            (json!(100), json!(0)),
            (json!(100), json!(100)),
            (json!(100), json!(200))
        ]
    );
}

async fn community_listing(cursor: MemberCursor) -> Vec<Value> {
    let (sim, client) = sim_with(TencentSimConfig {
        member_cursor: cursor,
        ..Default::default()
    })
    .await;
    let members = names("m", 229);
    group(&sim, "@TGS#_c", "Community", 100_000, &members);
    let roster = client
        .list_members(&key("@TGS#_c", GroupType::Community))
        .await
        .expect("listed");
    assert_eq!(roster.len(), 230);
    assert!(members.iter().all(|m| roster[m] == MemberRole::Member));
    sim.calls_to("get_group_member_info")
        .iter()
        .map(|c| c.body.get("Next").cloned().unwrap_or(Value::Null))
        .collect()
}

#[tokio::test]
async fn a_community_member_list_follows_next_as_it_came() {
    assert_eq!(
        community_listing(MemberCursor::Integer).await,
        [Value::Null, json!(100), json!(200)]
    );
    assert_eq!(
        community_listing(MemberCursor::String).await,
        [Value::Null, json!("100"), json!("200")]
    );
}

fn fake_client(base_url: &str) -> TencentClient {
    let mut config = TencentConfig::new(1_400_000_000, Secret::new(SAMPLE_SECRET_KEY));
    config.endpoint = TencentEndpoint::Url(base_url.to_string());
    config.timeout = Duration::from_secs(2);
    config.rate = RateConfig {
        requests_per_second: 10_000,
        burst: 1_000,
    };
    let budget = RateBudget::new(ProviderKind::Tencent, config.rate);
    TencentClient::new(config, Arc::new(budget)).expect("valid config")
}

fn full_page(first: usize) -> Vec<Value> {
    (first..first + 100)
        .map(|i| json!({"Member_Account": format!("m{i}"), "Role": "Member"}))
        .collect()
}

#[tokio::test]
async fn a_repeated_community_cursor_is_an_error_not_a_partial_roster() {
    let fake = Fake::start(|_| {
        let body = json!({"ActionStatus": "OK", "ErrorCode": 0, "MemberNum": 100_000,
            "MemberList": full_page(0), "Next": "same"});
        (200, body.to_string())
    })
    .await;
    let error = fake_client(&fake.base_url)
        .list_members(&key("@TGS#_c", GroupType::Community))
        .await
        .expect_err("a loop");
    assert_eq!(error.class, FailureClass::Transient);
    assert_eq!(fake.seen().len(), 2);
}

#[tokio::test]
async fn an_endless_member_list_stops_at_the_page_cap_with_an_error() {
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let fake = Fake::start(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let body = json!({"ActionStatus": "OK", "ErrorCode": 0, "MemberList": full_page(n * 100)});
        (200, body.to_string())
    })
    .await;
    let error = fake_client(&fake.base_url)
        .list_members(&key("g", GroupType::Public))
        .await
        .expect_err("never ends");
    assert_eq!(error.class, FailureClass::Transient);
    assert!(error.info.message.contains("pages"), "{error}");
    let calls = served.load(Ordering::SeqCst);
    assert!((1_000..=1_100).contains(&calls), "{calls}");
}

#[tokio::test]
async fn members_are_promoted_and_demoted_and_a_refusal_does_not_stop_the_others() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    group(&sim, "g", "Public", 200, &names("m", 3));
    let g = key("g", GroupType::Public);
    let asked = vec!["m0000".to_string(), "stranger".into(), "m0001".into()];
    let write = client
        .set_role(&g, &asked, MemberRole::Admin)
        .await
        .expect("an answer per account");
    assert_eq!(write.refused.len(), 1, "{write:?}");
    assert_eq!(
        (write.refused[0].account.as_str(), write.refused[0].code),
        ("stranger", Some(10007))
    );
    assert_eq!(sim.calls_to("modify_group_member_info").len(), 3);
    let admins = |sim: &TencentSim| {
        roles(sim, "g")
            .into_iter()
            .filter(|(_, r)| r == "Admin")
            .map(|(a, _)| a)
            .collect::<Vec<_>>()
    };
    assert_eq!(admins(&sim), ["m0000", "m0001"]);
    let write = client
        .set_role(&g, &asked[..1], MemberRole::Member)
        .await
        .expect("demoted");
    assert_eq!(write, Default::default());
    assert_eq!(admins(&sim), ["m0001"]);
}

#[tokio::test]
async fn admins_on_work_groups_and_owner_roles_are_refused_before_any_call() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    group(&sim, "w", "Private", 200, &names("m", 1));
    group(&sim, "g", "Public", 200, &names("m", 1));
    let cases = [
        (key("w", GroupType::Work), MemberRole::Admin),
        (key("w", GroupType::Private), MemberRole::Admin),
        (key("g", GroupType::Public), MemberRole::Owner),
    ];
    for (k, role) in cases {
        let error = client
            .set_role(&k, &names("m", 1), role)
            .await
            .expect_err("refused");
        assert_eq!(error.class, FailureClass::Terminal);
        assert!(error.info.message.contains("spec.members"), "{error}");
    }
    assert!(sim.calls_to("modify_group_member_info").is_empty());
    client
        .set_role(
            &key("w", GroupType::Work),
            &names("m", 1),
            MemberRole::Member,
        )
        .await
        .expect("plain members are fine on Work groups");
}

#[tokio::test]
async fn setting_a_role_in_a_missing_group_is_an_error() {
    let (_sim, client) = sim_with(TencentSimConfig::default()).await;
    let error = client
        .set_role(
            &key("nope", GroupType::Public),
            &names("m", 2),
            MemberRole::Admin,
        )
        .await
        .expect_err("no such group");
    assert_eq!(error.class, FailureClass::NotFound);
}

#[tokio::test]
async fn removing_non_members_succeeds_in_batches_of_a_hundred() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    let members = names("m", 150);
    group(&sim, "g", "Public", 2000, &members);
    let mut gone = members.clone();
    gone.push("stranger".into());
    let write = client
        .remove_members(&key("g", GroupType::Public), &gone)
        .await
        .expect("removed");
    assert_eq!(write, Default::default());
    let sizes: Vec<usize> = sim
        .calls_to("delete_group_member")
        .iter()
        .map(|c| c.body["MemberToDel_Account"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 51]);
    assert_eq!(
        roles(&sim, "g"),
        [("owner".to_string(), "Owner".to_string())]
    );
}

#[tokio::test]
async fn an_empty_request_makes_no_call() {
    let (sim, client) = sim_with(TencentSimConfig::default()).await;
    group(&sim, "g", "Public", 200, &[]);
    let g: GroupKey = key("g", GroupType::Public);
    assert!(client.member_roles(&g, &[]).await.unwrap().is_empty());
    assert_eq!(
        client.add_members(&g, &[]).await.unwrap(),
        Default::default()
    );
    assert_eq!(
        client.remove_members(&g, &[]).await.unwrap(),
        Default::default()
    );
    assert!(sim.calls().is_empty());
}
