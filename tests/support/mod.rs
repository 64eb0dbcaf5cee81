//! Runs the real `pulse` binary as child processes, for tests that need separate services (two
//! service names in one trace) or a crash (SIGKILL).
#![allow(dead_code)]

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A free loopback port (bound and released; the child binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `pulse` child process that is killed when dropped.
pub struct Service {
    pub child: Child,
    pub port: u16,
    pub name: &'static str,
}

impl Service {
    /// Starts `pulse <subcommand> --addr 127.0.0.1:<free port>` with `env`.
    pub fn start(subcommand: &'static str, env: &[(&str, String)]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("pulse-test-{subcommand}-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pulse"));
        cmd.arg(subcommand)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .env("OTEL_METRICS_EXPORTER", "prometheus")
            .env("PULSE_SHUTDOWN_GRACE_MS", "0")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start pulse");
        Self {
            child,
            port,
            name: subcommand,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&self) {
        let http = reqwest::Client::new();
        pulse_core::testkit::eventually(
            &format!("{} ready", self.name),
            Duration::from_secs(30),
            || async {
                let r = http.get(self.url("/readyz")).send().await.ok()?;
                (r.status() == 200).then_some(())
            },
        )
        .await;
    }

    /// The sum of every sample of `series` on this process's `/metrics` (one process, so no other
    /// test's counts are in it).
    pub async fn metric_sum(&self, series: &str) -> f64 {
        metric_sum(
            &pulse_core::testkit::get_text(&self.url("/metrics")).await,
            series,
        )
    }

    /// SIGKILL: no flush, no commit, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (bounded) for a clean exit.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..150 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
        None
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// The sum of every sample of `series` (all label sets) in a Prometheus text exposition.
pub fn metric_sum(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
