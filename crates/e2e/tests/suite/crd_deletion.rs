//! Removing the ChatGroup CRD (issue 14, item 7): the GitOps accident of a CRD
//! pruned during an upgrade. The API server marks every ChatGroup for deletion and
//! keeps the CRD Terminating until their finalizers are gone, so each group goes
//! through the operator's disband: the blast-radius guard caps how many, and none
//! is released without its disband.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::{bail, Context as _};
use chatgroup_operator::api::ChatGroup;
use e2e::{condition, group_id, ready_with, Env, Op, Side};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams};
use kube::{CustomResourceExt, ResourceExt};
use provider_sim::{Fault, FaultKind, RecordedCall};

/// ChatGroups per provider.
const PER_SIDE: usize = 5;
const WAIT: Duration = Duration::from_secs(30);
const FINALIZER: &str = "im.chatgroup.dev/disband";
const CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

fn disband_calls(env: &Env, side: Side) -> Vec<RecordedCall> {
    match side {
        Side::Tencent => env.tencent.calls_to(side.api(Op::Disband)),
        Side::Netease => env.netease.calls_to(side.api(Op::Disband)),
    }
}

/// Executed disband calls per group id (whatever they answered).
fn executed_disbands(env: &Env, side: Side) -> BTreeMap<String, Vec<i64>> {
    let mut per_id: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for call in disband_calls(env, side).into_iter().filter(|c| c.executed) {
        per_id
            .entry(side.disbanded_id(&call))
            .or_default()
            .push(call.code);
    }
    per_id
}

fn total_executed_disbands(env: &Env) -> usize {
    Side::BOTH
        .iter()
        .map(|side| {
            executed_disbands(env, *side)
                .values()
                .map(Vec::len)
                .sum::<usize>()
        })
        .sum()
}

fn crd_name() -> String {
    ChatGroup::crd().name_any()
}

fn crds(env: &Env) -> Api<CustomResourceDefinition> {
    Api::all(env.client.clone())
}

/// A ChatGroup the test created: its provider and the group the operator made.
struct Tracked {
    side: Side,
    id: String,
}

/// 5 ChatGroups per provider, each Ready with a group on its provider.
async fn create_groups(env: &Env) -> anyhow::Result<BTreeMap<String, Tracked>> {
    let mut names = Vec::new();
    for side in Side::BOTH {
        for i in 0..PER_SIDE {
            let name = format!("crd-{side:?}-{i}").to_lowercase();
            env.apply_group(&side.manifest(&name, "")).await?;
            names.push((side, name));
        }
    }
    let mut tracked = BTreeMap::new();
    for (side, name) in names {
        let group = env
            .wait_group(&name, WAIT, |g| ready_with(g, "Available"))
            .await?;
        let id = group_id(&group).with_context(|| format!("{name}: no status.groupId"))?;
        assert!(env.sim_group(side, &id).is_some(), "{name}: {id} is live");
        tracked.insert(name, Tracked { side, id });
    }
    for side in Side::BOTH {
        assert_eq!(
            env.sim_groups(side).len(),
            PER_SIDE,
            "{side:?}: one group each"
        );
        assert!(
            disband_calls(env, side).is_empty(),
            "{side:?}: nothing disbanded yet"
        );
    }
    Ok(tracked)
}

/// Watches the ChatGroups disappear: whenever one is gone, its group must have been
/// disbanded already (a disband executed with success, the group no longer live),
/// since the operator may let an object go only after its disband. The operator
/// releases the finalizer after the disband answered, so looking later can only
/// find it disbanded; a finalizer released without a disband is caught here or by
/// the final check (every group disbanded, none live).
struct Monitor<'a> {
    env: &'a Env,
    tracked: &'a BTreeMap<String, Tracked>,
    gone: BTreeSet<String>,
    violations: Vec<String>,
}

/// One look at the ChatGroups: `None` once the resource is no longer served.
type Look = Option<Vec<ChatGroup>>;

impl<'a> Monitor<'a> {
    fn new(env: &'a Env, tracked: &'a BTreeMap<String, Tracked>) -> Self {
        Monitor {
            env,
            tracked,
            gone: BTreeSet::new(),
            violations: Vec::new(),
        }
    }

    async fn look(&mut self) -> anyhow::Result<Look> {
        let listed = self.env.groups().list(&ListParams::default()).await;
        let groups = match listed {
            Ok(list) => Some(list.items),
            Err(kube::Error::Api(status)) if status.code == 404 => None,
            Err(error) => return Err(error).context("list ChatGroups"),
        };
        let present: BTreeSet<String> =
            groups.iter().flatten().map(ResourceExt::name_any).collect();
        for (name, t) in self.tracked {
            if present.contains(name) || !self.gone.insert(name.clone()) {
                continue;
            }
            let calls = executed_disbands(self.env, t.side)
                .remove(&t.id)
                .unwrap_or_default();
            let disbanded = calls.contains(&t.side.success_code());
            let live = self.env.sim_group(t.side, &t.id).is_some();
            if !disbanded || live {
                self.violations.push(format!(
                    "{name} ({:?} {}) gone with its group not disbanded: executed disbands {calls:?}, still live: {live}",
                    t.side, t.id
                ));
            }
        }
        Ok(groups)
    }

    /// Looks every 25 ms until `done` accepts a look.
    async fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&Env, &Look) -> bool,
    ) -> anyhow::Result<Look> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // A list may fail while the CRD goes; the next look tells.
            if let Ok(look) = self.look().await {
                if done(self.env, &look) {
                    return Ok(look);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                let last = self.look().await?;
                let summary: Vec<String> = last
                    .iter()
                    .flatten()
                    .map(|g| {
                        format!(
                            "{} deleting={} finalizers={:?} reconciling={:?}",
                            g.name_any(),
                            g.metadata.deletion_timestamp.is_some(),
                            g.finalizers(),
                            condition(g, "Reconciling")
                        )
                    })
                    .collect();
                bail!(
                    "timed out after {timeout:?} waiting for {what}; disbands executed: {}; ChatGroups: {summary:#?}",
                    total_executed_disbands(self.env)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Looks for `period`, whatever happens (the monitor keeps checking).
    async fn for_a_while(&mut self, period: Duration) -> anyhow::Result<Look> {
        let until = tokio::time::Instant::now() + period;
        loop {
            let look = self.look().await?;
            if tokio::time::Instant::now() >= until {
                return Ok(look);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The CRD as it is now: still there, marked, its cleanup finalizer kept, Terminating.
async fn assert_crd_terminating(env: &Env) -> anyhow::Result<()> {
    let crd = crds(env)
        .get_opt(&crd_name())
        .await?
        .context("the ChatGroup CRD stays while ChatGroups carry finalizers")?;
    assert!(
        crd.metadata.deletion_timestamp.is_some(),
        "marked for deletion"
    );
    assert!(
        crd.finalizers().iter().any(|f| f == CLEANUP),
        "cleanup finalizer kept: {:?}",
        crd.finalizers()
    );
    let terminating = crd
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Terminating")
        .context("Terminating condition")?;
    assert_eq!(terminating.status, "True", "{terminating:?}");
    Ok(())
}

async fn delete_crd(env: &Env) -> anyhow::Result<()> {
    crds(env)
        .delete(&crd_name(), &DeleteParams::default())
        .await
        .context("delete the ChatGroup CRD")?;
    Ok(())
}

/// After the CRD is gone: every group was disbanded exactly once, with success, and
/// no group is left live on either provider.
fn assert_each_disbanded_once(env: &Env, tracked: &BTreeMap<String, Tracked>) {
    for side in Side::BOTH {
        let live = env.sim_groups(side);
        assert!(live.is_empty(), "{side:?}: groups left live: {live:#?}");
        let per_id = executed_disbands(env, side);
        let expected: BTreeSet<String> = tracked
            .values()
            .filter(|t| t.side == side)
            .map(|t| t.id.clone())
            .collect();
        assert_eq!(
            per_id.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{side:?}: exactly the ChatGroups' groups were disbanded"
        );
        for (id, codes) in &per_id {
            assert_eq!(
                codes,
                &vec![side.success_code()],
                "{side:?}: {id} disbanded exactly once"
            );
        }
    }
}

#[tokio::test]
async fn removing_the_crd_disbands_only_the_hourly_budget_until_the_guard_is_lifted(
) -> anyhow::Result<()> {
    const BUDGET: u32 = 2;
    let mut settings = e2e::test_settings();
    settings.max_disbands_per_hour = NonZeroU32::new(BUDGET);
    let mut env = Env::start_with(settings).await?;
    let tracked = create_groups(&env).await?;
    delete_crd(&env).await?;

    // The budget is one for the whole operator (one ledger), not one per provider:
    // BUDGET disbands in all, every other ChatGroup held with its finalizer.
    let mut monitor = Monitor::new(&env, &tracked);
    let held_count = tracked.len() - BUDGET as usize;
    let held = |env: &Env, look: &Look| {
        let Some(groups) = look else { return false };
        total_executed_disbands(env) == BUDGET as usize
            && groups.len() == held_count
            && groups.iter().all(|g| {
                g.metadata.deletion_timestamp.is_some()
                    && g.finalizers().iter().any(|f| f == FINALIZER)
                    && condition(g, "Reconciling")
                        == Some(("True".into(), "DisbandBudgetExhausted".into()))
            })
    };
    monitor
        .until("the budget spent and the rest held", WAIT, held)
        .await?;
    // Nothing more goes through while the hour lasts.
    let look = monitor.for_a_while(Duration::from_secs(1)).await?;
    assert!(held(&env, &look), "still held a second later");
    assert_crd_terminating(&env).await?;
    for name in look.iter().flatten().map(ResourceExt::name_any) {
        let t = &tracked[&name];
        assert!(
            env.sim_group(t.side, &t.id).is_some(),
            "{name}: its group is still live"
        );
    }
    let per_side: Vec<usize> = Side::BOTH
        .iter()
        .map(|s| executed_disbands(&env, *s).len())
        .collect();
    assert_eq!(
        per_side.iter().sum::<usize>(),
        BUDGET as usize,
        "{per_side:?}"
    );
    assert!(monitor.violations.is_empty(), "{:#?}", monitor.violations);
    let gone = monitor.gone;

    // A planned mass deletion: the operator restarted without the guard finishes
    // the job, and the CRD goes once the last ChatGroup is released.
    env.stop_operator().await;
    env.settings.max_disbands_per_hour = None;
    env.start_operator();
    let mut monitor = Monitor {
        env: &env,
        tracked: &tracked,
        gone,
        violations: Vec::new(),
    };
    monitor
        .until("the CRD gone", WAIT, |_, look| look.is_none())
        .await?;
    assert!(crds(&env).get_opt(&crd_name()).await?.is_none());
    assert_eq!(
        monitor.gone.len(),
        tracked.len(),
        "every ChatGroup seen gone"
    );
    assert!(monitor.violations.is_empty(), "{:#?}", monitor.violations);
    assert_each_disbanded_once(&env, &tracked);
    Ok(())
}

#[tokio::test]
async fn removing_the_crd_disbands_every_group_once_and_bypasses_no_finalizer() -> anyhow::Result<()>
{
    let env = Env::start().await?;
    let tracked = create_groups(&env).await?;
    // Every disband fails at first (not executed): nothing may be released.
    for side in Side::BOTH {
        env.inject(
            side,
            Fault {
                api: Some(side.api(Op::Disband).to_string()),
                kind: FaultKind::Http502,
                probability: 1.0,
                remaining: None,
            },
        );
    }
    delete_crd(&env).await?;

    let mut monitor = Monitor::new(&env, &tracked);
    let all_held = |env: &Env, look: &Look| {
        let Some(groups) = look else { return false };
        groups.len() == tracked.len()
            && groups.iter().all(|g| {
                g.metadata.deletion_timestamp.is_some()
                    && g.finalizers().iter().any(|f| f == FINALIZER)
            })
            && Side::BOTH
                .iter()
                .all(|s| disband_calls(env, *s).len() >= PER_SIDE)
    };
    monitor
        .until(
            "every ChatGroup marked, its disband tried and refused",
            WAIT,
            all_held,
        )
        .await?;
    assert_crd_terminating(&env).await?;
    assert_eq!(total_executed_disbands(&env), 0);
    for side in Side::BOTH {
        assert_eq!(env.sim_groups(side).len(), PER_SIDE, "{side:?}: all live");
    }

    // The provider answers again: every group is disbanded, then the CRD goes.
    env.tencent.clear_faults();
    env.netease.clear_faults();
    monitor
        .until("the CRD gone", WAIT, |_, look| look.is_none())
        .await?;
    assert!(crds(&env).get_opt(&crd_name()).await?.is_none());
    assert_eq!(
        monitor.gone.len(),
        tracked.len(),
        "every ChatGroup seen gone"
    );
    assert!(monitor.violations.is_empty(), "{:#?}", monitor.violations);
    assert_each_disbanded_once(&env, &tracked);
    Ok(())
}
