//! Ownership, the rest of issue 8: decisions taken on a stale watch cache, a
//! ChatProvider repointed (edited, or deleted and re-created) or changing type, bad
//! input (malformed ids, an emptied app key, hand-made claims), and clusters restored
//! from a backup or rebuilt from Git. The claim races live in `ownership.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chatgroup_operator::api::{
    ChatGroup, ChatGroupClaim, ChatGroupClaimSpec, ChatProvider, ClaimHolder,
};
use e2e::{condition, eventually, fixtures, group_id, ready_with, Env, Op, Side, NAMESPACE};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use kube_sim::{ObjectMatch, WatchHold};
use provider_sim::{NeteaseSim, NeteaseSimConfig, TencentSim, TencentSimConfig};
use serde_json::json;

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

fn lower(side: Side) -> String {
    format!("{side:?}").to_lowercase()
}

fn stalled_with(group: &ChatGroup, why: &str) -> bool {
    condition(group, "Stalled") == Some(("True".into(), why.into()))
}

fn not_owned(group: &ChatGroup) -> bool {
    e2e::reason(group, "Ready").as_deref() == Some("GroupNotOwned")
}

/// The app id `Env::start` configured for `side`.
fn home_app(side: Side) -> String {
    match side {
        Side::Tencent => TencentSimConfig::default().sdk_app_id.to_string(),
        Side::Netease => NeteaseSimConfig::default().app_key,
    }
}

fn home_url(env: &Env, side: Side) -> String {
    match side {
        Side::Tencent => env.tencent.base_url(),
        Side::Netease => env.netease.base_url(),
    }
}

/// A ChatProvider manifest named `name`, of kind `kind`, for `app` at `url`.
fn provider_yaml(name: &str, kind: Side, url: &str, app: &str) -> anyhow::Result<String> {
    Ok(match kind {
        Side::Tencent => fixtures::tencent_provider(name, url, app.parse()?),
        Side::Netease => fixtures::netease_provider(name, url, app),
    })
}

/// Points the side's ChatProvider at `app` on `url`.
async fn repoint(env: &Env, side: Side, url: &str, app: &str) -> anyhow::Result<()> {
    let yaml = provider_yaml(side.provider(), side, url, app)?;
    env.apply_yaml::<ChatProvider>(&yaml).await?;
    Ok(())
}

fn providers(env: &Env) -> Api<ChatProvider> {
    Api::namespaced(env.client.clone(), NAMESPACE)
}

fn claims(env: &Env) -> Api<ChatGroupClaim> {
    Api::all(env.client.clone())
}

/// The claims held by the ChatGroup named `name` (in the test namespace).
async fn claims_held_by(env: &Env, name: &str) -> anyhow::Result<Vec<String>> {
    let all = claims(env).list(&ListParams::default()).await?.items;
    Ok(all
        .into_iter()
        .filter(|c| c.spec.holder.namespace == NAMESPACE && c.spec.holder.name == name)
        .map(|c| c.name_any())
        .collect())
}

/// The Events in the test namespace about ChatGroup `name`, as (type, reason, note).
async fn events_about(env: &Env, name: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    let events: Api<Event> = Api::namespaced(env.client.clone(), NAMESPACE);
    let list = events.list(&ListParams::default()).await?.items;
    Ok(list
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                && e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("ChatGroup")
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

async fn set_deletion_policy_orphan(env: &Env, name: &str) -> anyhow::Result<()> {
    let patch = json!({"spec": {"deletionPolicy": "Orphan"}});
    env.groups()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

async fn set_state_disbanded(env: &Env, name: &str) -> anyhow::Result<()> {
    let patch = json!({"spec": {"state": "disbanded"}});
    env.groups()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Creates a ChatGroup and waits until it manages a group; returns the group id.
async fn managed(env: &Env, name: &str, side: Side) -> anyhow::Result<String> {
    env.apply_group(&manifest(name, side, "")).await?;
    let group = env
        .wait_group(name, WAIT, |g| ready_with(g, "Available"))
        .await?;
    Ok(group_id(&group).expect("a managed group has its id recorded"))
}

// ---------------------------------------------------------------------------------
// 1. Stale watch cache.
// ---------------------------------------------------------------------------------

/// How far behind the operator's watch cache is held.
const HOLD: Duration = Duration::from_secs(2);

fn held(name: &str) -> ObjectMatch {
    ObjectMatch::kind("ChatGroup")
        .in_namespace(NAMESPACE)
        .named(name)
}

/// Touches the ChatProvider every 150 ms until `stop`: each touch makes the operator
/// reconcile every ChatGroup of that provider that is in its (stale) cache.
async fn poke(env: &Env, provider: &str, stop: &AtomicBool) -> usize {
    let api = providers(env);
    let mut pokes = 0usize;
    while !stop.load(Ordering::SeqCst) {
        pokes += 1;
        let patch =
            json!({"metadata": {"annotations": {"e2e.chatgroup.dev/poke": pokes.to_string()}}});
        let _ = api
            .patch(provider, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    pokes
}

/// Reads ChatGroup `name` from the API server every 20 ms until `stop`, and lists
/// every recorded field that was lost and every release that came before the disband.
async fn watch_recorded_fields(
    env: &Env,
    side: Side,
    name: &str,
    stop: &AtomicBool,
) -> Vec<String> {
    let api = env.groups();
    let mut violations = Vec::new();
    let mut seen_id: Option<String> = None;
    let mut seen_app = None;
    let mut seen_disbanded = false;
    let mut pending_before = false;
    let (mut existed, mut gone) = (false, false);
    while !stop.load(Ordering::SeqCst) {
        match api.get_opt(name).await {
            Ok(Some(group)) => {
                existed = true;
                if gone {
                    violations.push(format!("{name} came back after it was gone"));
                }
                let status = group.status.clone().unwrap_or_default();
                match (&seen_id, &status.group_id) {
                    (Some(old), now) if now.as_ref() != Some(old) => {
                        violations.push(format!("{name}: status.groupId {old} became {now:?}"))
                    }
                    (None, Some(now)) => seen_id = Some(now.clone()),
                    _ => {}
                }
                match (&seen_app, &status.app) {
                    (Some(old), now) if now.as_ref() != Some(old) => {
                        violations.push(format!("{name}: status.app {old:?} became {now:?}"))
                    }
                    (None, Some(now)) => seen_app = Some(now.clone()),
                    _ => {}
                }
                if seen_disbanded && status.disbanded_at.is_none() {
                    violations.push(format!("{name}: status.disbandedAt was erased"));
                }
                seen_disbanded |= status.disbanded_at.is_some();
                // createPendingSince goes only when the create is recorded (or the
                // group disbanded), in the same write.
                let settled = status.group_id.is_some() || status.disbanded_at.is_some();
                if pending_before && status.create_pending_since.is_none() && !settled {
                    violations.push(format!(
                        "{name}: status.createPendingSince was erased before the create was recorded"
                    ));
                }
                pending_before = status.create_pending_since.is_some();
            }
            Ok(None) if existed && !gone => {
                gone = true;
                if let Some(id) = &seen_id {
                    if env.sim_group(side, id).is_some() {
                        violations.push(format!(
                            "{name}: released (gone from the API server) while group {id} still exists"
                        ));
                    }
                }
            }
            Ok(None) | Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    violations
}

/// Two ChatGroups of `side` go through create, then one is deleted and the other set
/// `state: disbanded`, while the operator's watch cache is held behind the API server
/// (delayed events, then dropped ones) and reconciles keep being triggered on the
/// stale copies.
async fn stale_cache_round(env: &Env, side: Side) -> anyhow::Result<()> {
    let deleted = format!("stale-del-{}", lower(side));
    let ended = format!("stale-end-{}", lower(side));
    let faults = env.kube.faults();
    for name in [&deleted, &ended] {
        faults.hold_watch_events(held(name), WatchHold::Delay(HOLD));
    }
    let (creates, disbands) = (
        env.attempts(side, Op::Create),
        env.attempts(side, Op::Disband),
    );
    let stop = AtomicBool::new(false);
    let scenario = async {
        let result = async {
            env.apply_group(&manifest(&deleted, side, "")).await?;
            env.apply_group(&manifest(&ended, side, "")).await?;
            let available = |g: &ChatGroup| ready_with(g, "Available");
            let first = env.wait_group(&deleted, WAIT, available).await?;
            let second = env.wait_group(&ended, WAIT, available).await?;
            // The cache still has the objects without status.groupId: keep reconciling.
            tokio::time::sleep(HOLD + Duration::from_millis(500)).await;
            assert_eq!(
                env.attempts(side, Op::Create) - creates,
                2,
                "{side:?}: one create call per object, none sent on a stale copy"
            );

            // From now on `ended`'s events are lost, not just late.
            faults.hold_watch_events(held(&ended), WatchHold::Drop);
            env.delete_group(&deleted).await?;
            set_state_disbanded(env, &ended).await?;
            env.wait_gone(&deleted, WAIT).await?;
            env.wait_group(&ended, WAIT, |g| ready_with(g, "Disbanded"))
                .await?;
            // The cache still shows `deleted` being deleted with its finalizer, and
            // `ended` active: keep reconciling on that.
            tokio::time::sleep(HOLD + Duration::from_millis(500)).await;
            anyhow::Ok([group_id(&first), group_id(&second)])
        }
        .await;
        stop.store(true, Ordering::SeqCst);
        result
    };
    let (result, lost_first, lost_second, pokes) = tokio::join!(
        scenario,
        watch_recorded_fields(env, side, &deleted, &stop),
        watch_recorded_fields(env, side, &ended, &stop),
        poke(env, side.provider(), &stop),
    );
    let ids = result?;
    assert!(pokes > 20, "{side:?}: reconciles were triggered ({pokes})");
    assert!(lost_first.is_empty(), "{side:?}: {lost_first:#?}");
    assert!(lost_second.is_empty(), "{side:?}: {lost_second:#?}");
    let check_counts = |when: &str| {
        assert_eq!(
            env.attempts(side, Op::Create) - creates,
            2,
            "{side:?} {when}: no duplicate create"
        );
        assert_eq!(
            env.attempts(side, Op::Disband) - disbands,
            2,
            "{side:?} {when}: one disband call per object"
        );
        for id in ids.iter().flatten() {
            assert!(
                env.sim_group(side, id).is_none(),
                "{side:?} {when}: {id} disbanded"
            );
        }
    };
    check_counts("while held");
    // The operator did reconcile on its stale copy of the deleted object: it read it
    // afresh and found it gone, rather than acting on what its cache showed.
    let fresh_reads_of_a_gone_object = env
        .kube
        .requests()
        .iter()
        .filter(|r| {
            r.verb == "get"
                && r.resource == "chatgroups"
                && r.subresource.is_none()
                && r.name.as_deref() == Some(deleted.as_str())
                && r.code == 404
                && r.user.as_deref() == Some(e2e::OPERATOR_USER)
        })
        .count();
    assert!(
        fresh_reads_of_a_gone_object > 0,
        "{side:?}: reconciles ran on the stale copy of {deleted}"
    );

    // Released: the cache catches up, and nothing more happens.
    faults.release_watch_events(&held(&deleted));
    faults.release_watch_events(&held(&ended));
    let stop = AtomicBool::new(false);
    let settle = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, Ordering::SeqCst);
    };
    tokio::join!(settle, poke(env, side.provider(), &stop));
    check_counts("after release");
    let tombstone = env.groups().get(&ended).await?;
    assert!(
        ready_with(&tombstone, "Disbanded"),
        "{side:?}: {tombstone:?}"
    );
    let status = tombstone.status.clone().unwrap_or_default();
    assert!(status.disbanded_at.is_some() && status.group_id == ids[1]);
    assert!(env.groups().get_opt(&deleted).await?.is_none());
    for name in [&deleted, &ended] {
        let left = claims_held_by(env, name).await?;
        assert!(
            left.is_empty(),
            "{side:?}: {name}'s claim released: {left:?}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_watch_cache_never_duplicates_a_create_releases_early_or_loses_a_field(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        stale_cache_round(&env, side).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// 2. A repointed ChatProvider.
// ---------------------------------------------------------------------------------

/// A second app for each provider: the same credentials, another app id.
struct OtherApps {
    tencent: TencentSim,
    netease: NeteaseSim,
}

const OTHER_TENCENT_APP: u64 = 1_400_000_001;
const OTHER_NETEASE_APP: &str = "other-app-key";

impl OtherApps {
    async fn start() -> anyhow::Result<OtherApps> {
        Ok(OtherApps {
            tencent: TencentSim::start(TencentSimConfig {
                sdk_app_id: OTHER_TENCENT_APP,
                ..TencentSimConfig::default()
            })
            .await?,
            netease: NeteaseSim::start(NeteaseSimConfig {
                app_key: OTHER_NETEASE_APP.into(),
                ..NeteaseSimConfig::default()
            })
            .await?,
        })
    }

    fn url(&self, side: Side) -> String {
        match side {
            Side::Tencent => self.tencent.base_url(),
            Side::Netease => self.netease.base_url(),
        }
    }

    fn app(&self, side: Side) -> String {
        match side {
            Side::Tencent => OTHER_TENCENT_APP.to_string(),
            Side::Netease => OTHER_NETEASE_APP.into(),
        }
    }

    fn calls(&self, side: Side) -> usize {
        match side {
            Side::Tencent => self.tencent.calls().len(),
            Side::Netease => self.netease.calls().len(),
        }
    }
}

fn provider_changed(group: &ChatGroup) -> bool {
    stalled_with(group, "ProviderChanged")
}

/// The Stalled message and a Warning Event both name the recorded and the new app.
async fn assert_names_both_apps(
    env: &Env,
    side: Side,
    name: &str,
    stalled: &ChatGroup,
    old_app: &str,
    new_app: &str,
) -> anyhow::Result<()> {
    let text = e2e::message(stalled, "Stalled");
    assert!(
        text.contains(old_app) && text.contains(new_app),
        "{side:?}: the message names {old_app} and {new_app}: {text}"
    );
    let warnings = eventually(WAIT, || async {
        let events = events_about(env, name).await.ok()?;
        let found: Vec<_> = events
            .into_iter()
            .filter(|(type_, reason, _)| type_ == "Warning" && reason == "ProviderChanged")
            .collect();
        (!found.is_empty()).then_some(found)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{side:?}: no Warning Event ProviderChanged about {name}: {e}"))?;
    let (_, _, note) = &warnings[0];
    assert!(
        note.contains(old_app) && note.contains(new_app),
        "{side:?}: the Event names both apps: {note}"
    );
    Ok(())
}

#[tokio::test]
async fn a_repointed_chat_provider_names_both_apps_and_orphan_lets_go_without_a_call(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    let other = OtherApps::start().await?;
    for side in Side::BOTH {
        let name = format!("repointed-{}", lower(side));
        let id = managed(&env, &name, side).await?;
        let calls = env.call_count(side);

        repoint(&env, side, &other.url(side), &other.app(side)).await?;
        let stalled = env.wait_group(&name, WAIT, provider_changed).await?;
        assert_names_both_apps(
            &env,
            side,
            &name,
            &stalled,
            &home_app(side),
            &other.app(side),
        )
        .await?;
        assert_eq!(
            group_id(&stalled).as_deref(),
            Some(id.as_str()),
            "{side:?}: the recorded id is kept"
        );

        // The way out: Orphan, then delete.
        set_deletion_policy_orphan(&env, &name).await?;
        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        assert_eq!(other.calls(side), 0, "{side:?}: no call to the new app");
        assert_eq!(
            env.call_count(side),
            calls,
            "{side:?}: no call to the old app"
        );
        assert!(
            env.sim_group(side, &id).is_some(),
            "{side:?}: the group lives on in the old app"
        );
        let left = claims_held_by(&env, &name).await?;
        assert!(left.is_empty(), "{side:?}: the claim is released: {left:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_chat_provider_deleted_and_recreated_for_another_app_stops_every_call(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    let other = OtherApps::start().await?;
    for side in Side::BOTH {
        let name = format!("recreated-{}", lower(side));
        let id = managed(&env, &name, side).await?;
        let calls = env.call_count(side);

        providers(&env)
            .delete(side.provider(), &DeleteParams::default())
            .await?;
        eventually(WAIT, || async {
            matches!(providers(&env).get_opt(side.provider()).await, Ok(None)).then_some(())
        })
        .await?;
        repoint(&env, side, &other.url(side), &other.app(side)).await?;
        let stalled = env.wait_group(&name, WAIT, provider_changed).await?;
        assert_names_both_apps(
            &env,
            side,
            &name,
            &stalled,
            &home_app(side),
            &other.app(side),
        )
        .await?;
        env.delete_group(&name).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let held = env.groups().get(&name).await?;
        assert!(
            held.metadata.deletion_timestamp.is_some(),
            "{side:?}: the finalizer holds the object"
        );
        assert_eq!(other.calls(side), 0, "{side:?}: no call to the new app");
        assert_eq!(
            env.call_count(side),
            calls,
            "{side:?}: no call to the old app"
        );
        assert!(env.sim_group(side, &id).is_some());

        // Re-created once more, for the old app: the held delete disbands it there.
        providers(&env)
            .delete(side.provider(), &DeleteParams::default())
            .await?;
        eventually(WAIT, || async {
            matches!(providers(&env).get_opt(side.provider()).await, Ok(None)).then_some(())
        })
        .await?;
        repoint(&env, side, &home_url(&env, side), &home_app(side)).await?;
        env.wait_gone(&name, WAIT).await?;
        assert!(env.sim_group(side, &id).is_none(), "{side:?}: disbanded");
        assert_eq!(env.executed(side, Op::Disband), 1);
        assert_eq!(
            other.calls(side),
            0,
            "{side:?}: still no call to the new app"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// 3. Bad input.
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_malformed_tencent_group_id_is_refused_naming_the_field_before_any_call(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    let side = Side::Tencent;
    // Each is within the CRD's 48 characters, so the API server takes it.
    let cjk_120_bytes = "运维".repeat(20);
    let cases = [
        ("id-tab", "\"ops\\troom\"".to_string(), "printable ASCII"),
        ("id-accent", "\"café-room\"".to_string(), "printable ASCII"),
        ("id-bytes", format!("\"{cjk_120_bytes}\""), "48"),
    ];
    for (name, id, why) in &cases {
        env.apply_group(&manifest(name, side, &format!("groupId: {id}\n")))
            .await?;
        let stalled = env
            .wait_group(name, WAIT, |g| stalled_with(g, "InvalidSpec"))
            .await?;
        let text = e2e::message(&stalled, "Stalled");
        assert!(
            text.contains("spec.groupId") && text.contains(why),
            "{name}: names the field and the rule: {text}"
        );
        assert_eq!(
            e2e::reason(&stalled, "Ready").as_deref(),
            Some("InvalidSpec"),
            "{name}"
        );
    }
    for (name, _, _) in &cases {
        env.delete_group(name).await?;
        env.wait_gone(name, WAIT).await?;
    }
    assert_eq!(env.call_count(side), 0, "no provider call at all");
    let left = claims(&env).list(&ListParams::default()).await?.items;
    assert!(left.is_empty(), "no claim made for a malformed id");
    Ok(())
}

async fn rejected_provider(env: &Env, yaml: &str) -> String {
    match env.apply_yaml::<ChatProvider>(yaml).await {
        Ok(_) => panic!("the API server accepted:\n{yaml}"),
        Err(error) => format!("{error:#}"),
    }
}

/// Blanks the NetEase AppKey of the `netease` ChatProvider (the API server refuses
/// an empty one, not a blank one) and waits until `name` reports it by field.
async fn blank_the_app_key(env: &Env, name: &str) -> anyhow::Result<()> {
    repoint(env, Side::Netease, &env.netease.base_url(), "\" \"").await?;
    let failing = env
        .wait_group(name, WAIT, |g| {
            e2e::reason(g, "Reconciling").as_deref() == Some("CredentialsUnavailable")
        })
        .await?;
    let text = e2e::message(&failing, "Reconciling");
    assert!(text.contains("appKey"), "names the field: {text}");
    assert_eq!(
        condition(&failing, "Synced").map(|c| c.0).as_deref(),
        Some("False")
    );
    Ok(())
}

#[tokio::test]
async fn an_emptied_app_key_is_reported_by_field_and_disbands_nothing() -> anyhow::Result<()> {
    let env = Env::start().await?;
    // What the API server already refuses: an empty AppKey, SDKAppID 0.
    let refused = rejected_provider(
        &env,
        &fixtures::netease_provider("empty-key", &env.netease.base_url(), "\"\""),
    )
    .await;
    assert!(refused.contains("appKey"), "{refused}");
    let refused = rejected_provider(
        &env,
        &fixtures::tencent_provider("zero-app", &env.tencent.base_url(), 0),
    )
    .await;
    assert!(refused.contains("sdkAppId"), "{refused}");

    // What it lets through: a blank AppKey.
    let side = Side::Netease;
    let name = "blank-key";
    let id = managed(&env, name, side).await?;
    let writes = env.writes(side);
    blank_the_app_key(&env, name).await?;
    // A spec change while it is blank: still nothing is sent.
    env.apply_group(&manifest(name, side, "introduction: changed\n"))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.writes(side), writes, "nothing written");
    assert!(env.sim_group(side, &id).is_some(), "the team lives on");

    // The way out that needs no credentials: Orphan.
    set_deletion_policy_orphan(&env, name).await?;
    env.delete_group(name).await?;
    env.wait_gone(name, WAIT).await?;
    assert_eq!(env.writes(side), writes, "orphaned without a write");
    assert!(env.sim_group(side, &id).is_some(), "the team lives on");
    Ok(())
}

/// Deletes `name` while the AppKey is blank: the deletion must wait, with no write,
/// until the ChatProvider is fixed; then the team is disbanded once.
async fn delete_while_blank(env: &Env, name: &str, id: &str, writes: usize) -> anyhow::Result<()> {
    let side = Side::Netease;
    env.delete_group(name).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        env.sim_group(side, id).is_some(),
        "nothing disbanded through a ChatProvider with a blank AppKey (disband calls: {})",
        env.executed(side, Op::Disband)
    );
    assert_eq!(env.writes(side), writes, "nothing written");
    assert!(
        env.groups().get_opt(name).await?.is_some(),
        "the finalizer holds the object while the ChatProvider is broken"
    );
    repoint(env, side, &env.netease.base_url(), &home_app(side)).await?;
    env.wait_gone(name, WAIT).await?;
    assert!(env.sim_group(side, id).is_none());
    assert_eq!(env.executed(side, Op::Disband), 1);
    Ok(())
}

#[tokio::test]
async fn deleting_while_the_app_key_is_blank_waits_until_it_is_fixed() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let name = "blank-delete";
    let id = managed(&env, name, Side::Netease).await?;
    let writes = env.writes(Side::Netease);
    blank_the_app_key(&env, name).await?;
    delete_while_blank(&env, name, &id, writes).await
}

#[tokio::test]
async fn after_a_restart_deleting_while_the_app_key_is_blank_waits_until_it_is_fixed(
) -> anyhow::Result<()> {
    let mut env = Env::start().await?;
    let name = "blank-restart";
    let id = managed(&env, name, Side::Netease).await?;
    let writes = env.writes(Side::Netease);
    blank_the_app_key(&env, name).await?;
    // A new process has no client cached from before the AppKey was blanked.
    env.stop_operator().await;
    env.start_operator();
    delete_while_blank(&env, name, &id, writes).await
}

#[tokio::test]
async fn a_chat_provider_that_changes_type_stops_every_call() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("retyped-{}", lower(side));
        let id = managed(&env, &name, side).await?;
        let other_kind = match side {
            Side::Tencent => Side::Netease,
            Side::Netease => Side::Tencent,
        };
        let calls = (env.call_count(side), env.call_count(other_kind));

        // Same ChatProvider name, the other provider's spec (and app).
        let yaml = provider_yaml(
            side.provider(),
            other_kind,
            &home_url(&env, other_kind),
            &home_app(other_kind),
        )?;
        env.apply_yaml::<ChatProvider>(&yaml).await?;
        let changed = providers(&env).get(side.provider()).await?;
        assert!(
            changed.spec.tencent.is_some() == (other_kind == Side::Tencent)
                && changed.spec.netease.is_some() == (other_kind == Side::Netease),
            "{side:?}: the ChatProvider changed type: {:?}",
            changed.spec
        );
        let stalled = env.wait_group(&name, WAIT, provider_changed).await?;
        assert_names_both_apps(
            &env,
            side,
            &name,
            &stalled,
            &home_app(side),
            &home_app(other_kind),
        )
        .await?;
        env.delete_group(&name).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            env.groups().get_opt(&name).await?.is_some(),
            "{side:?}: the finalizer holds the object"
        );
        assert_eq!(
            (env.call_count(side), env.call_count(other_kind)),
            calls,
            "{side:?}: no call to either provider"
        );
        assert!(env.sim_group(side, &id).is_some());

        // Changed back: the held delete disbands the group in its own app.
        repoint(&env, side, &home_url(&env, side), &home_app(side)).await?;
        env.wait_gone(&name, WAIT).await?;
        assert!(env.sim_group(side, &id).is_none(), "{side:?}: disbanded");
        assert_eq!(env.executed(side, Op::Disband), 1, "{side:?}");
        assert_eq!(
            env.call_count(other_kind),
            calls.1,
            "{side:?}: nothing sent to the other provider"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_hand_made_claim_naming_a_live_object_refuses_by_holder_and_deletes_without_a_call(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        // A live ChatGroup (a tombstone that never owned anything: no provider call).
        let holder = format!("holder-{}", lower(side));
        env.apply_group(&manifest(&holder, side, "state: disbanded\n"))
            .await?;
        let holder_object = env
            .wait_group(&holder, WAIT, |g| ready_with(g, "Disbanded"))
            .await?;
        let id = match side {
            Side::Tencent => "hand-held".to_string(),
            Side::Netease => {
                env.insert(side, side.existing_group("930001"));
                "930001".to_string()
            }
        };
        let provider = lower(side);
        let claim_name = ChatGroupClaimSpec::object_name(&provider, &home_app(side), &id);
        let spec = ChatGroupClaimSpec {
            provider,
            app_id: home_app(side),
            group_id: id.clone(),
            holder: ClaimHolder {
                namespace: NAMESPACE.into(),
                name: holder.clone(),
                uid: holder_object.uid().expect("uid"),
            },
        };
        claims(&env)
            .create(
                &PostParams::default(),
                &ChatGroupClaim::new(&claim_name, spec),
            )
            .await?;

        let name = format!("claimant-{}", lower(side));
        env.apply_group(&manifest(&name, side, &format!("groupId: \"{id}\"\n")))
            .await?;
        let refused = env.wait_group(&name, WAIT, not_owned).await?;
        let text = e2e::message(&refused, "Ready");
        assert!(text.contains(&holder), "{side:?}: names the holder: {text}");
        assert_eq!(env.call_count(side), 0, "{side:?}: no provider call");

        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        assert_eq!(
            env.call_count(side),
            0,
            "{side:?}: the delete called nothing"
        );
        let claim = claims(&env).get(&claim_name).await?;
        assert_eq!(
            claim.spec.holder.name, holder,
            "{side:?}: the claim is left to its holder"
        );
        if side == Side::Netease {
            assert!(env.sim_group(side, &id).is_some(), "the team lives on");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// 4. Restored from a backup, rebuilt from Git.
// ---------------------------------------------------------------------------------

const TAKE_OVER: &str = chatgroup_operator::controller::ownership::TAKE_OVER_ANNOTATION;
/// A Tencent ChatProvider of the home app whose groups carry their owner's marker.
const MARKED_TENCENT: &str = "tencent-marked";
const OWNER_DATA_KEY: &str = "cg_owner";

async fn marked_tencent_provider(env: &Env) -> anyhow::Result<()> {
    let yaml = provider_yaml(
        MARKED_TENCENT,
        Side::Tencent,
        &env.tencent.base_url(),
        &home_app(Side::Tencent),
    )?;
    let yaml = format!("{yaml}    ownerDataKey: {OWNER_DATA_KEY}\n");
    env.apply_yaml::<ChatProvider>(&yaml).await?;
    Ok(())
}

/// A ChatGroup manifest named `name` on the ChatProvider `provider` of `side`.
fn manifest_on(name: &str, side: Side, provider: &str, extra: &str) -> String {
    fixtures::group(name, provider, side.group_type(), &spec(side, extra))
}

/// The owner's marker the group `id` carries (NetEase: inside `server_extension`;
/// Tencent: under the ownerDataKey), if it names `uid`.
fn marked_with(env: &Env, side: Side, id: &str, uid: &str) -> bool {
    env.sim_group(side, id).is_some_and(|g| match side {
        Side::Tencent => g.custom_data.get(OWNER_DATA_KEY).map(String::as_str) == Some(uid),
        Side::Netease => g.server_extension.contains(uid),
    })
}

/// The ChatGroups `names` are lost and restored from a backup the way Velero does
/// it, with the operator stopped: each object goes without its finalizer having run
/// (so its claim still names its old UID), then comes back from the same manifest
/// with a new UID and its old status written through the status subresource.
/// Returns the old objects.
async fn restore_from_backup(
    env: &mut Env,
    objects: &[(String, String)],
) -> anyhow::Result<Vec<ChatGroup>> {
    let mut old = Vec::new();
    for (name, _) in objects {
        old.push(env.groups().get(name).await?);
    }
    env.stop_operator().await;
    let drop_finalizers = json!({"metadata": {"finalizers": null}});
    for (name, _) in objects {
        env.groups()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&drop_finalizers),
            )
            .await?;
        let _ = env.groups().delete(name, &DeleteParams::default()).await;
        env.wait_gone(name, WAIT).await?;
        let left = claims_held_by(env, name).await?;
        assert_eq!(left.len(), 1, "{name}'s claim outlives it: {left:?}");
    }
    for ((name, yaml), before) in objects.iter().zip(&old) {
        let restored = env.apply_group(yaml).await?;
        assert_ne!(restored.uid(), before.uid(), "{name}: a new UID");
        let status = json!({"status": before.status});
        env.groups()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await?;
    }
    env.start_operator();
    Ok(old)
}

/// The claim on the group `name` manages now names `name`'s current UID: the operator
/// has reconciled the restored object (its restored status looks settled already).
async fn wait_claimed_by_current(env: &Env, name: &str) -> anyhow::Result<()> {
    eventually(WAIT, || async {
        let uid = env.groups().get(name).await.ok()?.uid()?;
        let all = claims(env).list(&ListParams::default()).await.ok()?.items;
        all.iter()
            .any(|c| c.spec.holder.name == name && c.spec.holder.uid == uid)
            .then_some(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("{name}'s claim never named its new UID: {e}"))
}

async fn take_over(env: &Env, name: &str) -> anyhow::Result<()> {
    let patch = json!({"metadata": {"annotations": {TAKE_OVER: "true"}}});
    env.groups()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Restored objects whose groups carry their old UIDs' markers (NetEase, and Tencent
/// with an `ownerDataKey`) report `GroupNotOwned` until annotated take-over: nothing
/// is created, written or disbanded on the strength of the restore alone. Annotated,
/// one adopts its group and re-stamps it; deleted, it disbands it once. Deleted
/// without the annotation, the other is released and its group lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_restored_from_a_backup_are_refused_until_taken_over_and_make_no_second_group(
) -> anyhow::Result<()> {
    let mut env = Env::start().await?;
    marked_tencent_provider(&env).await?;
    for (side, provider) in [
        (Side::Netease, Side::Netease.provider()),
        (Side::Tencent, MARKED_TENCENT),
    ] {
        let names = [
            format!("restored-{}", lower(side)),
            format!("restored-left-{}", lower(side)),
        ];
        let objects: Vec<(String, String)> = names
            .iter()
            .map(|n| (n.clone(), manifest_on(n, side, provider, "")))
            .collect();
        let mut ids = Vec::new();
        for (name, yaml) in &objects {
            env.apply_group(yaml).await?;
            let group = env
                .wait_group(name, WAIT, |g| ready_with(g, "Available"))
                .await?;
            ids.push(group_id(&group).expect("recorded"));
        }
        let (creates, writes) = (env.executed(side, Op::Create), env.writes(side));

        let old = restore_from_backup(&mut env, &objects).await?;
        for (name, before) in names.iter().zip(&old) {
            // The restored Ready stays as it was (a failure keeps a True Ready while a
            // group is recorded); the refusal is reported as Stalled.
            let refused = env
                .wait_group(name, WAIT, |g| stalled_with(g, "GroupNotOwned"))
                .await?;
            let old_uid = before.uid().expect("uid");
            let text = e2e::message(&refused, "Stalled");
            assert!(
                text.contains(&old_uid),
                "{side:?} {name}: names the old owner's marker: {text}"
            );
            assert_eq!(
                group_id(&refused),
                group_id(before),
                "{side:?}: status.groupId kept"
            );
        }
        assert_eq!(
            env.writes(side),
            writes,
            "{side:?}: the restore alone wrote nothing"
        );

        // Deleted without taking over: released, and its group lives on.
        env.delete_group(&names[1]).await?;
        env.wait_gone(&names[1], WAIT).await?;
        assert_eq!(env.writes(side), writes, "{side:?}: nothing disbanded");
        assert!(env.sim_group(side, &ids[1]).is_some());

        // Taken over by the annotation alone (all the README asks for, no spec
        // change): the same group, re-stamped.
        take_over(&env, &names[0]).await?;
        let adopted = env
            .wait_group(&names[0], WAIT, |g| {
                ready_with(g, "Available")
                    && marked_with(&env, side, &ids[0], &g.uid().unwrap_or_default())
            })
            .await?;
        assert_eq!(group_id(&adopted).as_deref(), Some(ids[0].as_str()));
        assert_eq!(
            env.executed(side, Op::Create),
            creates,
            "{side:?}: no second group"
        );
        assert_eq!(env.executed(side, Op::Disband), 0);
        env.delete_group(&names[0]).await?;
        env.wait_gone(&names[0], WAIT).await?;
        assert_eq!(
            env.executed(side, Op::Disband),
            1,
            "{side:?}: disbanded once"
        );
        assert!(env.sim_group(side, &ids[0]).is_none());
        assert!(env.sim_group(side, &ids[1]).is_some());
    }
    Ok(())
}

/// A Tencent group of a ChatProvider without `ownerDataKey` carries no marker: a
/// restored object whose old holder is gone takes its claim over and manages its
/// recorded group again, with no second group and no write.
#[tokio::test]
async fn a_restored_object_whose_group_carries_no_marker_manages_it_again_without_a_second_one(
) -> anyhow::Result<()> {
    let mut env = Env::start().await?;
    let side = Side::Tencent;
    let name = "restored-plain".to_string();
    let id = managed(&env, &name, side).await?;
    let writes = env.writes(side);
    let objects = [(name.clone(), manifest(&name, side, ""))];
    restore_from_backup(&mut env, &objects).await?;
    wait_claimed_by_current(&env, &name).await?;
    let restored = env
        .wait_group(&name, WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(group_id(&restored).as_deref(), Some(id.as_str()));
    assert_eq!(env.writes(side), writes, "no write, no second group");

    env.delete_group(&name).await?;
    env.wait_gone(&name, WAIT).await?;
    assert_eq!(env.executed(side, Op::Disband), 1, "disbanded once");
    assert!(env.sim_group(side, &id).is_none());
    assert!(claims_held_by(&env, &name).await?.is_empty());
    Ok(())
}

/// Points `env`'s ChatProviders at `with`'s simulators (the same apps).
async fn share_apps(env: &Env, with: &Env) -> anyhow::Result<()> {
    for side in Side::BOTH {
        repoint(env, side, &home_url(with, side), &home_app(side)).await?;
    }
    Ok(())
}

/// The README's warning: a cluster rebuilt from Git by re-applying manifests without
/// recorded ids creates new groups (the new UIDs derive new Tencent ids and new
/// NetEase markers). The old group is never touched by the new cluster, and each
/// cluster's teardown disbands its own group only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_manifest_reapplied_to_a_rebuilt_cluster_makes_a_new_group_and_leaves_the_old(
) -> anyhow::Result<()> {
    let old = Env::start().await?;
    let new = Env::start().await?;
    share_apps(&new, &old).await?;
    for side in Side::BOTH {
        let name = format!("reapplied-{}", lower(side));
        let first = managed(&old, &name, side).await?;
        let writes = old.writes(side);
        let second = managed(&new, &name, side).await?;
        assert_ne!(first, second, "{side:?}: a new group");
        assert_eq!(
            old.writes(side),
            writes + 1,
            "{side:?}: the new cluster's one write is its create"
        );
        if side == Side::Netease {
            let old_uid = old.groups().get(&name).await?.uid().unwrap_or_default();
            assert!(
                marked_with(&old, side, &first, &old_uid),
                "the old team still carries the old object's marker: {:?}",
                old.sim_group(side, &first)
            );
        }

        old.delete_group(&name).await?;
        old.wait_gone(&name, WAIT).await?;
        assert!(
            old.sim_group(side, &first).is_none(),
            "{side:?}: old group disbanded"
        );
        assert!(
            old.sim_group(side, &second).is_some(),
            "{side:?}: new group lives on"
        );
        new.delete_group(&name).await?;
        new.wait_gone(&name, WAIT).await?;
        assert!(old.sim_group(side, &second).is_none());
        assert_eq!(old.executed(side, Op::Disband), 2, "{side:?}: each once");
    }
    Ok(())
}

/// The documented migration path for Tencent without `ownerDataKey`: the id recorded
/// into the manifest with the take-over annotation, and the old cluster torn down
/// with `deletionPolicy: Orphan`: no second group, and the group is disbanded once,
/// by the new cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tencent_group_without_a_marker_moves_by_recorded_id_and_an_orphaning_teardown(
) -> anyhow::Result<()> {
    let old = Env::start().await?;
    let new = Env::start().await?;
    share_apps(&new, &old).await?;
    let side = Side::Tencent;
    let name = "moved-plain";
    let id = managed(&old, name, side).await?;

    let recorded = manifest(name, side, &format!("groupId: \"{id}\"\n"));
    new.apply_group(&fixtures::with_annotation(&recorded, TAKE_OVER, "true"))
        .await?;
    let adopted = new
        .wait_group(name, WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(group_id(&adopted).as_deref(), Some(id.as_str()));
    assert_eq!(old.executed(side, Op::Create), 1, "no second group");

    set_deletion_policy_orphan(&old, name).await?;
    old.delete_group(name).await?;
    old.wait_gone(name, WAIT).await?;
    assert_eq!(
        old.executed(side, Op::Disband),
        0,
        "the old teardown disbanded nothing"
    );
    assert!(old.sim_group(side, &id).is_some());

    new.delete_group(name).await?;
    new.wait_gone(name, WAIT).await?;
    assert_eq!(old.executed(side, Op::Disband), 1);
    assert!(old.sim_group(side, &id).is_none());
    Ok(())
}
