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
use opentelemetry::{
    Context, KeyValue, StringValue,
    global::{BoxedSpan, BoxedTracer},
    trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _},
};
use pulse_core::{
    envelope::{DlqReason, DlqRecord, EventEnvelope, FieldError, SourcePosition, id_text},
    health::Readiness,
};
use pulse_otel::names::{attr, service};
use rand::Rng;
use rdkafka::{
    ClientContext, Offset, Statistics, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer},
    error::{KafkaError, RDKafkaErrorCode},
    producer::FutureProducer,
};
use serde_json::value::RawValue;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    metrics::{Lag, ProcessorMetrics},
    record::Record,
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

/// Span names and attribute values shared by every span of a pipeline, and the topic name every
/// record shares (built once, cloned cheaply per event).
pub struct SpanNames {
    raw_topic: Arc<str>,
    process: String,
    send_dlq: String,
    topic: StringValue,
    dlq_topic: StringValue,
    group: StringValue,
}

impl SpanNames {
    pub fn new(config: &PipelineConfig) -> Self {
        let shared = |s: &str| StringValue::from(Arc::<str>::from(s));
        let raw_topic = Arc::<str>::from(config.raw_topic.as_str());
        Self {
            topic: StringValue::from(raw_topic.clone()),
            raw_topic,
            process: format!("process {}", config.raw_topic),
            send_dlq: format!("send {}", config.dlq_topic),
            dlq_topic: shared(&config.dlq_topic),
            group: shared(&config.group),
        }
    }
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
    pub span_names: SpanNames,
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

/// One record's fate, with the context of the CONSUMER span that follows it.
struct Handled<'m> {
    cx: Context,
    partition: i32,
    outcome: Outcome<'m>,
}

/// A stored event borrows its payload from the Kafka record it came from.
enum Outcome<'m> {
    Store(EventRow<'m>),
    DeadLetter(Box<(DeadLetterRow, DlqRecord)>),
}

/// What a dead letter is made of, whichever way its record failed.
struct Failed {
    tenant_id: Uuid,
    event_id: Uuid,
    received_at: Option<DateTime<Utc>>,
    idempotency_key: Option<String>,
    event_type: Option<String>,
    /// The body for the `events.dlq` record.
    body: serde_json::Value,
    /// The body for the `dead_letters` row: the original JSON text, lossless.
    stored_body: String,
    source: SourcePosition,
    trace_id: Option<String>,
}

/// A batch being validated and written in the background while the next one is read.
struct Writing {
    task: tokio::task::JoinHandle<bool>,
    /// The offset to store for each partition once the batch is durable.
    offsets: Vec<(String, i32, i64)>,
}

impl Pipeline {
    /// Runs until `shutdown` is cancelled, then commits what is durable and leaves the group.
    ///
    /// Batches overlap: up to `writers` batches are validated and written to PostgreSQL (each in
    /// its own task and transaction) while the next is read from Kafka. Offsets are stored
    /// strictly in batch order, each only after its batch and every batch before it are durable.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut carry: Vec<Record> = Vec::new();
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
            self.metrics.consumed(batch.len() as u64);
            while writing.len() >= self.config.writers {
                let Some(w) = writing.pop_front() else { break };
                if !self.settle(w, &mut carry).await {
                    break 'outer;
                }
            }
            let this = self.clone();
            let token = shutdown.clone();
            let offsets = next_offsets(&batch);
            writing.push_back(Writing {
                task: tokio::spawn(async move {
                    match this.prepare_until_ok(&batch, &token).await {
                        Some(handled) => this.write_until_durable(handled, &token).await,
                        None => false,
                    }
                }),
                offsets,
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

    /// What the pipeline keeps of a received record.
    fn record(&self, m: &rdkafka::message::BorrowedMessage<'_>) -> Record {
        Record::new(m, &self.span_names.raw_topic)
    }

    /// Waits for the first record (at most `batch_wait` when a write is in flight, so its offsets
    /// are not held back by a quiet topic), then gathers more until the batch is full or
    /// `batch_wait` passed.
    async fn collect(
        &self,
        carry: &mut Vec<Record>,
        shutdown: &CancellationToken,
        bounded_wait: bool,
    ) -> Vec<Record> {
        // at most batch_size records per batch, also from what piled up while writes ran: batches
        // in flight (and their spans waiting for export) stay bounded
        let mut batch = if carry.len() > self.config.batch_size {
            let rest = carry.split_off(self.config.batch_size);
            std::mem::replace(carry, rest)
        } else {
            std::mem::take(carry)
        };
        if batch.is_empty() {
            let first_wait = if bounded_wait {
                self.config.batch_wait
            } else {
                Duration::from_secs(3600)
            };
            tokio::select! {
                received = tokio::time::timeout(first_wait, self.consumer.recv()) => match received {
                    Ok(Ok(m)) => batch.push(self.record(&m)),
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
                Ok(Ok(m)) => batch.push(self.record(&m)),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error");
                    break;
                }
                Err(_) => break,
            }
        }
        batch
    }

    /// Decodes and validates `batch`, retrying while the schema store is unreachable (with
    /// consumption paused; the main loop keeps polling). `None` if shutdown came first.
    async fn prepare_until_ok<'m>(
        &self,
        batch: &'m [Record],
        shutdown: &CancellationToken,
    ) -> Option<Vec<Handled<'m>>> {
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
                    if !self
                        .back_off(&e, &mut attempt, "batch not validated", shutdown)
                        .await
                    {
                        return None;
                    }
                }
            }
        }
    }

    /// Waits for a background write, still polling so the group membership stays alive (records
    /// that arrive wait in `carry`); then stores its offsets. False if it gave up (shutdown).
    async fn settle(&self, writing: Writing, carry: &mut Vec<Record>) -> bool {
        let Writing { mut task, offsets } = writing;
        let mut paused_here = false;
        let durable = loop {
            tokio::select! {
                done = &mut task => break done.unwrap_or(false),
                received = self.consumer.recv() => {
                    if let Ok(m) = received {
                        carry.push(self.record(&m));
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
            self.store_offsets(&offsets);
        }
        durable
    }

    /// Writes one validated batch until it is durable. Returns false if shutdown interrupted the
    /// retries (nothing was committed; the records will be redelivered).
    async fn write_until_durable(
        &self,
        mut handled: Vec<Handled<'_>>,
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
                    if !self
                        .back_off(&e, &mut attempt, "batch not durable", shutdown)
                        .await
                    {
                        return false;
                    }
                }
            }
        }
    }

    /// After a failed attempt: counts it, reports degraded, pauses fetching on the first failure
    /// (the main loop keeps polling, so the group membership stays), then sleeps a jittered,
    /// growing delay. False if shutdown came first.
    async fn back_off(
        &self,
        error: &InfraError,
        attempt: &mut u32,
        what: &'static str,
        shutdown: &CancellationToken,
    ) -> bool {
        self.metrics.retried(error.kind());
        if *attempt == 0 {
            self.set_paused(true);
        }
        *attempt += 1;
        self.readiness.set_degraded_because(format!(
            "{what}: {} (attempt {})",
            error.kind(),
            *attempt
        ));
        let delay = backoff(*attempt, self.config.max_backoff);
        if *attempt == STUCK_AFTER {
            // said once per batch, loudly: retries this long mean an operator should look
            self.metrics.stuck(error.kind());
            tracing::error!(error = %error, error_type = error.kind(), attempts = *attempt, "{what}: batch stuck, still retrying");
        } else {
            tracing::warn!(error = %error, attempt = *attempt, delay_ms = delay.as_millis() as u64, "{what}, retrying");
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = shutdown.cancelled() => false,
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

    /// Stores the offsets of a durable batch, for the next (auto) commit.
    fn store_offsets(&self, last: &[(String, i32, i64)]) {
        let mut tpl = TopicPartitionList::with_capacity(last.len());
        for (topic, partition, offset) in last {
            if let Err(e) = tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset)) {
                tracing::warn!(error = %e, "building offsets failed");
            }
        }
        if let Err(e) = self.consumer.store_offsets(&tpl) {
            // a partition revoked meanwhile: its new owner re-reads, and writes are idempotent
            tracing::debug!(error = %e, "storing offsets failed");
        }
    }

    /// Turns every record into a row or a dead letter.
    async fn prepare<'m>(&self, batch: &'m [Record]) -> Result<Vec<Handled<'m>>, InfraError> {
        let tracer = pulse_otel::tracer(service::PROCESSOR);
        let mut handled = Vec::with_capacity(batch.len());
        for m in batch {
            handled.push(self.handle(&tracer, m).await?);
        }
        Ok(handled)
    }

    /// Metrics, lag and span outcomes of a durable batch; ends the CONSUMER spans.
    fn account(&self, handled: &[Handled<'_>]) {
        let now = Utc::now();
        for h in handled {
            let span = h.cx.span();
            match &h.outcome {
                Outcome::Store(row) => {
                    self.metrics.end_to_end(
                        (now - row.received_at).num_microseconds().unwrap_or(0) as f64 / 1e6,
                    );
                    self.lag.processed(h.partition, row.received_at);
                    span.set_attribute(KeyValue::new(attr::PULSE_OUTCOME, "stored"));
                }
                Outcome::DeadLetter(dead) => {
                    self.metrics.dead_lettered(dead.0.reason);
                    if let Some(t) = dead.0.received_at {
                        self.lag.processed(h.partition, t);
                    }
                    span.set_attribute(KeyValue::new(attr::PULSE_OUTCOME, "dead_lettered"));
                }
            }
            span.end();
        }
    }

    /// Decodes and validates one record under its own CONSUMER span, which continues the trace
    /// in the record's `traceparent`.
    ///
    /// The per-event spans are built with the OpenTelemetry SDK directly rather than through
    /// `tracing`: at tens of thousands of events a second the `tracing` layer's bookkeeping per
    /// span (registry slot, field visitors, extensions) was a large share of the processor's CPU.
    async fn handle<'m>(
        &self,
        tracer: &BoxedTracer,
        m: &'m Record,
    ) -> Result<Handled<'m>, InfraError> {
        let parent = &m.parent;
        let span = tracer
            .span_builder(self.span_names.process.clone())
            .with_kind(SpanKind::Consumer)
            .with_attributes([
                KeyValue::new(attr::MESSAGING_SYSTEM, "kafka"),
                KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "process"),
                KeyValue::new(attr::MESSAGING_OPERATION_NAME, "process"),
                KeyValue::new(
                    attr::MESSAGING_DESTINATION_NAME,
                    self.span_names.topic.clone(),
                ),
                KeyValue::new(
                    attr::MESSAGING_CONSUMER_GROUP_NAME,
                    self.span_names.group.clone(),
                ),
                KeyValue::new(
                    attr::MESSAGING_DESTINATION_PARTITION_ID,
                    i64::from(m.partition),
                ),
                KeyValue::new(attr::MESSAGING_KAFKA_OFFSET, m.offset),
            ])
            .start_with_context(tracer, parent);
        let cx = parent.with_span(span);
        let sc = cx.span().span_context().clone();
        let trace_id = sc.is_valid().then(|| sc.trace_id().to_string());
        let outcome = self.judge(&cx, m, trace_id).await?;
        Ok(Handled {
            cx,
            partition: m.partition,
            outcome,
        })
    }

    async fn judge<'m>(
        &self,
        cx: &Context,
        m: &'m Record,
        trace_id: Option<String>,
    ) -> Result<Outcome<'m>, InfraError> {
        let span = cx.span();
        let bytes = &*m.payload;
        let Ok(envelope) = serde_json::from_slice::<EventEnvelope<&RawValue>>(bytes) else {
            let source = m.position();
            let tenant_id = m.tenant_header.unwrap_or(Uuid::nil());
            let event_id = m.event_header.unwrap_or_else(|| position_id(&source));
            let invalid = Invalid::single(
                DlqReason::MalformedEnvelope,
                "",
                "the Kafka record is not a Pulse event envelope",
            );
            let body = validate::body_for_dlq(bytes);
            let failed = Failed {
                tenant_id,
                event_id,
                received_at: None,
                idempotency_key: None,
                event_type: None,
                stored_body: body.to_string(),
                body,
                source,
                trace_id,
            };
            return Ok(self.dead_letter(cx, failed, &invalid));
        };
        if span.is_recording() {
            // the event id only as the semantic conventions' `messaging.message.id`: a second copy
            // as `pulse.event.id` (ingest's spans carry it) cost this span and Jaeger ~0.6 µs per event
            span.set_attributes([
                KeyValue::new(attr::PULSE_TENANT_ID, envelope.tenant_id.to_string()),
                KeyValue::new(attr::MESSAGING_MESSAGE_ID, id_text(envelope.event_id)),
            ]);
        }

        let checked = match validate::validate(envelope.body, envelope.received_at) {
            Ok(valid) => {
                if span.is_recording() {
                    span.set_attribute(KeyValue::new(
                        attr::PULSE_EVENT_TYPE,
                        valid.event_type.clone(),
                    ));
                }
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
                payload: valid.payload.get(),
                body: envelope.body.get(),
                trace_id,
                partition: m.partition,
                offset: m.offset,
            })),
            Err(invalid) => {
                let failed = Failed {
                    tenant_id: envelope.tenant_id,
                    event_id: envelope.event_id,
                    received_at: Some(envelope.received_at),
                    idempotency_key: envelope.idempotency_key,
                    event_type: validate::event_type_hint(envelope.body),
                    body: validate::raw_body_for_dlq(envelope.body),
                    stored_body: envelope.body.get().to_owned(),
                    source: m.position(),
                    trace_id,
                };
                Ok(self.dead_letter(cx, failed, &invalid))
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

    /// Turns a failed record into a dead letter (its row and its `events.dlq` record).
    fn dead_letter(&self, cx: &Context, failed: Failed, invalid: &Invalid) -> Outcome<'static> {
        let reason = invalid.reason();
        cx.span()
            .set_attribute(KeyValue::new(attr::PULSE_DLQ_REASON, reason.as_str()));
        let errors: Vec<FieldError> = invalid.field_errors();
        let failed_at = Utc::now();
        let row = DeadLetterRow {
            tenant_id: failed.tenant_id,
            event_id: failed.event_id,
            reason,
            errors: serde_json::to_string(&errors).unwrap_or_else(|_| "[]".to_owned()),
            body: failed.stored_body,
            event_type: failed.event_type,
            idempotency_key: failed.idempotency_key,
            received_at: failed.received_at,
            failed_at,
            source_topic: failed.source.topic.clone(),
            source_partition: failed.source.partition,
            source_offset: failed.source.offset,
            trace_id: failed.trace_id.clone(),
        };
        let record = DlqRecord {
            event_id: failed.event_id,
            tenant_id: failed.tenant_id,
            received_at: failed.received_at,
            failed_at,
            reason,
            errors,
            body: failed.body,
            source: failed.source,
            attempts: 1,
            trace_id: failed.trace_id,
        };
        Outcome::DeadLetter(Box::new((row, record)))
    }

    /// Publishes the dead letters (waiting for acks), then writes rows and dead letters in one
    /// transaction. Event rows whose content PostgreSQL refuses become dead letters
    /// (`invalid_value`) in that same transaction, so one hostile record never holds back the rest.
    async fn make_durable(&self, handled: &mut [Handled<'_>]) -> Result<(), InfraError> {
        let tracer = pulse_otel::tracer(service::PROCESSOR);
        // the rows are borrowed, not copied: a retried batch writes the same ones again
        let mut tx = store::begin(&self.pool).await?;
        let dead: Vec<usize> = indices(handled, |o| matches!(o, Outcome::DeadLetter(_)));
        self.publish_dead_letters(&tracer, &mut tx, handled, &dead)
            .await?;

        let stored = indices(handled, |o| matches!(o, Outcome::Store(_)));
        let mut db_spans = self.db_spans(&tracer, handled, stored.len());
        let written = {
            let events: Vec<&EventRow<'_>> = stored
                .iter()
                .filter_map(|&i| event_row(&handled[i]))
                .collect();
            let dead_rows: Vec<&DeadLetterRow> =
                dead.iter().filter_map(|&i| dead_row(&handled[i])).collect();
            store::write(&mut tx, &events, &dead_rows).await
        };
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                end_failed(db_spans, "database_unavailable");
                return Err(e.into());
            }
        };
        let refused: Vec<usize> = written.refused.iter().map(|r| stored[r.index]).collect();
        for (r, &i) in written.refused.iter().zip(&refused) {
            if let Some(mut span) = db_spans[i].take() {
                span.set_status(Status::error("row refused by the database"));
                span.set_attribute(KeyValue::new(attr::ERROR_TYPE, "data_refused"));
                span.end();
            }
            tracing::warn!(
                partition = handled[i].partition,
                error = %r.message,
                "record refused by the database, dead-lettering it"
            );
            self.refuse(&mut handled[i], &r.message);
        }
        let result = async {
            if !refused.is_empty() {
                self.metrics.refused(refused.len() as u64);
                self.publish_dead_letters(&tracer, &mut tx, handled, &refused)
                    .await?;
                let dead_rows: Vec<&DeadLetterRow> = refused
                    .iter()
                    .filter_map(|&i| dead_row(&handled[i]))
                    .collect();
                store::write(&mut tx, &[], &dead_rows).await?;
            }
            tx.commit().await?;
            Ok::<_, InfraError>(())
        }
        .await;
        match result {
            Ok(()) => {
                for span in db_spans.into_iter().flatten() {
                    let mut span = span;
                    span.end();
                }
                self.metrics.stored(written.events_inserted);
                Ok(())
            }
            Err(e) => {
                end_failed(db_spans, e.kind());
                Err(e)
            }
        }
    }

    /// Makes a stored record whose row PostgreSQL refused into a dead letter.
    fn refuse(&self, h: &mut Handled<'_>, message: &str) {
        let Outcome::Store(row) = &h.outcome else {
            return;
        };
        let failed = Failed {
            tenant_id: row.tenant_id,
            event_id: row.event_id,
            received_at: Some(row.received_at),
            idempotency_key: row.idempotency_key.clone(),
            event_type: Some(row.event_type.clone()),
            body: validate::body_for_dlq(row.body.as_bytes()),
            stored_body: row.body.to_owned(),
            source: SourcePosition {
                topic: self.span_names.raw_topic.to_string(),
                partition: row.partition,
                offset: row.offset,
            },
            trace_id: row.trace_id.clone(),
        };
        let invalid = Invalid::single(DlqReason::InvalidValue, "/payload", message);
        h.outcome = self.dead_letter(&h.cx, failed, &invalid);
    }

    /// Publishes the dead letters at `which` to `events.dlq` with their attempt counts, each
    /// under a PRODUCER span, and waits for every acknowledgement.
    async fn publish_dead_letters(
        &self,
        tracer: &BoxedTracer,
        tx: &mut store::Tx,
        handled: &mut [Handled<'_>],
        which: &[usize],
    ) -> Result<(), InfraError> {
        if which.is_empty() {
            return Ok(());
        }
        let rows: Vec<&DeadLetterRow> = which
            .iter()
            .filter_map(|&i| dead_row(&handled[i]))
            .collect();
        let attempts = store::next_attempts(tx, &rows).await?;
        let mut deliveries = Vec::with_capacity(which.len());
        for &i in which {
            let h = &mut handled[i];
            let Outcome::DeadLetter(dead) = &mut h.outcome else {
                continue;
            };
            let record = &mut dead.1;
            record.attempts = attempts
                .get(&(record.tenant_id, record.event_id))
                .copied()
                .unwrap_or(1);
            let send_span = tracer
                .span_builder(self.span_names.send_dlq.clone())
                .with_kind(SpanKind::Producer)
                .with_attributes([
                    KeyValue::new(attr::MESSAGING_SYSTEM, "kafka"),
                    KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "send"),
                    KeyValue::new(attr::MESSAGING_OPERATION_NAME, "send"),
                    KeyValue::new(
                        attr::MESSAGING_DESTINATION_NAME,
                        self.span_names.dlq_topic.clone(),
                    ),
                    KeyValue::new(attr::PULSE_DLQ_REASON, record.reason.as_str()),
                ])
                .start_with_context(tracer, &h.cx);
            let send_cx = h.cx.with_span(send_span);
            let future = crate::dlq::enqueue(&self.dlq, &self.config.dlq_topic, record, &send_cx)?;
            deliveries.push(async move {
                let result = future.await;
                let span = send_cx.span();
                match &result {
                    Ok(Ok(d)) => span.set_attributes([
                        KeyValue::new(
                            attr::MESSAGING_DESTINATION_PARTITION_ID,
                            i64::from(d.partition),
                        ),
                        KeyValue::new(attr::MESSAGING_KAFKA_OFFSET, d.offset),
                    ]),
                    _ => {
                        span.set_status(Status::error("delivery failed"));
                        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, "delivery_failed"));
                    }
                }
                span.end();
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
        Ok(())
    }

    /// One INSERT span per record, as a child of its CONSUMER span (index = position in
    /// `handled`; taken out when ended early).
    fn db_spans(
        &self,
        tracer: &BoxedTracer,
        handled: &[Handled<'_>],
        stored_count: usize,
    ) -> Vec<Option<BoxedSpan>> {
        handled
            .iter()
            .map(|h| {
                let (name, table) = match h.outcome {
                    Outcome::Store(_) => ("INSERT events", "events"),
                    Outcome::DeadLetter(_) => ("INSERT dead_letters", "dead_letters"),
                };
                let mut attributes = vec![
                    KeyValue::new(attr::DB_SYSTEM_NAME, "postgresql"),
                    KeyValue::new(attr::DB_OPERATION_NAME, "INSERT"),
                    KeyValue::new(attr::DB_COLLECTION_NAME, table),
                ];
                if matches!(h.outcome, Outcome::Store(_)) {
                    attributes.push(KeyValue::new(
                        attr::MESSAGING_BATCH_MESSAGE_COUNT,
                        stored_count as i64,
                    ));
                }
                Some(
                    tracer
                        .span_builder(name)
                        .with_kind(SpanKind::Client)
                        .with_attributes(attributes)
                        .start_with_context(tracer, &h.cx),
                )
            })
            .collect()
    }
}

/// Ends the database spans of a batch whose write failed.
fn end_failed(spans: Vec<Option<BoxedSpan>>, error_type: &'static str) {
    for mut span in spans.into_iter().flatten() {
        span.set_status(Status::error("database write failed"));
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error_type));
        span.end();
    }
}

/// Positions of the records whose outcome matches.
fn indices(handled: &[Handled<'_>], matches: impl Fn(&Outcome<'_>) -> bool) -> Vec<usize> {
    (0..handled.len())
        .filter(|&i| matches(&handled[i].outcome))
        .collect()
}

fn event_row<'a, 'm>(h: &'a Handled<'m>) -> Option<&'a EventRow<'m>> {
    match &h.outcome {
        Outcome::Store(r) => Some(r),
        Outcome::DeadLetter(_) => None,
    }
}

fn dead_row<'a>(h: &'a Handled<'_>) -> Option<&'a DeadLetterRow> {
    match &h.outcome {
        Outcome::DeadLetter(d) => Some(&d.0),
        Outcome::Store(_) => None,
    }
}

/// `offset + 1` of each partition's last record in `batch`: where consumption resumes.
fn next_offsets(batch: &[Record]) -> Vec<(String, i32, i64)> {
    let mut last: HashMap<(&str, i32), i64> = HashMap::new();
    for m in batch {
        let e = last.entry((&m.topic, m.partition)).or_insert(m.offset);
        *e = (*e).max(m.offset);
    }
    last.into_iter()
        .map(|((topic, partition), offset)| (topic.to_owned(), partition, offset + 1))
        .collect()
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

/// Retries of one batch after which it is reported stuck (about a minute with the default cap).
const STUCK_AFTER: u32 = 10;

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
