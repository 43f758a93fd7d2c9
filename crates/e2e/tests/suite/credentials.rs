//! Credentials: rotation without a restart, and deletion when the provider's Secret
//! is gone (namespace teardown deletes it first).

use std::time::Duration;

use e2e::{condition, fixtures, group_id, ready_with, Env, Op, Side};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

async fn set_tencent_key(env: &Env, value: &str) -> anyhow::Result<()> {
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    let patch = json!({"stringData": {"secretKey": value}});
    secrets
        .patch(
            "tencent-key",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_rotated_secret_is_used_without_a_restart() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let good = provider_sim::TencentSimConfig::default().secret_key;
    set_tencent_key(
        &env,
        "0000000000000000000000000000000000000000000000000000000000000000",
    )
    .await?;
    let mut env = env;
    env.start_operator();
    env.apply_group(&fixtures::group(
        "rot",
        "tencent",
        "Public",
        "name: Rotation\n",
    ))
    .await?;
    let failing = env
        .wait_group("rot", WAIT, |g| {
            condition(g, "Synced").is_some_and(|c| c.0 == "False")
        })
        .await?;
    assert!(group_id(&failing).is_none());
    assert_eq!(env.sim_groups(Side::Tencent).len(), 0);

    set_tencent_key(&env, &good).await?;
    env.wait_group("rot", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(env.executed(Side::Tencent, Op::Create), 1);
    Ok(())
}

#[tokio::test]
async fn deleting_after_the_secret_is_gone_uses_the_last_good_credentials() -> anyhow::Result<()> {
    let env = Env::start().await?;
    env.apply_group(&fixtures::group(
        "teardown",
        "tencent",
        "Public",
        "name: Teardown\n",
    ))
    .await?;
    let id = group_id(
        &env.wait_group("teardown", WAIT, |g| ready_with(g, "Available"))
            .await?,
    )
    .expect("id");
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    secrets
        .delete("tencent-key", &DeleteParams::default())
        .await?;
    env.delete_group("teardown").await?;
    env.wait_gone("teardown", WAIT).await?;
    assert!(
        env.sim_group(Side::Tencent, &id).is_none(),
        "disbanded with the cached credentials"
    );
    Ok(())
}

#[tokio::test]
async fn with_no_credentials_at_all_deletion_is_blocked_and_orphan_releases_it(
) -> anyhow::Result<()> {
    let mut env = Env::start().await?;
    env.apply_group(&fixtures::group(
        "stuck",
        "tencent",
        "Public",
        "name: Stuck\n",
    ))
    .await?;
    let id = group_id(
        &env.wait_group("stuck", WAIT, |g| ready_with(g, "Available"))
            .await?,
    )
    .expect("id");
    env.stop_operator().await;
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    secrets
        .delete("tencent-key", &DeleteParams::default())
        .await?;
    env.delete_group("stuck").await?;
    env.start_operator();

    let blocked = env
        .wait_group("stuck", WAIT, |g| {
            condition(g, "Synced").is_some_and(|c| c.0 == "False")
        })
        .await?;
    let (_, reason) = condition(&blocked, "Reconciling").expect("retrying");
    assert_eq!(reason, "CredentialsUnavailable");
    assert!(
        env.sim_group(Side::Tencent, &id).is_some(),
        "nothing disbanded without confirmation"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        env.groups().get_opt("stuck").await?.is_some(),
        "the finalizer holds the object"
    );

    // The documented way out.
    let patch = json!({"spec": {"deletionPolicy": "Orphan"}});
    env.groups()
        .patch("stuck", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    env.wait_gone("stuck", WAIT).await?;
    assert!(
        env.sim_group(Side::Tencent, &id).is_some(),
        "orphaned, not disbanded"
    );
    Ok(())
}

/// The last working credentials serve a deletion only for the app they belong to: a
/// ChatProvider repointed to another app whose Secret does not exist yet holds the
/// deletion with no call at all, instead of disbanding in the old app.
#[tokio::test]
async fn a_repointed_provider_without_its_secret_never_falls_back_to_the_old_app(
) -> anyhow::Result<()> {
    let env = Env::start().await?;
    env.apply_group(&fixtures::group(
        "moved",
        "tencent",
        "Public",
        "name: Moved\n",
    ))
    .await?;
    let group = env
        .wait_group("moved", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let id = group_id(&group).expect("recorded");
    let calls = env.call_count(Side::Tencent);

    let providers: Api<chatgroup_operator::api::ChatProvider> =
        Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    let patch = json!({"spec": {"tencent": {"sdkAppId": 1_400_000_999u64, "secretKeyRef": {"name": "other-app-key", "key": "secretKey"}}}});
    providers
        .patch("tencent", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    env.delete_group("moved").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        env.groups().get_opt("moved").await?.is_some(),
        "the deletion is held"
    );
    assert_eq!(env.call_count(Side::Tencent), calls, "no call of any kind");
    assert!(env.sim_group(Side::Tencent, &id).is_some());
    assert_eq!(env.executed(Side::Tencent, Op::Disband), 0);
    Ok(())
}

const WRONG_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[tokio::test]
async fn a_refused_key_sends_the_operator_to_read_the_secret_again_at_once() -> anyhow::Result<()> {
    // Credentials serve an hour: only the provider's refusal can make the operator
    // read the corrected Secret before then.
    let settings = chatgroup_operator::controller::Settings {
        secret_refresh: Duration::from_secs(3600),
        ..e2e::test_settings()
    };
    let mut env = Env::without_operator(settings).await?;
    let good = provider_sim::TencentSimConfig::default().secret_key;
    set_tencent_key(&env, WRONG_KEY).await?;
    env.start_operator();
    env.apply_group(&fixtures::group("fix", "tencent", "Public", "name: Fix\n"))
        .await?;
    let refused = env
        .wait_group("fix", WAIT, |g| {
            e2e::reason(g, "Stalled").as_deref() == Some("ProviderUnauthorized")
        })
        .await?;
    assert!(group_id(&refused).is_none());

    set_tencent_key(&env, &good).await?;
    // Any reconcile will do: a spec change, here.
    env.apply_group(&fixtures::group(
        "fix",
        "tencent",
        "Public",
        "name: Fixed\n",
    ))
    .await?;
    env.wait_group("fix", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(env.executed(Side::Tencent, Op::Create), 1);
    Ok(())
}

#[tokio::test]
async fn a_wrong_key_opens_the_apps_circuit_instead_of_hammering_the_provider() -> anyhow::Result<()>
{
    // Few reconciles at once, so that the calls already started when the circuit
    // opens are few and the bound below says something.
    let settings = chatgroup_operator::controller::Settings {
        concurrency: 4,
        ..e2e::test_settings()
    };
    let mut env = Env::without_operator(settings).await?;
    set_tencent_key(&env, WRONG_KEY).await?;
    env.start_operator();
    let names: Vec<String> = (0..8).map(|i| format!("locked-{i}")).collect();
    for name in &names {
        env.apply_group(&fixtures::group(
            name,
            "tencent",
            "Public",
            "name: Locked\n",
        ))
        .await?;
    }
    let mut paused = 0;
    for name in &names {
        let group = env
            .wait_group(name, WAIT, |g| condition(g, "Ready").is_some())
            .await?;
        paused += usize::from(
            e2e::reason(&group, "Reconciling").as_deref() == Some("ProviderAuthPaused"),
        );
    }
    assert!(paused > 0, "later groups are paused, not sent");
    let sent = env.call_count(Side::Tencent);
    let concurrency = usize::from(env.settings.concurrency);
    let bound = chatgroup_operator::provider::circuit::FAILURES_TO_OPEN as usize + concurrency - 1;
    assert!(
        sent <= bound,
        "{sent} calls with a wrong key; at most {bound}"
    );
    // The paused groups keep retrying, without a call, until the pause ends.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(env.call_count(Side::Tencent), sent);
    Ok(())
}
