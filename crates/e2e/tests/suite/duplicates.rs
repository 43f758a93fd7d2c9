//! A NetEase create sent twice (the first answer lost, the search empty past the
//! late-create bound) may still take effect late, as a second team carrying the
//! object's marker. No bound is documented, so the drift resync keeps looking for one
//! and disbands it, provably this object's, with an Event; the recorded team is kept.

use std::time::Duration;

use chatgroup_operator::provider::MARKER_KEY;
use e2e::{fixtures, group_id, ready_with, Env, Op, Side};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use kube::ResourceExt;
use provider_sim::{Fault, FaultKind, SimGroup};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_late_first_create_found_by_the_drift_resync_is_disbanded_and_the_recorded_team_kept(
) -> anyhow::Result<()> {
    let mut settings = e2e::test_settings();
    settings.resync_interval = Duration::from_millis(500);
    settings.late_create_bound = Duration::from_secs(1);
    let env = Env::start_with(settings).await?;
    // The first create never reaches the provider and its answer is lost: the
    // operator searches, finds nothing past the bound, and sends it again.
    env.inject(
        Side::Netease,
        Fault::times(Some("create"), FaultKind::DropConnection, 1),
    );
    let yaml = fixtures::group("dup", "netease", "Advanced", "name: Dup\nowner: alice\n");
    env.apply_group(&yaml).await?;
    let group = env
        .wait_group("dup", WAIT, |g| ready_with(g, "Available"))
        .await?;
    let recorded = group_id(&group).expect("recorded");
    let status = group.status.clone().unwrap_or_default();
    assert!(
        status.duplicate_watch.is_some(),
        "a create sent twice is watched for a late duplicate: {status:?}"
    );
    assert_eq!(env.executed(Side::Netease, Op::Create), 1);

    // The first create takes effect now, long after the bound.
    let uid = group.uid().expect("uid");
    env.netease.insert_group(SimGroup {
        id: "990001".into(),
        group_type: "1".into(),
        name: "Dup".into(),
        owner: Some("alice".into()),
        max_members: 200,
        join_option: "0".into(),
        server_extension: serde_json::json!({ MARKER_KEY: uid }).to_string(),
        ..Default::default()
    });
    e2e::eventually(WAIT, || async {
        env.sim_group(Side::Netease, "990001")
            .is_none()
            .then_some(())
    })
    .await?;
    assert!(
        env.sim_group(Side::Netease, &recorded).is_some(),
        "the recorded team is kept"
    );
    let events: Api<Event> = Api::namespaced(env.client.clone(), e2e::NAMESPACE);
    let reasons: Vec<String> = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    assert!(
        reasons.iter().any(|r| r == "DuplicateDisbanded"),
        "{reasons:?}"
    );

    // Deleting the object disbands the recorded team: nothing is left behind.
    env.delete_group("dup").await?;
    env.wait_gone("dup", WAIT).await?;
    assert!(env.sim_groups(Side::Netease).is_empty(), "no team leaked");
    assert_eq!(
        env.executed(Side::Netease, Op::Disband),
        2,
        "the duplicate and the recorded team, once each"
    );
    Ok(())
}
