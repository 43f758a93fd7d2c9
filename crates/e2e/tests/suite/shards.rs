//! Three shards split four apps (three Tencent, one NetEase) between them: every
//! ChatGroup is handled by the shard its app hashes to and by no other, each shard
//! elects its own leader, and a shard killed and started again picks up its own
//! objects, and only those.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chatgroup_operator::api::RecordedApp;
use chatgroup_operator::controller::shard::Shard;
use chatgroup_operator::controller::LeaderElection;
use e2e::replica::Replica;
use e2e::{eventually, fixtures, group_id, test_settings, Env, NETEASE, TENCENT};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use provider_sim::netease::NeteaseSimConfig;
use provider_sim::tencent::{TencentSim, TencentSimConfig};

const SHARDS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(60);

/// One ChatProvider on one app, and the shard that app hashes to.
struct App {
    provider: &'static str,
    group_type: &'static str,
    owner: &'static str,
    shard: u32,
}

fn shard_of(provider: &str, app_id: &str) -> u32 {
    Shard {
        index: 0,
        total: SHARDS,
    }
    .of_app(&RecordedApp {
        provider: provider.into(),
        app_id: app_id.into(),
        host: String::new(),
    })
}

/// Two more Tencent app ids that, with the default one, put a Tencent app in every
/// shard.
fn tencent_ids_covering_every_shard() -> Vec<u64> {
    let first = TencentSimConfig::default().sdk_app_id;
    let mut ids = vec![first];
    let mut covered: BTreeSet<u32> = [shard_of("tencent", &first.to_string())].into();
    for id in (first + 1).. {
        if covered.insert(shard_of("tencent", &id.to_string())) {
            ids.push(id);
        }
        if covered.len() == SHARDS as usize {
            return ids;
        }
    }
    unreachable!()
}

fn shard_settings(index: u32, instance: &str) -> chatgroup_operator::controller::Settings {
    chatgroup_operator::controller::Settings {
        instance: instance.into(),
        shard: Shard {
            index,
            total: SHARDS,
        },
        leader_election: Some(LeaderElection {
            lease_duration: Duration::from_secs(3),
            renew_deadline: Duration::from_secs(2),
            retry_period: Duration::from_millis(500),
            ..LeaderElection::default()
        }),
        ..test_settings()
    }
}

fn manifest(app: &App, name: &str) -> String {
    let spec = format!("name: {name}\nowner: {}\n", app.owner);
    fixtures::group(name, app.provider, app.group_type, &spec)
}

/// The users (replicas) that wrote to each ChatGroup or ChatProvider, by name.
fn writers(env: &Env, resource: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_name: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for request in env.kube.requests() {
        let write = !matches!(request.verb.as_str(), "get" | "list" | "watch");
        let by_replica = request
            .user
            .as_deref()
            .is_some_and(|u| u.starts_with("shard-"));
        if write && by_replica && request.resource == resource {
            if let (Some(name), Some(user)) = (request.name, request.user) {
                by_name.entry(name).or_default().insert(user);
            }
        }
    }
    by_name
}

/// ChatGroups `<provider>-g<n>` for every app and every `n` in `numbers`, applied;
/// their names, each noted in `provider_of` with its ChatProvider.
async fn apply_wave<'a>(
    env: &Env,
    apps: &'a [App],
    numbers: std::ops::Range<usize>,
    provider_of: &mut BTreeMap<String, &'a str>,
) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for app in apps {
        for n in numbers.clone() {
            let name = format!("{}-g{n}", app.provider);
            env.apply_group(&manifest(app, &name)).await?;
            provider_of.insert(name.clone(), app.provider);
            names.push(name);
        }
    }
    Ok(names)
}

async fn wait_recorded(env: &Env, names: &[String]) -> anyhow::Result<()> {
    for name in names {
        env.wait_group(name, TIMEOUT, |g| group_id(g).is_some())
            .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_shards_split_the_apps_and_a_restarted_shard_resumes_its_own_only(
) -> anyhow::Result<()> {
    let env = Env::without_operator(test_settings()).await?;
    let ids = tencent_ids_covering_every_shard();
    let mut extra_sims: Vec<TencentSim> = Vec::new();
    let mut apps = vec![
        App {
            provider: TENCENT,
            group_type: "Public",
            owner: "alice",
            shard: shard_of("tencent", &ids[0].to_string()),
        },
        App {
            provider: NETEASE,
            group_type: "Advanced",
            owner: "alice",
            shard: shard_of("netease", &NeteaseSimConfig::default().app_key),
        },
    ];
    for (n, id) in ids.iter().enumerate().skip(1) {
        let sim = TencentSim::start(TencentSimConfig {
            sdk_app_id: *id,
            ..TencentSimConfig::default()
        })
        .await?;
        let provider: &'static str = Box::leak(format!("tencent-{n}").into_boxed_str());
        env.apply_yaml::<chatgroup_operator::api::ChatProvider>(&fixtures::tencent_provider(
            provider,
            &sim.base_url(),
            *id,
        ))
        .await?;
        apps.push(App {
            provider,
            group_type: "Public",
            owner: "alice",
            shard: shard_of("tencent", &id.to_string()),
        });
        extra_sims.push(sim);
    }
    let shard_of_provider: BTreeMap<&str, u32> =
        apps.iter().map(|a| (a.provider, a.shard)).collect();

    let mut replicas: BTreeMap<u32, Replica> = BTreeMap::new();
    for index in 0..SHARDS {
        let user = format!("shard-{index}");
        let replica = Replica::start_as(&env.kube.url(), shard_settings(index, &user), &user)?;
        replicas.insert(index, replica);
    }

    // Six ChatGroups per app, applied together.
    let mut provider_of: BTreeMap<String, &str> = BTreeMap::new();
    let first_wave = apply_wave(&env, &apps, 0..6, &mut provider_of).await?;
    wait_recorded(&env, &first_wave).await?;

    // Each group was written by its app's shard alone, and each ChatProvider's status
    // by its app's shard alone.
    let group_writers = writers(&env, "chatgroups");
    for name in &first_wave {
        let expected = format!("shard-{}", shard_of_provider[provider_of[name]]);
        assert_eq!(
            group_writers.get(name),
            Some(&BTreeSet::from([expected.clone()])),
            "{name} is handled by {expected} only"
        );
    }
    let provider_writers = writers(&env, "chatproviders");
    for app in &apps {
        let expected = BTreeSet::from([format!("shard-{}", app.shard)]);
        assert_eq!(
            provider_writers.get(app.provider),
            Some(&expected),
            "{}",
            app.provider
        );
    }
    // Every shard leads with its own Lease.
    let leases: Api<Lease> = Api::namespaced(env.client.clone(), "default");
    for index in 0..SHARDS {
        let lease = leases
            .get(&format!("chatgroup-operator-shard-{index}"))
            .await?;
        let holder = lease.spec.and_then(|s| s.holder_identity);
        assert_eq!(holder.as_deref(), Some(format!("shard-{index}").as_str()));
    }

    // A shard killed: the others go on with their own apps; its apps wait for it.
    let killed = apps[2].shard;
    replicas.remove(&killed).expect("running").kill().await;
    let second_wave = apply_wave(&env, &apps, 6..9, &mut provider_of).await?;
    let (theirs, others): (Vec<String>, Vec<String>) = second_wave
        .iter()
        .cloned()
        .partition(|n| shard_of_provider[provider_of[n]] == killed);
    wait_recorded(&env, &others).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for name in &theirs {
        let group = env.groups().get(name).await?;
        assert_eq!(
            group_id(&group),
            None,
            "{name} waits for its own shard, taken by no other"
        );
    }

    // Started again (as another pod would be): it takes its Lease once the dead
    // holder's expires, creates its own groups, and writes to no other shard's.
    let again = format!("shard-{killed}-again");
    let replica = Replica::start_as(&env.kube.url(), shard_settings(killed, &again), &again)?;
    replicas.insert(killed, replica);
    wait_recorded(&env, &theirs).await?;
    let group_writers = writers(&env, "chatgroups");
    for (name, users) in &group_writers {
        let shard = shard_of_provider[provider_of[name.as_str()]];
        if users.contains(&again) {
            assert_eq!(shard, killed, "{again} wrote to {name}, another shard's");
        }
    }
    for name in &theirs {
        assert_eq!(
            group_writers.get(name),
            Some(&BTreeSet::from([again.clone()])),
            "{name}"
        );
    }

    // One group per ChatGroup in each app, none twice.
    let mut per_app: Vec<(String, Vec<String>)> = vec![
        (
            "tencent".into(),
            env.tencent.groups().into_iter().map(|g| g.name).collect(),
        ),
        (
            "netease".into(),
            env.netease.groups().into_iter().map(|g| g.name).collect(),
        ),
    ];
    for (n, sim) in extra_sims.iter().enumerate() {
        let names = sim.groups().into_iter().map(|g| g.name).collect();
        per_app.push((format!("tencent-{}", n + 1), names));
    }
    for (app, mut names) in per_app {
        names.sort();
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(names.len(), 9, "{app}: {names:?}");
        assert_eq!(unique.len(), 9, "{app}: {names:?}");
    }

    // Deleting everything disbands every group, each through its own shard.
    for name in provider_of.keys() {
        env.delete_group(name).await?;
    }
    for name in provider_of.keys() {
        env.wait_gone(name, TIMEOUT).await?;
    }
    let left = eventually(Duration::from_secs(5), || async {
        let left = env.tencent.groups().len()
            + env.netease.groups().len()
            + extra_sims.iter().map(|s| s.groups().len()).sum::<usize>();
        (left == 0).then_some(left)
    })
    .await;
    assert!(left.is_ok(), "every group disbanded");
    for replica in replicas.into_values() {
        replica.stop(Duration::from_secs(20)).await;
    }
    Ok(())
}
