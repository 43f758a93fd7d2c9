//! Shared setup for the NetEase client tests: a simulator, a client pointed at it,
//! and request builders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chatgroup_operator::provider::{
    CreateRequest, GroupAttributes, GroupKey, GroupType, JoinPolicy, NeteaseClient, NeteaseConfig,
    NeteaseEndpoint, ProviderKind, RateBudget, Secret,
};
use provider_sim::{NeteaseSim, NeteaseSimConfig, SimGroup};

pub async fn start() -> (NeteaseSim, NeteaseClient) {
    start_with(NeteaseSimConfig::default(), |_| {}).await
}

pub async fn start_with(
    sim_config: NeteaseSimConfig,
    tweak: impl FnOnce(&mut NeteaseConfig),
) -> (NeteaseSim, NeteaseClient) {
    let sim = NeteaseSim::start(sim_config)
        .await
        .expect("simulator starts");
    let mut config = NeteaseConfig::new("sim-app-key", Secret::new("sim-app-secret"));
    config.endpoint = NeteaseEndpoint::Url(sim.base_url());
    config.timeout = Duration::from_secs(2);
    tweak(&mut config);
    let budget = RateBudget::new(ProviderKind::NetEase, config.rate)
        .with_max_throttle_wait(Duration::from_secs(2));
    let client = NeteaseClient::new(config, Arc::new(budget)).expect("valid config");
    (sim, client)
}

pub fn key(id: &str, owner: &str) -> GroupKey {
    GroupKey {
        id: id.into(),
        group_type: GroupType::Advanced,
        owner: Some(owner.into()),
    }
}

pub fn request(marker: &str) -> CreateRequest {
    CreateRequest {
        group_type: GroupType::Advanced,
        group_id: None,
        marker: marker.into(),
        attributes: GroupAttributes {
            name: "Team".into(),
            owner: Some("alice".into()),
            introduction: Some("intro".into()),
            join_policy: Some(JoinPolicy::DisableApply),
            custom_data: BTreeMap::from([("a".into(), "1".into())]),
            ..Default::default()
        },
    }
}

pub fn seed(sim: &NeteaseSim, id: &str, owner: &str, server_extension: &str) {
    sim.insert_group(SimGroup {
        id: id.into(),
        group_type: "1".into(),
        name: format!("seeded {id}"),
        owner: Some(owner.into()),
        max_members: 200,
        join_option: "0".into(),
        server_extension: server_extension.into(),
        members: vec![owner.into()],
        ..Default::default()
    });
}

/// A client for any base URL (a local fake server), with a quick timeout.
pub fn client_for(base_url: &str) -> NeteaseClient {
    let mut config = NeteaseConfig::new("sim-app-key", Secret::new("sim-app-secret"));
    config.endpoint = NeteaseEndpoint::Url(base_url.to_string());
    config.timeout = Duration::from_secs(2);
    let budget = RateBudget::new(ProviderKind::NetEase, config.rate)
        .with_max_throttle_wait(Duration::from_secs(2));
    NeteaseClient::new(config, Arc::new(budget)).expect("valid config")
}

/// Seeds a team of `group_type` ("1" advanced, "2" super) with a name and
/// server_extension of its own.
pub fn seed_named(
    sim: &NeteaseSim,
    id: &str,
    group_type: &str,
    name: &str,
    owner: &str,
    server_extension: &str,
) {
    sim.insert_group(SimGroup {
        id: id.into(),
        group_type: group_type.into(),
        name: name.into(),
        owner: Some(owner.into()),
        max_members: 200,
        join_option: "0".into(),
        server_extension: server_extension.into(),
        members: vec![owner.into()],
        ..Default::default()
    });
}

/// `server_extension` holding only `marker` under the operator's key.
pub fn marked(marker: &str) -> String {
    serde_json::json!({ chatgroup_operator::provider::MARKER_KEY: marker }).to_string()
}
