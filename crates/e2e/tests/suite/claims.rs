//! A claim won earlier is not trusted from memory before a destructive step: a claim
//! deleted by hand and won by another object since is read fresh, and the deleted
//! object lets go without a disband.

use std::time::Duration;

use chatgroup_operator::api::{ChatGroupClaim, ChatGroupClaimSpec, ClaimHolder};
use e2e::{fixtures, group_id, ready_with, Env, Op, Side, NAMESPACE};
use kube::api::{Api, DeleteParams, PostParams};
use kube::ResourceExt;

const WAIT: Duration = Duration::from_secs(30);

/// Tencent group `ops-room` on the simulator; ChatGroup `copy` naming it through
/// ChatProvider `tencent`; ChatGroup `owner` through `owner_provider`, left as an
/// earlier version left it: the group recorded (with `app`, when given), no claim.
async fn owner_recorded_by_an_earlier_version(
    env: &Env,
    owner_provider: &str,
    app: Option<chatgroup_operator::api::RecordedApp>,
) -> anyhow::Result<()> {
    use chatgroup_operator::api::{ChatGroupStatus, GroupOrigin};
    use kube::api::{Patch, PatchParams};

    env.tencent.insert_group(provider_sim::SimGroup {
        id: "ops-room".into(),
        group_type: "Public".into(),
        name: "Ops".into(),
        ..Default::default()
    });
    env.apply_group(&fixtures::group(
        "copy",
        "tencent",
        "Public",
        "name: Ops\ngroupId: ops-room\n",
    ))
    .await?;
    let owner = env
        .apply_group(&fixtures::group(
            "owner",
            owner_provider,
            "Public",
            "name: Ops\n",
        ))
        .await?;
    let status = ChatGroupStatus {
        group_id: Some("ops-room".into()),
        origin: Some(GroupOrigin::Created),
        app,
        ..ChatGroupStatus::default()
    };
    env.groups()
        .patch_status(
            &owner.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({ "status": status })),
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_claim_taken_over_since_it_was_won_stops_the_disband() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let side = Side::Tencent;
    let app_id = provider_sim::TencentSimConfig::default()
        .sdk_app_id
        .to_string();
    env.apply_group(&fixtures::group("a", "tencent", "Public", "name: A\n"))
        .await?;
    let a = env
        .wait_group("a", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&a).expect("recorded");
    let b = env
        .apply_group(&fixtures::group("b", "tencent", "Public", "name: B\n"))
        .await?;
    env.wait_group("b", WAIT, |g| ready_with(g, "Available"))
        .await?;

    // Someone deletes a's claim by hand, and b's holder is written in its place.
    let claims: Api<ChatGroupClaim> = Api::all(env.client.clone());
    let name = ChatGroupClaimSpec::object_name("tencent", &app_id, &id);
    claims.delete(&name, &DeleteParams::default()).await?;
    let spec = ChatGroupClaimSpec {
        provider: "tencent".into(),
        app_id,
        group_id: id.clone(),
        holder: ClaimHolder {
            namespace: NAMESPACE.into(),
            name: "b".into(),
            uid: b.uid().expect("uid"),
        },
    };
    claims
        .create(&PostParams::default(), &ChatGroupClaim::new(&name, spec))
        .await?;

    env.delete_group("a").await?;
    env.wait_gone("a", WAIT).await?;
    assert_eq!(
        env.executed(side, Op::Disband),
        0,
        "a no longer holds the claim: no disband"
    );
    assert!(env.sim_group(side, &id).is_some(), "the group lives on");
    Ok(())
}

/// Groups recorded before claims were kept get theirs at start-up, before any
/// reconcile: a copy that only names such a group cannot claim it from its owner,
/// even when the copy is reconciled first (here the owner's ChatProvider appears only
/// later, so the copy certainly is).
#[tokio::test]
async fn recorded_groups_get_their_claims_before_a_copy_can_take_them() -> anyhow::Result<()> {
    use chatgroup_operator::api::{ChatProvider, RecordedApp};

    let mut env = Env::without_operator(e2e::test_settings()).await?;
    let side = Side::Tencent;
    let app_id = provider_sim::TencentSimConfig::default().sdk_app_id;
    let app = RecordedApp {
        provider: "tencent".into(),
        app_id: app_id.to_string(),
        host: "127.0.0.1".into(),
    };
    owner_recorded_by_an_earlier_version(&env, "tencent-late", Some(app)).await?;

    env.start_operator();
    env.wait_group("copy", WAIT, |g| {
        e2e::condition(g, "Ready").is_some_and(|(_, reason)| reason == "GroupNotOwned")
    })
    .await?;
    let late = fixtures::tencent_provider("tencent-late", &env.tencent.base_url(), app_id);
    env.apply_yaml::<ChatProvider>(&late).await?;
    env.wait_group("owner", WAIT, |g| ready_with(g, "Available"))
        .await?;
    env.delete_group("copy").await?;
    env.wait_gone("copy", WAIT).await?;
    assert_eq!(
        env.executed(side, Op::Disband),
        0,
        "the copy disbands nothing"
    );
    assert!(env.sim_group(side, "ops-room").is_some());
    Ok(())
}

/// The upgrade as it happens: groups recorded by a version that kept neither claims
/// nor the app get their claims at start-up in the app their ChatProvider declares,
/// before any reconcile, so a copy naming the group is refused rather than adopting it.
#[tokio::test]
async fn groups_recorded_without_their_app_are_claimed_in_their_providers_app_at_start_up(
) -> anyhow::Result<()> {
    let mut env = Env::without_operator(e2e::test_settings()).await?;
    let side = Side::Tencent;
    let app_id = provider_sim::TencentSimConfig::default().sdk_app_id;
    owner_recorded_by_an_earlier_version(&env, "tencent", None).await?;

    env.start_operator();
    env.wait_group("copy", WAIT, |g| {
        e2e::condition(g, "Ready").is_some_and(|(_, reason)| reason == "GroupNotOwned")
    })
    .await?;
    let owner = env
        .wait_group("owner", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let recorded = owner
        .status
        .and_then(|s| s.app)
        .expect("the app is recorded");
    assert_eq!(recorded.app_id, app_id.to_string());
    let claims: Api<ChatGroupClaim> = Api::all(env.client.clone());
    let claim = claims
        .get(&ChatGroupClaimSpec::object_name(
            "tencent",
            &app_id.to_string(),
            "ops-room",
        ))
        .await?;
    assert_eq!(claim.spec.holder.name, "owner");
    let log = env.kube.requests();
    let first_claim = log.iter().position(|r| {
        r.resource == "chatgroupclaims" && r.verb == "create" && (200..300).contains(&r.code)
    });
    let first_status_write = log.iter().position(|r| {
        r.resource == "chatgroups"
            && r.subresource.as_deref() == Some("status")
            && r.user.as_deref() == Some(e2e::OPERATOR_USER)
            && r.verb == "patch"
    });
    assert!(first_claim.is_some(), "a claim was made");
    assert!(
        first_claim < first_status_write,
        "the claim is made before any reconcile writes a status"
    );

    env.delete_group("copy").await?;
    env.wait_gone("copy", WAIT).await?;
    assert_eq!(
        env.executed(side, Op::Disband),
        0,
        "the copy disbands nothing"
    );
    assert!(env.sim_group(side, "ops-room").is_some());
    Ok(())
}
