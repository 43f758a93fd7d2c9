//! Shortened chaos soaks (the `chatgroup-soak` program's run at 200 groups): the
//! groups are created, renamed and deleted while about 20% of provider calls fail,
//! the Kubernetes simulator drops watches, compacts its history and fails some
//! requests, and the operator is killed every 3 s and started again: once as an
//! in-process task that is aborted, once as the `chatgroup-operator` binary that gets
//! SIGKILL. Once the faults stop everything converges, and the simulators' own
//! records show no leaked group, no duplicate create, no double disband, no
//! finalizer released before a confirmed disband, and no secret in the operator's log.

use std::time::Duration;

use e2e::soak::{self, KillMode, SoakConfig};

async fn short_soak(kill_mode: KillMode) -> anyhow::Result<()> {
    let config = SoakConfig {
        groups: 200,
        kill_every: Duration::from_secs(3),
        kill_mode,
        // On a loaded machine the faults stop after this; what is left must still
        // converge, with no fault, within the deadline.
        chaos_limit: Duration::from_secs(40),
        deadline: Duration::from_secs(30),
        ..SoakConfig::default()
    };
    let report = soak::run(config).await?;
    eprintln!("{report}");
    assert!(report.failures().is_empty(), "{report}");
    assert!(report.converged_in.is_some(), "{report}");
    assert_eq!(report.ready_after_update, report.groups, "{report}");
    assert!(
        report.kills >= 2,
        "the operator was killed a few times: {report}"
    );
    assert!(report.deletes_under_faults > 0, "{report}");
    let zero: [(&str, usize); 6] = [
        ("leaked groups", report.leaked.len()),
        ("duplicate creates", report.duplicate_creates.len()),
        ("double disbands", report.double_disbands.len()),
        ("early finalizer releases", report.early_releases.len()),
        ("secrets in log lines", report.log.secret_lines),
        ("stale Ready", report.stale_ready.len()),
    ];
    for (what, count) in zero {
        assert_eq!(count, 0, "{what}: {report}");
    }
    assert_eq!(report.groups_created, report.groups, "{report}");
    assert_eq!(report.groups_disbanded, report.groups, "{report}");
    if kill_mode == KillMode::Sigkill {
        // Every process's log was searched, the one left running included.
        assert_eq!(
            report.log.processes,
            report.kills + report.restarts_after_exit + 1,
            "{report}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_short_chaos_soak_converges_and_leaks_duplicates_and_double_disbands_nothing(
) -> anyhow::Result<()> {
    short_soak(KillMode::Abort).await
}

#[tokio::test]
async fn a_short_chaos_soak_with_the_operator_process_sigkilled_converges_cleanly(
) -> anyhow::Result<()> {
    short_soak(KillMode::Sigkill).await
}
