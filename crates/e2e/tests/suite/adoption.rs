//! Adopting groups that already exist, and refusing to take what is not ours.

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::{condition, fixtures, group_id, ready_with, Env, Op, Side};
use provider_sim::SimGroup;

const WAIT: Duration = Duration::from_secs(20);

fn existing(id: &str, group_type: &str, owner: &str) -> SimGroup {
    SimGroup {
        id: id.into(),
        group_type: group_type.into(),
        name: "Legacy".into(),
        owner: Some(owner.into()),
        introduction: String::new(),
        notification: String::new(),
        face_url: String::new(),
        max_members: 200,
        join_option: String::new(),
        custom_data: BTreeMap::new(),
        server_extension: String::new(),
        members: vec![owner.into()],
    }
}

#[tokio::test]
async fn an_existing_group_named_in_spec_is_adopted_and_converged() -> anyhow::Result<()> {
    let env = Env::start().await?;
    env.tencent
        .insert_group(existing("legacy-1", "Public", "alice"));
    env.netease.insert_group(existing("900001", "1", "alice"));
    for (side, id) in [(Side::Tencent, "legacy-1"), (Side::Netease, "900001")] {
        let name = format!("adopt-{side:?}").to_lowercase();
        let spec = format!("name: Adopted\nowner: alice\ngroupId: \"{id}\"\n");
        env.apply_group(&fixtures::group(
            &name,
            side.provider(),
            side.group_type(),
            &spec,
        ))
        .await?;
        let group = env
            .wait_group(&name, WAIT, |g| ready_with(g, "Available"))
            .await?;
        assert_eq!(group_id(&group).as_deref(), Some(id));
        assert_eq!(
            group.status.as_ref().and_then(|s| s.origin),
            Some(chatgroup_operator::api::GroupOrigin::Adopted)
        );
        assert_eq!(
            env.executed(side, Op::Create),
            0,
            "{side:?}: adopted, not created"
        );
        assert_eq!(env.sim_group(side, id).expect("exists").name, "Adopted");
    }
    Ok(())
}

#[tokio::test]
async fn a_tencent_group_id_that_does_not_exist_is_created_with_that_id() -> anyhow::Result<()> {
    let env = Env::start().await?;
    env.apply_group(&fixtures::group(
        "named",
        "tencent",
        "Public",
        "name: Named\ngroupId: ops-room\n",
    ))
    .await?;
    env.wait_group("named", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert!(env.sim_group(Side::Tencent, "ops-room").is_some());
    Ok(())
}

#[tokio::test]
async fn a_netease_team_id_that_does_not_exist_stalls_with_a_clear_message() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let spec = "name: Missing\nowner: alice\ngroupId: \"424242\"\n";
    env.apply_group(&fixtures::group("missing", "netease", "Advanced", spec))
        .await?;
    let group = env
        .wait_group("missing", WAIT, |g| {
            condition(g, "Stalled").is_some_and(|c| c.0 == "True")
        })
        .await?;
    let stalled = group
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap();
    assert_eq!(stalled.reason, "InvalidSpec");
    assert!(
        stalled.message.contains("spec.groupId"),
        "{}",
        stalled.message
    );
    assert_eq!(env.executed(Side::Netease, Op::Create), 0);
    Ok(())
}

#[tokio::test]
async fn a_group_managed_by_another_object_is_not_adopted_twice() -> anyhow::Result<()> {
    let env = Env::start().await?;
    env.tencent
        .insert_group(existing("shared-1", "Public", "alice"));
    let spec = "name: Shared\ngroupId: shared-1\n";
    env.apply_group(&fixtures::group("first", "tencent", "Public", spec))
        .await?;
    env.wait_group("first", WAIT, |g| ready_with(g, "Available"))
        .await?;
    env.apply_group(&fixtures::group("second", "tencent", "Public", spec))
        .await?;
    let second = env
        .wait_group("second", WAIT, |g| {
            condition(g, "Stalled").is_some_and(|c| c.0 == "True")
        })
        .await?;
    assert_eq!(
        condition(&second, "Stalled").map(|c| c.1),
        Some("GroupNotOwned".into())
    );
    assert!(group_id(&second).is_none());
    Ok(())
}

/// BChatRoom, the legacy Tencent type of the 2020 disband page: an existing group is
/// adopted by its server-assigned id, read back and disbanded once; none is created.
#[tokio::test]
async fn a_legacy_bchatroom_is_adopted_and_disbanded_but_never_created() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let id = "@TGS#bLEGACY01";
    env.tencent.insert_group(existing(id, "BChatRoom", "alice"));
    let spec = format!("name: Broadcast\ngroupId: \"{id}\"\n");
    env.apply_group(&fixtures::group("broadcast", "tencent", "BChatRoom", &spec))
        .await?;
    let group = env
        .wait_group("broadcast", WAIT, |g| ready_with(g, "Available"))
        .await?;
    assert_eq!(group_id(&group).as_deref(), Some(id));
    assert_eq!(
        env.sim_group(Side::Tencent, id).expect("exists").name,
        "Broadcast"
    );

    env.delete_group("broadcast").await?;
    env.wait_gone("broadcast", WAIT).await?;
    assert!(env.sim_group(Side::Tencent, id).is_none(), "disbanded");
    assert_eq!(env.executed(Side::Tencent, Op::Disband), 1);
    assert_eq!(env.executed(Side::Tencent, Op::Create), 0);

    // A BChatRoom that does not exist is not created under the named id.
    env.apply_group(&fixtures::group(
        "new-broadcast",
        "tencent",
        "BChatRoom",
        "name: New\ngroupId: b-room-2\n",
    ))
    .await?;
    let stalled = env
        .wait_group("new-broadcast", WAIT, |g| {
            condition(g, "Stalled").is_some_and(|(status, _)| status == "True")
        })
        .await?;
    let message = e2e::message(&stalled, "Stalled");
    assert!(message.contains("BChatRoom"), "{message}");
    assert_eq!(
        env.executed(Side::Tencent, Op::Create),
        0,
        "nothing created"
    );
    // A create refused before sending is not recorded as sent: nothing to search for,
    // so deleting the object releases it at once.
    let status = stalled.status.clone().unwrap_or_default();
    assert!(status.create_pending_since.is_none() && status.pending_create.is_none());
    env.delete_group("new-broadcast").await?;
    env.wait_gone("new-broadcast", Duration::from_secs(5))
        .await?;
    Ok(())
}
