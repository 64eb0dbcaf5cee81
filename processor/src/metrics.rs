//! The processor's RED metrics and consumer lag (per partition, in records and in seconds).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use opentelemetry::{
    KeyValue,
    metrics::{Counter, Histogram, ObservableGauge},
};
use pulse_core::envelope::DlqReason;
use pulse_otel::names::{attr, metric};

/// One partition's lag: records behind the high watermark, and the `received_at` of the last
/// record processed from it.
#[derive(Debug, Default, Clone, Copy)]
struct PartitionLag {
    records: i64,
    last_received_at: Option<DateTime<Utc>>,
}

/// Per-partition lag, fed by librdkafka statistics and by processed records.
#[derive(Default)]
pub struct Lag {
    partitions: Mutex<HashMap<i32, PartitionLag>>,
}

impl Lag {
    pub fn set_records(&self, partition: i32, lag: i64) {
        if let Ok(mut p) = self.partitions.lock() {
            p.entry(partition).or_default().records = lag.max(0);
        }
    }

    pub fn processed(&self, partition: i32, received_at: DateTime<Utc>) {
        if let Ok(mut p) = self.partitions.lock() {
            p.entry(partition).or_default().last_received_at = Some(received_at);
        }
    }

    /// (partition, records, seconds) for every partition seen.
    pub fn snapshot(&self) -> Vec<(i32, i64, f64)> {
        let now = Utc::now();
        self.partitions.lock().map_or_else(
            |_| Vec::new(),
            |p| {
                p.iter()
                    .map(|(&part, lag)| {
                        let secs = match lag.last_received_at {
                            Some(t) if lag.records > 0 => {
                                (now - t).num_milliseconds().max(0) as f64 / 1000.0
                            }
                            _ => 0.0,
                        };
                        (part, lag.records, secs)
                    })
                    .collect()
            },
        )
    }
}

pub struct ProcessorMetrics {
    consumed: Counter<u64>,
    process_duration: Histogram<f64>,
    stored: Counter<u64>,
    dead_lettered: Counter<u64>,
    end_to_end: Histogram<f64>,
    retries: Counter<u64>,
    stuck: Counter<u64>,
    refused: Counter<u64>,
    topic: String,
    group: String,
    _lag_records: ObservableGauge<i64>,
    _lag_seconds: ObservableGauge<f64>,
}

impl ProcessorMetrics {
    pub fn new(topic: &str, group: &str, lag: Arc<Lag>) -> Self {
        let meter = pulse_otel::meter();
        let lag_for_records = lag.clone();
        let topic_attr = topic.to_owned();
        let lag_records = meter
            .i64_observable_gauge(metric::CONSUMER_LAG_RECORDS)
            .with_description(
                "Records between the committed position and the end of each partition",
            )
            .with_callback(move |obs| {
                for (p, records, _) in lag_for_records.snapshot() {
                    obs.observe(
                        records,
                        &[
                            KeyValue::new(attr::MESSAGING_DESTINATION_NAME, topic_attr.clone()),
                            KeyValue::new(attr::MESSAGING_DESTINATION_PARTITION_ID, p.to_string()),
                        ],
                    );
                }
            })
            .build();
        let topic_attr = topic.to_owned();
        let lag_seconds = meter
            .f64_observable_gauge(metric::CONSUMER_LAG_SECONDS)
            .with_unit("s")
            .with_description(
                "Age of the last processed record of each partition that still has lag",
            )
            .with_callback(move |obs| {
                for (p, _, secs) in lag.snapshot() {
                    obs.observe(
                        secs,
                        &[
                            KeyValue::new(attr::MESSAGING_DESTINATION_NAME, topic_attr.clone()),
                            KeyValue::new(attr::MESSAGING_DESTINATION_PARTITION_ID, p.to_string()),
                        ],
                    );
                }
            })
            .build();
        Self {
            consumed: meter
                .u64_counter(metric::MESSAGING_CLIENT_CONSUMED_MESSAGES)
                .with_description("Records delivered to the processor")
                .build(),
            process_duration: meter
                .f64_histogram(metric::MESSAGING_PROCESS_DURATION)
                .with_unit("s")
                .with_description("Time to make one batch of records durable")
                .with_boundaries(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .build(),
            stored: meter
                .u64_counter(metric::EVENTS_STORED)
                .with_description("Events written to the events table (not counting redeliveries)")
                .build(),
            dead_lettered: meter
                .u64_counter(metric::EVENTS_DEAD_LETTERED)
                .with_description("Events dead-lettered, by reason")
                .build(),
            end_to_end: meter
                .f64_histogram(metric::EVENT_END_TO_END_LAG)
                .with_unit("s")
                .with_description("From ingest's receipt to the processor's commit")
                .with_boundaries(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ])
                .build(),
            retries: meter
                .u64_counter("pulse.processor.retries")
                .with_description("Batches retried because PostgreSQL or Kafka was unavailable")
                .build(),
            stuck: meter
                .u64_counter("pulse.processor.batches.stuck")
                .with_description(
                    "Batches that reached the stuck threshold of retries, by error class",
                )
                .build(),
            refused: meter
                .u64_counter("pulse.processor.records.refused")
                .with_description(
                    "Records PostgreSQL refused at write time (isolated from their batch and dead-lettered)",
                )
                .build(),
            topic: topic.to_owned(),
            group: group.to_owned(),
            _lag_records: lag_records,
            _lag_seconds: lag_seconds,
        }
    }

    fn messaging_attrs(&self) -> [KeyValue; 3] {
        [
            KeyValue::new(attr::MESSAGING_SYSTEM, "kafka"),
            KeyValue::new(attr::MESSAGING_DESTINATION_NAME, self.topic.clone()),
            KeyValue::new(attr::MESSAGING_CONSUMER_GROUP_NAME, self.group.clone()),
        ]
    }

    pub fn consumed(&self, n: u64) {
        self.consumed.add(n, &self.messaging_attrs());
    }

    pub fn batch_done(&self, seconds: f64, error: Option<&'static str>) {
        let mut attrs = self.messaging_attrs().to_vec();
        if let Some(e) = error {
            attrs.push(KeyValue::new(attr::ERROR_TYPE, e));
        }
        self.process_duration.record(seconds, &attrs);
    }

    pub fn stored(&self, n: u64) {
        self.stored.add(n, &[]);
    }

    pub fn dead_lettered(&self, reason: DlqReason) {
        self.dead_lettered
            .add(1, &[KeyValue::new("reason", reason.as_str())]);
    }

    pub fn end_to_end(&self, seconds: f64) {
        self.end_to_end.record(seconds, &[]);
    }

    pub fn retried(&self, cause: &'static str) {
        self.retries
            .add(1, &[KeyValue::new(attr::ERROR_TYPE, cause)]);
    }

    /// A batch has been retried `STUCK_AFTER` times: counted once per batch.
    pub fn stuck(&self, cause: &'static str) {
        self.stuck.add(1, &[KeyValue::new(attr::ERROR_TYPE, cause)]);
    }

    pub fn refused(&self, n: u64) {
        self.refused.add(n, &[]);
    }
}
