//! Private copies of Pulse's infrastructure that a fault injector may kill, freeze and empty:
//! a `redis-server` with an append-only file, a PostgreSQL cluster made with `initdb`, an Apache
//! Kafka broker in KRaft mode (from the libraries `scripts/infra.sh` put in `.run/kafka/libs`),
//! and `pulse` service processes pointed at them. Everything lives under one folder (by default
//! `.run/chaos/`) and listens on free loopback ports, so the shared servers that `make up` started
//! are never touched.

mod kafka;
mod postgres;
mod pulse;
mod redis;

pub use kafka::PrivateKafka;
pub use postgres::PrivatePostgres;
pub use pulse::PulseProcess;
pub use redis::PrivateRedis;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A free loopback port (bound and released; the caller's child binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Sends `signal` (`KILL`, `TERM`, `STOP`, `CONT`) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

pub(crate) fn log_file(path: &Path) -> anyhow::Result<(Stdio, Stdio)> {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let err = out.try_clone()?;
    Ok((Stdio::from(out), Stdio::from(err)))
}

pub(crate) async fn port_open(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

/// Polls `check` every 100 ms until it holds or `within` passes.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what} not ready after {within:?}")
}

/// A child process that is SIGKILLed when dropped.
pub(crate) struct Owned(Option<Child>);

impl Owned {
    pub(crate) fn pid(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub(crate) fn terminate(&mut self, grace: Duration) {
        if let Some(mut child) = self.0.take() {
            signal(child.id(), "TERM");
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.kill();
    }
}
