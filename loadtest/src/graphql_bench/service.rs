//! The `pulse graphql` under test: the given binary started on a free port against the bench
//! database, with a token generated for this run and its own Kafka topics and consumer group; it
//! is stopped (by its process id) when dropped.

use std::{
    net::SocketAddr,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

/// Everything the service is started with.
pub struct ServiceConfig<'a> {
    pub pulse_bin: &'a Path,
    pub database_url: &'a str,
    pub kafka_brokers: &'a str,
    pub raw_topic: &'a str,
    pub dlq_topic: &'a str,
    pub group: &'a str,
    pub log: &'a Path,
}

/// A running `pulse graphql`.
pub struct Service {
    child: tokio::process::Child,
    pub addr: SocketAddr,
    pub pid: u32,
    pub admin_token: String,
}

impl Service {
    /// Starts the service and waits (at most 60 s) until it answers `{ version }`.
    pub async fn start(config: &ServiceConfig<'_>) -> Result<Self> {
        let addr = free_port()?;
        let admin_token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let log = std::fs::File::create(config.log)
            .with_context(|| format!("creating {}", config.log.display()))?;
        let child = tokio::process::Command::new(config.pulse_bin)
            .arg("graphql")
            .env("PULSE_GRAPHQL_ADDR", addr.to_string())
            .env("DATABASE_URL", config.database_url)
            .env("KAFKA_BROKERS", config.kafka_brokers)
            .env("PULSE_ADMIN_TOKEN", &admin_token)
            .env("PULSE_TOPIC_RAW", config.raw_topic)
            .env("PULSE_TOPIC_DLQ", config.dlq_topic)
            .env("PULSE_CONSUMER_GROUP", config.group)
            .env("PULSE_LOG_FORMAT", "json")
            .env("OTEL_METRICS_EXPORTER", "prometheus")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} graphql", config.pulse_bin.display()))?;
        let pid = child.id().context("the service's process id")?;
        let mut service = Self {
            child,
            addr,
            pid,
            admin_token,
        };
        service.wait_ready().await?;
        Ok(service)
    }

    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("pulse graphql exited during start-up ({status}); see its log");
            }
            let answer = http
                .post(self.url())
                .json(&serde_json::json!({"query": "{ version }"}))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("pulse graphql did not answer within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the service and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// A port nobody listens on right now.
fn free_port() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds (user + system) process `pid` has used.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the fields after the command name (in parentheses, may hold spaces)
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
