//! The sandbox driven as a person would: real `kubectl` with the kubeconfig it
//! prints, the ChatGroups of `examples/` as written, the providers' side read through
//! the listing it prints, and Ctrl-C.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Kills the sandbox if the test fails before Ctrl-C.
struct Sandbox(Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let output = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .current_dir(workspace())
        .output()
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "kubectl {args:?}:\n{text}");
    text
}

/// A plain `GET url` (http://127.0.0.1:PORT/path); the body.
fn get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').expect("a path");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// The names of the groups a listing holds.
fn names(listing: &str) -> Vec<String> {
    let groups: serde_json::Value = serde_json::from_str(listing).expect("a JSON listing");
    let mut names: Vec<String> = groups
        .as_array()
        .expect("an array")
        .iter()
        .map(|g| g["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn the_sandbox_runs_the_examples_with_real_kubectl_and_stops_on_ctrl_c() {
    let child = Command::new(env!("CARGO_BIN_EXE_chatgroup-sandbox"))
        .env("CHATGROUP_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sandbox starts");
    let mut sandbox = Sandbox(child);
    let stdout = BufReader::new(sandbox.0.stdout.take().expect("stdout"));
    let mut lines = stdout.lines();
    let (mut kubeconfig, mut listings) = (None, Vec::new());
    for line in lines.by_ref() {
        let line = line.expect("a line");
        if let Some(path) = line.trim().strip_prefix("export KUBECONFIG=") {
            kubeconfig = Some(PathBuf::from(path));
        }
        if let Some(url) = line.trim().strip_prefix("curl -s ") {
            listings.push(url.split_whitespace().next().unwrap().to_string());
        }
        if line.contains("Ctrl-C stops the sandbox") {
            break;
        }
    }
    let kubeconfig = kubeconfig.expect("the sandbox prints export KUBECONFIG=...");
    let [tencent, netease] = <[String; 2]>::try_from(listings).expect("two listings");

    let examples = [
        "-f",
        "examples/tencent/group.yaml",
        "-f",
        "examples/netease/group.yaml",
    ];
    kubectl(&kubeconfig, &[&["apply"][..], &examples].concat());
    for name in ["oncall", "announcements", "support"] {
        let object = format!("chatgroup/{name}");
        let args = [
            "wait",
            &object,
            "-n",
            "chat",
            "--for=condition=Ready",
            "--timeout=60s",
        ];
        kubectl(&kubeconfig, &args);
    }
    let listed = kubectl(&kubeconfig, &["get", "chatgroups", "-n", "chat"]);
    assert!(
        listed.contains("oncall") && listed.contains("support"),
        "{listed}"
    );
    assert_eq!(names(&get(&tencent)), ["Announcements", "On-call"]);
    assert_eq!(names(&get(&netease)), ["Customer support"]);

    kubectl(
        &kubeconfig,
        &[&["delete", "--timeout=60s"][..], &examples].concat(),
    );
    // announcements is deletionPolicy: Orphan: its group stays.
    assert_eq!(names(&get(&tencent)), ["Announcements"]);
    assert!(names(&get(&netease)).is_empty());

    let pid = sandbox.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = sandbox.0.wait().expect("the sandbox exits");
    assert!(status.success(), "{status:?}: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("Stopped")), "{rest:?}");
    assert!(!kubeconfig.exists(), "the sandbox removes its files");
}
