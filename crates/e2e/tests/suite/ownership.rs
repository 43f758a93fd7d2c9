//! Ownership: a group is disbanded only by the object that owns it, one object owns
//! a group cluster-wide, and the app a group lives in is part of its identity.

use std::time::Duration;

use anyhow::Context as _;
use chatgroup_operator::api::{ChatGroup, ChatGroupClaim};
use e2e::replica::{operator_binary, OperatorProcess};
use e2e::{eventually, fixtures, group_id, ready_with, Env, Op, Side, NAMESPACE, OPERATOR_USER};
use kube::api::{Api, DeleteParams};
use provider_sim::{Fault, FaultKind, NeteaseSim, NeteaseSimConfig, TencentSim, TencentSimConfig};

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

/// The operator binary as its own process, so it can be SIGKILLed mid-reconcile.
fn spawn_operator(env: &Env, binary: &std::path::Path) -> anyhow::Result<OperatorProcess> {
    let args: Vec<String> = [
        "--late-create-bound",
        "2s",
        "--resync-interval",
        "1h",
        "--metrics-addr",
        "127.0.0.1:0",
        "--log",
        "info",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    OperatorProcess::spawn(binary, &env.kube.url(), OPERATOR_USER, None, &args)
}

/// Two ChatGroups naming one id are applied at once; the operator binary is SIGKILLed
/// as soon as the first claim create has been answered, before the winner acted on
/// the group, and started again: exactly one owns the group, the one claim names it,
/// deleting the other makes no provider write and deleting the owner disbands once.
async fn claim_race_through_a_kill(side: Side) -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let binary = operator_binary().await?;
    let id = match side {
        Side::Tencent => "killed-race".to_string(),
        Side::Netease => {
            env.insert(side, side.existing_group("940001"));
            "940001".to_string()
        }
    };
    // Every Kubernetes request and every provider read waits, so the step after the
    // claim (read the group, write status, create or stamp it) is not done when the
    // kill lands.
    let slow = Duration::from_millis(400);
    env.kube.faults().latency(Some(slow));
    env.inject(
        side,
        Fault::always(Some(side.api(Op::Read)), FaultKind::Latency(slow)),
    );
    let mut operator = spawn_operator(&env, &binary)?;
    let names = ["claimant-a", "claimant-b"];
    let yaml = |name: &str| manifest(name, side, &format!("groupId: \"{id}\"\n"));
    let (first_yaml, second_yaml) = (yaml(names[0]), yaml(names[1]));
    let (first, second) = tokio::join!(env.apply_group(&first_yaml), env.apply_group(&second_yaml));
    first?;
    second?;
    let claim_created = || {
        env.kube.requests().iter().any(|r| {
            r.resource == "chatgroupclaims"
                && r.verb == "create"
                && (200..300).contains(&r.code)
                && r.user.as_deref() == Some(OPERATOR_USER)
        })
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while !claim_created() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{side:?}: no claim was created; log:\n{}",
            operator.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    operator.kill()?;
    let status = operator
        .wait(Duration::from_secs(10))
        .await
        .context("the SIGKILLed operator did not exit")?;
    assert!(!status.success(), "{side:?}: SIGKILL ended it: {status:?}");
    // The kill caught the race between the claim and what it guards.
    assert_eq!(
        env.writes(side),
        0,
        "{side:?}: no provider write before the kill"
    );
    let claims = all_claims(&env).await?;
    assert_eq!(claims.len(), 1, "{side:?}: one claim won before the kill");

    env.kube.faults().latency(None);
    match side {
        Side::Tencent => env.tencent.clear_faults(),
        Side::Netease => env.netease.clear_faults(),
    }
    let operator = spawn_operator(&env, &binary)?;
    let settled = |g: &ChatGroup| ready_with(g, "Available") || not_owned(g);
    let mut objects = Vec::new();
    for name in names {
        let object = env
            .wait_group(name, WAIT, settled)
            .await
            .with_context(|| format!("operator log:\n{}", operator.log()))?;
        objects.push(object);
    }
    let owners: Vec<&ChatGroup> = objects
        .iter()
        .filter(|g| ready_with(g, "Available"))
        .collect();
    assert_eq!(owners.len(), 1, "{side:?}: exactly one owner: {objects:#?}");
    let owner = owners[0];
    let loser = objects
        .iter()
        .find(|g| g.metadata.uid != owner.metadata.uid)
        .expect("two objects");
    assert!(not_owned(loser), "{side:?}: the other is refused");
    let owner_name = owner.metadata.name.clone().unwrap_or_default();
    let loser_name = loser.metadata.name.clone().unwrap_or_default();
    assert!(
        e2e::message(loser, "Ready").contains(&owner_name),
        "{side:?}: the refusal names the owner: {}",
        e2e::message(loser, "Ready")
    );
    assert_eq!(group_id(owner).as_deref(), Some(id.as_str()));
    assert_eq!(
        group_id(loser),
        None,
        "{side:?}: the loser recorded nothing"
    );
    let claims = all_claims(&env).await?;
    assert_eq!(claims.len(), 1, "{side:?}: one claim: {claims:#?}");
    assert_eq!(
        (&claims[0].spec.holder.name, &claims[0].spec.holder.uid),
        (&owner_name, owner.metadata.uid.as_ref().expect("uid")),
        "{side:?}: the claim names the owner"
    );
    let expected_creates = match side {
        Side::Tencent => 1,
        Side::Netease => 0,
    };
    assert_eq!(
        env.executed(side, Op::Create),
        expected_creates,
        "{side:?}: one group, created at most once"
    );

    let writes = env.writes(side);
    env.delete_group(&loser_name).await?;
    env.wait_gone(&loser_name, WAIT).await?;
    assert_eq!(
        env.writes(side),
        writes,
        "{side:?}: the loser's delete wrote nothing"
    );
    assert!(
        env.sim_group(side, &id).is_some(),
        "{side:?}: the group lives on"
    );
    env.delete_group(&owner_name).await?;
    env.wait_gone(&owner_name, WAIT).await?;
    assert_eq!(
        env.executed(side, Op::Disband),
        1,
        "{side:?}: disbanded once"
    );
    assert!(env.sim_group(side, &id).is_none(), "{side:?}: disbanded");
    assert!(
        all_claims(&env).await?.is_empty(),
        "{side:?}: claim released"
    );
    operator.stop(Duration::from_secs(20)).await;
    Ok(())
}

async fn all_claims(env: &Env) -> anyhow::Result<Vec<ChatGroupClaim>> {
    let api: Api<ChatGroupClaim> = Api::all(env.client.clone());
    Ok(api.list(&Default::default()).await?.items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_right_after_the_first_claim_still_ends_with_exactly_one_owner_tencent(
) -> anyhow::Result<()> {
    claim_race_through_a_kill(Side::Tencent).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_right_after_the_first_claim_still_ends_with_exactly_one_owner_netease(
) -> anyhow::Result<()> {
    claim_race_through_a_kill(Side::Netease).await
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
        // The user is told why nothing was disbanded.
        let released = eventually(WAIT, || async {
            let events = events_about(&env, &name).await.ok()?;
            events
                .into_iter()
                .find(|(type_, reason, _)| type_ == "Normal" && reason == "Released")
        })
        .await
        .map_err(|e| anyhow::anyhow!("{side:?}: no Released Event about {name}: {e}"))?;
        assert!(
            released.2.contains("owns no group")
                && released.2.contains("without any provider call"),
            "{side:?}: the Event says so: {}",
            released.2
        );
    }
    Ok(())
}

/// The Events in the test namespace about ChatGroup `name`, as (type, reason, note).
async fn events_about(env: &Env, name: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    use k8s_openapi::api::events::v1::Event;
    let events: Api<Event> = Api::namespaced(env.client.clone(), NAMESPACE);
    let list = events.list(&Default::default()).await?.items;
    Ok(list
        .into_iter()
        .filter(|e| {
            let regarding = e.regarding.as_ref();
            regarding.and_then(|r| r.name.as_deref()) == Some(name)
                && regarding.and_then(|r| r.kind.as_deref()) == Some("ChatGroup")
        })
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
            )
        })
        .collect())
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
