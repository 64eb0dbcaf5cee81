//! A real ingest on port 0 with its own database, topic and Redis prefix.
#![allow(dead_code)]

use std::time::Duration;

use pulse_core::{
    Secret, TenantStore,
    server::ShutdownTiming,
    testkit::{self, TestDb},
};
use rdkafka::{Message, message::OwnedMessage};

/// An ingest service started in-process (see `testkit::Spawned`).
pub type Ingest = testkit::Spawned;

pub struct Harness {
    pub db: TestDb,
    pub topic: testkit::TestTopic,
    pub prefix: String,
    pub tenants: TenantStore,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn new() -> Self {
        testkit::telemetry();
        let db = TestDb::new().await;
        let topic = testkit::TestTopic::new("raw");
        pulse_core::kafka::ensure_topics(&testkit::kafka_brokers(), &[(&topic, 6)])
            .await
            .unwrap();
        Self {
            tenants: TenantStore::new(db.pool.clone()),
            db,
            topic,
            prefix: testkit::unique("test:"),
            http: reqwest::Client::new(),
        }
    }

    pub fn config(&self) -> pulse_ingest::Config {
        let mut c = pulse_ingest::Config::from_env().unwrap();
        c.infra = self.db.infra();
        c.raw_topic = self.topic.to_string();
        c.redis_prefix = self.prefix.clone();
        c.create_topics = false;
        c.auth_cache_ttl = Duration::from_millis(300);
        c.auth_negative_ttl = Duration::from_millis(300);
        c.max_body_bytes = 4096;
        c.max_batch_bytes = 64 * 1024;
        c.max_batch_events = 10;
        c.shutdown = ShutdownTiming {
            grace: Duration::from_millis(100),
            drain: Duration::from_secs(8),
        };
        c
    }

    pub async fn start(&self, config: pulse_ingest::Config) -> Ingest {
        testkit::Spawned::start("ingest", |listener, token| {
            pulse_ingest::serve(config, listener, token)
        })
        .await
    }

    pub async fn tenant(&self, rate_limit_per_minute: i32) -> (pulse_core::Tenant, Secret) {
        self.tenants
            .create(&testkit::unique("t-"), Some(rate_limit_per_minute))
            .await
            .unwrap()
    }

    pub fn post(&self, ingest: &Ingest, key: &Secret, body: &str) -> reqwest::RequestBuilder {
        self.http
            .post(ingest.url("/events"))
            .header("x-api-key", key.expose())
            .header("content-type", "application/json")
            .body(body.to_owned())
    }

    /// Every record on the harness topic (see `testkit::read_topic`).
    pub async fn records(&self) -> Vec<OwnedMessage> {
        testkit::read_topic(&self.topic).await
    }

    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(testkit::redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

pub fn header<'a>(m: &'a OwnedMessage, key: &str) -> Option<&'a str> {
    use rdkafka::message::Headers;
    m.headers()?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

pub fn payload_json(m: &OwnedMessage) -> serde_json::Value {
    serde_json::from_slice(m.payload().unwrap()).unwrap()
}
