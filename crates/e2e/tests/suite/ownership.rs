//! Ownership: a group is disbanded only by the object that owns it, one object owns
//! a group cluster-wide, and the app a group lives in is part of its identity.

use std::time::Duration;

use chatgroup_operator::api::ChatGroup;
use e2e::{eventually, fixtures, group_id, ready_with, Env, Op, Side, NAMESPACE};
use kube::api::{Api, DeleteParams};
use provider_sim::{NeteaseSim, NeteaseSimConfig, TencentSim, TencentSimConfig};

const WAIT: Duration = Duration::from_secs(20);

fn spec(side: Side, extra: &str) -> String {
    match side {
        Side::Tencent => format!("name: Team\n{extra}"),
        Side::Netease => format!("name: Team\nowner: alice\n{extra}"),
    }
}

fn manifest(name: &str, side: Side, extra: &str) -> String {
    fixtures::group(name, side.provider(), side.group_type(), &spec(side, extra))
}

fn not_owned(group: &ChatGroup) -> bool {
    e2e::reason(group, "Ready").as_deref() == Some("GroupNotOwned")
}

async fn wait_in(
    env: &Env,
    namespace: &str,
    name: &str,
    check: impl Fn(&ChatGroup) -> bool,
) -> anyhow::Result<ChatGroup> {
    let api: Api<ChatGroup> = Api::namespaced(env.client.clone(), namespace);
    eventually(WAIT, || async {
        api.get(name).await.ok().filter(|g| check(g))
    })
    .await
}

async fn delete_in(env: &Env, namespace: &str, name: &str) -> anyhow::Result<()> {
    let api: Api<ChatGroup> = Api::namespaced(env.client.clone(), namespace);
    api.delete(name, &DeleteParams::default()).await?;
    eventually(WAIT, || async {
        matches!(api.get_opt(name).await, Ok(None)).then_some(())
    })
    .await
}

#[tokio::test]
async fn deleting_a_copy_that_names_the_group_never_disbands_it() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let (a, b) = (format!("original-{side:?}"), format!("copy-{side:?}"));
        let (a, b) = (a.to_lowercase(), b.to_lowercase());
        env.apply_group(&manifest(&a, side, "")).await?;
        let owner = env
            .wait_group(&a, WAIT, |g| ready_with(g, "Available"))
            .await?;
        let id = group_id(&owner).expect("recorded");
        env.apply_group(&manifest(&b, side, &format!("groupId: \"{id}\"\n")))
            .await?;
        let copy = env.wait_group(&b, WAIT, not_owned).await?;
        let message = e2e::message(&copy, "Ready");
        assert!(message.contains(&a), "{side:?}: names the owner: {message}");

        let writes = env.writes(side);
        env.delete_group(&b).await?;
        env.wait_gone(&b, WAIT).await?;
        assert_eq!(
            env.writes(side),
            writes,
            "{side:?}: the copy's delete wrote nothing"
        );
        assert!(
            env.sim_group(side, &id).is_some(),
            "{side:?}: the group lives on"
        );

        env.delete_group(&a).await?;
        env.wait_gone(&a, WAIT).await?;
        assert_eq!(
            env.executed(side, Op::Disband),
            1,
            "{side:?}: disbanded once"
        );
        assert!(env.sim_group(side, &id).is_none());
    }
    Ok(())
}

/// Two ChatGroups naming one id, applied at the same moment (in `namespaces`, each
/// with a ChatProvider of the same app): exactly one owns it; deleting the other
/// makes no provider write; deleting the owner disbands it once.
async fn race_for_one_id(
    env: &Env,
    side: Side,
    round: usize,
    namespaces: [&str; 2],
) -> anyhow::Result<()> {
    let id = match side {
        Side::Tencent => format!("race-{round}"),
        Side::Netease => {
            let id = format!("{}", 910_000 + round);
            env.netease.insert_group(side.existing_group(&id));
            id
        }
    };
    let names = [format!("left-{round}"), format!("right-{round}")];
    let yaml = |i: usize| {
        manifest(&names[i], side, &format!("groupId: \"{id}\"\n")).replace(
            &format!("namespace: {NAMESPACE}"),
            &format!("namespace: {}", namespaces[i]),
        )
    };
    let (left_yaml, right_yaml) = (yaml(0), yaml(1));
    let (left, right) = tokio::join!(env.apply_group(&left_yaml), env.apply_group(&right_yaml));
    left?;
    right?;
    let settled = |g: &ChatGroup| ready_with(g, "Available") || not_owned(g);
    let left = wait_in(env, namespaces[0], &names[0], settled).await?;
    let right = wait_in(env, namespaces[1], &names[1], settled).await?;
    let winners = [&left, &right]
        .iter()
        .filter(|g| ready_with(g, "Available"))
        .count();
    assert_eq!(winners, 1, "{side:?} round {round}: exactly one owner");
    let (owner, loser) = if ready_with(&left, "Available") {
        (0, 1)
    } else {
        (1, 0)
    };

    let (writes, disbands) = (env.writes(side), env.executed(side, Op::Disband));
    delete_in(env, namespaces[loser], &names[loser]).await?;
    assert_eq!(
        env.writes(side),
        writes,
        "{side:?} round {round}: the loser wrote nothing"
    );
    assert!(env.sim_group(side, &id).is_some());
    delete_in(env, namespaces[owner], &names[owner]).await?;
    assert_eq!(env.executed(side, Op::Disband), disbands + 1);
    assert!(
        env.sim_group(side, &id).is_none(),
        "{side:?} round {round}: disbanded"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_objects_naming_one_id_at_once_end_with_exactly_one_owner() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for round in 0..20 {
        for side in Side::BOTH {
            race_for_one_id(&env, side, round, [NAMESPACE, NAMESPACE]).await?;
        }
    }
    assert_eq!(
        env.executed(Side::Tencent, Op::Create),
        20,
        "one create per round"
    );
    assert_eq!(
        env.executed(Side::Netease, Op::Create),
        0,
        "teams are adopted"
    );
    Ok(())
}

/// A second namespace with its own ChatProviders of the same apps.
async fn second_namespace(env: &Env, namespace: &str) -> anyhow::Result<()> {
    env.create_namespace(namespace).await?;
    let here = |yaml: String| {
        yaml.replace(
            &format!("namespace: {NAMESPACE}"),
            &format!("namespace: {namespace}"),
        )
    };
    let tencent_key = TencentSimConfig::default().secret_key;
    let netease_secret = NeteaseSimConfig::default().app_secret;
    let secrets = [
        fixtures::secret("tencent-key", "secretKey", &tencent_key),
        fixtures::secret("netease-secret", "appSecret", &netease_secret),
    ];
    for secret in secrets {
        env.apply_yaml::<k8s_openapi::api::core::v1::Secret>(&here(secret))
            .await?;
    }
    let providers = [
        fixtures::tencent_provider(
            Side::Tencent.provider(),
            &env.tencent.base_url(),
            TencentSimConfig::default().sdk_app_id,
        ),
        fixtures::netease_provider(
            Side::Netease.provider(),
            &env.netease.base_url(),
            &NeteaseSimConfig::default().app_key,
        ),
    ];
    for provider in providers {
        env.apply_yaml::<chatgroup_operator::api::ChatProvider>(&here(provider))
            .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_namespaces_naming_one_id_end_with_exactly_one_owner() -> anyhow::Result<()> {
    let env = Env::start().await?;
    second_namespace(&env, "other").await?;
    for round in 0..20 {
        for side in Side::BOTH {
            race_for_one_id(&env, side, round, [NAMESPACE, "other"]).await?;
        }
    }
    assert_eq!(
        env.executed(Side::Tencent, Op::Create),
        20,
        "one create per round"
    );
    assert_eq!(
        env.executed(Side::Netease, Op::Create),
        0,
        "teams are adopted"
    );
    Ok(())
}

#[tokio::test]
async fn a_disbanded_object_naming_an_unowned_group_claims_and_disbands_it() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for (side, id) in [(Side::Tencent, "legacy-end"), (Side::Netease, "920001")] {
        env.insert(side, side.existing_group(id));
        let name = format!("end-{side:?}").to_lowercase();
        let extra = format!("groupId: \"{id}\"\nstate: disbanded\n");
        env.apply_group(&manifest(&name, side, &extra)).await?;
        env.wait_group(&name, WAIT, |g| ready_with(g, "Disbanded"))
            .await?;
        assert!(env.sim_group(side, id).is_none(), "{side:?}: disbanded");
        assert_eq!(env.executed(side, Op::Disband), 1);
    }
    Ok(())
}

#[tokio::test]
async fn a_disbanded_object_naming_another_objects_group_is_refused() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let owner_name = format!("keeper-{side:?}").to_lowercase();
        env.apply_group(&manifest(&owner_name, side, "")).await?;
        let owner = env
            .wait_group(&owner_name, WAIT, |g| ready_with(g, "Available"))
            .await?;
        let id = group_id(&owner).expect("recorded");
        let name = format!("ender-{side:?}").to_lowercase();
        let extra = format!("groupId: \"{id}\"\nstate: disbanded\n");
        env.apply_group(&manifest(&name, side, &extra)).await?;
        env.wait_group(&name, WAIT, not_owned).await?;
        assert_eq!(
            env.executed(side, Op::Disband),
            0,
            "{side:?}: nothing disbanded"
        );
        assert!(env.sim_group(side, &id).is_some());
        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        assert_eq!(env.executed(side, Op::Disband), 0);
    }
    Ok(())
}

#[tokio::test]
async fn an_object_that_owns_nothing_is_released_without_a_provider_call() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("never-{side:?}").to_lowercase();
        env.apply_group(&manifest(&name, side, "state: disbanded\n"))
            .await?;
        env.wait_group(&name, WAIT, |g| ready_with(g, "Disbanded"))
            .await?;
        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        assert_eq!(env.call_count(side), 0, "{side:?}: no call at all");
    }
    Ok(())
}

/// Points the side's ChatProvider at another app (a second simulator).
/// The provider's call count once it has not changed for a second.
async fn settled_call_count(env: &Env, side: Side) -> usize {
    let mut last = env.call_count(side);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = env.call_count(side);
        if now == last {
            return now;
        }
        last = now;
    }
}

async fn repoint(env: &Env, side: Side, base_url: &str, app: &str) -> anyhow::Result<()> {
    let yaml = match side {
        Side::Tencent => fixtures::tencent_provider(side.provider(), base_url, app.parse()?),
        Side::Netease => fixtures::netease_provider(side.provider(), base_url, app),
    };
    env.apply_yaml::<chatgroup_operator::api::ChatProvider>(&yaml)
        .await?;
    Ok(())
}

fn stalled_provider_changed(group: &ChatGroup) -> bool {
    e2e::reason(group, "Stalled").as_deref() == Some("ProviderChanged")
}

#[tokio::test]
async fn a_repointed_chat_provider_stops_every_call_until_it_points_back() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let other_tencent = TencentSim::start(TencentSimConfig {
        sdk_app_id: 1_400_000_001,
        ..TencentSimConfig::default()
    })
    .await?;
    let other_netease = NeteaseSim::start(NeteaseSimConfig {
        app_key: "other-app-key".into(),
        ..NeteaseSimConfig::default()
    })
    .await?;
    for side in Side::BOTH {
        let (other_url, other_app, other_calls): (String, String, Box<dyn Fn() -> usize>) =
            match side {
                Side::Tencent => (
                    other_tencent.base_url(),
                    "1400000001".into(),
                    Box::new(|| other_tencent.calls().len()),
                ),
                Side::Netease => (
                    other_netease.base_url(),
                    "other-app-key".into(),
                    Box::new(|| other_netease.calls().len()),
                ),
            };
        let name = format!("moved-{side:?}").to_lowercase();
        env.apply_group(&manifest(&name, side, "")).await?;
        let group = env
            .wait_group(&name, WAIT, |g| ready_with(g, "Available"))
            .await?;
        let id = group_id(&group).expect("recorded");
        // Reconciles already queued (a ChatProvider status event, say) finish first.
        let calls = settled_call_count(&env, side).await;

        repoint(&env, side, &other_url, &other_app).await?;
        // A spec change makes sure a reconcile runs against the new app.
        env.apply_group(&manifest(&name, side, "introduction: moved\n"))
            .await?;
        let stalled = env
            .wait_group(&name, WAIT, stalled_provider_changed)
            .await?;
        let message = e2e::message(&stalled, "Stalled");
        assert!(
            message.contains(&other_app),
            "{side:?}: names the new app: {message}"
        );
        env.delete_group(&name).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let held = env.groups().get(&name).await?;
        assert!(
            held.metadata.deletion_timestamp.is_some(),
            "{side:?}: deletion held"
        );
        assert_eq!(other_calls(), 0, "{side:?}: no call to the new app");
        assert_eq!(
            env.call_count(side),
            calls,
            "{side:?}: no call to the old app"
        );

        let (url, app) = match side {
            Side::Tencent => (
                env.tencent.base_url(),
                TencentSimConfig::default().sdk_app_id.to_string(),
            ),
            Side::Netease => (env.netease.base_url(), NeteaseSimConfig::default().app_key),
        };
        repoint(&env, side, &url, &app).await?;
        env.wait_gone(&name, WAIT).await?;
        assert!(
            env.sim_group(side, &id).is_none(),
            "{side:?}: disbanded in its own app"
        );
        assert_eq!(env.executed(side, Op::Disband), 1);
    }
    Ok(())
}

/// Points this environment's ChatProviders at another environment's simulators.
async fn share_providers(env: &Env, with: &Env) -> anyhow::Result<()> {
    repoint(
        env,
        Side::Tencent,
        &with.tencent.base_url(),
        &TencentSimConfig::default().sdk_app_id.to_string(),
    )
    .await?;
    repoint(
        env,
        Side::Netease,
        &with.netease.base_url(),
        &NeteaseSimConfig::default().app_key,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_rebuilt_from_git_adopts_the_teams_and_the_old_teardown_leaves_them(
) -> anyhow::Result<()> {
    let old = Env::start().await?;
    let new = Env::start().await?;
    share_providers(&new, &old).await?;
    let side = Side::Netease;
    old.apply_group(&manifest("team", side, "")).await?;
    let created = old
        .wait_group("team", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&created).expect("recorded");

    // The migration path: the id recorded into the manifest, applied to the new cluster.
    let recorded = manifest("team", side, &format!("groupId: \"{id}\"\n"));
    new.apply_group(&fixtures::with_annotation(
        &recorded,
        chatgroup_operator::controller::ownership::TAKE_OVER_ANNOTATION,
        "true",
    ))
    .await?;
    let adopted = new
        .wait_group("team", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let new_uid = adopted.metadata.uid.clone().expect("uid");
    let team = old.sim_group(side, &id).expect("the team");
    assert!(
        team.server_extension.contains(&new_uid),
        "re-stamped: {}",
        team.server_extension
    );
    assert_eq!(old.executed(side, Op::Create), 1, "no second team");

    old.delete_group("team").await?;
    old.wait_gone("team", WAIT).await?;
    assert_eq!(
        old.executed(side, Op::Disband),
        0,
        "the old teardown disbanded nothing"
    );
    assert!(old.sim_group(side, &id).is_some());

    new.delete_group("team").await?;
    new.wait_gone("team", WAIT).await?;
    assert_eq!(old.executed(side, Op::Disband), 1);
    assert!(old.sim_group(side, &id).is_none());
    Ok(())
}

#[tokio::test]
async fn a_claim_written_by_hand_for_another_group_is_refused_by_name() -> anyhow::Result<()> {
    use chatgroup_operator::api::{ChatGroupClaim, ChatGroupClaimSpec, ClaimHolder};
    use kube::api::PostParams;

    let env = Env::start().await?;
    let app_id = TencentSimConfig::default().sdk_app_id.to_string();
    // The object named for "hand-made", but describing another group.
    let name = ChatGroupClaimSpec::object_name("tencent", &app_id, "hand-made");
    let spec = ChatGroupClaimSpec {
        provider: "tencent".into(),
        app_id,
        group_id: "something-else".into(),
        holder: ClaimHolder {
            namespace: NAMESPACE.into(),
            name: "nobody".into(),
            uid: "1".into(),
        },
    };
    Api::<ChatGroupClaim>::all(env.client.clone())
        .create(&PostParams::default(), &ChatGroupClaim::new(&name, spec))
        .await?;
    let side = Side::Tencent;
    env.apply_group(&manifest("hand", side, "groupId: hand-made\n"))
        .await?;
    let stalled = env
        .wait_group("hand", WAIT, |g| {
            e2e::reason(g, "Stalled").as_deref() == Some("ForeignClaim")
        })
        .await?;
    let text = e2e::message(&stalled, "Stalled");
    assert!(text.contains(&name), "names the claim object: {text}");
    assert_eq!(env.writes(side), 0, "nothing created");
    Ok(())
}

#[tokio::test]
async fn a_netease_team_id_that_is_not_a_number_is_refused_before_any_call() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let side = Side::Netease;
    env.apply_group(&manifest("bad-id", side, "groupId: ops-room\n"))
        .await?;
    let stalled = env
        .wait_group("bad-id", WAIT, |g| {
            e2e::reason(g, "Stalled").as_deref() == Some("InvalidSpec")
        })
        .await?;
    let text = e2e::message(&stalled, "Stalled");
    assert!(
        text.contains("spec.groupId") && text.contains("decimal"),
        "{text}"
    );
    assert_eq!(env.call_count(side), 0);
    Ok(())
}
