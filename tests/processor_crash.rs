//! A processor killed with SIGKILL in the middle of its work, then restarted, leaves every record
//! stored exactly once: offsets are committed only after the batch is durable, and redelivered
//! records cannot make a second row. The test proves the kill landed mid-stream (rows were durable
//! beyond the group's committed offsets, so Kafka must hand them out again) and that the second
//! processor did read them again.

mod support;

use std::time::Duration;

use chrono::Utc;
use pulse_core::{
    envelope::EventEnvelope,
    testkit::{self, TestDb},
};
use rdkafka::{
    TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
    producer::{FutureProducer, FutureRecord},
};
use serde_json::value::RawValue;
use support::Service;
use uuid::Uuid;

const RECORDS: i64 = 20_000;

async fn count(db: &TestDb) -> i64 {
    sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// The group's committed offsets on `topic`, summed over its partitions (a partition never
/// committed counts 0): how many records a restarted member will not be given again.
fn committed_total(brokers: &str, group: &str, topic: &str, partitions: i32) -> i64 {
    let consumer: BaseConsumer = pulse_core::kafka::client_config(brokers)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut wanted = TopicPartitionList::new();
    for p in 0..partitions {
        wanted.add_partition(topic, p);
    }
    consumer
        .committed_offsets(wanted, Duration::from_secs(10))
        .unwrap()
        .elements()
        .iter()
        .filter_map(|e| e.offset().to_raw())
        .filter(|o| *o >= 0)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_then_restart_stores_everything_once() {
    let db = TestDb::new().await;
    let raw = testkit::TestTopic::new("raw");
    let dlq = testkit::TestTopic::new("dlq");
    let brokers = testkit::kafka_brokers();
    const PARTITIONS: i32 = 6;
    pulse_core::kafka::ensure_topics(&brokers, &[(&raw, PARTITIONS), (&dlq, 3)])
        .await
        .unwrap();
    let tenant = Uuid::now_v7();

    let producer: FutureProducer = pulse_core::kafka::client_config(&brokers)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "100000")
        .create()
        .unwrap();
    let body = RawValue::from_string(r#"{"event_type":"crash.test","payload":{"n":1}}"#.to_owned())
        .unwrap();
    let mut deliveries = Vec::with_capacity(RECORDS as usize);
    for _ in 0..RECORDS {
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            tenant_id: tenant,
            received_at: Utc::now(),
            idempotency_key: None,
            body: &*body,
        };
        let value = serde_json::to_vec(&envelope).unwrap();
        let key = envelope.event_id.to_string();
        deliveries.push(
            producer
                .send_result(FutureRecord::to(&raw).key(&key).payload(&value))
                .map_err(|(e, _)| e)
                .unwrap(),
        );
    }
    for d in deliveries {
        d.await.unwrap().map_err(|(e, _)| e).unwrap();
    }

    let group = testkit::unique("test-crash-");
    let env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("KAFKA_BROKERS", brokers.clone()),
        ("PULSE_TOPIC_RAW", raw.to_string()),
        ("PULSE_TOPIC_DLQ", dlq.to_string()),
        ("PULSE_CONSUMER_GROUP", group.clone()),
        ("PULSE_BATCH_SIZE", "300".to_owned()),
        ("PULSE_KAFKA_SESSION_TIMEOUT_MS", "6000".to_owned()),
        ("OTEL_SDK_DISABLED", "true".to_owned()),
    ];
    let mut first = Service::start("processor", &env);
    testkit::eventually("the first rows", Duration::from_secs(60), || async {
        (count(&db).await > 0).then_some(())
    })
    .await;
    first.kill();
    let at_kill = count(&db).await;
    let committed_at_kill = committed_total(&brokers, &group, &raw, PARTITIONS);
    assert!(
        at_kill < RECORDS,
        "killed before the end ({at_kill} of {RECORDS} stored)"
    );
    // rows were durable that the group had not committed yet: a batch was in flight at the kill,
    // and Kafka will hand its records to the next member again
    assert!(
        committed_at_kill < at_kill,
        "durable beyond the committed offsets at the kill ({committed_at_kill} committed, {at_kill} stored)"
    );

    let mut second = Service::start("processor", &env);
    testkit::eventually(
        "every record durable and committed",
        Duration::from_secs(120),
        || async { (committed_total(&brokers, &group, &raw, PARTITIONS) >= RECORDS).then_some(()) },
    )
    .await;
    // the second processor read everything past the committed offsets, including the records the
    // first had already stored
    let consumed = second
        .metric_sum("messaging_client_consumed_messages_total")
        .await as i64;
    assert!(
        consumed >= RECORDS - committed_at_kill,
        "the second processor read the uncommitted records again ({consumed} read, {} expected)",
        RECORDS - committed_at_kill
    );
    assert!(
        consumed > RECORDS - at_kill,
        "some records stored before the kill were redelivered ({consumed} read, {} new)",
        RECORDS - at_kill
    );
    assert_eq!(count(&db).await, RECORDS, "each record stored once");
    let distinct_offsets: i64 =
        sqlx::query_scalar("select count(distinct (kafka_partition, kafka_offset)) from events")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(distinct_offsets, RECORDS, "every record is its own row");
    let dead: i64 = sqlx::query_scalar("select count(*) from dead_letters")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(dead, 0);
    assert!(
        second.terminate().is_some_and(|s| s.success()),
        "clean shutdown on SIGTERM"
    );
}
