//! Declared members and admins end to end, on both providers: simulators that know
//! which accounts exist, and the operator with a short drift resync.

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::{
    condition, eventually, fixtures, group_id, message, test_settings, Env, Side, NAMESPACE,
};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{Api, ListParams};
use provider_sim::{NeteaseSimConfig, TencentSimConfig};

const WAIT: Duration = Duration::from_secs(30);

/// The accounts the simulators know: the owner, a few people, and m000..m999.
fn accounts() -> Vec<String> {
    let people = ["alice", "bob", "carol", "dave", "erin", "frank"];
    let numbered = (0..1000).map(|i| format!("m{i:03}"));
    people
        .iter()
        .map(|p| p.to_string())
        .chain(numbered)
        .collect()
}

async fn start() -> anyhow::Result<Env> {
    let mut settings = test_settings();
    settings.resync_interval = Duration::from_millis(500);
    let tencent = TencentSimConfig {
        accounts: Some(accounts()),
        ..TencentSimConfig::default()
    };
    let netease = NeteaseSimConfig {
        accounts: Some(accounts()),
        ..NeteaseSimConfig::default()
    };
    Env::start_with_sims(settings, tencent, netease).await
}

/// A group owned by alice on `side` (Tencent Public, NetEase Advanced) with `extra`.
fn manifest(side: Side, name: &str, extra: &str) -> String {
    let spec = format!("name: {name}\nowner: alice\n{extra}");
    fixtures::group(name, side.provider(), side.group_type(), &spec)
}

/// The member APIs of each side: (writes, reads).
fn member_apis(side: Side) -> (&'static [&'static str], &'static [&'static str]) {
    match side {
        Side::Tencent => (
            &[
                "add_group_member",
                "delete_group_member",
                "modify_group_member_info",
            ],
            &["get_role_in_group", "get_group_member_info"],
        ),
        Side::Netease => (
            &["invite", "kick", "add_manager", "remove_manager"],
            &["list_members"],
        ),
    }
}

fn executed_calls(env: &Env, side: Side, apis: &[&str]) -> usize {
    let calls = match side {
        Side::Tencent => env.tencent.calls(),
        Side::Netease => env.netease.calls(),
    };
    calls
        .iter()
        .filter(|c| c.executed && apis.contains(&c.api.as_str()))
        .count()
}

fn member_writes(env: &Env, side: Side) -> usize {
    executed_calls(env, side, member_apis(side).0)
}

fn member_reads(env: &Env, side: Side) -> usize {
    executed_calls(env, side, member_apis(side).1)
}

fn roles(env: &Env, side: Side, id: &str) -> BTreeMap<String, String> {
    match side {
        Side::Tencent => env.tencent.member_roles(id),
        Side::Netease => env.netease.member_roles(id),
    }
}

fn kick(env: &Env, side: Side, id: &str, account: &str) -> bool {
    match side {
        Side::Tencent => env.tencent.kick_out_of_band(id, account),
        Side::Netease => env.netease.kick_out_of_band(id, account),
    }
}

/// Waits until the object's MembersSynced has `status` for its current generation,
/// and Ready is True; returns the group id.
async fn wait_members(env: &Env, name: &str, status: &str) -> anyhow::Result<String> {
    let group = env
        .wait_group(name, WAIT, |g| {
            let generation = g.metadata.generation;
            let members = g.status.as_ref().and_then(|s| {
                s.conditions
                    .iter()
                    .find(|c| c.type_ == "MembersSynced")
                    .filter(|c| c.observed_generation == generation)
            });
            members.is_some_and(|c| c.status == status)
                && condition(g, "Ready").is_some_and(|(s, _)| s == "True")
        })
        .await?;
    Ok(group_id(&group).expect("status.groupId is recorded"))
}

fn role_of<'a>(roles: &'a BTreeMap<String, String>, account: &str) -> Option<&'a str> {
    roles.get(account).map(String::as_str)
}

const FOUR: &str = "members:\n- {account: bob}\n- {account: carol}\n- {account: dave}\n- {account: erin, role: Admin}\n";

#[tokio::test]
async fn declared_members_converge_stay_put_and_come_back() -> anyhow::Result<()> {
    let env = start().await?;
    for side in Side::BOTH {
        let name = format!("crew-{side:?}").to_lowercase();
        env.apply_group(&manifest(side, &name, FOUR)).await?;
        let id = wait_members(&env, &name, "True").await?;
        let on_provider = roles(&env, side, &id);
        for account in ["bob", "carol", "dave"] {
            assert_eq!(
                role_of(&on_provider, account),
                Some("Member"),
                "{side:?}: {account}"
            );
        }
        assert_eq!(role_of(&on_provider, "erin"), Some("Admin"), "{side:?}");
        assert_eq!(role_of(&on_provider, "alice"), Some("Owner"), "{side:?}");

        // Unchanged: drift passes read the members and write nothing.
        env.apply_group(&manifest(side, &name, FOUR)).await?;
        let (writes, reads) = (member_writes(&env, side), member_reads(&env, side));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            member_writes(&env, side),
            writes,
            "{side:?}: no member write when nothing differs"
        );
        assert!(
            member_reads(&env, side) > reads,
            "{side:?}: drift passes read the members"
        );

        // Additive: dave is no longer declared, and stays.
        let three = FOUR.replace("- {account: dave}\n", "");
        env.apply_group(&manifest(side, &name, &three)).await?;
        wait_members(&env, &name, "True").await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            role_of(&roles(&env, side, &id), "dave"),
            Some("Member"),
            "{side:?}: Additive removes nobody"
        );

        // Exact: dave goes, the owner stays.
        let exact = format!("{three}membersPolicy: Exact\n");
        env.apply_group(&manifest(side, &name, &exact)).await?;
        wait_members(&env, &name, "True").await?;
        let after = roles(&env, side, &id);
        assert_eq!(
            role_of(&after, "dave"),
            None,
            "{side:?}: Exact removes the undeclared"
        );
        assert_eq!(
            role_of(&after, "alice"),
            Some("Owner"),
            "{side:?}: never the owner"
        );
        assert_eq!(after.len(), 4, "{side:?}: {after:?}");

        // Kicked in the console: back after a resync, with an Event.
        assert!(kick(&env, side, &id, "carol"));
        eventually(WAIT, || async {
            (role_of(&roles(&env, side, &id), "carol") == Some("Member")).then_some(())
        })
        .await?;
        let events: Api<K8sEvent> = Api::namespaced(env.client.clone(), NAMESPACE);
        let restored = eventually(WAIT, || async {
            let listed = events.list(&ListParams::default()).await.ok()?.items;
            listed.into_iter().find(|e| {
                e.reason.as_deref() == Some("MembersRestored")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name.as_str())
            })
        })
        .await?;
        assert!(restored.note.unwrap_or_default().contains("carol"));
    }
    Ok(())
}

#[tokio::test]
async fn one_unknown_account_among_fifty_is_named_and_the_rest_are_in() -> anyhow::Result<()> {
    let env = start().await?;
    for side in Side::BOTH {
        let name = format!("fifty-{side:?}").to_lowercase();
        let mut members = String::from("members:\n");
        for i in 0..49 {
            members.push_str(&format!("- {{account: m{i:03}}}\n"));
        }
        members.push_str("- {account: ghost}\n");
        env.apply_group(&manifest(side, &name, &members)).await?;
        let id = wait_members(&env, &name, "False").await?;
        let group = env.groups().get(&name).await?;
        assert_eq!(
            condition(&group, "MembersSynced").map(|(_, r)| r),
            Some("MembersRejected".into())
        );
        let said = message(&group, "MembersSynced");
        assert!(said.contains("ghost"), "{side:?}: {said}");
        assert_eq!(
            condition(&group, "Ready"),
            Some(("True".into(), "Available".into())),
            "{side:?}: one bad account never blocks Ready"
        );
        let on_provider = roles(&env, side, &id);
        let declared_in = (0..49)
            .filter(|i| on_provider.contains_key(&format!("m{i:03}")))
            .count();
        assert_eq!(declared_in, 49, "{side:?}");
        assert!(!on_provider.contains_key("ghost"));

        // Nor a disband.
        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        let gone = match side {
            Side::Tencent => env.tencent.group(&id),
            Side::Netease => env.netease.group(&id),
        };
        assert!(gone.is_none(), "{side:?}: disbanded");
    }
    Ok(())
}

#[tokio::test]
async fn a_thousand_members_go_in_documented_batches_and_read_back_in_two_calls(
) -> anyhow::Result<()> {
    let env = start().await?;
    let side = Side::Tencent;
    let name = "thousand";
    let mut members = String::from("members:\n");
    for i in 0..1000 {
        members.push_str(&format!("- {{account: m{i:03}}}\n"));
    }
    env.apply_group(&manifest(side, name, &members)).await?;
    let id = wait_members(&env, name, "True").await?;
    assert_eq!(roles(&env, side, &id).len(), 1001);
    let adds = env.tencent.calls_to("add_group_member");
    assert!(adds.iter().all(|c| {
        c.body["MemberList"]
            .as_array()
            .is_some_and(|l| l.len() <= 20)
    }));
    assert_eq!(adds.iter().filter(|c| c.executed).count(), 50);

    // A drift pass reads the 1,000 declared roles in two calls.
    let before = env.tencent.calls_to("get_role_in_group").len();
    eventually(WAIT, || async {
        (env.tencent.calls_to("get_role_in_group").len() >= before + 2).then_some(())
    })
    .await?;
    let reads = env.tencent.calls_to("get_role_in_group");
    let pass: Vec<_> = reads[before..before + 2].to_vec();
    let asked: usize = pass
        .iter()
        .map(|c| c.body["User_Account"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(asked, 1000, "two calls cover the 1,000 declared accounts");
    assert_eq!(env.tencent.calls_to("add_group_member").len(), adds.len());
    Ok(())
}

#[tokio::test]
async fn admission_refuses_member_lists_a_provider_cannot_hold() -> anyhow::Result<()> {
    let env = Env::without_operator(test_settings()).await?;
    let cases = [
        (
            Side::Tencent,
            "Public",
            "members:\n- {account: bob}\n- {account: bob}\n",
            "Duplicate value",
        ),
        (
            Side::Tencent,
            "Public",
            "members:\n- {account: alice}\n",
            "must not list the owner",
        ),
        (
            Side::Tencent,
            "Work",
            "members:\n- {account: bob, role: Admin}\n",
            "type Private or Work",
        ),
        (
            Side::Tencent,
            "AVChatRoom",
            "members:\n- {account: bob}\n",
            "type AVChatRoom",
        ),
        (
            Side::Tencent,
            "Public",
            "members:\n- {account: \"\"}\n",
            "spec.members[0].account",
        ),
        (
            Side::Tencent,
            "Public",
            "members:\n- {account: abcdefghijabcdefghijabcdefghijabc}\n",
            "spec.members[0].account",
        ),
        (
            Side::Tencent,
            "Public",
            "maxMembers: 2\nmembers:\n- {account: bob}\n- {account: carol}\n",
            "spec.maxMembers",
        ),
        (
            Side::Tencent,
            "Public",
            "members:\n- {account: 账号账号账号账号账号账}\n",
            "at most 32 bytes",
        ),
        (
            Side::Netease,
            "Advanced",
            "members:\n- {account: Bob}\n",
            "lower case",
        ),
    ];
    for (i, (side, group_type, extra, expected)) in cases.into_iter().enumerate() {
        let spec = format!("name: refused\nowner: alice\n{extra}");
        let yaml = fixtures::group(&format!("refused-{i}"), side.provider(), group_type, &spec);
        let refused = env.apply_group(&yaml).await;
        let error = format!("{:#}", refused.expect_err(expected));
        assert!(error.contains(expected), "case {i}: {error}");
    }
    let list = env.groups().list(&ListParams::default()).await?;
    assert!(list.items.is_empty(), "nothing was admitted");
    Ok(())
}

#[tokio::test]
async fn a_full_group_is_reported_with_the_provider_code_and_not_hammered() -> anyhow::Result<()> {
    let env = start().await?;
    let side = Side::Tencent;
    let mut full = side.existing_group("full-room");
    full.max_members = 4;
    full.members = ["alice", "m001", "m002", "m003"].map(String::from).to_vec();
    env.insert(side, full);
    let extra = "groupId: full-room\nmembers:\n- {account: bob}\n";
    env.apply_group(&manifest(side, "full", extra)).await?;
    wait_members(&env, "full", "False").await?;
    let group = env.groups().get("full").await?;
    let said = message(&group, "MembersSynced");
    assert!(said.contains("bob (code 10014"), "{said}");

    // Each drift pass (every 0.5 s) tries once more at most: no storm.
    let before = env.tencent.calls_to("add_group_member").len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tried = env.tencent.calls_to("add_group_member").len() - before;
    assert!(tried <= 8, "{tried} add calls in 3 s");
    Ok(())
}

#[tokio::test]
async fn a_netease_invitation_waiting_for_consent_is_a_state_not_a_loop() -> anyhow::Result<()> {
    let env = start().await?;
    let side = Side::Netease;
    // A team made outside the operator, where invitees must accept (agree_mode 0).
    env.insert(side, side.existing_group("7000000001"));
    let extra = "groupId: \"7000000001\"\nmembers:\n- {account: bob}\n";
    env.apply_group(&manifest(side, "consent", extra)).await?;
    wait_members(&env, "consent", "False").await?;
    let group = env.groups().get("consent").await?;
    assert_eq!(
        condition(&group, "MembersSynced").map(|(_, r)| r),
        Some("InvitationsPending".into())
    );
    let pending = group.status.as_ref().map(|s| s.pending_members.clone());
    assert_eq!(pending, Some(vec!["bob".to_string()]));
    assert_eq!(env.netease.pending_invitations("7000000001"), ["bob"]);

    // Not invited again on later resyncs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(env.netease.calls_to("invite").len(), 1, "one invitation");

    // Accepted: the next resync reports the group in sync.
    assert!(env.netease.accept_invitation("7000000001", "bob"));
    wait_members(&env, "consent", "True").await?;
    let group = env.groups().get("consent").await?;
    assert!(group
        .status
        .as_ref()
        .is_some_and(|s| s.pending_members.is_empty()));
    Ok(())
}
