//! Start-up settings out of range stop the binary before it contacts anything, with a
//! message naming the flag and what is allowed.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_chatgroup-operator"))
        .arg("run")
        .args([
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .args(args)
        .output()
        .expect("the operator binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn settings_out_of_range_are_refused_at_start_up_naming_the_flag() {
    let cases: [(&[&str], &str); 11] = [
        (&["--concurrency", "0"], "--concurrency"),
        (&["--concurrency", "5000"], "--concurrency"),
        (&["--resync-interval", "0s"], "--resync-interval"),
        (&["--resync-interval", "1000years"], "--resync-interval"),
        (&["--late-create-bound", "0s"], "--late-create-bound"),
        (&["--total-shards", "0"], "--total-shards"),
        (&["--worker-threads", "0"], "--worker-threads"),
        (&["--worker-threads", "1000"], "--worker-threads"),
        (&["--total-shards", "3", "--shard", "3"], "--shard"),
        (&["--total-shards", "3", "--shard", "7"], "--shard"),
        (
            &["--total-shards", "3", "--instance", "chatgroup-operator-5"],
            "--shard",
        ),
    ];
    for (args, flag) in cases {
        let (ok, stderr) = run(args);
        assert!(!ok, "{args:?} must be refused");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(stderr.contains("allowed"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let (ok, stderr) = run(&["--concurrency=-1"]);
    assert!(!ok && stderr.contains("--concurrency"), "{stderr}");
}
