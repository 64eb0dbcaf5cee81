//! A real processor on port 0 with its own database, topics and consumer group, and a producer
//! that writes envelopes the way ingest does.
#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use pulse_core::{
    TenantStore,
    envelope::{EventEnvelope, HEADER_EVENT_ID, HEADER_TENANT_ID},
    server::ShutdownTiming,
    testkit::{self, TestDb},
};
use rdkafka::{
    message::{Header, OwnedHeaders, OwnedMessage},
    producer::{FutureProducer, FutureRecord},
};
use serde_json::value::RawValue;
use uuid::Uuid;

pub const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A processor started in-process (see `testkit::Spawned`).
pub type Processor = testkit::Spawned;

pub struct Harness {
    pub db: TestDb,
    pub raw: testkit::TestTopic,
    pub dlq: testkit::TestTopic,
    pub group: String,
    pub producer: FutureProducer,
    pub tenants: TenantStore,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn new() -> Self {
        testkit::telemetry();
        let db = TestDb::new().await;
        let raw = testkit::TestTopic::new("raw");
        let dlq = testkit::TestTopic::new("dlq");
        pulse_core::kafka::ensure_topics(&testkit::kafka_brokers(), &[(&raw, 6), (&dlq, 3)])
            .await
            .unwrap();
        Self {
            tenants: TenantStore::new(db.pool.clone()),
            producer: pulse_core::kafka::client_config(&testkit::kafka_brokers())
                .set("acks", "all")
                .set("linger.ms", "5")
                .create()
                .unwrap(),
            db,
            raw,
            dlq,
            group: testkit::unique("test-group-"),
            http: reqwest::Client::new(),
        }
    }

    pub fn config(&self) -> pulse_processor::Config {
        let mut c = pulse_processor::Config::from_env().unwrap();
        c.infra = self.db.infra();
        c.raw_topic = self.raw.to_string();
        c.dlq_topic = self.dlq.to_string();
        c.group = self.group.clone();
        c.batch_size = 500;
        c.max_backoff = Duration::from_millis(500);
        c.session_timeout = Duration::from_secs(6);
        c.schema_cache_ttl = Duration::from_millis(200);
        c.shutdown = ShutdownTiming {
            grace: Duration::from_millis(100),
            drain: Duration::from_secs(10),
        };
        c
    }

    /// Starts a processor without waiting for readiness (some tests start one while its
    /// database is unreachable).
    pub async fn start(&self, config: pulse_processor::Config) -> Processor {
        testkit::Spawned::start_unready("processor", |listener, token| {
            pulse_processor::serve(config, listener, token)
        })
        .await
    }

    pub async fn tenant(&self) -> pulse_core::Tenant {
        self.tenants
            .create(&testkit::unique("t-"), None)
            .await
            .unwrap()
            .0
    }

    /// Produces an envelope like ingest does, with an idempotency key of its own; returns its
    /// event id.
    pub async fn send(&self, tenant: Uuid, body: &str) -> Uuid {
        let id = Uuid::now_v7();
        // one key per event: events sharing a key within its window are stored once
        self.send_with(tenant, id, Utc::now(), Some(&format!("idem-{id}")), body)
            .await;
        id
    }

    pub async fn send_with(
        &self,
        tenant: Uuid,
        event_id: Uuid,
        received_at: DateTime<Utc>,
        idem: Option<&str>,
        body: &str,
    ) {
        let key = event_id.to_string();
        self.send_keyed(tenant, event_id, received_at, idem, body, &key)
            .await;
    }

    /// [`Harness::send_with`] on the Kafka partition of `kafka_key` (records of one key are
    /// processed in order).
    pub async fn send_keyed(
        &self,
        tenant: Uuid,
        event_id: Uuid,
        received_at: DateTime<Utc>,
        idem: Option<&str>,
        body: &str,
        kafka_key: &str,
    ) {
        let raw = RawValue::from_string(body.to_owned()).expect("test bodies are JSON");
        let envelope = EventEnvelope {
            event_id,
            tenant_id: tenant,
            received_at,
            idempotency_key: idem.map(str::to_owned),
            body: &*raw,
        };
        let value = serde_json::to_vec(&envelope).unwrap();
        self.send_raw(&value, Some((tenant, event_id)), kafka_key)
            .await;
    }

    /// Produces arbitrary bytes (with Pulse's headers when `ids` is given).
    pub async fn send_raw(&self, value: &[u8], ids: Option<(Uuid, Uuid)>, key: &str) {
        let mut headers = OwnedHeaders::new().insert(Header {
            key: "traceparent",
            value: Some(TRACEPARENT),
        });
        if let Some((tenant, event)) = ids {
            headers = headers
                .insert(Header {
                    key: HEADER_TENANT_ID,
                    value: Some(&tenant.to_string()),
                })
                .insert(Header {
                    key: HEADER_EVENT_ID,
                    value: Some(&event.to_string()),
                });
        }
        self.producer
            .send(
                FutureRecord::to(&self.raw)
                    .key(key)
                    .payload(value)
                    .headers(headers),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("broker acknowledged");
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = match table {
            "events" => "select count(*) from events",
            "dead_letters" => "select count(*) from dead_letters",
            other => panic!("unknown table {other}"),
        };
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    pub async fn wait_for_count(&self, table: &str, n: i64, within: Duration) {
        testkit::eventually(&format!("{n} rows in {table}"), within, || async {
            (self.count(table).await >= n).then_some(())
        })
        .await;
        assert_eq!(self.count(table).await, n, "exactly {n} rows in {table}");
    }

    /// Every record on the harness DLQ topic (see `testkit::read_topic`).
    pub async fn dlq_records(&self) -> Vec<OwnedMessage> {
        testkit::read_topic(&self.dlq).await
    }
}
