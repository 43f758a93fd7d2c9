//! The client-side rate budget against the simulators: pacing, adaptive backoff, and
//! one bucket per API so reads never starve disbands.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatgroup_operator::provider::{
    DisbandOutcome, GroupKey, GroupProvider, GroupType, NeteaseClient, NeteaseConfig,
    NeteaseEndpoint, ProviderKind, RateBudget, RateConfig, Secret, TencentClient, TencentConfig,
    TencentEndpoint,
};
use provider_sim::tencent::SAMPLE_SECRET_KEY;
use provider_sim::{NeteaseSim, NeteaseSimConfig, SimGroup, TencentSim, TencentSimConfig};

fn tencent_client(sim: &TencentSim, rate: RateConfig) -> Arc<TencentClient> {
    let mut config = TencentConfig::new(1_400_000_000, Secret::new(SAMPLE_SECRET_KEY));
    config.endpoint = TencentEndpoint::Url(sim.base_url());
    config.rate = rate;
    let budget = Arc::new(RateBudget::new(ProviderKind::Tencent, rate));
    Arc::new(TencentClient::new(config, budget).expect("valid config"))
}

fn seed_tencent(sim: &TencentSim, n: usize) -> Vec<GroupKey> {
    (0..n)
        .map(|i| {
            let id = format!("g{i}");
            sim.insert_group(SimGroup {
                id: id.clone(),
                group_type: "Public".into(),
                name: id.clone(),
                owner: Some("alice".into()),
                max_members: 200,
                join_option: "NeedPermission".into(),
                members: vec!["alice".into()],
                ..Default::default()
            });
            GroupKey {
                id,
                group_type: GroupType::Public,
                owner: Some("alice".into()),
            }
        })
        .collect()
}

async fn disband_all(client: Arc<TencentClient>, keys: Vec<GroupKey>) -> Vec<DisbandOutcome> {
    let tasks: Vec<_> = keys
        .into_iter()
        .map(|key| {
            let client = client.clone();
            tokio::spawn(async move { client.disband(&key).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task").expect("disbanded"));
    }
    out
}

#[tokio::test]
async fn disbands_are_paced_by_the_configured_rate() {
    let sim = TencentSim::start(TencentSimConfig::default())
        .await
        .expect("sim");
    let keys = seed_tencent(&sim, 8);
    let client = tencent_client(
        &sim,
        RateConfig {
            requests_per_second: 5,
            burst: 1,
        },
    );
    let started = Instant::now();
    let outcomes = disband_all(client, keys).await;
    let elapsed = started.elapsed();
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, DisbandOutcome::Disbanded(_))));
    // The first call uses the burst; the other 7 wait for 1/5 s each.
    assert!(
        elapsed >= Duration::from_millis(1350),
        "took only {elapsed:?}"
    );
    assert!(
        sim.calls_to("destroy_group").iter().all(|c| c.code == 0),
        "the sim never throttled"
    );
    assert!(sim.groups().is_empty());
}

/// The default rateLimit against a provider at its documented cap, counting in whole
/// one-second windows as Tencent's frequency control does: never one answer over it.
#[tokio::test]
async fn the_default_rate_never_trips_a_fixed_window_provider_at_the_same_cap() {
    let sim = TencentSim::start(TencentSimConfig::default())
        .await
        .expect("sim");
    let keys = seed_tencent(&sim, 500);
    let client = tencent_client(&sim, RateConfig::default_for(ProviderKind::Tencent));
    let outcomes = disband_all(client, keys).await;
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, DisbandOutcome::Disbanded(_))));
    let throttled = sim
        .calls_to("destroy_group")
        .iter()
        .filter(|c| c.code == 60007)
        .count();
    assert_eq!(throttled, 0, "throttle answers at the default rate");
}

#[tokio::test]
async fn a_provider_limit_below_ours_is_met_by_backing_off() {
    let sim_config = TencentSimConfig {
        rate_limit_per_api: 3,
        ..Default::default()
    };
    let sim = TencentSim::start(sim_config).await.expect("sim");
    let keys = seed_tencent(&sim, 9);
    let client = tencent_client(
        &sim,
        RateConfig {
            requests_per_second: 50,
            burst: 50,
        },
    );
    let outcomes = disband_all(client.clone(), keys).await;
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, DisbandOutcome::Disbanded(_))));
    let calls = sim.calls_to("destroy_group");
    assert_eq!(
        calls.iter().filter(|c| c.executed).count(),
        9,
        "each disband executed exactly once"
    );
    assert!(
        calls.iter().any(|c| c.code == 60007),
        "the sim did throttle"
    );
    assert!(client.budget().stats().throttles > 0);
    assert!(sim.groups().is_empty());
}

#[tokio::test]
async fn netease_backs_off_on_416_and_executes_each_call_once() {
    let sim_config = NeteaseSimConfig {
        rate_limit_per_api: 2,
        ..Default::default()
    };
    let sim = NeteaseSim::start(sim_config).await.expect("sim");
    let mut config = NeteaseConfig::new("sim-app-key", Secret::new("sim-app-secret"));
    config.endpoint = NeteaseEndpoint::Url(sim.base_url());
    let rate = RateConfig {
        requests_per_second: 50,
        burst: 50,
    };
    let client = Arc::new(
        NeteaseClient::new(
            config,
            Arc::new(RateBudget::new(ProviderKind::NetEase, rate)),
        )
        .unwrap(),
    );
    let mut tasks = Vec::new();
    for i in 0..6 {
        let id = format!("{}", 700 + i);
        sim.insert_group(SimGroup {
            id: id.clone(),
            group_type: "1".into(),
            name: id.clone(),
            owner: Some("alice".into()),
            max_members: 200,
            join_option: "0".into(),
            members: vec!["alice".into()],
            ..Default::default()
        });
        let client = client.clone();
        let key = GroupKey {
            id,
            group_type: GroupType::Advanced,
            owner: Some("alice".into()),
        };
        tasks.push(tokio::spawn(async move { client.disband(&key).await }));
    }
    for task in tasks {
        assert!(matches!(
            task.await.unwrap(),
            Ok(DisbandOutcome::Disbanded(_))
        ));
    }
    let calls = sim.calls_to("disband");
    assert_eq!(calls.iter().filter(|c| c.executed).count(), 6);
    assert!(calls.iter().any(|c| c.code == 416), "the sim did throttle");
}

#[tokio::test]
async fn a_stream_of_reads_does_not_starve_disbands() {
    let sim = TencentSim::start(TencentSimConfig::default())
        .await
        .expect("sim");
    let keys = seed_tencent(&sim, 6);
    let client = tencent_client(
        &sim,
        RateConfig {
            requests_per_second: 5,
            burst: 1,
        },
    );
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..20 {
        let (client, stop, reads, key) =
            (client.clone(), stop.clone(), reads.clone(), keys[0].clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let _ = client.get_groups(std::slice::from_ref(&key)).await;
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Let the readers saturate their bucket first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let outcomes = disband_all(client.clone(), keys[1..].to_vec()).await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
    }
    assert_eq!(outcomes.len(), 5);
    // Five disbands at 5/s need about 0.8 s; sharing a bucket with 20 readers would
    // take several seconds.
    assert!(
        elapsed < Duration::from_millis(2500),
        "disbands took {elapsed:?}"
    );
    assert!(
        reads.load(Ordering::Relaxed) >= 2,
        "reads made progress too"
    );
}
