//! Specs the API server rejects before the operator ever sees them: immutable
//! fields, forbidden transitions and provider length limits (CEL rules in the CRD).

use e2e::{fixtures, Env, Side};
use kube::api::{Patch, PatchParams};
use serde_json::json;

async fn rejected(env: &Env, yaml: &str) -> String {
    match env.apply_group(yaml).await {
        Ok(_) => panic!("the API server accepted an invalid spec:\n{yaml}"),
        Err(error) => format!("{error:#}"),
    }
}

async fn patch_rejected(env: &Env, name: &str, patch: serde_json::Value) -> String {
    match env
        .groups()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => panic!("the API server accepted {patch}"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn immutable_fields_and_forbidden_transitions_are_rejected() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let base = fixtures::group("g1", "tencent", "Public", "name: Ops\ngroupId: legacy-1\n");
    env.apply_group(&base).await?;

    let message = patch_rejected(&env, "g1", json!({"spec": {"groupId": "legacy-2"}})).await;
    assert!(message.contains("spec.groupId is immutable"), "{message}");
    let message = patch_rejected(&env, "g1", json!({"spec": {"type": "Private"}})).await;
    assert!(message.contains("spec.type is immutable"), "{message}");
    let message = patch_rejected(
        &env,
        "g1",
        json!({"spec": {"providerRef": {"name": "other"}}}),
    )
    .await;
    assert!(
        message.contains("spec.providerRef is immutable"),
        "{message}"
    );

    env.groups()
        .patch(
            "g1",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"state": "disbanded"}})),
        )
        .await?;
    let message = patch_rejected(&env, "g1", json!({"spec": {"state": "active"}})).await;
    assert!(message.contains("cannot go back to active"), "{message}");
    Ok(())
}

#[tokio::test]
async fn provider_limits_are_checked_by_the_api_server() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    // 11 CJK characters are 33 bytes: over Tencent's 30-byte limit, fine on NetEase.
    let long_cjk = "运维值班群运维值班群运";
    let message = rejected(
        &env,
        &fixtures::group(
            "t-long",
            "tencent",
            "Public",
            &format!("name: {long_cjk}\n"),
        ),
    )
    .await;
    assert!(message.contains("30 bytes"), "{message}");
    env.apply_group(&fixtures::group(
        "n-long",
        "netease",
        "Advanced",
        &format!("name: {long_cjk}\nowner: alice\n"),
    ))
    .await?;

    let message = rejected(
        &env,
        &fixtures::group("n-owner", "netease", "Super", "name: Ops\n"),
    )
    .await;
    assert!(message.contains("spec.owner is required"), "{message}");
    let message = rejected(
        &env,
        &fixtures::group("bad-type", "tencent", "Team", "name: Ops\n"),
    )
    .await;
    assert!(message.contains("spec.type"), "{message}");
    let message = rejected(
        &env,
        &fixtures::group(
            "bad-state",
            "tencent",
            "Public",
            "name: Ops\nstate: paused\n",
        ),
    )
    .await;
    assert!(message.contains("spec.state"), "{message}");
    let message = rejected(
        &env,
        &fixtures::group(
            "t-key",
            "tencent",
            "Public",
            "name: Ops\ncustomData: {a_key_longer_than_16: v}\n",
        ),
    )
    .await;
    assert!(message.contains("customData"), "{message}");
    let _ = Side::BOTH;
    Ok(())
}

#[tokio::test]
async fn a_bchatroom_without_a_group_id_is_rejected_naming_the_field() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let yaml = fixtures::group("b1", "tencent", "BChatRoom", "name: Broadcast\n");
    let message = rejected(&env, &yaml).await;
    assert!(
        message.contains("spec.groupId is required for type BChatRoom"),
        "{message}"
    );
    let adopt = fixtures::group(
        "b2",
        "tencent",
        "BChatRoom",
        "name: B\ngroupId: '@TGS#b1'\n",
    );
    env.apply_group(&adopt).await?;
    Ok(())
}
