//! The consume loop: records are taken in batches (up to `batch_size` records or `batch_wait`
//! after the first), judged ([`crate::judge`]) and made durable ([`crate::durable`]) in background
//! tasks while the next batch is read; offsets are stored strictly in batch order, each only after
//! its batch and every batch before it are durable. Infrastructure failures pause the partitions
//! and retry ([`crate::retry`]); nothing is dead-lettered for them.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use pulse_core::health::Readiness;
use pulse_otel::names::service;
use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{CommitMode, Consumer},
    error::{KafkaError, RDKafkaErrorCode},
    producer::FutureProducer,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    consumer::PulseConsumer,
    judge::{Handled, Judge},
    metrics::{Lag, ProcessorMetrics},
    record::Record,
    retry::{self, InfraError},
    schema::SchemaCache,
    spans::SpanNames,
};

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
    /// Whether keyed records claim their keys in PostgreSQL ([`crate::idempotency`]).
    pub idempotency_check: bool,
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
        Record::new(m, self.span_names.raw_topic())
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

    /// After a failed attempt: pauses fetching on the first failure (the main loop keeps polling,
    /// so the group membership stays), reports it ([`retry::failed_attempt`]), then sleeps a
    /// jittered, growing delay. False if shutdown came first.
    pub(crate) async fn back_off(
        &self,
        error: &InfraError,
        attempt: &mut u32,
        what: &'static str,
        shutdown: &CancellationToken,
    ) -> bool {
        if *attempt == 0 {
            self.set_paused(true);
        }
        *attempt += 1;
        let delay = retry::failed_attempt(
            &self.metrics,
            &self.readiness,
            error,
            *attempt,
            what,
            self.config.max_backoff,
        );
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = shutdown.cancelled() => false,
        }
    }

    pub(crate) fn set_paused(&self, paused: bool) {
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
        let judge = Judge {
            schemas: &self.schemas,
            names: &self.span_names,
        };
        let mut handled = Vec::with_capacity(batch.len());
        for m in batch {
            handled.push(judge.handle(&tracer, m).await?);
        }
        Ok(handled)
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
