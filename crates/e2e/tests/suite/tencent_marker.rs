//! Tencent groups carry their managing object's marker when the ChatProvider names an
//! `ownerDataKey` (an AppDefinedData key enabled for the app): written at create and
//! at adoption, never touched by converging `customData`, and read before a disband,
//! so a group another cluster has taken over is released without a disband.

use std::time::Duration;

use e2e::{condition, fixtures, group_id, ready_with, Env, Op, Side};
use kube::api::{Patch, PatchParams};
use kube::ResourceExt;
use provider_sim::SimGroup;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);
const KEY: &str = "cg_owner";
const TAKE_OVER: &str = chatgroup_operator::controller::ownership::TAKE_OVER_ANNOTATION;

async fn marked_provider(env: &Env) -> anyhow::Result<()> {
    marked_provider_at(env, &env.tencent.base_url()).await
}

/// The marked ChatProvider of `env`, pointing at the Tencent simulator at `endpoint`.
async fn marked_provider_at(env: &Env, endpoint: &str) -> anyhow::Result<()> {
    let yaml = fixtures::tencent_provider("tencent-marked", endpoint, 1_400_000_000);
    let yaml = format!("{yaml}    ownerDataKey: {KEY}\n");
    env.apply_yaml::<chatgroup_operator::api::ChatProvider>(&yaml)
        .await?;
    Ok(())
}

fn marker_on(env: &Env, id: &str) -> Option<String> {
    env.sim_group(Side::Tencent, id)?
        .custom_data
        .get(KEY)
        .cloned()
}

#[tokio::test]
async fn the_marker_is_written_at_create_and_kept_while_custom_data_converges() -> anyhow::Result<()>
{
    let env = Env::start().await?;
    marked_provider(&env).await?;
    let yaml = fixtures::group(
        "marked",
        "tencent-marked",
        "Public",
        "name: Marked\ncustomData: {team: ops}\n",
    );
    let group = env.apply_group(&yaml).await?;
    let uid = group.uid().expect("uid");
    let group = env
        .wait_group("marked", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&group).expect("recorded");
    assert_eq!(marker_on(&env, &id).as_deref(), Some(uid.as_str()));
    assert_eq!(
        env.sim_group(Side::Tencent, &id)
            .unwrap()
            .custom_data
            .get("team")
            .map(String::as_str),
        Some("ops")
    );

    // customData changes, the marker stays; the status never shows it as custom data.
    env.groups()
        .patch(
            "marked",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"customData": {"team": null, "tier": "gold"}}})),
        )
        .await?;
    e2e::eventually(WAIT, || async {
        let g = env.sim_group(Side::Tencent, &id)?;
        (g.custom_data.get("tier").map(String::as_str) == Some("gold")
            && !g.custom_data.contains_key("team"))
        .then_some(())
    })
    .await?;
    assert_eq!(
        marker_on(&env, &id).as_deref(),
        Some(uid.as_str()),
        "converging never removes the marker"
    );

    // The key is reserved: a spec using it is refused, naming the field.
    let clash = fixtures::group(
        "clash",
        "tencent-marked",
        "Public",
        &format!("name: Clash\ncustomData: {{{KEY}: mine}}\n"),
    );
    env.apply_group(&clash).await?;
    let stalled = env
        .wait_group("clash", WAIT, |g| {
            condition(g, "Stalled").is_some_and(|(status, _)| status == "True")
        })
        .await?;
    let message = e2e::message(&stalled, "Stalled");
    assert!(
        message.contains("spec.customData") && message.contains(KEY),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn a_group_another_cluster_has_taken_over_is_released_without_a_disband() -> anyhow::Result<()>
{
    let env = Env::start().await?;
    marked_provider(&env).await?;
    let yaml = fixtures::group("ours", "tencent-marked", "Public", "name: Ours\n");
    env.apply_group(&yaml).await?;
    let group = env
        .wait_group("ours", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&group).expect("recorded");

    // Another cluster, rebuilt from the same manifests with the id recorded, adopts
    // the group and re-stamps it with its own object's marker.
    let mut taken = env.sim_group(Side::Tencent, &id).expect("exists");
    taken
        .custom_data
        .insert(KEY.into(), "uid-in-the-new-cluster".into());
    env.tencent.insert_group(taken);

    env.delete_group("ours").await?;
    env.wait_gone("ours", WAIT).await?;
    assert_eq!(
        env.executed(Side::Tencent, Op::Disband),
        0,
        "not disbanded: not ours any more"
    );
    assert!(
        env.sim_group(Side::Tencent, &id).is_some(),
        "the group lives on"
    );
    Ok(())
}

#[tokio::test]
async fn an_adopted_group_is_stamped_and_then_disbanded_as_its_own() -> anyhow::Result<()> {
    let env = Env::start().await?;
    marked_provider(&env).await?;
    env.tencent.insert_group(SimGroup {
        id: "legacy-7".into(),
        group_type: "Public".into(),
        name: "Legacy".into(),
        owner: Some("alice".into()),
        members: vec!["alice".into()],
        ..Default::default()
    });
    let yaml = fixtures::group(
        "legacy",
        "tencent-marked",
        "Public",
        "name: Legacy\ngroupId: legacy-7\n",
    );
    let group = env.apply_group(&yaml).await?;
    let uid = group.uid().expect("uid");
    env.wait_group("legacy", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(marker_on(&env, "legacy-7").as_deref(), Some(uid.as_str()));

    env.delete_group("legacy").await?;
    env.wait_gone("legacy", WAIT).await?;
    assert_eq!(env.executed(Side::Tencent, Op::Disband), 1);
    assert!(env.sim_group(Side::Tencent, "legacy-7").is_none());
    Ok(())
}

/// Rebuilding a cluster from Git with the ids recorded into the manifests: the new
/// cluster adopts (and re-stamps) the groups, makes no second one, and the old
/// cluster's teardown recognises them as no longer its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_rebuilt_from_git_adopts_the_groups_and_the_old_teardown_leaves_them(
) -> anyhow::Result<()> {
    let old = Env::start().await?;
    let new = Env::start().await?;
    marked_provider(&old).await?;
    marked_provider_at(&new, &old.tencent.base_url()).await?;
    old.apply_group(&fixtures::group(
        "room",
        "tencent-marked",
        "Public",
        "name: Room\n",
    ))
    .await?;
    let created = old
        .wait_group("room", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&created).expect("recorded");

    // The same manifest with the recorded id, applied to the rebuilt cluster.
    let manifest = format!("name: Room\ngroupId: \"{id}\"\n");
    let manifest = fixtures::with_annotation(
        &fixtures::group("room", "tencent-marked", "Public", &manifest),
        TAKE_OVER,
        "true",
    );
    let adopted = new.apply_group(&manifest).await?;
    let new_uid = adopted.uid().expect("uid");
    new.wait_group("room", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(
        marker_on(&old, &id).as_deref(),
        Some(new_uid.as_str()),
        "re-stamped"
    );
    assert_eq!(
        old.executed(Side::Tencent, Op::Create),
        1,
        "no second group"
    );

    old.delete_group("room").await?;
    old.wait_gone("room", WAIT).await?;
    assert_eq!(
        old.executed(Side::Tencent, Op::Disband),
        0,
        "the old teardown disbanded nothing"
    );
    assert!(old.sim_group(Side::Tencent, &id).is_some());

    new.delete_group("room").await?;
    new.wait_gone("room", WAIT).await?;
    assert_eq!(old.executed(Side::Tencent, Op::Disband), 1);
    assert!(old.sim_group(Side::Tencent, &id).is_none());
    Ok(())
}

/// A copy of a manifest applied in another cluster names a group whose marker is a
/// live object's there: without the take-over annotation it is refused, and deleting
/// it disbands nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_in_another_cluster_is_refused_and_its_deletion_disbands_nothing(
) -> anyhow::Result<()> {
    let first = Env::start().await?;
    let second = Env::start().await?;
    marked_provider(&first).await?;
    marked_provider_at(&second, &first.tencent.base_url()).await?;
    first
        .apply_group(&fixtures::group(
            "room",
            "tencent-marked",
            "Public",
            "name: Room\n",
        ))
        .await?;
    let owner = first
        .wait_group("room", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&owner).expect("recorded");
    let owner_uid = owner.uid().expect("uid");

    let copy = format!("name: Room\ngroupId: \"{id}\"\n");
    second
        .apply_group(&fixtures::group("room", "tencent-marked", "Public", &copy))
        .await?;
    let refused = second
        .wait_group("room", WAIT, |g| {
            condition(g, "Ready").is_some_and(|(_, reason)| reason == "GroupNotOwned")
        })
        .await?;
    let message = e2e::message(&refused, "Ready");
    assert!(message.contains(&owner_uid), "{message}");
    assert_eq!(
        marker_on(&first, &id).as_deref(),
        Some(owner_uid.as_str()),
        "not re-stamped"
    );

    second.delete_group("room").await?;
    second.wait_gone("room", WAIT).await?;
    assert_eq!(first.executed(Side::Tencent, Op::Disband), 0);
    assert!(
        first.sim_group(Side::Tencent, &id).is_some(),
        "the owner's group lives on"
    );
    Ok(())
}

/// A group recorded before its ChatProvider named an `ownerDataKey` is marked once the
/// key is set, so from then on another cluster's copy cannot disband it.
#[tokio::test]
async fn a_group_recorded_before_the_key_was_set_is_marked_afterwards() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let group = env
        .apply_group(&fixtures::group(
            "early",
            "tencent",
            "Public",
            "name: Early\n",
        ))
        .await?;
    let uid = group.uid().expect("uid");
    let group = env
        .wait_group("early", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&group).expect("recorded");
    assert_eq!(marker_on(&env, &id), None, "no key, no marker");

    let providers: kube::Api<chatgroup_operator::api::ChatProvider> =
        kube::Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    providers
        .patch(
            "tencent",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"tencent": {"ownerDataKey": KEY}}})),
        )
        .await?;
    e2e::eventually(WAIT, || async {
        (marker_on(&env, &id).as_deref() == Some(uid.as_str())).then_some(())
    })
    .await?;
    Ok(())
}
