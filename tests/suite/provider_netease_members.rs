//! Member calls of the NetEase client against its simulator.

use chatgroup_operator::provider::{
    CreateOutcome, FailureClass, GroupProvider, MemberRole, NeteaseClient,
};
use provider_sim::netease::MemberPaging;
use provider_sim::{Fault, FaultKind, NeteaseSim, NeteaseSimConfig, SimGroup};

use crate::netease_support;
use netease_support::*;

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:03}")).collect()
}

/// Creates a team owned by alice the way the controller does for declared members.
async fn create_open(client: &NeteaseClient, max_members: Option<u32>) -> String {
    let mut request = request("uid-m");
    request.attributes.max_members = max_members;
    match client.create_group(&request).await.expect("created") {
        CreateOutcome::Created { group_id, .. } => group_id,
        other => panic!("unexpected {other:?}"),
    }
}

/// Seeds an advanced team owned by `m000` with `n` members `m000..`.
fn seed_members(sim: &NeteaseSim, id: &str, n: usize) {
    sim.insert_group(SimGroup {
        id: id.into(),
        group_type: "1".into(),
        owner: Some("m000".into()),
        members: names("m", n),
        max_members: 2000,
        ..Default::default()
    });
}

fn refused_codes(write: &chatgroup_operator::provider::MemberWrite) -> Vec<(String, Option<i64>)> {
    write
        .refused
        .iter()
        .map(|r| (r.account.clone(), r.code))
        .collect()
}

#[tokio::test]
async fn a_team_created_for_declared_members_takes_invitees_at_once() {
    let (sim, client) = start().await;
    let id = create_open(&client, None).await;
    let create = &sim.calls_to("create")[0];
    assert_eq!(create.body["configuration"]["agree_mode"], 1);
    assert_eq!(
        create.body["configuration"]["join_mode"], 2,
        "merged with the join policy"
    );
    let accounts = vec!["bob".to_string(), "carol".into(), "dave".into()];
    let write = client
        .add_members(&key(&id, "alice"), &accounts)
        .await
        .expect("invited");
    assert!(
        write.refused.is_empty() && write.pending.is_empty(),
        "{write:?}"
    );
    let invite = &sim.calls_to("invite")[0];
    assert!(invite.body["team_id"].is_u64(), "team_id is a JSON number");
    assert_eq!(invite.body["operator_id"], "alice");
    let roster = client.list_members(&key(&id, "alice")).await.expect("read");
    let expected = [
        ("alice", MemberRole::Owner),
        ("bob", MemberRole::Member),
        ("carol", MemberRole::Member),
        ("dave", MemberRole::Member),
    ]
    .map(|(a, r)| (a.to_string(), r));
    assert_eq!(roster, expected.into_iter().collect());
}

#[tokio::test]
async fn an_invite_into_a_team_needing_consent_is_not_a_membership() {
    let (sim, client) = start().await;
    seed(&sim, "500", "alice", "");
    let write = client
        .add_members(&key("500", "alice"), &["bob".to_string()])
        .await
        .expect("invited");
    assert!(write.refused.is_empty(), "{write:?}");
    assert_eq!(sim.pending_invitations("500"), ["bob"]);
    let roles = client
        .member_roles(&key("500", "alice"), &["bob".to_string()])
        .await
        .expect("read");
    assert!(roles.is_empty(), "an invitee is no member: {roles:?}");
    assert!(sim.accept_invitation("500", "bob"));
    let roles = client
        .member_roles(&key("500", "alice"), &["bob".to_string()])
        .await
        .expect("read");
    assert_eq!(roles.get("bob"), Some(&MemberRole::Member));
}

#[tokio::test]
async fn an_unknown_account_among_fifty_is_refused_and_the_others_join() {
    let mut accounts = names("u", 49);
    let mut known = accounts.clone();
    known.push("alice".into());
    let config = NeteaseSimConfig {
        accounts: Some(known),
        ..Default::default()
    };
    let (sim, client) = start_with(config, |_| {}).await;
    let id = create_open(&client, None).await;
    accounts.insert(20, "ghost".into());
    let write = client
        .add_members(&key(&id, "alice"), &accounts)
        .await
        .expect("invited");
    assert_eq!(refused_codes(&write), [("ghost".to_string(), Some(102404))]);
    assert_eq!(sim.member_roles(&id).len(), 50, "owner and 49 members");
}

#[tokio::test]
async fn a_full_team_refuses_the_rest_without_more_invite_calls() {
    let (sim, client) = start().await;
    let id = create_open(&client, Some(3)).await;
    let accounts = names("u", 150);
    let write = client
        .add_members(&key(&id, "alice"), &accounts)
        .await
        .expect("answered");
    assert_eq!(
        sim.calls_to("invite").len(),
        1,
        "the second batch is not sent"
    );
    assert_eq!(write.refused.len(), 148, "two joined");
    assert!(write.refused.iter().all(|r| r.code == Some(108437)));
    assert_eq!(write.refused.last().unwrap().account, "u149");
    assert_eq!(sim.member_roles(&id).len(), 3);

    // The other reading: the whole call refused with 108437.
    let other = create_open(&client, None).await;
    sim.inject(Fault::times(Some("invite"), FaultKind::Code(108437), 1));
    let write = client
        .add_members(&key(&other, "alice"), &accounts)
        .await
        .expect("answered");
    assert_eq!(sim.calls_to("invite").len(), 2, "one more call only");
    assert_eq!(write.refused.len(), 150);
    assert!(write.refused.iter().all(|r| r.code == Some(108437)));
}

#[tokio::test]
async fn a_batch_refused_as_a_whole_is_split_down_to_the_account() {
    let (sim, client) = start().await;
    let id = create_open(&client, None).await;
    let accounts = names("u", 4);
    // The first call (all four) and the next (u000, u001) are refused as a whole;
    // then u000 alone is refused, u001 and the other half join.
    sim.inject(Fault::times(Some("invite"), FaultKind::Code(414), 3));
    let write = client
        .add_members(&key(&id, "alice"), &accounts)
        .await
        .expect("answered");
    let sent: Vec<usize> = sim
        .calls_to("invite")
        .iter()
        .map(|c| c.body["invite_account_ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(sent, [4, 2, 1, 1, 2]);
    assert_eq!(refused_codes(&write), [("u000".to_string(), Some(414))]);
    let roles = sim.member_roles(&id);
    assert!(["u001", "u002", "u003"]
        .iter()
        .all(|a| roles.contains_key(*a)));
}

#[tokio::test]
async fn kicks_go_in_batches_of_ten_and_non_members_count_as_removed() {
    let (sim, client) = start().await;
    seed_members(&sim, "600", 26);
    let mut gone = names("m", 26).split_off(5);
    gone.extend(["nobody".to_string(), "m999".to_string()]);
    let write = client
        .remove_members(&key("600", "m000"), &gone)
        .await
        .expect("kicked");
    assert!(write.refused.is_empty(), "{write:?}");
    let kicks = sim.calls_to("kick");
    let sizes: Vec<usize> = kicks
        .iter()
        .map(|c| {
            let query: Vec<(String, String)> = url::form_urlencoded::parse(c.query.as_bytes())
                .into_owned()
                .collect();
            let ids = query.iter().find(|(k, _)| k == "kick_account_ids").unwrap();
            ids.1.split(',').count()
        })
        .collect();
    assert_eq!(sizes, [10, 10, 3]);
    assert!(kicks
        .iter()
        .all(|c| c.method == "DELETE" && c.body.is_null()));
    assert_eq!(sim.member_roles("600").len(), 5);
}

#[tokio::test]
async fn a_kick_refused_for_one_account_is_reported_for_that_account() {
    let (sim, client) = start().await;
    seed_members(&sim, "601", 3);
    let write = client
        .remove_members(
            &key("601", "m001"),
            &["m000".to_string(), "m002".to_string()],
        )
        .await;
    // m001 is no manager: the operator's right is missing for every account.
    let error = write.expect_err("m001 may not kick");
    assert_eq!(
        (error.class, error.info.code),
        (FailureClass::Terminal, 109432)
    );
    let write = client
        .remove_members(
            &key("601", "m000"),
            &["m000".to_string(), "m002".to_string()],
        )
        .await
        .expect("answered");
    assert_eq!(refused_codes(&write), [("m000".to_string(), Some(109310))]);
    assert!(!sim.member_roles("601").contains_key("m002"));
}

#[tokio::test]
async fn managers_are_promoted_and_demoted_in_batches_of_ten() {
    let (sim, client) = start().await;
    seed_members(&sim, "700", 13);
    let team = key("700", "m000");
    let accounts = names("m", 13).split_off(1);
    client
        .set_role(&team, &accounts, MemberRole::Admin)
        .await
        .expect("promoted");
    let sizes: Vec<usize> = sim
        .calls_to("add_manager")
        .iter()
        .map(|c| c.body["managers"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [10, 2]);
    assert_eq!(sim.calls_to("add_manager")[0].body["operator_id"], "m000");
    let roles = client.list_members(&team).await.expect("read");
    assert_eq!(roles["m000"], MemberRole::Owner);
    assert!(accounts.iter().all(|a| roles[a] == MemberRole::Admin));
    client
        .set_role(&team, &accounts[..3], MemberRole::Member)
        .await
        .expect("demoted");
    assert_eq!(sim.calls_to("remove_manager")[0].method, "DELETE");
    assert_eq!(sim.member_roles("700")["m001"], "Member");
    assert_eq!(sim.member_roles("700")["m004"], "Admin");
    let calls = sim.calls().len();
    let error = client
        .set_role(&team, &accounts[..1], MemberRole::Owner)
        .await
        .expect_err("the owner is not a role to set");
    assert_eq!(error.class, FailureClass::Terminal);
    assert_eq!(sim.calls().len(), calls, "refused before any call");
}

#[tokio::test]
async fn a_refused_promotion_is_isolated_to_its_accounts() {
    let (sim, client) = start().await;
    seed_members(&sim, "701", 5);
    sim.set_manager_limit(Some(2));
    let asked: Vec<String> = ["m001", "m002", "ghost", "m003", "m004"]
        .map(String::from)
        .to_vec();
    let write = client
        .set_role(&key("701", "m000"), &asked, MemberRole::Admin)
        .await
        .expect("answered");
    let mut refused = refused_codes(&write);
    refused.sort();
    assert_eq!(
        refused,
        [
            ("ghost".to_string(), Some(109404)),
            ("m003".to_string(), Some(108303)),
            ("m004".to_string(), Some(108303)),
        ]
    );
    let roles = sim.member_roles("701");
    assert_eq!(
        (roles["m001"].as_str(), roles["m002"].as_str()),
        ("Admin", "Admin")
    );
}

#[tokio::test]
async fn the_roster_pages_past_a_hundred_members_under_either_paging_reading() {
    let (sim, client) = start().await;
    seed_members(&sim, "800", 250);
    let team = key("800", "m000");
    for paging in [
        MemberPaging::Either,
        MemberPaging::PageToken,
        MemberPaging::NextToken,
    ] {
        sim.set_member_paging(paging);
        let roster = client.list_members(&team).await.expect("read");
        assert_eq!(roster.len(), 250, "{paging:?}");
        assert_eq!(roster["m000"], MemberRole::Owner);
        assert_eq!(roster["m249"], MemberRole::Member);
    }
    let paged: Vec<_> = sim
        .calls_to("list_members")
        .into_iter()
        .filter(|c| c.query.contains("page_token="))
        .collect();
    assert_eq!(paged.len(), 6, "two follow-up pages per reading");
    assert!(
        paged
            .iter()
            .all(|c| c.query.contains("next_token=") && c.query.contains("limit=100")),
        "the cursor goes under both names"
    );
    let before = sim.calls_to("list_members").len();
    let roles = client
        .member_roles(&team, &["M001".to_string(), "m005".to_string()])
        .await
        .expect("read");
    assert_eq!(
        roles.keys().collect::<Vec<_>>(),
        ["m001", "m005"],
        "matched case-insensitively, keyed as NetEase spells them"
    );
    assert_eq!(
        sim.calls_to("list_members").len(),
        before + 1,
        "stops once every asked account is found"
    );
    let roles = client
        .member_roles(&team, &["outsider".to_string()])
        .await
        .expect("read");
    assert!(roles.is_empty());
}

#[tokio::test]
async fn member_calls_on_a_missing_team_are_not_found() {
    let (_sim, client) = start().await;
    let team = key("999", "alice");
    let error = client.list_members(&team).await.expect_err("no team");
    assert_eq!(error.class, FailureClass::NotFound);
    let error = client
        .add_members(&team, &["bob".to_string()])
        .await
        .expect_err("no team");
    assert_eq!(error.class, FailureClass::NotFound);
}
