//! The processes a benchmark run starts: release `pulse` services (ingest, processor), the seed Go
//! ingest and the bare handler, each on a free loopback port with its own log, waited for until it
//! answers, and stopped with SIGTERM (the span exporter logs its dropped-span count then).

use std::{
    fs,
    io::{Read as _, Seek as _, SeekFrom},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

/// A free loopback port (bound and released; the child binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// What to start.
pub struct Spec {
    /// Role in the CPU accounting and the log's name (`ingest`, `processor`, `seed`, `bare`).
    pub role: &'static str,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Path answered with 200 once the process is ready.
    pub ready_path: &'static str,
    pub port: u16,
}

/// A running child process; SIGKILLed if dropped without [`Service::stop`].
pub struct Service {
    pub role: &'static str,
    pub port: u16,
    child: Child,
    log: PathBuf,
    log_start: u64,
}

/// What a stopped service left behind.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stopped {
    /// Spans the OpenTelemetry exporter dropped (queue full), from its shutdown log line.
    pub dropped_spans: u64,
}

impl Service {
    pub async fn start(spec: Spec, logs: &Path, http: &reqwest::Client) -> anyhow::Result<Self> {
        fs::create_dir_all(logs)?;
        let log = logs.join(format!("{}-{}.log", spec.role, spec.port));
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let log_start = out.metadata()?.len();
        let err = out.try_clone()?;
        let child = Command::new(&spec.program)
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", spec.program.display()))?;
        let mut service = Self {
            role: spec.role,
            port: spec.port,
            child,
            log,
            log_start,
        };
        service.ready(spec.ready_path, http).await?;
        Ok(service)
    }

    async fn ready(&mut self, path: &str, http: &reqwest::Client) -> anyhow::Result<()> {
        let url = self.url(path);
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!(
                    "{} exited ({status}); see {}",
                    self.role,
                    self.log.display()
                );
            }
            if http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "{} not ready after 90 s; see {}",
            self.role,
            self.log.display()
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Peak resident set size so far (VmHWM), MiB.
    pub fn peak_rss_mb(&self) -> f64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// SIGTERM, a bounded wait (then SIGKILL), and the dropped-span count its log reports.
    pub async fn stop(mut self) -> Stopped {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        Stopped {
            dropped_spans: dropped_spans(&self.log, self.log_start),
        }
    }
}

/// The largest `dropped_span_count=N` the log shows after `from`.
fn dropped_spans(log: &Path, from: u64) -> u64 {
    let mut text = String::new();
    let Ok(mut f) = fs::File::open(log) else {
        return 0;
    };
    if f.seek(SeekFrom::Start(from)).is_err() || f.read_to_string(&mut text).is_err() {
        return 0;
    }
    text.match_indices("dropped_span_count=")
        .filter_map(|(i, m)| {
            let digits: String = text[i + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// The processor's durable progress: events stored plus dead letters written, from its
/// `/metrics` (a `count(*)` five times a second had cost PostgreSQL a good part of a core).
pub async fn durable_count(http: &reqwest::Client, processor: &Service) -> u64 {
    counter(
        http,
        processor,
        &[
            "pulse_events_stored_total",
            "pulse_events_dead_lettered_total",
        ],
    )
    .await
}

/// The sum of the counters `names` (every label set) on the service's `/metrics`; 0 when it
/// does not answer.
pub async fn counter(http: &reqwest::Client, service: &Service, names: &[&str]) -> u64 {
    let Ok(resp) = http.get(service.url("/metrics")).send().await else {
        return 0;
    };
    let text = resp.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| {
            names
                .iter()
                .any(|m| l.strip_prefix(m).is_some_and(|r| r.starts_with([' ', '{'])))
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Waits until the processor has made `target` events durable, at most `limit`. Returns whether
/// it got there.
pub async fn wait_durable(
    http: &reqwest::Client,
    processor: &Service,
    target: u64,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if durable_count(http, processor).await >= target {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
