//! A whole private Pulse: its own Redis (always), PostgreSQL and Kafka (when the faults need to
//! stop them; otherwise a hermetic database and topics on the shared servers), tenants, and
//! ingest and processor processes of the `pulse` binary pointed at all of it.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use pulse_core::TenantStore;
use sqlx::PgPool;
use uuid::Uuid;

use super::infra::{PrivateKafka, PrivatePostgres, PrivateRedis, PulseProcess};

/// Where the stack's database and broker come from.
pub enum Backing {
    /// Private PostgreSQL and Kafka that faults may stop (`make chaos`).
    Private,
    /// A database URL and brokers owned by someone else (a test's own database and the shared
    /// Kafka with the stack's own topics): never stopped.
    Shared {
        database_url: String,
        brokers: String,
    },
}

/// How many of each service, and the binary.
pub struct StackConfig {
    pub root: PathBuf,
    pub bin: PathBuf,
    pub backing: Backing,
    pub ingests: usize,
    pub processors: usize,
    pub tenants: usize,
    /// Requests per minute per tenant.
    pub tenant_rate_limit: i32,
    /// Extra environment for every service.
    pub env: Vec<(String, String)>,
}

pub struct Stack {
    pub root: PathBuf,
    pub http: reqwest::Client,
    pub redis: PrivateRedis,
    pub postgres: Option<PrivatePostgres>,
    pub kafka: Option<PrivateKafka>,
    pub database_url: String,
    pub brokers: String,
    pub pool: PgPool,
    pub tenants: Vec<(Uuid, String)>,
    pub ingests: Vec<PulseProcess>,
    pub processors: Vec<PulseProcess>,
    bin: PathBuf,
    env: Vec<(String, String)>,
}

impl Stack {
    pub async fn start(config: StackConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.root)?;
        let config = StackConfig {
            root: std::path::absolute(&config.root)?,
            ..config
        };
        let redis = PrivateRedis::start(&config.root).await?;
        let (postgres, kafka, database_url, brokers) = match config.backing {
            Backing::Private => {
                let pg = PrivatePostgres::start(&config.root)
                    .await
                    .context("private PostgreSQL")?;
                let kafka = PrivateKafka::start(&config.root)
                    .await
                    .context("private Kafka")?;
                let (url, brokers) = (pg.url(), kafka.brokers());
                (Some(pg), Some(kafka), url, brokers)
            }
            Backing::Shared {
                database_url,
                brokers,
            } => (None, None, database_url, brokers),
        };
        let pool = pulse_core::db::connect(&database_url, 4).await?;
        let tenants = create_tenants(&pool, config.tenants, config.tenant_rate_limit).await?;
        // topics on a shared broker carry the prefix `scripts/test-cleanup.sh` removes
        let prefix = if postgres.is_some() { "" } else { "test." };
        let suffix = format!("{prefix}{}", &Uuid::new_v4().simple().to_string()[..8]);
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", database_url.clone()),
            ("REDIS_URL", redis.url()),
            ("KAFKA_BROKERS", brokers.clone()),
            ("PULSE_TOPIC_RAW", format!("{suffix}.chaos.raw")),
            ("PULSE_TOPIC_DLQ", format!("{suffix}.chaos.dlq")),
            ("PULSE_CONSUMER_GROUP", format!("{suffix}.chaos")),
            ("PULSE_KAFKA_SESSION_TIMEOUT_MS", "6000".into()),
            ("PULSE_SHUTDOWN_GRACE_MS", "0".into()),
            ("OTEL_SDK_DISABLED", "true".into()),
            ("OTEL_METRICS_EXPORTER", "prometheus".into()),
            ("PULSE_LOG_FORMAT", "json".into()),
            ("RUST_LOG", "info".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(config.env);
        let mut stack = Self {
            root: config.root,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            redis,
            postgres,
            kafka,
            database_url,
            brokers,
            pool,
            tenants,
            ingests: Vec::new(),
            processors: Vec::new(),
            bin: config.bin,
            env,
        };
        for _ in 0..config.processors {
            stack.add_processor().await?;
        }
        for _ in 0..config.ingests {
            stack.add_ingest().await?;
        }
        Ok(stack)
    }

    /// `n` more tenants limited to `rate_limit_per_minute` each (not part of [`Self::tenants`]).
    pub async fn add_tenants(
        &self,
        n: usize,
        rate_limit_per_minute: i32,
    ) -> anyhow::Result<Vec<(Uuid, String)>> {
        create_tenants(&self.pool, n, rate_limit_per_minute).await
    }

    fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Every service log written so far.
    pub fn log_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.logs())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }

    pub async fn add_ingest(&mut self) -> anyhow::Result<()> {
        let p = PulseProcess::start(&self.bin, "ingest", &self.env, &self.logs())?;
        p.ready(&self.http, Duration::from_secs(60)).await?;
        self.ingests.push(p);
        Ok(())
    }

    pub async fn add_processor(&mut self) -> anyhow::Result<()> {
        let p = PulseProcess::start(&self.bin, "processor", &self.env, &self.logs())?;
        p.ready(&self.http, Duration::from_secs(60)).await?;
        self.processors.push(p);
        Ok(())
    }

    /// Base URLs of the ingest instances.
    pub fn targets(&self) -> Vec<String> {
        self.ingests
            .iter()
            .map(|p| format!("http://127.0.0.1:{}", p.port))
            .collect()
    }

    pub fn tenant_ids(&self) -> Vec<Uuid> {
        self.tenants.iter().map(|(id, _)| *id).collect()
    }

    /// Rows in `events` received after `since` (the pipeline has resumed once this grows).
    pub async fn stored_since(&self, since: chrono::DateTime<chrono::Utc>) -> i64 {
        sqlx::query_scalar("select count(*) from events where received_at > $1")
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .unwrap_or(0)
    }

    /// (tenant, idempotency key) pairs of the stack's tenants stored as more than one event.
    pub async fn keys_stored_twice(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "select count(*) from (select 1 from events \
             where tenant_id = any($1) and idempotency_key is not null \
             group by tenant_id, idempotency_key having count(*) > 1) twice",
        )
        .bind(self.tenant_ids())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Peak resident memory (VmHWM, KiB) of every running service and private server, by name.
    pub fn peak_rss(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for p in self.ingests.iter().chain(&self.processors) {
            if let Some(kib) = p.pid().and_then(peak_rss_kib) {
                out.push((format!("{}:{}", p.kind, p.port), kib));
            }
        }
        if let Some(kib) = self
            .kafka
            .as_ref()
            .and_then(PrivateKafka::pid)
            .and_then(peak_rss_kib)
        {
            out.push(("kafka".to_owned(), kib));
        }
        out
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

async fn create_tenants(
    pool: &PgPool,
    n: usize,
    rate_limit_per_minute: i32,
) -> anyhow::Result<Vec<(Uuid, String)>> {
    let store = TenantStore::new(pool.clone());
    let mut tenants = Vec::with_capacity(n);
    for _ in 0..n {
        let name = format!("chaos-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let (tenant, key) = store
            .create(&name, Some(rate_limit_per_minute))
            .await
            .context("creating a chaos tenant")?;
        tenants.push((tenant.id, key.expose().to_owned()));
    }
    Ok(tenants)
}

/// `VmHWM` of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
