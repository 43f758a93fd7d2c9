//! The whole ChatGroup lifecycle on this machine, with no cluster and no IM account:
//! starts a Kubernetes API simulator, Tencent and NetEase simulators and the
//! operator, then creates, updates, disbands and deletes a group on each provider,
//! printing the status conditions as it goes.

use std::time::Duration;

use chatgroup_operator::api::ChatGroup;
use e2e::{fixtures, group_id, ready_with, Env, Op, Side};

const WAIT: Duration = Duration::from_secs(30);

fn show(step: &str, group: &ChatGroup) {
    let status = group.status.clone().unwrap_or_default();
    println!("\n== {step}");
    println!(
        "   ChatGroup {}  generation {}  status.groupId {}  observedGeneration {}",
        group.metadata.name.as_deref().unwrap_or_default(),
        group.metadata.generation.unwrap_or_default(),
        status.group_id.as_deref().unwrap_or("-"),
        status.observed_generation.unwrap_or_default()
    );
    for c in &status.conditions {
        println!(
            "   {:<12} {:<6} {:<20} {}",
            c.type_, c.status, c.reason, c.message
        );
    }
}

async fn lifecycle(env: &Env, side: Side) -> anyhow::Result<()> {
    let name = format!("demo-{}", side.provider());
    let owner = if side == Side::Netease {
        "owner: alice\n"
    } else {
        ""
    };
    let manifest = |title: &str, extra: &str| {
        let spec = format!("name: {title}\nintroduction: Created by the demo\n{owner}{extra}");
        fixtures::group(&name, side.provider(), side.group_type(), &spec)
    };
    println!("\n######## {} ########", side.provider());

    env.apply_group(&manifest("Ops room", "")).await?;
    let group = env
        .wait_group(&name, WAIT, |g| ready_with(g, "Available"))
        .await?;
    show("applied: the group is created on the provider", &group);
    let id = group_id(&group).unwrap_or_default();
    if let Some(on_provider) = env.sim_group(side, &id) {
        println!(
            "   on the provider: id {}, name \"{}\", owner {}",
            on_provider.id,
            on_provider.name,
            on_provider.owner.as_deref().unwrap_or("(none)")
        );
    }

    env.apply_group(&manifest("Ops room (renamed)", "")).await?;
    let generation = env.groups().get(&name).await?.metadata.generation;
    let group = env
        .wait_group(&name, WAIT, |g| {
            ready_with(g, "Available")
                && g.status.as_ref().and_then(|s| s.observed_generation) == generation
        })
        .await?;
    show("renamed: one update call", &group);
    if let Some(on_provider) = env.sim_group(side, &id) {
        println!(
            "   on the provider: name \"{}\"  (update calls: {})",
            on_provider.name,
            env.executed(side, Op::Update)
        );
    }

    env.apply_group(&manifest("Ops room (renamed)", "state: disbanded\n"))
        .await?;
    let group = env
        .wait_group(&name, WAIT, |g| ready_with(g, "Disbanded"))
        .await?;
    show(
        "state: disbanded: the group is disbanded once and kept as a tombstone",
        &group,
    );
    println!(
        "   on the provider: exists {}  (disband calls: {})",
        env.sim_group(side, &id).is_some(),
        env.executed(side, Op::Disband)
    );

    env.delete_group(&name).await?;
    env.wait_gone(&name, WAIT).await?;
    println!(
        "\n== deleted: the object is gone (disband calls still {})",
        env.executed(side, Op::Disband)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("CHATGROUP_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    println!("Starting the Kubernetes API simulator, the Tencent and NetEase simulators and the operator...");
    let env = Env::start().await?;
    println!("Kubernetes API simulator at {}", env.kube.url());
    for side in Side::BOTH {
        lifecycle(&env, side).await?;
    }
    println!("\nDone: both providers went through create, update, disband and delete.");
    Ok(())
}
