//! Ingest's counters: what was accepted, deduplicated, rejected (by reason) and sent to Kafka.

use opentelemetry::{KeyValue, metrics::Counter};
use pulse_otel::names::{attr, metric};

pub struct IngestMetrics {
    ingested: Counter<u64>,
    deduplicated: Counter<u64>,
    rejected: Counter<u64>,
    sent: Counter<u64>,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl IngestMetrics {
    pub fn new() -> Self {
        let meter = pulse_otel::meter();
        Self {
            ingested: meter
                .u64_counter(metric::EVENTS_INGESTED)
                .with_description("Events acknowledged by Kafka and answered 202")
                .build(),
            deduplicated: meter
                .u64_counter(metric::EVENTS_DEDUPLICATED)
                .with_description("Events answered as duplicates of a completed idempotency key")
                .build(),
            rejected: meter
                .u64_counter(metric::EVENTS_REJECTED)
                .with_description("Events refused by ingest, by reason")
                .build(),
            sent: meter
                .u64_counter(metric::MESSAGING_CLIENT_SENT_MESSAGES)
                .with_description("Records the producer tried to send, by outcome")
                .build(),
        }
    }

    pub fn ingested(&self, n: u64) {
        self.ingested.add(n, &[]);
    }

    pub fn deduplicated(&self, n: u64) {
        self.deduplicated.add(n, &[]);
    }

    pub fn rejected(&self, reason: &'static str, n: u64) {
        self.rejected.add(n, &[KeyValue::new("reason", reason)]);
    }

    pub fn sent(&self, topic: &str, error: Option<&'static str>) {
        let mut attrs = vec![
            KeyValue::new(attr::MESSAGING_SYSTEM, "kafka"),
            KeyValue::new(attr::MESSAGING_OPERATION_NAME, "send"),
            KeyValue::new(attr::MESSAGING_DESTINATION_NAME, topic.to_owned()),
        ];
        if let Some(e) = error {
            attrs.push(KeyValue::new(attr::ERROR_TYPE, e));
        }
        self.sent.add(1, &attrs);
    }
}
