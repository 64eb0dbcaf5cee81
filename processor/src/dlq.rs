//! The dead-letter side: publishing DLQ records to `events.dlq`, listing dead letters and
//! replaying them to `events.raw` with their original event id and tenant (optionally with a
//! corrected body). Replaying is safe to run twice: only `pending` letters are replayed, and the
//! processor's `(tenant_id, event_id)` key keeps a replayed event from being stored twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pulse_core::{
    envelope::{DlqReason, DlqRecord, EventEnvelope, record_headers},
    kafka,
};
use rdkafka::{
    error::KafkaError,
    message::OwnedHeaders,
    producer::{DeliveryFuture, FutureProducer, FutureRecord},
};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// An `acks=all`, idempotent producer, used for `events.dlq` and for replays to `events.raw`.
pub fn producer(brokers: &str, delivery_timeout: Duration) -> Result<FutureProducer, KafkaError> {
    kafka::client_config(brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .set(
            "message.timeout.ms",
            delivery_timeout.as_millis().to_string(),
        )
        .create()
}

/// Record headers every Pulse record carries, plus the current trace context.
pub fn headers(tenant_id: Uuid, event_id: Uuid, cx: &opentelemetry::Context) -> OwnedHeaders {
    let headers = record_headers(&tenant_id.to_string(), &event_id.to_string());
    pulse_otel::propagation::inject(cx, headers)
}

/// Enqueues one DLQ record (keyed by tenant, so a tenant's failures stay in order).
pub fn enqueue(
    producer: &FutureProducer,
    topic: &str,
    record: &DlqRecord,
    cx: &opentelemetry::Context,
) -> Result<DeliveryFuture, KafkaError> {
    let value = serde_json::to_vec(record).map_err(|_| {
        KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::InvalidMessage)
    })?;
    let key = record.tenant_id.to_string();
    producer
        .send_result(
            FutureRecord::to(topic)
                .key(key.as_bytes())
                .payload(&value)
                .headers(headers(record.tenant_id, record.event_id, cx)),
        )
        .map_err(|(e, _)| e)
}

/// A dead letter as operators see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeadLetter {
    pub tenant_id: Uuid,
    pub tenant: Option<String>,
    pub event_id: Uuid,
    pub reason: String,
    pub errors: serde_json::Value,
    pub body: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub failed_at: DateTime<Utc>,
    pub attempts: i32,
    pub status: String,
    pub trace_id: Option<String>,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
}

/// Which dead letters to list or replay.
#[derive(Debug, Clone, Default)]
pub struct DlqFilter {
    pub event_id: Option<Uuid>,
    pub tenant: Option<String>,
    pub reason: Option<DlqReason>,
    /// `pending`, `replayed` or `discarded`; `None` for all.
    pub status: Option<String>,
    pub limit: i64,
}

const DEAD_LETTER_SELECT: &str = "select d.tenant_id, t.name as tenant, d.event_id, d.reason, d.errors, d.body, \
    d.idempotency_key, d.received_at, d.failed_at, d.attempts, d.status, d.trace_id, d.source_topic, \
    d.source_partition, d.source_offset \
    from dead_letters d left join tenants t on t.id = d.tenant_id \
    where ($1::uuid is null or d.event_id = $1) and ($2::text is null or t.name = $2) \
      and ($3::text is null or d.reason = $3) and ($4::text is null or d.status = $4) \
    order by d.failed_at desc limit $5";

/// Dead letters matching `filter`, newest first.
pub async fn list(pool: &PgPool, filter: &DlqFilter) -> Result<Vec<DeadLetter>, sqlx::Error> {
    sqlx::query_as::<_, DeadLetter>(DEAD_LETTER_SELECT)
        .bind(filter.event_id)
        .bind(filter.tenant.as_deref())
        .bind(filter.reason.map(DlqReason::as_str))
        .bind(filter.status.as_deref())
        .bind(filter.limit.max(1))
        .fetch_all(pool)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("a corrected body must be a JSON object")]
    BodyNotObject,
    #[error("a corrected body can only be given when replaying one dead letter (--id)")]
    BodyNeedsId,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("publishing to Kafka failed: {0}")]
    Kafka(#[from] KafkaError),
}

/// What a replay did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub dry_run: bool,
    pub selected: usize,
    pub replayed: usize,
    pub event_ids: Vec<Uuid>,
}

/// Republishes the `pending` dead letters matching `filter` to `raw_topic`, then marks them
/// `replayed`. `body` replaces the original body (only with `filter.event_id`).
pub async fn replay(
    pool: &PgPool,
    producer: &FutureProducer,
    raw_topic: &str,
    filter: &DlqFilter,
    body: Option<&serde_json::Value>,
    dry_run: bool,
) -> Result<ReplayReport, ReplayError> {
    if let Some(b) = body {
        if filter.event_id.is_none() {
            return Err(ReplayError::BodyNeedsId);
        }
        if !b.is_object() {
            return Err(ReplayError::BodyNotObject);
        }
    }
    let filter = DlqFilter {
        status: Some("pending".to_owned()),
        limit: if filter.limit > 0 {
            filter.limit
        } else {
            100_000
        },
        ..filter.clone()
    };
    let letters = list(pool, &filter).await?;
    let mut report = ReplayReport {
        dry_run,
        selected: letters.len(),
        replayed: 0,
        event_ids: letters.iter().map(|l| l.event_id).collect(),
    };
    if dry_run {
        return Ok(report);
    }
    for letter in letters {
        let body = body.unwrap_or(&letter.body);
        let envelope = EventEnvelope {
            event_id: letter.event_id,
            tenant_id: letter.tenant_id,
            received_at: letter.received_at.unwrap_or(letter.failed_at),
            idempotency_key: letter.idempotency_key.clone(),
            body,
        };
        let value = serde_json::to_vec(&envelope).map_err(|_| ReplayError::BodyNotObject)?;
        let key = body
            .get("partition_key")
            .and_then(|k| k.as_str())
            .map_or_else(|| letter.event_id.to_string(), str::to_owned);
        let delivery = producer
            .send_result(
                FutureRecord::to(raw_topic)
                    .key(key.as_bytes())
                    .payload(&value)
                    .headers(headers(
                        letter.tenant_id,
                        letter.event_id,
                        &pulse_otel::propagation::current_context(),
                    )),
            )
            .map_err(|(e, _)| e)?;
        delivery
            .await
            .map_err(|_| KafkaError::Canceled)?
            .map_err(|(e, _)| e)?;
        // only if nothing touched the letter meanwhile (a failed re-processing counts a new attempt)
        sqlx::query(
            "update dead_letters set status = 'replayed', replayed_at = now(), updated_at = now() \
             where tenant_id = $1 and event_id = $2 and status = 'pending' and attempts = $3",
        )
        .bind(letter.tenant_id)
        .bind(letter.event_id)
        .bind(letter.attempts)
        .execute(pool)
        .await?;
        report.replayed += 1;
    }
    Ok(report)
}
