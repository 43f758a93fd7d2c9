//! Kubernetes writes the operator makes to a ChatGroup itself (metadata and status),
//! counted from the Kubernetes simulator's request log: from apply to Ready, from
//! delete to gone, and on a resync where nothing changed.

use std::time::Duration;

use e2e::{ready_with, Env, Side};

const WAIT: Duration = Duration::from_secs(30);

/// Writes to ChatGroup `name` (the object or its status) by the operator so far.
fn writes_to(env: &Env, name: &str) -> Vec<String> {
    env.kube
        .requests()
        .into_iter()
        .filter(|r| e2e::operator_write_to(r, name))
        .map(|r| format!("{} {}", r.verb, r.subresource.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn writes_per_group_stay_within_their_budget() -> anyhow::Result<()> {
    let env = Env::start().await?;
    for side in Side::BOTH {
        let name = format!("writes-{}", side.provider());
        env.apply_group(&side.manifest(&name, "")).await?;
        env.wait_group(&name, WAIT, |g| ready_with(g, "Available"))
            .await?;
        // Let a reconcile queued behind the first one finish.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let created = writes_to(&env, &name);
        assert!(created.len() <= 3, "{side:?}: create to Ready: {created:?}");

        // A resync that finds nothing changed: a ChatProvider event requeues the
        // group, and its reconcile (a provider read) writes nothing.
        let reads = env.call_count(side);
        touch_chat_provider(&env, side).await?;
        e2e::eventually(WAIT, || async {
            (env.call_count(side) > reads).then_some(())
        })
        .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            writes_to(&env, &name),
            created,
            "{side:?}: a resync writes nothing"
        );

        env.delete_group(&name).await?;
        env.wait_gone(&name, WAIT).await?;
        let deleted = &writes_to(&env, &name)[created.len()..];
        assert!(deleted.len() <= 2, "{side:?}: delete to gone: {deleted:?}");
    }
    Ok(())
}

/// A label change on the ChatProvider of `side`: an event that requeues its groups.
async fn touch_chat_provider(env: &Env, side: Side) -> anyhow::Result<()> {
    use chatgroup_operator::api::ChatProvider;
    use kube::api::{Api, Patch, PatchParams};
    let providers: Api<ChatProvider> = Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    let patch = serde_json::json!({"metadata": {"labels": {"touched": "yes"}}});
    providers
        .patch(
            side.provider(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    Ok(())
}
