//! The processor's per-event spans, built with the OpenTelemetry SDK directly: at tens of
//! thousands of events a second the `tracing` layer's bookkeeping per span (registry slot, field
//! visitors, extensions) was a large share of the processor's CPU. Names and attribute values
//! shared by every span are built once and cloned cheaply.

use std::sync::Arc;

use opentelemetry::{
    Context, KeyValue, StringValue,
    global::{BoxedSpan, BoxedTracer},
};
use pulse_core::envelope::DlqReason;
use pulse_otel::{
    messaging,
    names::{attr, span},
};

use crate::record::Record;

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
    /// Names for a pipeline reading `raw_topic` in `group` and dead-lettering to `dlq_topic`.
    pub fn new(raw_topic: &str, dlq_topic: &str, group: &str) -> Self {
        let shared = |s: &str| StringValue::from(Arc::<str>::from(s));
        let raw = Arc::<str>::from(raw_topic);
        Self {
            topic: StringValue::from(raw.clone()),
            raw_topic: raw,
            process: span::process(raw_topic),
            send_dlq: span::send(dlq_topic),
            dlq_topic: shared(dlq_topic),
            group: shared(group),
        }
    }
}

/// The database table a CLIENT span writes to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    Events,
    DeadLetters,
}

impl SpanNames {
    /// The raw topic's name, shared by every record read from it.
    pub(crate) fn raw_topic(&self) -> &Arc<str> {
        &self.raw_topic
    }

    /// The CONSUMER span of one record, continuing the trace in its `traceparent` header.
    pub(crate) fn process(&self, tracer: &BoxedTracer, m: &Record) -> BoxedSpan {
        messaging::process(
            self.process.clone(),
            self.topic.clone(),
            self.group.clone(),
            m.partition,
            m.offset,
        )
        .start_with_context(tracer, &m.parent)
    }

    /// The PRODUCER span of one dead letter sent to `events.dlq`, a child of its record's span.
    pub(crate) fn send_dead_letter(
        &self,
        tracer: &BoxedTracer,
        parent: &Context,
        reason: DlqReason,
    ) -> BoxedSpan {
        messaging::send(
            self.send_dlq.clone(),
            self.dlq_topic.clone(),
            [KeyValue::new(attr::PULSE_DLQ_REASON, reason.as_str())],
        )
        .start_with_context(tracer, parent)
    }

    /// The CLIENT span of one record's row insert; `batch_rows` is how many rows the statement
    /// wrote (events are written together).
    pub(crate) fn insert(
        &self,
        tracer: &BoxedTracer,
        parent: &Context,
        table: Table,
        batch_rows: Option<i64>,
    ) -> BoxedSpan {
        let (name, collection) = match table {
            Table::Events => (span::INSERT_EVENTS, "events"),
            Table::DeadLetters => (span::INSERT_DEAD_LETTERS, "dead_letters"),
        };
        let batch = batch_rows.map(|n| KeyValue::new(attr::MESSAGING_BATCH_MESSAGE_COUNT, n));
        pulse_otel::db::span(name, "INSERT", collection, batch).start_with_context(tracer, parent)
    }
}
