//! The ingest service: Pulse's HTTP front door.
//!
//! `POST /events` and `POST /events/batch` authenticate the tenant ([`auth`]), admit the request
//! against its rate limit and reserve its idempotency key in one Redis round trip ([`gate`]),
//! publish to `events.raw` and answer only once the broker acknowledged ([`publish`]). Request
//! bodies are read with a hard size limit and checked to be JSON objects ([`body`]); every
//! failure has one status and JSON code ([`error`]). The handlers live in [`handlers`].

pub mod admission;
pub mod auth;
pub mod body;
pub mod error;
pub mod gate;
pub mod handlers;
pub mod metrics;
pub mod publish;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{Router, routing::post};
use pulse_core::{
    TenantStore,
    config::{InfraConfig, var},
    health::{self, Readiness},
    http_telemetry,
    kafka::RAW_PARTITIONS,
    server::{self, ShutdownTiming},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

use crate::{
    auth::Authenticator,
    error::IngestError,
    gate::Gate,
    metrics::IngestMetrics,
    publish::{Publisher, PublisherConfig},
};

/// Settings of the ingest service; see the README for every variable.
#[derive(Debug, Clone)]
pub struct Config {
    pub infra: InfraConfig,
    /// `PULSE_MAX_BODY_BYTES` (default 1 MiB): largest single-event body.
    pub max_body_bytes: usize,
    /// `PULSE_MAX_BATCH_BYTES` (default 5 MiB): largest batch body.
    pub max_batch_bytes: usize,
    /// `PULSE_MAX_BATCH_EVENTS` (default 500): most events in one batch.
    pub max_batch_events: usize,
    /// `PULSE_REQUEST_TIMEOUT_MS` (default 10000): whole-request deadline.
    pub request_timeout: Duration,
    /// `PULSE_KAFKA_DELIVERY_TIMEOUT_MS` (default 5000): longest wait for a broker ack.
    pub delivery_timeout: Duration,
    /// `PULSE_KAFKA_LINGER_MS` (default 5, Kafka 4's own producer default): producer batching
    /// delay. Fuller produce requests cost the broker less CPU per event, for a few milliseconds
    /// of latency (the figures are in BENCHMARKS.md).
    pub linger: Duration,
    /// `PULSE_KAFKA_COMPRESSION` (default `lz4`): producer compression codec (`none`, `lz4`,
    /// `snappy`, `zstd`, `gzip`).
    pub compression: String,
    /// `PULSE_KAFKA_QUEUE_MAX_MESSAGES` (default 200000): most records waiting in the producer
    /// for the broker's acknowledgement; past it a request is answered 503 at once instead of
    /// queueing without bound.
    pub queue_max_messages: u32,
    /// `PULSE_MAX_IN_FLIGHT` (default 1024): most event requests handled at once; one more is
    /// answered 503 `overloaded` at once, so under more traffic than the machine can take the
    /// accepted requests stay fast and memory stays bounded (at most this many bodies are held).
    pub max_in_flight: usize,
    /// `PULSE_KAFKA_STICKY_MS` (default 10; 0 = off): events without a `partition_key` go to one
    /// partition for this long, then the next (see `publish::Sticky`), so the broker gets one
    /// produce request per window instead of one per partition.
    pub sticky_window: Option<Duration>,
    /// `PULSE_TOPIC_RAW` (default `events.raw`).
    pub raw_topic: String,
    /// `PULSE_AUTH_CACHE_TTL_MS` (default 30000): how long a known key is trusted without asking
    /// PostgreSQL, so the most a disabled or rotated key keeps working.
    pub auth_cache_ttl: Duration,
    /// `PULSE_AUTH_NEGATIVE_TTL_MS` (default 5000): how long an unknown key is remembered.
    pub auth_negative_ttl: Duration,
    /// `PULSE_REDIS_TIMEOUT_MS` (default 250): longest wait for Redis before falling back.
    pub redis_timeout: Duration,
    /// `PULSE_REDIS_KEY_PREFIX` (default empty): prepended to every Redis key (tests isolate
    /// themselves with it).
    pub redis_prefix: String,
    /// `PULSE_CREATE_TOPICS` (default true): create the raw topic at start-up if missing.
    pub create_topics: bool,
    pub shutdown: ShutdownTiming,
}

impl Config {
    pub fn from_env() -> Result<Self, pulse_core::ConfigError> {
        let ms = |name, default| var(name, default).map(Duration::from_millis);
        Ok(Self {
            infra: InfraConfig::from_env(),
            max_body_bytes: var("PULSE_MAX_BODY_BYTES", 1024 * 1024)?,
            max_batch_bytes: var("PULSE_MAX_BATCH_BYTES", 5 * 1024 * 1024)?,
            max_batch_events: var("PULSE_MAX_BATCH_EVENTS", 500)?,
            request_timeout: ms("PULSE_REQUEST_TIMEOUT_MS", 10_000)?,
            delivery_timeout: ms("PULSE_KAFKA_DELIVERY_TIMEOUT_MS", 5_000)?,
            linger: ms("PULSE_KAFKA_LINGER_MS", 5)?,
            compression: pulse_core::config::string("PULSE_KAFKA_COMPRESSION", "lz4"),
            queue_max_messages: var("PULSE_KAFKA_QUEUE_MAX_MESSAGES", 200_000)?,
            max_in_flight: var("PULSE_MAX_IN_FLIGHT", 1024)?,
            sticky_window: Some(ms("PULSE_KAFKA_STICKY_MS", 10)?).filter(|d| !d.is_zero()),
            raw_topic: pulse_core::kafka::raw_topic_from_env(),
            auth_cache_ttl: ms("PULSE_AUTH_CACHE_TTL_MS", 30_000)?,
            auth_negative_ttl: ms("PULSE_AUTH_NEGATIVE_TTL_MS", 5_000)?,
            redis_timeout: ms("PULSE_REDIS_TIMEOUT_MS", 250)?,
            redis_prefix: pulse_core::config::string("PULSE_REDIS_KEY_PREFIX", ""),
            create_topics: var("PULSE_CREATE_TOPICS", true)?,
            shutdown: ShutdownTiming::from_env()?,
        })
    }
}

/// What every request shares; cloned per request (axum's `State`), so it is one `Arc`: cloning
/// and dropping the services' own handles field by field (connection manager, caches, counters)
/// was about 1 % of ingest's CPU per single event.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services behind [`AppState`].
pub struct Services {
    pub auth: Authenticator,
    pub gate: Gate,
    pub publisher: Publisher,
    pub metrics: IngestMetrics,
    pub limits: Limits,
    /// One permit per event request being handled (`PULSE_MAX_IN_FLIGHT`).
    pub in_flight: tokio::sync::Semaphore,
}

/// Request-shape limits.
#[derive(Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_batch_bytes: usize,
    pub max_batch_events: usize,
}

/// Runs the ingest service on `listener` until `shutdown` is cancelled; then stops accepting,
/// finishes in-flight requests and flushes the producer.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if config.create_topics {
        let topics = [(config.raw_topic.as_str(), RAW_PARTITIONS)];
        let created = pulse_core::kafka::ensure_topics(&config.infra.kafka_brokers, &topics);
        match tokio::time::timeout(Duration::from_secs(15), created).await {
            Ok(Ok(())) => {}
            // ingest still starts: it answers 503 until the broker is back
            Ok(Err(e)) => tracing::warn!(error = %e, "could not create the raw topic"),
            Err(_) => tracing::warn!("creating the raw topic timed out"),
        }
    }
    let pool = pulse_core::db::lazy_pool(
        config.infra.database_url.expose(),
        8,
        Duration::from_secs(2),
    )
    .context("DATABASE_URL")?;
    let redis_client = redis::Client::open(config.infra.redis_url.expose()).context("REDIS_URL")?;
    let redis = redis::aio::ConnectionManager::new_lazy_with_config(
        redis_client,
        redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.redis_timeout * 2))
            .set_response_timeout(Some(config.redis_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1)),
    )
    .context("creating the Redis connection manager")?;
    let publisher = Publisher::new(&PublisherConfig {
        brokers: config.infra.kafka_brokers.clone(),
        topic: config.raw_topic.clone(),
        linger: config.linger,
        compression: config.compression.clone(),
        delivery_timeout: config.delivery_timeout,
        queue_max_messages: config.queue_max_messages,
        sticky_window: config.sticky_window,
    })
    .context("creating the Kafka producer")?;

    let state = AppState::new(Services {
        auth: Authenticator::new(
            TenantStore::new(pool),
            config.auth_cache_ttl,
            config.auth_negative_ttl,
        ),
        gate: Gate::new(
            redis,
            &config.redis_prefix,
            config.redis_timeout,
            config.delivery_timeout + Duration::from_secs(30),
        ),
        publisher: publisher.clone(),
        metrics: IngestMetrics::new(&config.raw_topic),
        limits: Limits {
            max_body_bytes: config.max_body_bytes,
            max_batch_bytes: config.max_batch_bytes,
            max_batch_events: config.max_batch_events,
        },
        in_flight: tokio::sync::Semaphore::new(config.max_in_flight.max(1)),
    });
    let readiness = Readiness::new();
    let app = router(state, readiness.clone(), config.request_timeout);
    tracing::info!(addr = %listener.local_addr()?, topic = %config.raw_topic, "ingest listening");
    readiness.set_ready();
    server::serve(app, listener, readiness, shutdown, config.shutdown).await?;
    publisher.flush(Duration::from_secs(5));
    tracing::info!("ingest stopped");
    Ok(())
}

/// Gives the timeout layer's bare 408 the JSON error body every other error has.
async fn json_timeout(response: axum::response::Response) -> axum::response::Response {
    if response.status() == axum::http::StatusCode::REQUEST_TIMEOUT {
        axum::response::IntoResponse::into_response(IngestError::RequestTimeout)
    } else {
        response
    }
}

/// Sheds a request past the in-flight bound with 503 `overloaded` before any work is done for it
/// (no body read, no Redis, no Kafka): a semaphore permit is held for the request's lifetime.
async fn shed_past_bound(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match state.in_flight.try_acquire() {
        Ok(_permit) => next.run(request).await,
        Err(_) => {
            let shed = IngestError::Overloaded;
            state.metrics.rejected(shed.code(), 1);
            axum::response::IntoResponse::into_response(shed)
        }
    }
}

/// The ingest routes with their telemetry, limits and JSON fallbacks; event requests past the
/// in-flight bound are shed.
pub fn router(state: AppState, readiness: Readiness, request_timeout: Duration) -> Router {
    Router::new()
        .route("/events", post(handlers::post_event))
        .route("/events/batch", post(handlers::post_batch))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            shed_past_bound,
        ))
        .with_state(state)
        .merge(health::router(
            readiness,
            Arc::new(pulse_otel::render_metrics),
        ))
        .fallback(|| async { IngestError::NotFound })
        .method_not_allowed_fallback(|| async { IngestError::MethodNotAllowed })
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // the timeout answers with an empty body; every error body is JSON
        .layer(axum::middleware::map_response(json_timeout))
        .layer(axum::middleware::from_fn(http_telemetry::track))
}
