//! What every scenario shares: the plan (how long, how many runs), the binaries, a fresh benchmark
//! database with one tenant, topic and consumer-group names unique to the run, and how each
//! service is started (environment, port, readiness path).

use std::{path::PathBuf, time::Duration};

use pulse_core::TenantStore;
use sqlx::PgPool;
use uuid::Uuid;

use super::procs::{Service, Spec, free_port};

/// Durations and sizes of one benchmark run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub smoke: bool,
    pub runs: usize,
    /// Seconds of load per wrk run.
    pub seconds: u64,
    pub drain_events: u64,
    /// The end-to-end run's length and offered rate.
    pub e2e_seconds: u64,
    pub e2e_rate: u32,
    /// Longest rest before a run (waiting for Jaeger and PostgreSQL to go idle).
    pub rest_limit: Duration,
    /// Longest wait for a processor to store what a run sent.
    pub catch_up_limit: Duration,
    /// Connections for single events (enough to keep 2 cores busy while each waits for its
    /// Kafka ack with the producer's 5 ms linger).
    pub single_connections: u32,
    pub batch_connections: u32,
}

/// The programs a run starts.
#[derive(Debug, Clone)]
pub struct Bins {
    pub pulse: PathBuf,
    pub loadtest: PathBuf,
    pub graphql_bench: PathBuf,
    /// The seed Go ingest, or why it is not there.
    pub seed: Result<PathBuf, String>,
}

pub struct Ctx {
    pub plan: Plan,
    pub bins: Bins,
    /// Logs, wrk scripts and goose's reports of this run.
    pub work: PathBuf,
    pub http: reqwest::Client,
    pub admin_url: String,
    pub db_url: String,
    pub brokers: String,
    pub redis_url: String,
    pub pool: PgPool,
    pub tenant_id: Uuid,
    pub key: String,
    /// Unique to this run: topic, group and Redis-prefix names carry it.
    pub stamp: String,
    counter: std::sync::atomic::AtomicU64,
}

impl Ctx {
    #[allow(clippy::too_many_arguments)]
    pub async fn new(
        plan: Plan,
        bins: Bins,
        work: PathBuf,
        admin_url: String,
        db_name: &str,
        brokers: String,
        redis_url: String,
    ) -> anyhow::Result<Self> {
        let admin = pulse_core::db::connect(&admin_url, 1).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop database if exists \"{db_name}\" with (force)"
        )))
        .execute(&admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "create database \"{db_name}\""
        )))
        .execute(&admin)
        .await?;
        admin.close().await;
        let db_url = pulse_core::db::with_database(&admin_url, db_name);
        let pool = pulse_core::db::connect(&db_url, 8).await?;
        pulse_core::db::migrate(&pool).await?;
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
        let (tenant, key) = TenantStore::new(pool.clone())
            .create_with_limits(&format!("bench-{stamp}"), Some(2_000_000_000), Some(120))
            .await?;
        Ok(Self {
            plan,
            bins,
            work,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            admin_url,
            db_url,
            brokers,
            redis_url,
            pool,
            tenant_id: tenant.id,
            key: key.expose().to_owned(),
            stamp,
            counter: Default::default(),
        })
    }

    /// A name unique within the run: `bench.<stamp>.<what>.<n>`.
    pub fn name(&self, what: &str) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("bench.{}.{what}.{n}", self.stamp)
    }

    /// A fresh raw topic with Pulse's partition count.
    pub async fn topic(&self, what: &str) -> anyhow::Result<String> {
        let topic = self.name(what);
        pulse_core::kafka::ensure_topics(
            &self.brokers,
            &[(&topic, pulse_core::kafka::RAW_PARTITIONS)],
        )
        .await?;
        Ok(topic)
    }

    fn pulse_env(&self, topic: &str, traced: bool) -> Vec<(String, String)> {
        let mut env = vec![
            ("DATABASE_URL".into(), self.db_url.clone()),
            ("KAFKA_BROKERS".into(), self.brokers.clone()),
            ("REDIS_URL".into(), self.redis_url.clone()),
            ("PULSE_TOPIC_RAW".into(), topic.to_owned()),
            (
                "PULSE_TOPIC_DLQ".into(),
                format!("bench.{}.dlq", self.stamp),
            ),
            (
                "PULSE_REDIS_KEY_PREFIX".into(),
                format!("bench{}:", self.stamp),
            ),
            ("OTEL_METRICS_EXPORTER".into(), "prometheus".into()),
            ("PULSE_KAFKA_SESSION_TIMEOUT_MS".into(), "6000".into()),
        ];
        if !traced {
            env.push(("OTEL_SDK_DISABLED".into(), "true".into()));
        }
        env
    }

    fn pulse_spec(
        &self,
        role: &'static str,
        env: Vec<(String, String)>,
        ready: &'static str,
    ) -> Spec {
        let port = free_port();
        Spec {
            role,
            program: self.bins.pulse.clone(),
            args: vec![role.into(), "--addr".into(), format!("127.0.0.1:{port}")],
            env,
            ready_path: ready,
            port,
        }
    }

    pub async fn ingest(&self, topic: &str, traced: bool) -> anyhow::Result<Service> {
        let spec = self.pulse_spec("ingest", self.pulse_env(topic, traced), "/readyz");
        Service::start(spec, &self.work.join("logs"), &self.http).await
    }

    /// A processor on `topic` in consumer group `group` (read from the earliest offset).
    pub async fn processor(
        &self,
        topic: &str,
        group: &str,
        traced: bool,
    ) -> anyhow::Result<Service> {
        let mut env = self.pulse_env(topic, traced);
        env.push(("PULSE_CONSUMER_GROUP".into(), group.to_owned()));
        let spec = self.pulse_spec("processor", env, "/healthz");
        Service::start(spec, &self.work.join("logs"), &self.http).await
    }

    /// The seed Go ingest on `topic`, with the benchmark tenant's key and id.
    pub async fn seed(&self, topic: &str) -> anyhow::Result<Option<Service>> {
        let Ok(program) = self.bins.seed.clone() else {
            return Ok(None);
        };
        let port = free_port();
        let redis = self
            .redis_url
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let spec = Spec {
            role: "seed",
            program,
            args: vec![],
            env: vec![
                (
                    "PEER_KEYS".into(),
                    format!("{}:{}", self.key, self.tenant_id),
                ),
                ("PEER_RATE_LIMIT".into(), "2000000000".into()),
                ("PEER_TOPIC".into(), topic.to_owned()),
                ("PEER_REDIS".into(), redis),
                ("PEER_ADDR".into(), format!("127.0.0.1:{port}")),
                ("KAFKA_BROKERS".into(), self.brokers.clone()),
            ],
            ready_path: "/healthz",
            port,
        };
        Ok(Some(
            Service::start(spec, &self.work.join("logs"), &self.http).await?,
        ))
    }

    /// `pulse-bench bare` (this very binary) on a free port.
    pub async fn bare(&self) -> anyhow::Result<Service> {
        let port = free_port();
        let spec = Spec {
            role: "bare",
            program: std::env::current_exe()?,
            args: vec!["bare".into(), "--addr".into(), format!("127.0.0.1:{port}")],
            env: vec![],
            ready_path: "/count",
            port,
        };
        Service::start(spec, &self.work.join("logs"), &self.http).await
    }

    /// Empties the tables a drain or an end-to-end run fills.
    pub async fn truncate(&self) -> anyhow::Result<()> {
        sqlx::query("truncate events, dead_letters")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
