//! The operational side end to end: `/metrics` read by the official Prometheus
//! parser, the probes, leader election between replicas, and graceful shutdown of the
//! in-process operator and of the real binary on SIGTERM.

#[path = "operations/leader.rs"]
mod leader;
#[path = "operations/metrics.rs"]
mod metrics;
#[path = "operations/probes.rs"]
mod probes;
#[path = "operations/prometheus.rs"]
mod prometheus;
#[path = "operations/shutdown.rs"]
mod shutdown;
#[path = "operations/support.rs"]
mod support;

use std::time::Duration;

use e2e::{fixtures, Side};

const WAIT: Duration = Duration::from_secs(30);

fn manifest(side: Side, name: &str, extra: &str) -> String {
    let owner = if side == Side::Netease {
        "owner: alice\n"
    } else {
        ""
    };
    let spec = format!("name: {name}\n{owner}{extra}");
    fixtures::group(name, side.provider(), side.group_type(), &spec)
}
