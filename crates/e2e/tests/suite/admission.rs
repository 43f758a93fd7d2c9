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

/// Merges `change` into `base` (JSON merge-patch rules: null removes).
fn merged(mut base: serde_json::Value, change: &serde_json::Value) -> serde_json::Value {
    json_patch::merge(&mut base, change);
    base
}

/// Applies `object` with strict field validation; the API server's message, or
/// `None` when it accepted it.
async fn refusal(env: &Env, object: &serde_json::Value) -> Option<String> {
    use kube::api::{Api, ApiResource, DynamicObject};
    let kind = object["kind"].as_str().expect("kind");
    let plural = format!("{}s", kind.to_lowercase());
    let resource = ApiResource {
        group: "im.chatgroup.dev".into(),
        version: "v1alpha1".into(),
        api_version: "im.chatgroup.dev/v1alpha1".into(),
        kind: kind.into(),
        plural,
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.client.clone(), e2e::NAMESPACE, &resource);
    let name = object["metadata"]["name"].as_str().expect("name");
    let params = PatchParams::apply("e2e-corpus").force().validation_strict();
    match api.patch(name, &params, &Patch::Apply(object)).await {
        Ok(_) => None,
        Err(error) => Some(error.to_string()),
    }
}

#[tokio::test]
async fn a_corpus_of_invalid_objects_is_rejected_each_naming_its_field() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let group = json!({
        "apiVersion": "im.chatgroup.dev/v1alpha1", "kind": "ChatGroup",
        "metadata": {"name": "corpus"},
        "spec": {"providerRef": {"name": "tencent"}, "type": "Public", "name": "Ops"},
    });
    let netease = merged(
        group.clone(),
        &json!({"spec": {"type": "Advanced", "owner": "alice"}}),
    );
    let provider = json!({
        "apiVersion": "im.chatgroup.dev/v1alpha1", "kind": "ChatProvider",
        "metadata": {"name": "corpus"},
        "spec": {"tencent": {"sdkAppId": 1400000000, "identifier": "administrator",
                 "secretKeyRef": {"name": "tencent-key", "key": "secretKey"}}},
    });
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(serde_json::Value, &str)> = vec![
        // ChatGroup: limits, wrong types, enums, unknown fields, CEL rules.
        (
            merged(group.clone(), &json!({"spec": {"name": ""}})),
            "spec.name",
        ),
        (
            merged(group.clone(), &json!({"spec": {"name": long(31)}})),
            "spec.name",
        ),
        (
            merged(netease.clone(), &json!({"spec": {"name": long(65)}})),
            "spec.name",
        ),
        (
            merged(group.clone(), &json!({"spec": {"name": 42}})),
            "spec.name",
        ),
        (
            merged(group.clone(), &json!({"spec": {"owner": long(65)}})),
            "spec.owner",
        ),
        (
            merged(group.clone(), &json!({"spec": {"introduction": long(241)}})),
            "spec.introduction",
        ),
        (
            merged(
                netease.clone(),
                &json!({"spec": {"introduction": long(513)}}),
            ),
            "spec.introduction",
        ),
        (
            merged(group.clone(), &json!({"spec": {"notification": long(301)}})),
            "spec.notification",
        ),
        (
            merged(group.clone(), &json!({"spec": {"faceUrl": long(101)}})),
            "spec.faceUrl",
        ),
        (
            merged(group.clone(), &json!({"spec": {"maxMembers": 0}})),
            "spec.maxMembers",
        ),
        (
            merged(group.clone(), &json!({"spec": {"maxMembers": 100001}})),
            "spec.maxMembers",
        ),
        (
            merged(group.clone(), &json!({"spec": {"maxMembers": "many"}})),
            "spec.maxMembers",
        ),
        (
            merged(group.clone(), &json!({"spec": {"joinPolicy": "Anyone"}})),
            "spec.joinPolicy",
        ),
        (
            merged(group.clone(), &json!({"spec": {"deletionPolicy": "Keep"}})),
            "spec.deletionPolicy",
        ),
        (
            merged(group.clone(), &json!({"spec": {"state": "paused"}})),
            "spec.state",
        ),
        (
            merged(group.clone(), &json!({"spec": {"type": "Team"}})),
            "spec.type",
        ),
        (
            merged(group.clone(), &json!({"spec": {"groupId": ""}})),
            "spec.groupId",
        ),
        (
            merged(group.clone(), &json!({"spec": {"groupId": long(49)}})),
            "spec.groupId",
        ),
        (
            merged(
                group.clone(),
                &json!({"spec": {"providerRef": {"name": ""}}}),
            ),
            "spec.providerRef.name",
        ),
        (
            merged(group.clone(), &json!({"spec": {"customData": {"k": 1}}})),
            "spec.customData",
        ),
        (
            merged(
                group.clone(),
                &json!({"spec": {"customData": {long(17): "v"}}}),
            ),
            "spec.customData",
        ),
        (
            merged(group.clone(), &json!({"spec": {"colour": "blue"}})),
            "spec.colour",
        ),
        (
            merged(group.clone(), &json!({"spec": {"type": "BChatRoom"}})),
            "spec.groupId",
        ),
        (
            merged(group.clone(), &json!({"spec": {"type": "Super"}})),
            "spec.owner",
        ),
        // ChatProvider.
        (
            merged(
                provider.clone(),
                &json!({"spec": {"netease": {"appKey": "k", "appSecretRef": {"name": "s", "key": "k"}}}}),
            ),
            "exactly one of tencent or netease",
        ),
        (
            merged(provider.clone(), &json!({"spec": {"tencent": null}})),
            "exactly one of tencent or netease",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"tencent": {"sdkAppId": 0}}}),
            ),
            "spec.tencent.sdkAppId",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"tencent": {"sdkAppId": "app"}}}),
            ),
            "spec.tencent.sdkAppId",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"tencent": {"identifier": long(33)}}}),
            ),
            "spec.tencent.identifier",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"tencent": {"ownerDataKey": long(17)}}}),
            ),
            "spec.tencent.ownerDataKey",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"tencent": {"region": "mars"}}}),
            ),
            "spec.tencent.region",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"tencent": {"region": "china", "endpoint": "https://x"}}}),
            ),
            "region or endpoint",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"tencent": {"secretKeyRef": {"name": ""}}}}),
            ),
            "spec.tencent.secretKeyRef.name",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"rateLimit": {"requestsPerSecond": 0}}}),
            ),
            "spec.rateLimit.requestsPerSecond",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"rateLimit": {"burst": 10001}}}),
            ),
            "spec.rateLimit.burst",
        ),
        (
            merged(
                provider.clone(),
                &json!({"spec": {"tencent": {"colour": "blue"}}}),
            ),
            "spec.tencent.colour",
        ),
    ];
    let mut missed = Vec::new();
    for (object, field) in &cases {
        match refusal(&env, object).await {
            None => missed.push(format!("accepted: {}", object["spec"])),
            Some(message) if !message.contains(field) => {
                missed.push(format!("{field} not named: {message}"))
            }
            Some(_) => {}
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
    // The valid bases themselves are accepted.
    for (i, valid) in [&group, &netease, &provider].into_iter().enumerate() {
        let valid = merged(
            valid.clone(),
            &json!({"metadata": {"name": format!("valid-{i}")}}),
        );
        assert_eq!(refusal(&env, &valid).await, None, "{valid}");
    }
    Ok(())
}
