//! The processor when Kafka itself goes away (a private broker, SIGKILLed and restarted), and a
//! rebalance in the middle of a stream (two processors, one leaves): nothing dead-lettered for an
//! infrastructure failure, and every event stored exactly once.

#[path = "../processor/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use chrono::Utc;
use pulse_core::{
    envelope::EventEnvelope,
    testkit::{self, TestDb},
};
use pulse_loadtest::chaos::infra::PrivateKafka;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json, value::RawValue};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn count(db: &TestDb, table: &str) -> i64 {
    let sql = match table {
        "events" => "select count(*) from events",
        _ => "select count(*) from dead_letters",
    };
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

async fn wait_count(db: &TestDb, table: &str, n: i64, within: Duration) {
    testkit::eventually(&format!("{n} rows in {table}"), within, || async {
        (count(db, table).await >= n).then_some(())
    })
    .await;
    assert_eq!(count(db, table).await, n, "exactly {n} rows in {table}");
}

async fn readiness(http: &reqwest::Client, addr: std::net::SocketAddr) -> Option<String> {
    let r = http
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .ok()?;
    let v: Value = r.json().await.ok()?;
    v["status"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_down_dead_letters_nothing_and_the_processor_recovers() {
    const RECORDS: i64 = 30_000;
    const INVALID_EVERY: i64 = 20;
    testkit::telemetry();
    let root = pulse_loadtest::chaos::infra::repo_root()
        .join(".run/chaos")
        .join(testkit::unique("test-"));
    let mut kafka = PrivateKafka::start(&root).await.expect("a private Kafka");
    let db = TestDb::new().await;
    let tenant = pulse_core::TenantStore::new(db.pool.clone())
        .create(&testkit::unique("t-"), None)
        .await
        .unwrap()
        .0;
    pulse_core::kafka::ensure_topics(&kafka.brokers(), &[("events.raw", 6), ("events.dlq", 3)])
        .await
        .unwrap();
    // a backlog, one record in INVALID_EVERY without event_type: dead letters need Kafka (the
    // DLQ topic) as well as PostgreSQL
    let producer: FutureProducer = pulse_core::kafka::client_config(&kafka.brokers())
        .set("acks", "all")
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "100000")
        .create()
        .unwrap();
    let mut deliveries = Vec::with_capacity(RECORDS as usize);
    for i in 0..RECORDS {
        let body = if i % INVALID_EVERY == 0 {
            r#"{"payload":{}}"#
        } else {
            r#"{"event_type":"a","payload":{}}"#
        };
        let raw = RawValue::from_string(body.to_owned()).unwrap();
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            tenant_id: tenant.id,
            received_at: Utc::now(),
            idempotency_key: None,
            body: &*raw,
        };
        let value = serde_json::to_vec(&envelope).unwrap();
        let key = envelope.event_id.to_string();
        deliveries.push(
            producer
                .send_result(FutureRecord::to("events.raw").key(&key).payload(&value))
                .map_err(|(e, _)| e)
                .unwrap(),
        );
    }
    for d in deliveries {
        d.await.unwrap().map_err(|(e, _)| e).unwrap();
    }

    let mut config = pulse_processor::Config::from_env().unwrap();
    config.infra = db.infra();
    config.infra.kafka_brokers = kafka.brokers();
    config.raw_topic = "events.raw".to_owned();
    config.dlq_topic = "events.dlq".to_owned();
    config.group = testkit::unique("test-group-");
    config.batch_size = 100;
    config.max_backoff = Duration::from_millis(500);
    config.session_timeout = Duration::from_secs(6);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let handle = tokio::spawn(pulse_processor::serve(config, listener, token.clone()));
    let http = reqwest::Client::new();

    // mid-stream: the first dead letters are written, most are still to come
    testkit::eventually(
        "the first dead letters",
        Duration::from_secs(60),
        || async { (count(&db, "dead_letters").await > 0).then_some(()) },
    )
    .await;
    kafka.kill();
    let at_kill = count(&db, "dead_letters").await;
    assert!(
        at_kill < RECORDS / INVALID_EVERY,
        "killed mid-stream ({at_kill} dead letters written)"
    );
    testkit::eventually("readiness degraded", Duration::from_secs(30), || async {
        (readiness(&http, addr).await.as_deref() == Some("degraded")).then_some(())
    })
    .await;
    let alive = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200, "the process stays alive");

    kafka.restart().await.expect("the broker restarts");
    wait_count(
        &db,
        "events",
        RECORDS - RECORDS / INVALID_EVERY,
        Duration::from_secs(120),
    )
    .await;
    wait_count(
        &db,
        "dead_letters",
        RECORDS / INVALID_EVERY,
        Duration::from_secs(60),
    )
    .await;
    testkit::eventually("readiness back", Duration::from_secs(30), || async {
        (readiness(&http, addr).await.as_deref() == Some("ready")).then_some(())
    })
    .await;
    let reasons: Vec<String> = sqlx::query_scalar("select distinct reason from dead_letters")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        reasons,
        ["missing_field"],
        "only the data errors are dead letters"
    );

    token.cancel();
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("processor stops")
        .unwrap()
        .unwrap();
    drop(kafka);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_mid_stream_stores_every_event_exactly_once() {
    const EVENTS: usize = 3000;
    let h = common::Harness::new().await;
    let tenant = h.tenant().await;
    let a = h.start(h.config()).await;
    let b = h.start(h.config()).await;

    // a steady stream while the group changes under it
    let stream = {
        let producer = h.producer.clone();
        let raw = h.raw.to_string();
        tokio::spawn(async move {
            let mut ids = Vec::with_capacity(EVENTS);
            for i in 0..EVENTS {
                let body = json!({"event_type": "stream", "payload": {"i": i}}).to_string();
                let raw_body = RawValue::from_string(body).unwrap();
                let envelope = EventEnvelope {
                    event_id: Uuid::now_v7(),
                    tenant_id: tenant.id,
                    received_at: Utc::now(),
                    idempotency_key: None,
                    body: &*raw_body,
                };
                let value = serde_json::to_vec(&envelope).unwrap();
                let key = envelope.event_id.to_string();
                producer
                    .send(
                        FutureRecord::to(&raw).key(&key).payload(&value),
                        Duration::from_secs(10),
                    )
                    .await
                    .map_err(|(e, _)| e)
                    .unwrap();
                ids.push(envelope.event_id);
                if i % 100 == 99 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            ids
        })
    };
    testkit::eventually(
        "both processors storing",
        Duration::from_secs(60),
        || async { (h.count("events").await >= 500).then_some(()) },
    )
    .await;
    // one member leaves mid-stream: its partitions move to the other
    assert!(
        !stream.is_finished(),
        "the stream is still running when the member leaves"
    );
    b.stop().await;
    let ids = stream.await.unwrap();
    h.wait_for_count("events", EVENTS as i64, Duration::from_secs(90))
        .await;
    let stored: i64 =
        sqlx::query_scalar("select count(distinct event_id) from events where event_id = any($1)")
            .bind(&ids)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(stored, EVENTS as i64, "every sent event is stored once");
    assert_eq!(h.count("dead_letters").await, 0);
    a.stop().await;
}
