//! `health`: every component's readiness, checked concurrently with a short timeout each and
//! cached for a second, so a dashboard polling it (or many) costs the components little.
//!
//! ingest and the processor answer their `/readyz`; Kafka a metadata request; PostgreSQL
//! `select 1`; Redis `PING`; Jaeger its query API; graphql is up if it answers at all.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_graphql::SimpleObject;
use rdkafka::consumer::{BaseConsumer, Consumer};
use sqlx::PgPool;

use crate::model::HealthStatus;

/// Each check's time budget.
const TIMEOUT: Duration = Duration::from_millis(1500);
/// How long an answer is reused.
const CACHE_FOR: Duration = Duration::from_secs(1);

/// The platform's health.
#[derive(SimpleObject, Clone, Debug)]
pub struct Health {
    pub status: HealthStatus,
    pub components: Vec<ComponentHealth>,
}

/// name: ingest, processor, graphql, kafka, postgres, redis, jaeger
#[derive(SimpleObject, Clone, Debug)]
pub struct ComponentHealth {
    pub name: String,
    pub status: HealthStatus,
    pub detail: Option<String>,
    pub latency_ms: Option<f64>,
}

/// Where the components are.
#[derive(Debug, Clone)]
pub struct HealthTargets {
    /// `PULSE_INGEST_URL` (default `http://127.0.0.1:8080/readyz`).
    pub ingest_url: String,
    /// `PULSE_PROCESSOR_URL` (default `http://127.0.0.1:8082/readyz`).
    pub processor_url: String,
    /// Jaeger's query API base, `JAEGER_QUERY_URL`.
    pub jaeger_url: String,
    pub kafka_brokers: String,
}

/// Runs the checks; cheap to share.
#[derive(Clone)]
pub struct HealthChecker {
    targets: Arc<HealthTargets>,
    http: reqwest::Client,
    pool: PgPool,
    redis: Option<redis::Client>,
    kafka: Option<Arc<BaseConsumer>>,
    cache: Arc<Mutex<Option<(Instant, Health)>>>,
}

impl HealthChecker {
    pub fn new(targets: HealthTargets, pool: PgPool, redis_url: &str) -> Self {
        let kafka = pulse_core::kafka::client_config(&targets.kafka_brokers)
            .set("socket.timeout.ms", "1500")
            .create::<BaseConsumer>()
            .map_err(|e| tracing::warn!(error = %e, "kafka health client not created"))
            .ok()
            .map(Arc::new);
        Self {
            targets: Arc::new(targets),
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .unwrap_or_default(),
            pool,
            redis: redis::Client::open(redis_url).ok(),
            kafka,
            cache: Arc::new(Mutex::new(None)),
        }
    }

    /// The components' health, at most [`CACHE_FOR`] old.
    pub async fn check(&self) -> Health {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, health)) = cache.as_ref()
            && at.elapsed() < CACHE_FOR
        {
            return health.clone();
        }
        let (ingest, processor, kafka, postgres, redis, jaeger) = tokio::join!(
            timed("ingest", self.readyz(&self.targets.ingest_url)),
            timed("processor", self.readyz(&self.targets.processor_url)),
            timed("kafka", self.kafka()),
            timed("postgres", self.postgres()),
            timed("redis", self.redis()),
            timed("jaeger", self.jaeger()),
        );
        let graphql = ComponentHealth {
            name: "graphql".into(),
            status: HealthStatus::Up,
            detail: None,
            latency_ms: Some(0.0),
        };
        let components = vec![ingest, processor, graphql, kafka, postgres, redis, jaeger];
        let status = if components.iter().all(|c| c.status == HealthStatus::Up) {
            HealthStatus::Up
        } else if components
            .iter()
            .any(|c| c.name == "postgres" && c.status == HealthStatus::Down)
        {
            // nothing the API answers works without the system of record
            HealthStatus::Down
        } else {
            HealthStatus::Degraded
        };
        let health = Health { status, components };
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((Instant::now(), health.clone()));
        }
        health
    }

    async fn readyz(&self, url: &str) -> Result<HealthStatus, String> {
        let response = self.http.get(url).send().await.map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else {
                "not reachable".to_owned()
            }
        })?;
        match response.status().as_u16() {
            200 => Ok(HealthStatus::Up),
            503 => {
                let body = response.text().await.unwrap_or_default();
                if body.contains("degraded") {
                    // reported as DEGRADED by `timed`, with the service's reason
                    Err(format!(
                        "degraded: {}",
                        body.chars().take(200).collect::<String>()
                    ))
                } else {
                    Err("not ready".to_owned())
                }
            }
            code => Err(format!("answered {code}")),
        }
    }

    async fn kafka(&self) -> Result<HealthStatus, String> {
        let consumer = self.kafka.clone().ok_or("no client")?;
        tokio::task::spawn_blocking(move || {
            consumer
                .fetch_metadata(None, TIMEOUT)
                .map(|m| m.brokers().len())
        })
        .await
        .map_err(|_| "check failed".to_owned())?
        .map_err(|e| e.to_string())
        .and_then(|brokers| match brokers {
            0 => Err("no brokers".to_owned()),
            _ => Ok(HealthStatus::Up),
        })
    }

    async fn postgres(&self) -> Result<HealthStatus, String> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(|_| HealthStatus::Up)
            .map_err(|_| "not reachable".to_owned())
    }

    async fn redis(&self) -> Result<HealthStatus, String> {
        let client = self.redis.as_ref().ok_or("invalid REDIS_URL")?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|_| "not reachable".to_owned())?;
        let pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|_| "no answer to PING".to_owned())?;
        (pong == "PONG")
            .then_some(HealthStatus::Up)
            .ok_or_else(|| "unexpected PING answer".to_owned())
    }

    async fn jaeger(&self) -> Result<HealthStatus, String> {
        let url = format!(
            "{}/api/services",
            self.targets.jaeger_url.trim_end_matches('/')
        );
        match self.http.get(url).send().await {
            Ok(r) if r.status().is_success() => Ok(HealthStatus::Up),
            Ok(r) => Err(format!("answered {}", r.status().as_u16())),
            Err(_) => Err("not reachable".to_owned()),
        }
    }
}

/// Runs one check within [`TIMEOUT`] and reports it as a component.
async fn timed(
    name: &str,
    check: impl Future<Output = Result<HealthStatus, String>>,
) -> ComponentHealth {
    let started = Instant::now();
    let result = tokio::time::timeout(TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()));
    let (status, detail) = match result {
        Ok(status) => (status, None),
        Err(detail) if detail.starts_with("degraded") => (HealthStatus::Degraded, Some(detail)),
        Err(detail) => (HealthStatus::Down, Some(detail)),
    };
    ComponentHealth {
        name: name.to_owned(),
        status,
        detail,
        latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
    }
}
