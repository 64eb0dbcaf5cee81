//! The processor: turns `events.raw` into rows in PostgreSQL, exactly once per event.
//!
//! - [`pipeline`]: the consume loop: batching, background writes, offsets stored in order
//! - [`consumer`]: the Kafka consumer's context (lag statistics, commit before revocation)
//! - `judge`: one record → an event row or a dead letter, under its CONSUMER span
//! - [`idempotency`]: claiming idempotency keys in the batch's transaction; duplicates become aliases
//! - `durable`: one batch → published dead letters + one transaction; refused rows dead-lettered
//! - `retry`: infrastructure errors: backoff, paused partitions, readiness, stuck batches
//! - [`spans`]: the per-event spans (CONSUMER, PRODUCER to `events.dlq`, CLIENT inserts)
//! - [`validate`]: the fixed rules and their reason codes
//! - [`schema`]: per-tenant JSON Schemas per event type
//! - [`store`]: the batch transaction (idempotent inserts, counted dead-letter upserts)
//! - [`dlq`]: publishing dead letters to `events.dlq`
//! - [`metrics`]: RED metrics and consumer lag

pub mod consumer;
pub mod dlq;
mod durable;
pub mod idempotency;
mod judge;
pub mod metrics;
pub mod pipeline;
pub mod record;
mod retry;
pub mod schema;
pub mod spans;
pub mod store;
pub mod validate;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use pulse_core::{
    config::{InfraConfig, var},
    health::{self, Readiness},
    kafka::{self, DLQ_PARTITIONS, RAW_PARTITIONS},
    server::{self, ShutdownTiming},
};
use rdkafka::consumer::Consumer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    consumer::{ProcessorContext, PulseConsumer},
    metrics::{Lag, ProcessorMetrics},
    pipeline::{Pipeline, PipelineConfig},
    schema::SchemaCache,
    spans::SpanNames,
};

/// Settings of the processor; see the README for every variable.
#[derive(Debug, Clone)]
pub struct Config {
    pub infra: InfraConfig,
    /// `PULSE_TOPIC_RAW` (default `events.raw`).
    pub raw_topic: String,
    /// `PULSE_TOPIC_DLQ` (default `events.dlq`).
    pub dlq_topic: String,
    /// `PULSE_CONSUMER_GROUP` (default `pulse-processor`).
    pub group: String,
    /// `PULSE_BATCH_SIZE` (default 5000): most records per transaction (a batch closes earlier
    /// when `batch_wait` passes, so this only matters with a backlog).
    pub batch_size: usize,
    /// `PULSE_BATCH_WAIT_MS` (default 20): longest wait to fill a batch after its first record.
    pub batch_wait: Duration,
    /// `PULSE_WRITERS` (default 3): batches validated and written to PostgreSQL at the same time,
    /// each in its own task and transaction, while the next batch is read. With tracing off, 3
    /// leave part of two cores idle on a backlog and 6 drain it ~20 % faster; traced, the drain is
    /// CPU-bound at 3 already, and 6 only overflowed the span queue (BENCHMARKS.md, quoted gaps).
    pub writers: usize,
    /// `PULSE_DB_MAX_CONNECTIONS` (default 4).
    pub db_max_connections: u32,
    /// `PULSE_SCHEMA_CACHE_TTL_MS` (default 5000): how soon a changed schema applies.
    pub schema_cache_ttl: Duration,
    /// `PULSE_MAX_BACKOFF_MS` (default 5000): longest pause between retries of a batch.
    pub max_backoff: Duration,
    /// `PULSE_KAFKA_SESSION_TIMEOUT_MS` (default 10000): how soon a dead processor's partitions move.
    pub session_timeout: Duration,
    /// `PULSE_IDEMPOTENCY_CHECK` (default true): claim idempotency keys in PostgreSQL, so a key
    /// Redis forgot is still stored once ([`idempotency`]). `false` only to measure its cost.
    pub idempotency_check: bool,
    pub shutdown: ShutdownTiming,
}

impl Config {
    pub fn from_env() -> Result<Self, pulse_core::ConfigError> {
        let ms = |name, default| var(name, default).map(Duration::from_millis);
        Ok(Self {
            infra: InfraConfig::from_env(),
            raw_topic: kafka::raw_topic_from_env(),
            dlq_topic: kafka::dlq_topic_from_env(),
            group: kafka::consumer_group_from_env(),
            batch_size: var("PULSE_BATCH_SIZE", 5000)?,
            batch_wait: ms("PULSE_BATCH_WAIT_MS", 20)?,
            writers: var("PULSE_WRITERS", 3)?,
            db_max_connections: var("PULSE_DB_MAX_CONNECTIONS", 4)?,
            schema_cache_ttl: ms("PULSE_SCHEMA_CACHE_TTL_MS", 5_000)?,
            max_backoff: ms("PULSE_MAX_BACKOFF_MS", 5_000)?,
            session_timeout: ms("PULSE_KAFKA_SESSION_TIMEOUT_MS", 10_000)?,
            idempotency_check: var("PULSE_IDEMPOTENCY_CHECK", true)?,
            shutdown: ShutdownTiming::from_env()?,
        })
    }
}

/// How often the brokers are probed for readiness ([`consumer::watch_brokers`]).
const BROKER_PROBE_EVERY: Duration = Duration::from_secs(2);

/// Runs the processor until `shutdown` is cancelled: its loop finishes the batch in hand, commits
/// and leaves the group; `/healthz`, `/readyz` and `/metrics` are served on `listener`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let brokers = &config.infra.kafka_brokers;
    pulse_core::kafka::ensure_topics(
        brokers,
        &[
            (&config.raw_topic, RAW_PARTITIONS),
            (&config.dlq_topic, DLQ_PARTITIONS),
        ],
    )
    .await
    .context("creating topics")?;
    let pool = pulse_core::db::lazy_pool(
        config.infra.database_url.expose(),
        // every writer holds one connection for its transaction; schema lookups need one more
        config.db_max_connections.max(config.writers as u32 + 1),
        Duration::from_secs(3),
    )
    .context("DATABASE_URL")?;

    let lag = Arc::new(Lag::default());
    let consumer: PulseConsumer = pulse_core::kafka::client_config(brokers)
        .set("group.id", &config.group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set(
            "session.timeout.ms",
            config.session_timeout.as_millis().to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (config.session_timeout.as_millis() / 4)
                .max(500)
                .to_string(),
        )
        .set("statistics.interval.ms", "5000")
        .set("fetch.wait.max.ms", "20")
        // 1 KB events: larger fetches keep the queue ahead of the batch loop
        .set("max.partition.fetch.bytes", "4194304")
        // but not 64 MB of prefetched records per partition (librdkafka's default): a few batches
        // ahead is enough, and the rest only churned memory
        .set("queued.max.messages.kbytes", "16384")
        .create_with_context(ProcessorContext {
            lag: lag.clone(),
            topic: config.raw_topic.clone(),
        })
        .context("creating the Kafka consumer")?;
    consumer
        .subscribe(&[&config.raw_topic])
        .context("subscribing")?;
    let dlq = pulse_core::kafka::producer(brokers, Duration::from_secs(10))
        .context("creating the DLQ producer")?;

    let readiness = Readiness::new();
    let metrics = Arc::new(ProcessorMetrics::new(
        &config.raw_topic,
        &config.group,
        lag.clone(),
    ));
    let pipeline_config = PipelineConfig {
        raw_topic: config.raw_topic.clone(),
        dlq_topic: config.dlq_topic.clone(),
        group: config.group.clone(),
        batch_size: config.batch_size.max(1),
        batch_wait: config.batch_wait,
        max_backoff: config.max_backoff,
        writers: config.writers.max(1),
        idempotency_check: config.idempotency_check,
    };
    let pipeline = Pipeline {
        consumer: Arc::new(consumer),
        dlq,
        pool: pool.clone(),
        schemas: SchemaCache::new(pool, config.schema_cache_ttl),
        metrics,
        lag,
        readiness: readiness.clone(),
        span_names: SpanNames::new(
            &pipeline_config.raw_topic,
            &pipeline_config.dlq_topic,
            &pipeline_config.group,
        ),
        config: pipeline_config,
    };
    let loop_token = shutdown.child_token();
    tokio::spawn(idempotency::clean_up_periodically(
        pipeline.pool.clone(),
        Duration::from_secs(60),
        loop_token.clone(),
    ));
    tokio::spawn(crate::consumer::watch_brokers(
        pipeline.consumer.clone(),
        config.raw_topic.clone(),
        readiness.clone(),
        BROKER_PROBE_EVERY,
        loop_token.clone(),
    ));
    let worker = tokio::spawn(Arc::new(pipeline).run(loop_token.clone()));

    let app = axum::Router::new()
        .merge(health::router(
            readiness.clone(),
            Arc::new(pulse_otel::render_metrics),
        ))
        .layer(axum::middleware::from_fn(pulse_core::http_telemetry::track));
    tracing::info!(addr = %listener.local_addr()?, topic = %config.raw_topic, group = %config.group, "processor running");
    readiness.set_ready();
    server::serve(app, listener, readiness, shutdown.clone(), config.shutdown).await?;
    loop_token.cancel();
    match tokio::time::timeout(config.shutdown.drain, worker).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "processor loop panicked"),
        Err(_) => tracing::warn!(
            "processor loop did not stop in time; uncommitted records will be redelivered"
        ),
    }
    tracing::info!("processor stopped");
    Ok(())
}
