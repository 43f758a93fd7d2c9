//! Shared setup for the Tencent client tests: a simulator, a client pointed at it,
//! and request builders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chatgroup_operator::provider::{
    CreateRequest, GroupAttributes, GroupKey, GroupType, JoinPolicy, ProviderKind, RateBudget,
    Secret, TencentClient, TencentConfig, TencentEndpoint,
};
use provider_sim::tencent::SAMPLE_SECRET_KEY;
use provider_sim::{SimGroup, TencentSim, TencentSimConfig};

pub async fn start() -> (TencentSim, TencentClient) {
    start_with(TencentSimConfig::default(), |_| {}).await
}

pub async fn start_with(
    sim_config: TencentSimConfig,
    tweak: impl FnOnce(&mut TencentConfig),
) -> (TencentSim, TencentClient) {
    let sim = TencentSim::start(sim_config)
        .await
        .expect("simulator starts");
    let mut config = TencentConfig::new(1_400_000_000, Secret::new(SAMPLE_SECRET_KEY));
    config.endpoint = TencentEndpoint::Url(sim.base_url());
    config.timeout = Duration::from_secs(2);
    tweak(&mut config);
    let budget = RateBudget::new(ProviderKind::Tencent, config.rate)
        .with_max_throttle_wait(Duration::from_secs(2));
    let client = TencentClient::new(config, Arc::new(budget)).expect("valid config");
    (sim, client)
}

pub fn key(id: &str, group_type: GroupType) -> GroupKey {
    GroupKey {
        id: id.into(),
        group_type,
        owner: None,
    }
}

pub fn request(id: &str, group_type: GroupType) -> CreateRequest {
    CreateRequest {
        group_type,
        group_id: Some(id.into()),
        marker: "uid-1".into(),
        attributes: GroupAttributes {
            name: "Team".into(),
            owner: Some("alice".into()),
            introduction: Some("intro".into()),
            max_members: Some(500),
            join_policy: Some(JoinPolicy::FreeAccess),
            custom_data: BTreeMap::from([("k1".into(), "v1".into()), ("k2".into(), "v2".into())]),
            ..Default::default()
        },
    }
}

pub fn seed(sim: &TencentSim, id: &str, owner: &str) {
    sim.insert_group(SimGroup {
        id: id.into(),
        group_type: "Public".into(),
        name: format!("seeded {id}"),
        owner: Some(owner.into()),
        max_members: 200,
        join_option: "NeedPermission".into(),
        members: vec![owner.into()],
        ..Default::default()
    });
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
