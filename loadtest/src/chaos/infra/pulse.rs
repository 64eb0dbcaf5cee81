//! A `pulse` service process pointed at the private infrastructure, restartable.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use super::{Owned, free_port, log_file, wait_until};

/// A `pulse` service process (`ingest` or `processor`) on a fixed loopback port, restartable.
pub struct PulseProcess {
    pub kind: &'static str,
    pub port: u16,
    bin: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Owned,
}

impl PulseProcess {
    /// Starts `bin kind --addr 127.0.0.1:<free port>` with `env`, logging to `logs/`.
    pub fn start(
        bin: &Path,
        kind: &'static str,
        env: &[(String, String)],
        logs: &Path,
    ) -> anyhow::Result<Self> {
        fs::create_dir_all(logs)?;
        let port = free_port();
        let mut p = Self {
            kind,
            port,
            bin: bin.to_path_buf(),
            env: env.to_vec(),
            log: logs.join(format!("{kind}-{port}.log")),
            child: Owned(None),
        };
        p.restart()?;
        Ok(p)
    }

    pub fn restart(&mut self) -> anyhow::Result<()> {
        let (out, err) = log_file(&self.log)?;
        let child = Command::new(&self.bin)
            .arg(self.kind)
            .arg("--addr")
            .arg(format!("127.0.0.1:{}", self.port))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Owned(Some(child));
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&self, http: &reqwest::Client, within: Duration) -> anyhow::Result<()> {
        let url = self.url("/readyz");
        wait_until(self.kind, within, || async {
            http.get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await
    }

    /// SIGKILL: no flush, no commit.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// SIGTERM and a bounded wait.
    pub fn terminate(&mut self) {
        self.child.terminate(Duration::from_secs(15));
    }

    pub fn is_running(&self) -> bool {
        self.child.0.is_some()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.pid()
    }
}
