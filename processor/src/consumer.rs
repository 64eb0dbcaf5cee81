//! The consume → validate → store loop.
//!
//! Records are taken in batches (up to `batch_size` records or `batch_wait` after the first). Each
//! record gets its own CONSUMER span continuing the trace in its `traceparent` header, and becomes
//! either an event row or a dead letter. A batch is made durable in one PostgreSQL transaction
//! (dead letters are published to `events.dlq` and acknowledged first); only then are its offsets
//! stored for the next commit. Infrastructure failures (PostgreSQL or Kafka down) never
//! dead-letter anything: the batch is retried with jittered exponential backoff while the
//! partitions are paused, and readiness reports `degraded` until it succeeds.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use opentelemetry::trace::TraceContextExt;
use pulse_core::{
    envelope::{
        DlqReason, DlqRecord, EventEnvelope, FieldError, HEADER_EVENT_ID, HEADER_TENANT_ID,
        SourcePosition,
    },
    health::Readiness,
};
use pulse_otel::{names::attr, propagation};
use rand::Rng;
use rdkafka::{
    ClientContext, Message, Offset, Statistics, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer},
    error::{KafkaError, RDKafkaErrorCode},
    message::OwnedMessage,
    producer::FutureProducer,
};
use serde_json::value::RawValue;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

use crate::{
    metrics::{Lag, ProcessorMetrics},
    schema::{self, SchemaCache},
    store::{self, DeadLetterRow, EventRow},
    validate::{self, Invalid},
};

/// Feeds consumer lag from librdkafka's statistics, and commits what is durable before
/// partitions move to another processor.
pub struct ProcessorContext {
    pub lag: Arc<Lag>,
    pub topic: String,
}

impl ClientContext for ProcessorContext {
    fn stats(&self, stats: Statistics) {
        if let Some(topic) = stats.topics.get(&self.topic) {
            for (&partition, p) in &topic.partitions {
                if partition >= 0 && p.consumer_lag >= 0 {
                    self.lag.set_records(partition, p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for ProcessorContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            // batches are processed between polls, so everything stored here is durable
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(e) => tracing::warn!(error = %e, "commit before revocation failed"),
            }
            tracing::info!(partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(partitions = tpl.count(), "partitions assigned");
        }
    }
}

pub type PulseConsumer = StreamConsumer<ProcessorContext>;

/// Loop settings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub raw_topic: String,
    pub dlq_topic: String,
    pub group: String,
    pub batch_size: usize,
    pub batch_wait: Duration,
    pub max_backoff: Duration,
    /// Batches written concurrently (each its own transaction).
    pub writers: usize,
}

/// Everything the loop needs.
pub struct Pipeline {
    pub consumer: Arc<PulseConsumer>,
    pub dlq: FutureProducer,
    pub pool: PgPool,
    pub schemas: SchemaCache,
    pub metrics: Arc<ProcessorMetrics>,
    pub lag: Arc<Lag>,
    pub readiness: Readiness,
    pub config: PipelineConfig,
}

/// An infrastructure failure: retried, never dead-lettered.
#[derive(Debug, thiserror::Error)]
enum InfraError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database (schema lookup): {0}")]
    Schemas(#[from] Arc<sqlx::Error>),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
}

impl InfraError {
    fn kind(&self) -> &'static str {
        match self {
            Self::Database(_) | Self::Schemas(_) => "database_unavailable",
            Self::Kafka(_) => "kafka_unavailable",
        }
    }
}

/// One record's fate, with the span that follows it.
struct Handled {
    span: Span,
    partition: i32,
    outcome: Outcome,
}

enum Outcome {
    Store(EventRow),
    DeadLetter(Box<(DeadLetterRow, DlqRecord)>),
}

/// A batch whose write runs in the background while the next batch is read and validated.
struct Writing {
    task: tokio::task::JoinHandle<bool>,
    batch: Vec<OwnedMessage>,
}

impl Pipeline {
    /// Runs until `shutdown` is cancelled, then commits what is durable and leaves the group.
    ///
    /// Batches overlap: up to `writers` batches are written to PostgreSQL (each in its own
    /// transaction) while the next is read from Kafka and validated. Offsets are stored strictly
    /// in batch order, each only after its batch and every batch before it are durable.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut carry: Vec<OwnedMessage> = Vec::new();
        let mut writing: VecDeque<Writing> = VecDeque::new();
        'outer: while !shutdown.is_cancelled() {
            let batch = self
                .collect(&mut carry, &shutdown, !writing.is_empty())
                .await;
            if batch.is_empty() {
                if let Some(w) = writing.pop_front()
                    && !self.settle(w, &mut carry).await
                {
                    break;
                }
                continue;
            }
            let Some(handled) = self.prepare_until_ok(&batch, &mut carry, &shutdown).await else {
                break;
            };
            while writing.len() >= self.config.writers {
                let Some(w) = writing.pop_front() else { break };
                if !self.settle(w, &mut carry).await {
                    break 'outer;
                }
            }
            let this = self.clone();
            let token = shutdown.clone();
            writing.push_back(Writing {
                task: tokio::spawn(async move { this.write_until_durable(handled, &token).await }),
                batch,
            });
        }
        // settle in order: offsets are stored only up to the first batch that did not finish
        while let Some(w) = writing.pop_front() {
            if !self.settle(w, &mut carry).await {
                break;
            }
        }
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => {
                tracing::warn!(error = %e, "final commit failed; the last batch will be redelivered")
            }
        }
        self.consumer.unsubscribe();
        tracing::info!("processor loop stopped");
    }

    /// Waits for the first record (at most `batch_wait` when a write is in flight, so its offsets
    /// are not held back by a quiet topic), then gathers more until the batch is full or
    /// `batch_wait` passed.
    async fn collect(
        &self,
        carry: &mut Vec<OwnedMessage>,
        shutdown: &CancellationToken,
        bounded_wait: bool,
    ) -> Vec<OwnedMessage> {
        let mut batch = std::mem::take(carry);
        if batch.is_empty() {
            let first_wait = if bounded_wait {
                self.config.batch_wait
            } else {
                Duration::from_secs(3600)
            };
            tokio::select! {
                received = tokio::time::timeout(first_wait, self.consumer.recv()) => match received {
                    Ok(Ok(m)) => batch.push(m.detach()),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "consumer error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        return batch;
                    }
                    Err(_) => return batch,
                },
                () = shutdown.cancelled() => return batch,
            }
        }
        let deadline = tokio::time::Instant::now() + self.config.batch_wait;
        while batch.len() < self.config.batch_size {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(m)) => batch.push(m.detach()),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error");
                    break;
                }
                Err(_) => break,
            }
        }
        batch
    }

    /// Decodes and validates `batch`, retrying while the schema store is unreachable. `None` if
    /// shutdown came first.
    async fn prepare_until_ok(
        &self,
        batch: &[OwnedMessage],
        carry: &mut Vec<OwnedMessage>,
        shutdown: &CancellationToken,
    ) -> Option<Vec<Handled>> {
        self.metrics.consumed(batch.len() as u64);
        let mut attempt: u32 = 0;
        loop {
            match self.prepare(batch).await {
                Ok(handled) => {
                    if attempt > 0 {
                        self.set_paused(false);
                    }
                    return Some(handled);
                }
                Err(e) => {
                    self.metrics.retried(e.kind());
                    self.readiness.set_degraded();
                    attempt += 1;
                    let delay = backoff(attempt, self.config.max_backoff);
                    tracing::warn!(error = %e, attempt, delay_ms = delay.as_millis() as u64, "batch not validated, retrying");
                    if !self.wait_polling(delay, carry, shutdown).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Waits for a background write, still polling so the group membership stays alive (records
    /// that arrive wait in `carry`); then stores its offsets. False if it gave up (shutdown).
    async fn settle(&self, writing: Writing, carry: &mut Vec<OwnedMessage>) -> bool {
        let Writing { mut task, batch } = writing;
        let mut paused_here = false;
        let durable = loop {
            tokio::select! {
                done = &mut task => break done.unwrap_or(false),
                received = self.consumer.recv() => {
                    if let Ok(m) = received {
                        carry.push(m.detach());
                        if carry.len() >= self.config.batch_size * 4 {
                            self.set_paused(true);
                            paused_here = true;
                        }
                    }
                }
            }
        };
        if paused_here {
            self.set_paused(false);
        }
        if durable {
            self.store_offsets(&batch);
        }
        durable
    }

    /// Writes one validated batch until it is durable. Returns false if shutdown interrupted the
    /// retries (nothing was committed; the records will be redelivered).
    async fn write_until_durable(
        &self,
        mut handled: Vec<Handled>,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut attempt: u32 = 0;
        loop {
            let started = std::time::Instant::now();
            match self.make_durable(&mut handled).await {
                Ok(()) => {
                    self.metrics
                        .batch_done(started.elapsed().as_secs_f64(), None);
                    if attempt > 0 {
                        tracing::info!(
                            attempts = attempt + 1,
                            "dependency back, batch made durable"
                        );
                        self.set_paused(false);
                    }
                    self.readiness.set_ready();
                    self.account(&handled);
                    return true;
                }
                Err(e) => {
                    self.metrics
                        .batch_done(started.elapsed().as_secs_f64(), Some(e.kind()));
                    self.metrics.retried(e.kind());
                    self.readiness.set_degraded();
                    if attempt == 0 {
                        // stop fetching while the dependency is down; the main loop keeps polling
                        self.set_paused(true);
                    }
                    attempt += 1;
                    let delay = backoff(attempt, self.config.max_backoff);
                    tracing::warn!(error = %e, attempt, delay_ms = delay.as_millis() as u64, "batch not durable, retrying");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = shutdown.cancelled() => return false,
                    }
                }
            }
        }
    }

    /// Sleeps `delay` while still polling, so the consumer keeps its group membership; records
    /// that arrive anyway wait in `carry` for the next batch.
    async fn wait_polling(
        &self,
        delay: Duration,
        carry: &mut Vec<OwnedMessage>,
        shutdown: &CancellationToken,
    ) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                () = shutdown.cancelled() => return false,
                received = self.consumer.recv() => {
                    if let Ok(m) = received {
                        carry.push(m.detach());
                        // newly assigned partitions are not paused yet
                        self.set_paused(true);
                    }
                }
            }
        }
    }

    fn set_paused(&self, paused: bool) {
        let Ok(assignment) = self.consumer.assignment() else {
            return;
        };
        let result = if paused {
            self.consumer.pause(&assignment)
        } else {
            self.consumer.resume(&assignment)
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, paused, "changing consumption state failed");
        }
    }

    /// Stores `offset + 1` of each partition's last record, for the next (auto) commit.
    fn store_offsets(&self, batch: &[OwnedMessage]) {
        let mut last: HashMap<(&str, i32), i64> = HashMap::new();
        for m in batch {
            let e = last.entry((m.topic(), m.partition())).or_insert(m.offset());
            *e = (*e).max(m.offset());
        }
        let mut tpl = TopicPartitionList::with_capacity(last.len());
        for ((topic, partition), offset) in last {
            if let Err(e) = tpl.add_partition_offset(topic, partition, Offset::Offset(offset + 1)) {
                tracing::warn!(error = %e, "building offsets failed");
            }
        }
        if let Err(e) = self.consumer.store_offsets(&tpl) {
            // a partition revoked meanwhile: its new owner re-reads, and writes are idempotent
            tracing::debug!(error = %e, "storing offsets failed");
        }
    }

    /// Turns every record into a row or a dead letter.
    async fn prepare(&self, batch: &[OwnedMessage]) -> Result<Vec<Handled>, InfraError> {
        let mut handled = Vec::with_capacity(batch.len());
        for m in batch {
            handled.push(self.handle(m).await?);
        }
        Ok(handled)
    }

    /// Metrics, lag and span outcomes of a durable batch.
    fn account(&self, handled: &[Handled]) {
        let now = Utc::now();
        for h in handled {
            match &h.outcome {
                Outcome::Store(row) => {
                    self.metrics.end_to_end(
                        (now - row.received_at).num_microseconds().unwrap_or(0) as f64 / 1e6,
                    );
                    self.lag.processed(h.partition, row.received_at);
                    h.span.record(attr::PULSE_OUTCOME, "stored");
                }
                Outcome::DeadLetter(dead) => {
                    self.metrics.dead_lettered(dead.0.reason);
                    if let Some(t) = dead.0.received_at {
                        self.lag.processed(h.partition, t);
                    }
                    h.span.record(attr::PULSE_OUTCOME, "dead_lettered");
                }
            }
        }
    }

    /// Decodes and validates one record under its own CONSUMER span.
    async fn handle(&self, m: &OwnedMessage) -> Result<Handled, InfraError> {
        let topic = m.topic();
        let span = tracing::info_span!(
            "process events.raw",
            otel.name = format!("process {topic}"),
            otel.kind = "consumer",
            otel.status_code = Empty,
            messaging.system = "kafka",
            messaging.operation.type = "process",
            messaging.operation.name = "process",
            messaging.destination.name = %topic,
            messaging.consumer.group.name = %self.config.group,
            messaging.destination.partition.id = %m.partition(),
            messaging.kafka.offset = m.offset(),
            messaging.message.id = Empty,
            pulse.tenant.id = Empty,
            pulse.event.id = Empty,
            pulse.event.type = Empty,
            pulse.outcome = Empty,
            pulse.dlq.reason = Empty,
            error.type = Empty,
        );
        let headers = m.headers();
        let parent = propagation::extract(headers);
        let parent_trace = parent.span().span_context().clone();
        if parent_trace.is_valid() {
            let _ = span.set_parent(parent);
        }
        let trace_id = if parent_trace.is_valid() {
            Some(parent_trace.trace_id().to_string())
        } else {
            let sc = span.context().span().span_context().clone();
            sc.is_valid().then(|| sc.trace_id().to_string())
        };
        let source = SourcePosition {
            topic: topic.to_owned(),
            partition: m.partition(),
            offset: m.offset(),
        };
        let outcome = self
            .judge(m, &source, trace_id)
            .instrument(span.clone())
            .await?;
        Ok(Handled {
            span,
            partition: m.partition(),
            outcome,
        })
    }

    async fn judge(
        &self,
        m: &OwnedMessage,
        source: &SourcePosition,
        trace_id: Option<String>,
    ) -> Result<Outcome, InfraError> {
        let span = Span::current();
        let bytes = m.payload().unwrap_or_default();
        let Ok(envelope) = serde_json::from_slice::<EventEnvelope<&RawValue>>(bytes) else {
            let headers = m.headers();
            let tenant_id = propagation::header_str(headers, HEADER_TENANT_ID)
                .and_then(|s| Uuid::parse_str(s).ok())
                .unwrap_or(Uuid::nil());
            let event_id = propagation::header_str(headers, HEADER_EVENT_ID)
                .and_then(|s| Uuid::parse_str(s).ok())
                .unwrap_or_else(|| position_id(source));
            let invalid = Invalid::single(
                DlqReason::MalformedEnvelope,
                "",
                "the Kafka record is not a Pulse event envelope",
            );
            let body = validate::body_for_dlq(bytes);
            return Ok(self.dead_letter(
                &span, tenant_id, event_id, None, None, body, &invalid, source, trace_id,
            ));
        };
        span.record(
            attr::PULSE_TENANT_ID,
            tracing::field::display(envelope.tenant_id),
        );
        span.record(
            attr::PULSE_EVENT_ID,
            tracing::field::display(envelope.event_id),
        );
        span.record(
            attr::MESSAGING_MESSAGE_ID,
            tracing::field::display(envelope.event_id),
        );

        let checked = match validate::validate(envelope.body, envelope.received_at) {
            Ok(valid) => {
                span.record(attr::PULSE_EVENT_TYPE, valid.event_type.as_str());
                self.check_schema(envelope.tenant_id, &valid)
                    .await?
                    .map(|()| valid)
            }
            Err(invalid) => Err(invalid),
        };
        match checked {
            Ok(valid) => Ok(Outcome::Store(EventRow {
                tenant_id: envelope.tenant_id,
                event_id: envelope.event_id,
                event_type: valid.event_type,
                occurred_at: valid.occurred_at,
                received_at: envelope.received_at,
                source: valid.source,
                idempotency_key: envelope.idempotency_key,
                payload: valid.payload.get().to_owned(),
                trace_id,
                partition: source.partition,
                offset: source.offset,
            })),
            Err(invalid) => {
                let body = validate::raw_body_for_dlq(envelope.body);
                Ok(self.dead_letter(
                    &span,
                    envelope.tenant_id,
                    envelope.event_id,
                    Some(envelope.received_at),
                    envelope.idempotency_key,
                    body,
                    &invalid,
                    source,
                    trace_id,
                ))
            }
        }
    }

    /// `Ok(Err(..))` when the tenant's schema for this event type rejects the payload.
    async fn check_schema(
        &self,
        tenant: Uuid,
        valid: &validate::ValidEvent<'_>,
    ) -> Result<Result<(), Invalid>, InfraError> {
        let schemas = self.schemas.for_tenant(tenant).await?;
        let Some(validator) = schemas.get(&valid.event_type) else {
            return Ok(Ok(()));
        };
        let payload: serde_json::Value =
            serde_json::from_str(valid.payload.get()).unwrap_or_default();
        Ok(schema::check(validator, &payload))
    }

    #[allow(clippy::too_many_arguments)]
    fn dead_letter(
        &self,
        span: &Span,
        tenant_id: Uuid,
        event_id: Uuid,
        received_at: Option<DateTime<Utc>>,
        idempotency_key: Option<String>,
        body: serde_json::Value,
        invalid: &Invalid,
        source: &SourcePosition,
        trace_id: Option<String>,
    ) -> Outcome {
        let reason = invalid.reason();
        span.record(attr::PULSE_DLQ_REASON, reason.as_str());
        let errors: Vec<FieldError> = invalid.field_errors();
        let failed_at = Utc::now();
        let row = DeadLetterRow {
            tenant_id,
            event_id,
            reason,
            errors: serde_json::to_string(&errors).unwrap_or_else(|_| "[]".to_owned()),
            body: body.to_string(),
            idempotency_key,
            received_at,
            failed_at,
            source_topic: source.topic.clone(),
            source_partition: source.partition,
            source_offset: source.offset,
            trace_id: trace_id.clone(),
        };
        let record = DlqRecord {
            event_id,
            tenant_id,
            received_at,
            failed_at,
            reason,
            errors,
            body,
            source: source.clone(),
            attempts: 1,
            trace_id,
        };
        Outcome::DeadLetter(Box::new((row, record)))
    }

    /// Publishes the dead letters (waiting for acks), then writes rows and dead letters in one
    /// transaction.
    async fn make_durable(&self, handled: &mut [Handled]) -> Result<(), InfraError> {
        let dead_rows: Vec<DeadLetterRow> = handled
            .iter()
            .filter_map(|h| match &h.outcome {
                Outcome::DeadLetter(d) => Some(d.0.clone()),
                Outcome::Store(_) => None,
            })
            .collect();
        let event_rows: Vec<EventRow> = handled
            .iter()
            .filter_map(|h| match &h.outcome {
                Outcome::Store(r) => Some(r.clone()),
                Outcome::DeadLetter(_) => None,
            })
            .collect();

        let mut tx = store::begin(&self.pool).await?;
        let attempts = store::next_attempts(&mut tx, &dead_rows).await?;

        let mut deliveries = Vec::new();
        for h in handled.iter_mut() {
            let Outcome::DeadLetter(dead) = &mut h.outcome else {
                continue;
            };
            let record = &mut dead.1;
            record.attempts = attempts
                .get(&(record.tenant_id, record.event_id))
                .copied()
                .unwrap_or(1);
            let send_span = tracing::info_span!(
                parent: &h.span,
                "send events.dlq",
                otel.name = format!("send {}", self.config.dlq_topic),
                otel.kind = "producer",
                otel.status_code = Empty,
                messaging.system = "kafka",
                messaging.operation.type = "send",
                messaging.operation.name = "send",
                messaging.destination.name = %self.config.dlq_topic,
                messaging.destination.partition.id = Empty,
                messaging.kafka.offset = Empty,
                pulse.dlq.reason = record.reason.as_str(),
                error.type = Empty,
            );
            let future = {
                let _entered = send_span.enter();
                crate::dlq::enqueue(&self.dlq, &self.config.dlq_topic, record)?
            };
            deliveries.push(async move {
                let result = future.await;
                match &result {
                    Ok(Ok(d)) => {
                        send_span.record(
                            attr::MESSAGING_DESTINATION_PARTITION_ID,
                            d.partition.to_string(),
                        );
                        send_span.record(attr::MESSAGING_KAFKA_OFFSET, d.offset);
                    }
                    _ => {
                        send_span.record("otel.status_code", "error");
                        send_span.record(attr::ERROR_TYPE, "delivery_failed");
                    }
                }
                match result {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((e, _))) => Err(e),
                    Err(_) => Err(KafkaError::Canceled),
                }
            });
        }
        for r in futures::future::join_all(deliveries).await {
            r?;
        }

        // one INSERT span per stored event, as a child of that event's CONSUMER span
        let insert_spans: Vec<Span> = handled
            .iter()
            .filter(|h| matches!(h.outcome, Outcome::Store(_)))
            .map(|h| {
                tracing::info_span!(
                    parent: &h.span,
                    "insert events",
                    otel.name = "INSERT events",
                    otel.kind = "client",
                    db.system.name = "postgresql",
                    db.operation.name = "INSERT",
                    db.collection.name = "events",
                    messaging.batch.message_count = event_rows.len(),
                )
            })
            .collect();
        let upsert_spans: Vec<Span> = handled
            .iter()
            .filter(|h| matches!(h.outcome, Outcome::DeadLetter(_)))
            .map(|h| {
                tracing::info_span!(
                    parent: &h.span,
                    "upsert dead_letters",
                    otel.name = "INSERT dead_letters",
                    otel.kind = "client",
                    db.system.name = "postgresql",
                    db.operation.name = "INSERT",
                    db.collection.name = "dead_letters",
                )
            })
            .collect();
        let written = store::write(&mut tx, &event_rows, &dead_rows).await?;
        tx.commit().await?;
        drop(insert_spans);
        drop(upsert_spans);
        self.metrics.stored(written.events_inserted);
        Ok(())
    }
}

/// A stable id for a record that carries none, so its redelivery maps to the same dead letter.
fn position_id(source: &SourcePosition) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!(
            "pulse:{}:{}:{}",
            source.topic, source.partition, source.offset
        )
        .as_bytes(),
    )
}

/// Exponential backoff from 100 ms, capped, with ±50 % jitter.
fn backoff(attempt: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(100)
        .saturating_mul(1 << attempt.min(10))
        .min(max);
    let jitter = rand::rng().random_range(0.5..1.5);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let max = Duration::from_secs(5);
        for attempt in 1..20 {
            let d = backoff(attempt, max);
            assert!(d <= max.mul_f64(1.5), "{d:?}");
            assert!(d >= Duration::from_millis(100), "{d:?}");
        }
        assert!(backoff(1, max) < Duration::from_millis(400));
    }

    #[test]
    fn position_ids_are_stable() {
        let p = SourcePosition {
            topic: "t".into(),
            partition: 1,
            offset: 7,
        };
        assert_eq!(position_id(&p), position_id(&p.clone()));
        assert_ne!(
            position_id(&p),
            position_id(&SourcePosition { offset: 8, ..p })
        );
    }
}
