//! Shared by the live tests: their own topics and consumer group, and records written the way
//! ingest and the processor write them.
#![allow(dead_code)]

use std::time::Duration;

use chrono::Utc;
use pulse_core::{
    envelope::{DlqReason, DlqRecord, EventEnvelope, FieldError, SourcePosition, record_headers},
    testkit,
};
use pulse_graphql::live::LiveConfig;
use rdkafka::{
    ClientConfig, Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer},
    producer::{FutureProducer, FutureRecord},
};
use uuid::Uuid;

pub const RAW_PARTITIONS: i32 = 3;

/// A test's own topics and processor group.
pub struct Topics {
    pub raw: String,
    pub dlq: String,
    pub group: String,
}

impl Topics {
    pub async fn new() -> Self {
        let topics = Self {
            raw: testkit::unique("live-raw-"),
            dlq: testkit::unique("live-dlq-"),
            group: testkit::unique("live-group-"),
        };
        pulse_core::kafka::ensure_topics(
            &testkit::kafka_brokers(),
            &[(&topics.raw, RAW_PARTITIONS), (&topics.dlq, 1)],
        )
        .await
        .expect("test topics");
        topics
    }

    /// Live settings on these topics, sampling and writing history every 200 ms.
    pub fn config(&self) -> LiveConfig {
        LiveConfig {
            raw_topic: self.raw.clone(),
            dlq_topic: self.dlq.clone(),
            group: self.group.clone(),
            sample_every: Duration::from_millis(200),
            history_every: Duration::from_millis(200),
            ..LiveConfig::new(testkit::kafka_brokers())
        }
    }

    /// Commits, as the processor group, every partition's end offset (what a processor that
    /// caught up does).
    pub fn commit_all_as_group(&self) {
        let consumer: BaseConsumer = client()
            .set("group.id", &self.group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut list = TopicPartitionList::new();
        for p in 0..RAW_PARTITIONS {
            let (_, high) = consumer
                .fetch_watermarks(&self.raw, p, Duration::from_secs(10))
                .unwrap();
            list.add_partition_offset(&self.raw, p, Offset::Offset(high))
                .unwrap();
        }
        consumer.commit(&list, CommitMode::Sync).unwrap();
    }
}

pub fn client() -> ClientConfig {
    pulse_core::kafka::client_config(&testkit::kafka_brokers())
}

pub fn producer() -> FutureProducer {
    client()
        .set("acks", "all")
        .set("linger.ms", "0")
        .create()
        .unwrap()
}

/// Writes an accepted event to `topic` as ingest does; returns its event id.
pub async fn produce_event(
    producer: &FutureProducer,
    topic: &str,
    tenant: Uuid,
    event_type: &str,
    payload: serde_json::Value,
) -> Uuid {
    let event_id = Uuid::now_v7();
    let envelope = EventEnvelope {
        event_id,
        tenant_id: tenant,
        received_at: Utc::now(),
        idempotency_key: None,
        body: serde_json::json!({"event_type": event_type, "payload": payload}),
    };
    let value = serde_json::to_vec(&envelope).unwrap();
    let key = event_id.to_string();
    let headers = record_headers(&tenant.to_string(), &key).insert(rdkafka::message::Header {
        key: "traceparent",
        value: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    });
    producer
        .send(
            FutureRecord::to(topic)
                .key(&key)
                .payload(&value)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("the broker acknowledges");
    event_id
}

/// Writes a dead letter to `topic` as the processor does; returns its event id.
pub async fn produce_dead_letter(
    producer: &FutureProducer,
    topic: &str,
    tenant: Uuid,
    reason: DlqReason,
) -> Uuid {
    let event_id = Uuid::now_v7();
    let record = DlqRecord {
        event_id,
        tenant_id: tenant,
        received_at: Some(Utc::now()),
        failed_at: Utc::now(),
        reason,
        errors: vec![FieldError {
            path: "/event_type".into(),
            message: "is required".into(),
        }],
        body: serde_json::json!({"payload": {}}),
        source: SourcePosition {
            topic: "events.raw".into(),
            partition: 0,
            offset: 7,
        },
        attempts: 1,
        trace_id: None,
    };
    let value = serde_json::to_vec(&record).unwrap();
    let key = event_id.to_string();
    producer
        .send(
            FutureRecord::to(topic).key(&key).payload(&value),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("the broker acknowledges");
    event_id
}
