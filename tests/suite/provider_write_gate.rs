//! The write gate: a client asks it right before every write it sends, also after
//! waiting for the rate budget, so a replica that lost the right to write while it
//! waited never starts the write. Reads are not gated.

use crate::netease_support;
use crate::tencent_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatgroup_operator::provider::{
    FailureClass, GroupProvider, GroupType, Lookup, RateConfig, WriteGate,
};

/// A gate a test closes by hand.
#[derive(Debug, Default)]
struct Switch(AtomicBool);

impl Switch {
    fn close(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl WriteGate for Switch {
    fn may_write(&self) -> Result<Option<Duration>, String> {
        if self.0.load(Ordering::SeqCst) {
            Err("the renew deadline passed".into())
        } else {
            Ok(None)
        }
    }
}

const ONE_PER_SECOND: RateConfig = RateConfig {
    requests_per_second: 1,
    burst: 1,
};

#[tokio::test]
async fn tencent_a_disband_waiting_for_the_budget_is_not_sent_once_the_gate_closed() {
    let (sim, client) =
        tencent_support::start_with(Default::default(), |c| c.rate = ONE_PER_SECOND).await;
    let gate = Arc::new(Switch::default());
    let client = Arc::new(client.with_write_gate(gate.clone()));
    tencent_support::seed(&sim, "g0", "alice");
    tencent_support::seed(&sim, "g1", "alice");
    let key = |id| tencent_support::key(id, GroupType::Public);

    client
        .disband(&key("g0"))
        .await
        .expect("the first disband goes out");
    // The second waits about a second for a token; the gate closes meanwhile.
    let waiting = {
        let client = client.clone();
        tokio::spawn(async move { client.disband(&key("g1")).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.close();
    let error = waiting.await.expect("task").expect_err("not sent");
    assert_eq!(error.class, FailureClass::Transient);
    assert!(
        error.info.message.contains("may no longer write"),
        "{error}"
    );

    let destroys = sim.calls_to("destroy_group");
    assert_eq!(
        destroys.len(),
        1,
        "only the disband before the gate closed reached the provider"
    );
    assert!(sim.groups().iter().any(|g| g.id == "g1"), "g1 lives on");
    // Reads still go out: a fenced replica may look, not touch.
    let read = client.get_groups(&[key("g1")]).await.expect("read");
    assert!(matches!(read[0].1, Lookup::Found(_)));
    let create = client
        .create_group(&tencent_support::request("g2", GroupType::Public))
        .await;
    assert!(create.is_err());
    assert!(sim.calls_to("create_group").is_empty());
}

#[tokio::test]
async fn netease_no_write_leaves_a_closed_gate_and_reads_still_do() {
    let (sim, client) =
        netease_support::start_with(Default::default(), |c| c.rate = ONE_PER_SECOND).await;
    let gate = Arc::new(Switch::default());
    let client = client.with_write_gate(gate.clone());
    netease_support::seed(&sim, "7001", "alice", "");
    gate.close();

    let key = netease_support::key("7001", "alice");
    let disband = client.disband(&key).await.expect_err("not sent");
    assert!(
        disband.info.message.contains("may no longer write"),
        "{disband}"
    );
    let create = client
        .create_group(&netease_support::request("uid-1"))
        .await
        .expect_err("not sent");
    assert_eq!(create.class, FailureClass::Transient);
    let writes: Vec<_> = sim
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .collect();
    assert!(
        writes.is_empty(),
        "no write reached the provider: {writes:?}"
    );
    assert!(
        sim.groups().iter().any(|g| g.id == "7001"),
        "the team lives on"
    );
    let read = client.get_groups(&[key]).await.expect("read");
    assert!(matches!(read[0].1, Lookup::Found(_)));
}

/// A gate that bounds how long a write may run.
#[derive(Debug)]
struct Window(Duration);

impl WriteGate for Window {
    fn may_write(&self) -> Result<Option<Duration>, String> {
        Ok(Some(self.0))
    }
}

/// A write may run only until a standby could take over: a create slower than the
/// window the gate gives is cut short (its outcome unknown, like any timeout) instead
/// of running on past it.
#[tokio::test]
async fn a_write_is_cut_short_at_the_window_the_gate_gives() {
    let (sim, client) = tencent_support::start_with(Default::default(), |_| {}).await;
    let client = client.with_write_gate(Arc::new(Window(Duration::from_millis(300))));
    sim.inject(provider_sim::Fault::always(
        Some("create_group"),
        provider_sim::FaultKind::Latency(Duration::from_secs(3)),
    ));
    let started = std::time::Instant::now();
    let error = client
        .create_group(&tencent_support::request("slow", GroupType::Public))
        .await
        .expect_err("cut short");
    assert_eq!(error.class, FailureClass::Transient);
    assert!(error.info.message.contains("timed out"), "{error}");
    // The client's own timeout (2 s here) and the provider's 3 s were not waited out.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Reads are not bounded by the gate.
    assert!(client
        .get_groups(&[tencent_support::key("slow", GroupType::Public)])
        .await
        .is_ok());
}
