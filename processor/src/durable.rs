//! Making a batch durable: its keyed records claim their idempotency keys first
//! ([`crate::idempotency`]; a duplicate of another event becomes an alias, nothing else), its dead
//! letters are published to `events.dlq` and acknowledged, then its rows and dead letters are
//! written in one PostgreSQL transaction ([`crate::store`]). Rows whose content PostgreSQL refuses
//! become dead letters in that same transaction, so one hostile record never holds back the rest.

use chrono::Utc;
use opentelemetry::{
    KeyValue,
    global::{BoxedSpan, BoxedTracer},
    trace::{Span as _, Status, TraceContextExt},
};
use pulse_core::envelope::{DlqReason, SourcePosition};
use pulse_otel::names::{attr, service};
use rdkafka::error::KafkaError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    idempotency::{self, Alias, Keyed},
    judge::{self, Failed, Handled, Outcome},
    pipeline::Pipeline,
    retry::InfraError,
    spans::Table,
    store::{self, DeadLetterRow, EventRow},
    validate::{self, Invalid},
};

impl Pipeline {
    /// Writes one validated batch until it is durable. Returns false if shutdown interrupted the
    /// retries (nothing was committed; the records will be redelivered).
    pub(crate) async fn write_until_durable(
        &self,
        mut handled: Vec<Handled<'_>>,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut attempt: u32 = 0;
        loop {
            let started = std::time::Instant::now();
            match self.make_durable(&mut handled).await {
                Ok(aliases) => {
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
                    self.account(&handled, &aliases);
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

    /// Metrics, lag and span outcomes of a durable batch; ends the CONSUMER spans. `aliases[i]`
    /// is the event that record `i` duplicates, when it was recorded as an alias.
    pub(crate) fn account(&self, handled: &[Handled<'_>], aliases: &[Option<Uuid>]) {
        let now = Utc::now();
        for (i, h) in handled.iter().enumerate() {
            let span = h.cx.span();
            if let Some(original) = aliases.get(i).copied().flatten() {
                if let Some(received_at) = received_at(&h.outcome) {
                    self.lag.processed(h.partition, received_at);
                }
                span.set_attribute(KeyValue::new(attr::PULSE_OUTCOME, "duplicate"));
                span.set_attribute(KeyValue::new(DUPLICATE_OF, original.to_string()));
                span.end();
                continue;
            }
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

    /// Claims the batch's idempotency keys and records the duplicates as aliases, publishes the
    /// dead letters (waiting for acks), then writes rows and dead letters in one transaction.
    /// Event rows whose content PostgreSQL refuses become dead letters (`invalid_value`) in that
    /// same transaction, so one hostile record never holds back the rest. Returns, per record, the
    /// event it duplicates when it was recorded as an alias instead.
    pub(crate) async fn make_durable(
        &self,
        handled: &mut [Handled<'_>],
    ) -> Result<Vec<Option<Uuid>>, InfraError> {
        let tracer = pulse_otel::tracer(service::PROCESSOR);
        // the rows are borrowed, not copied: a retried batch writes the same ones again
        let mut tx = store::begin(&self.pool).await?;
        let aliases = if self.config.idempotency_check {
            claim_keys(&mut tx, handled).await?
        } else {
            vec![None; handled.len()]
        };
        let written_as_itself = |i: &usize| aliases[*i].is_none();
        let dead: Vec<usize> = indices(handled, |o| matches!(o, Outcome::DeadLetter(_)))
            .into_iter()
            .filter(written_as_itself)
            .collect();
        self.publish_dead_letters(&tracer, &mut tx, handled, &dead)
            .await?;

        let stored: Vec<usize> = indices(handled, |o| matches!(o, Outcome::Store(_)))
            .into_iter()
            .filter(written_as_itself)
            .collect();
        let mut db_spans = self.db_spans(&tracer, handled, &aliases, stored.len());
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
                Ok(aliases)
            }
            Err(e) => {
                end_failed(db_spans, e.kind());
                Err(e)
            }
        }
    }

    /// Makes a stored record whose row PostgreSQL refused into a dead letter.
    pub(crate) fn refuse(&self, h: &mut Handled<'_>, message: &str) {
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
                topic: self.span_names.raw_topic().to_string(),
                partition: row.partition,
                offset: row.offset,
            },
            trace_id: row.trace_id.clone(),
        };
        let invalid = Invalid::single(DlqReason::InvalidValue, "/payload", message);
        h.outcome = judge::dead_letter(&h.cx, failed, &invalid);
    }

    /// Publishes the dead letters at `which` to `events.dlq` with their attempt counts, each
    /// under a PRODUCER span, and waits for every acknowledgement.
    pub(crate) async fn publish_dead_letters(
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
            let send_span = self
                .span_names
                .send_dead_letter(tracer, &h.cx, record.reason);
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

    /// One INSERT span per record written as itself (not an alias), as a child of its CONSUMER
    /// span (index = position in `handled`; taken out when ended early).
    pub(crate) fn db_spans(
        &self,
        tracer: &BoxedTracer,
        handled: &[Handled<'_>],
        aliases: &[Option<Uuid>],
        stored_count: usize,
    ) -> Vec<Option<BoxedSpan>> {
        handled
            .iter()
            .zip(aliases)
            .map(|(h, alias)| {
                if alias.is_some() {
                    return None;
                }
                let (table, rows) = match h.outcome {
                    Outcome::Store(_) => (Table::Events, Some(stored_count as i64)),
                    Outcome::DeadLetter(_) => (Table::DeadLetters, None),
                };
                Some(self.span_names.insert(tracer, &h.cx, table, rows))
            })
            .collect()
    }
}

/// The span attribute naming the event an alias duplicates.
const DUPLICATE_OF: &str = "pulse.event.duplicate_of";

/// Claims the idempotency keys of the batch's keyed records (stored or dead-lettered: a request
/// that was invalid once stays a duplicate of its dead letter, as ingest answers it) and records
/// those that duplicate another event as aliases. Returns, per record, the event it duplicates.
async fn claim_keys(
    tx: &mut store::Tx,
    handled: &[Handled<'_>],
) -> Result<Vec<Option<Uuid>>, sqlx::Error> {
    let mut positions = Vec::new();
    let mut keyed = Vec::new();
    for (i, h) in handled.iter().enumerate() {
        if let Some(k) = keyed_of(&h.outcome) {
            positions.push(i);
            keyed.push(k);
        }
    }
    let mut aliases = vec![None; handled.len()];
    if keyed.is_empty() {
        return Ok(aliases);
    }
    let fates = idempotency::claim(tx, &keyed).await?;
    let mut rows = Vec::new();
    for ((&i, k), fate) in positions.iter().zip(&keyed).zip(fates) {
        if let Some(original) = fate {
            aliases[i] = Some(original);
            rows.push(Alias {
                tenant_id: k.tenant_id,
                event_id: k.event_id,
                original_event_id: original,
                key: k.key,
                received_at: k.received_at,
            });
        }
    }
    if !rows.is_empty() {
        tracing::debug!(
            duplicates = rows.len(),
            "records whose idempotency key another event holds recorded as aliases"
        );
        idempotency::record_aliases(tx, &rows).await?;
    }
    Ok(aliases)
}

/// A record's idempotency key, if it has one.
fn keyed_of<'a>(outcome: &'a Outcome<'_>) -> Option<Keyed<'a>> {
    match outcome {
        Outcome::Store(r) => Some(Keyed {
            tenant_id: r.tenant_id,
            key: r.idempotency_key.as_deref()?,
            event_id: r.event_id,
            received_at: r.received_at,
        }),
        Outcome::DeadLetter(d) => Some(Keyed {
            tenant_id: d.0.tenant_id,
            key: d.0.idempotency_key.as_deref()?,
            event_id: d.0.event_id,
            received_at: d.0.received_at.unwrap_or(d.0.failed_at),
        }),
    }
}

fn received_at(outcome: &Outcome<'_>) -> Option<chrono::DateTime<Utc>> {
    match outcome {
        Outcome::Store(r) => Some(r.received_at),
        Outcome::DeadLetter(d) => d.0.received_at,
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
