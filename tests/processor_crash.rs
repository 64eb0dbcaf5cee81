//! A processor killed with SIGKILL in the middle of its work, then restarted, leaves every record
//! stored exactly once: offsets are committed only after the batch is durable, and redelivered
//! records cannot make a second row.

mod support;

use std::time::Duration;

use chrono::Utc;
use pulse_core::{
    envelope::EventEnvelope,
    testkit::{self, TestDb},
};
use rdkafka::producer::{FutureProducer, FutureRecord};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_then_restart_stores_everything_once() {
    let db = TestDb::new().await;
    let raw = testkit::unique("test.raw.");
    let dlq = testkit::unique("test.dlq.");
    let brokers = testkit::kafka_brokers();
    pulse_core::kafka::ensure_topics(&brokers, &[(&raw, 6), (&dlq, 3)])
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

    let env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("KAFKA_BROKERS", brokers.clone()),
        ("PULSE_TOPIC_RAW", raw.clone()),
        ("PULSE_TOPIC_DLQ", dlq.clone()),
        ("PULSE_CONSUMER_GROUP", testkit::unique("test-crash-")),
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
    assert!(
        at_kill < RECORDS,
        "killed before the end ({at_kill} of {RECORDS} stored)"
    );

    let mut second = Service::start("processor", &env);
    testkit::eventually("every record stored", Duration::from_secs(120), || async {
        (count(&db).await >= RECORDS).then_some(())
    })
    .await;
    // let any redelivered tail settle, then check nothing was stored twice or lost
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count(&db).await, RECORDS);
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
