//! Extra operator replicas, each on its own thread, runtime and client, so one can be
//! stopped gracefully or killed like a crashed process while the others run on.

use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use chatgroup_operator::controller::Settings;
use kube::Client;
use tokio::sync::oneshot;

/// An operator replica running outside the test's runtime.
pub struct Replica {
    stop: Option<oneshot::Sender<()>>,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Replica {
    /// Starts a replica against the API server at `url` with `settings`.
    pub fn start(url: &str, settings: Settings) -> anyhow::Result<Replica> {
        Self::start_as(url, settings, crate::OPERATOR_USER)
    }

    /// Like [`start`](Self::start), its requests sent as `user`, so the simulator's
    /// request log tells this replica's from the others'.
    pub fn start_as(url: &str, settings: Settings, user: &str) -> anyhow::Result<Replica> {
        let config =
            crate::operator_config_as(url, user).context("the replica's client configuration")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (kill, killed) = oneshot::channel::<()>();
        // A current-thread runtime polls nothing once `block_on` returns, so dropping it
        // cancels every task without another step: no lease release, no last request.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("build the replica's runtime")?;
        let name = format!("replica-{}", settings.instance);
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                runtime.block_on(async move {
                    let client = match Client::try_from(config) {
                        Ok(client) => client,
                        Err(error) => {
                            tracing::error!(%error, "could not build the replica's client");
                            return;
                        }
                    };
                    let shutdown = async move {
                        let _ = stopped.await;
                    };
                    tokio::select! {
                        biased;
                        _ = killed => {}
                        result = crate::run_operator(client, settings, shutdown) => {
                            if let Err(error) = result {
                                tracing::error!(%error, "replica stopped with an error");
                            }
                        }
                    }
                });
                drop(runtime);
            })
            .context("spawn the replica's thread")?;
        Ok(Replica {
            stop: Some(stop),
            kill: Some(kill),
            thread: Some(thread),
        })
    }

    /// Stops the replica the way SIGTERM does (in-flight reconciles finish, the lease is
    /// released) and waits for it; `false` when it did not end within `timeout`.
    pub async fn stop(mut self, timeout: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join(timeout).await
    }

    /// Ends the replica at once, as a crash would: nothing it was doing gets another step.
    pub async fn kill(mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.join(Duration::from_secs(10)).await;
    }

    async fn join(&mut self, timeout: Duration) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let joined = tokio::task::spawn_blocking(move || thread.join());
        matches!(tokio::time::timeout(timeout, joined).await, Ok(Ok(Ok(()))))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // Dropping the kill sender ends the replica; its thread finishes on its own.
        self.kill.take();
    }
}

/// The operator binary, built (or brought up to date) in the calling executable's
/// profile (`target/<profile>/deps/<test>-<hash>` for a test, `target/<profile>/<bin>`
/// for a program of this crate), except that a release caller gets the shipped
/// `dist` build in `target/dist`.
pub async fn operator_binary() -> anyhow::Result<std::path::PathBuf> {
    use anyhow::{bail, ensure};
    let exe = std::env::current_exe()?;
    let mut profile_dir = exe.parent().context("locate target/<profile>")?;
    if profile_dir.file_name().is_some_and(|n| n == "deps") {
        profile_dir = profile_dir.parent().context("locate target/<profile>")?;
    }
    let target_dir = profile_dir.parent().context("locate target/")?;
    let workspace = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut build = tokio::process::Command::new(env!("CARGO"));
    build
        .args([
            "build",
            "-p",
            "chatgroup-operator",
            "--bin",
            "chatgroup-operator",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(workspace)
        .kill_on_drop(true);
    // An optimised caller (the benchmark, the soak) measures the binary as shipped.
    let shipped = profile_dir.file_name().is_some_and(|n| n == "release");
    if shipped {
        build.args(["--profile", "dist"]);
    }
    let output = tokio::time::timeout(Duration::from_secs(1200), build.output())
        .await
        .context("building chatgroup-operator took over 20 minutes")??;
    if !output.status.success() {
        bail!(
            "cargo build of chatgroup-operator failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let binary = if shipped {
        target_dir.join("dist").join("chatgroup-operator")
    } else {
        profile_dir.join("chatgroup-operator")
    };
    ensure!(
        binary.exists(),
        "{} missing after the build",
        binary.display()
    );
    Ok(binary)
}

/// A kubeconfig for the simulator at `url` whose requests are attributed to `user`
/// (the simulator takes the bearer token as the user name).
pub fn kubeconfig_for(url: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: {url}\nusers:\n- name: operator\n  user:\n    token: {user}\ncontexts:\n- name: kube-sim\n  context:\n    cluster: kube-sim\n    user: operator\n    namespace: default\ncurrent-context: kube-sim\n"
    )
}

/// The operator binary running as its own process, so it can be paused (SIGSTOP)
/// and resumed like a stalled machine, not just stopped or killed.
pub struct OperatorProcess {
    child: tokio::process::Child,
    pid: u32,
    dir: std::path::PathBuf,
}

impl OperatorProcess {
    /// Starts `binary run` against the simulator at `url` as `user`, with `args`;
    /// its provider calls go through the HTTP proxy at `http_proxy` when given.
    /// Its log (stdout and stderr) is kept for [`log`](Self::log).
    pub fn spawn(
        binary: &std::path::Path,
        url: &str,
        user: &str,
        http_proxy: Option<std::net::SocketAddr>,
        args: &[String],
    ) -> anyhow::Result<OperatorProcess> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("chatgroup-replica-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_for(url, user))?;
        // The operator logs to stdout (and a failed start to stderr): keep both.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("operator.log"))?;
        let mut command = tokio::process::Command::new(binary);
        command
            .arg("run")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .env("NO_COLOR", "1")
            .kill_on_drop(true);
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            command.env_remove(var);
        }
        if let Some(proxy) = http_proxy {
            // reqwest (the provider clients) honours HTTP_PROXY; the Kubernetes
            // client reads only HTTPS_PROXY, so its requests go straight through.
            command.env("HTTP_PROXY", format!("http://{proxy}"));
        }
        let child = command
            .spawn()
            .with_context(|| format!("spawn {}", binary.display()))?;
        let pid = child.id().context("the operator's pid")?;
        Ok(OperatorProcess { child, pid, dir })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("operator.log")).unwrap_or_default()
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`, `KILL`) with kill(1).
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let sent = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()?;
        anyhow::ensure!(sent.success(), "kill -{signal} {} failed", self.pid);
        Ok(())
    }

    /// SIGKILL, at once: nothing the process was doing gets another step.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child
            .start_kill()
            .with_context(|| format!("kill -KILL {}", self.pid))
    }

    /// Whether the process has exited (killed, or ended by itself).
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Freezes the process: no thread runs, no timer fires, until [`resume`](Self::resume).
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("STOP")
    }

    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("CONT")
    }

    /// Waits for the process to exit; its status, or `None` after `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// SIGTERM, then the exit status (SIGKILL after `timeout`).
    pub async fn stop(mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = self.signal("CONT");
        let _ = self.signal("TERM");
        let status = self.wait(timeout).await;
        if status.is_none() {
            let _ = self.child.kill().await;
        }
        status
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        // A paused process would not die of SIGKILL any later than now, but make
        // sure it is not left stopped if the kill is delayed.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &self.pid.to_string()])
                .stderr(std::process::Stdio::null())
                .status();
            let _ = self.child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One request a [`RecordingProxy`] forwarded.
#[derive(Clone, Debug)]
pub struct ProxiedRequest {
    /// When the proxy had read the request (its head and body).
    pub at: tokio::time::Instant,
    pub method: String,
    /// Path and query of the target URL.
    pub target: String,
}

/// A tiny HTTP/1.1 forward proxy for one replica's provider calls: it records each
/// request (which replica sent what, and when) and forwards it to the host named in
/// its absolute URL, one request per connection.
pub struct RecordingProxy {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<ProxiedRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingProxy {
    pub async fn start() -> anyhow::Result<RecordingProxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    if let Err(error) = proxy_one(client, log).await {
                        tracing::debug!(%error, "proxied request failed");
                    }
                });
            }
        });
        Ok(RecordingProxy {
            addr,
            requests,
            task,
        })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Every request so far, in the order they were read.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy_one(
    mut client: tokio::net::TcpStream,
    log: std::sync::Arc<std::sync::Mutex<Vec<ProxiedRequest>>>,
) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "closed before a request");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, url, version) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or("HTTP/1.1").to_string(),
    );
    let rest = url
        .strip_prefix("http://")
        .context("the proxy serves absolute http:// URLs only")?;
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let mut length = 0usize;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let name_lower = name.trim().to_ascii_lowercase();
        if name_lower == "content-length" {
            length = value.trim().parse().unwrap_or(0);
        }
        if name_lower == "connection" || name_lower.starts_with("proxy-") {
            continue;
        }
        headers.push(line.to_string());
    }
    while buffer.len() < head_end + length {
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "closed inside the body");
        buffer.extend_from_slice(&chunk[..n]);
    }
    if let Ok(mut log) = log.lock() {
        log.push(ProxiedRequest {
            at: tokio::time::Instant::now(),
            method: method.clone(),
            target: target.clone(),
        });
    }
    let mut upstream = tokio::net::TcpStream::connect(authority).await?;
    let mut forwarded = format!("{method} {target} {version}\r\n");
    for header in headers {
        forwarded.push_str(&header);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    upstream.write_all(forwarded.as_bytes()).await?;
    upstream
        .write_all(&buffer[head_end..head_end + length])
        .await?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).await?;
    client.write_all(&answer).await?;
    client.shutdown().await?;
    Ok(())
}
