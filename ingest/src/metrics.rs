//! Ingest's counters: what was accepted, deduplicated, rejected (by reason) and sent to Kafka.

use opentelemetry::{KeyValue, metrics::Counter};
use pulse_otel::names::{attr, metric};

pub struct IngestMetrics {
    ingested: Counter<u64>,
    deduplicated: Counter<u64>,
    rejected: Counter<u64>,
    sent: Counter<u64>,
    /// The attributes of a successful send, built once (this is on every request's path).
    sent_ok: [KeyValue; 3],
}

impl IngestMetrics {
    pub fn new(topic: &str) -> Self {
        let meter = pulse_otel::meter();
        Self {
            sent_ok: [
                KeyValue::new(attr::MESSAGING_SYSTEM, "kafka"),
                KeyValue::new(attr::MESSAGING_OPERATION_NAME, "send"),
                KeyValue::new(attr::MESSAGING_DESTINATION_NAME, topic.to_owned()),
            ],
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

    /// One record sent (`error` is `None`) or not (with its `error.type`).
    pub fn sent(&self, error: Option<&'static str>) {
        match error {
            None => self.sent.add(1, &self.sent_ok),
            Some(e) => {
                let mut attrs = self.sent_ok.to_vec();
                attrs.push(KeyValue::new(attr::ERROR_TYPE, e));
                self.sent.add(1, &attrs);
            }
        }
    }
}
