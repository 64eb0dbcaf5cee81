//! The API test harness: a fresh database, the service in-process on port 0 with its own admin
//! token, replay topic and live topics, and helpers to call it as admin, tenant or nobody.
#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use pulse_core::{Secret, TenantStore, testkit};
use serde_json::{Value, json};
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Who calls.
#[derive(Clone, Debug)]
pub enum As {
    Nobody,
    Admin,
    Tenant(String),
}

pub struct Api {
    service: testkit::Spawned,
    pub db: testkit::TestDb,
    pub http: reqwest::Client,
    /// Where replays go; the live topics are only held to be deleted with the harness.
    pub raw_topic: testkit::TestTopic,
    _live_topics: [testkit::TestTopic; 2],
}

impl Api {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut pulse_graphql::Config)) -> Self {
        let db = testkit::TestDb::new().await;
        let raw_topic = testkit::TestTopic::new("api-raw");
        let live_raw = testkit::TestTopic::new("api-live-raw");
        let live_dlq = testkit::TestTopic::new("api-live-dlq");
        pulse_core::kafka::ensure_topics(
            &testkit::kafka_brokers(),
            &[(&raw_topic, 1), (&live_raw, 1), (&live_dlq, 1)],
        )
        .await
        .expect("test topics");
        let mut config = pulse_graphql::Config::new(db.infra(), Secret::new(ADMIN_TOKEN));
        config.raw_topic = raw_topic.to_string();
        config.live.raw_topic = live_raw.to_string();
        config.live.dlq_topic = live_dlq.to_string();
        config.live.group = testkit::unique("api-group-");
        config.shutdown.grace = Duration::ZERO;
        config.shutdown.drain = Duration::from_secs(2);
        tweak(&mut config);
        let service = testkit::Spawned::start("graphql", |listener, token| {
            pulse_graphql::serve(config, listener, token)
        })
        .await;
        Self {
            service,
            db,
            http: reqwest::Client::new(),
            raw_topic,
            _live_topics: [live_raw, live_dlq],
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.service.addr
    }

    pub fn url(&self, path: &str) -> String {
        self.service.url(path)
    }

    /// POSTs one operation; returns the HTTP status and the JSON body.
    pub async fn call(&self, who: &As, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        request = match who {
            As::Nobody => request,
            As::Admin => request.bearer_auth(ADMIN_TOKEN),
            As::Tenant(key) => request.header("X-API-Key", key),
        };
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Runs an operation that must succeed; returns `data`.
    pub async fn ok(&self, who: &As, query: &str, variables: Value) -> Value {
        let (status, body) = self.call(who, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }

    /// Runs an operation that must fail; returns the first error's `extensions.code`.
    pub async fn error_code(&self, who: &As, query: &str, variables: Value) -> String {
        let (_, body) = self.call(who, query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{query}: expected an error, got {body}"))
            .to_owned()
    }

    /// A new tenant and its key.
    pub async fn tenant(&self) -> (pulse_core::Tenant, String) {
        let (t, key) = TenantStore::new(self.db.pool.clone())
            .create(&testkit::unique("t-"), None)
            .await
            .unwrap();
        (t, key.expose().to_owned())
    }

    /// Inserts a stored event.
    pub async fn insert_event(
        &self,
        tenant: Uuid,
        event_type: &str,
        received_at: DateTime<Utc>,
        idempotency_key: Option<&str>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into events (tenant_id, event_id, event_type, occurred_at, received_at, \
             source, idempotency_key, payload, trace_id, kafka_partition, kafka_offset) \
             values ($1, $2, $3, $4, $4, 'test', $5, '{\"n\":1}', \
             '0af7651916cd43dd8448eb211c80319c', 2, 42)",
        )
        .bind(tenant)
        .bind(id)
        .bind(event_type)
        .bind(received_at)
        .bind(idempotency_key)
        .execute(&self.db.pool)
        .await
        .unwrap();
        id
    }

    /// Inserts a pending dead letter with `reason` failing at `path`.
    pub async fn insert_dead_letter(
        &self,
        tenant: Uuid,
        reason: &str,
        path: &str,
        body: Value,
    ) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into dead_letters (tenant_id, event_id, reason, errors, body, \
             idempotency_key, received_at, source_topic, source_partition, source_offset) \
             values ($1, $2, $3, $4, $5, 'idem-dl', now(), 'events.raw', 1, 7)",
        )
        .bind(tenant)
        .bind(id)
        .bind(reason)
        .bind(json!([{ "path": path, "message": "bad" }]))
        .bind(body)
        .execute(&self.db.pool)
        .await
        .unwrap();
        id
    }

    pub async fn audit_rows(&self, action: &str) -> Vec<(String, String, Value)> {
        sqlx::query_as(
            "select actor, result, arguments from audit_log where action = $1 order by at",
        )
        .bind(action)
        .fetch_all(&self.db.pool)
        .await
        .unwrap()
    }

    /// Stops the service and checks it shut down cleanly and in time.
    pub async fn stop(self) {
        self.service.stop().await;
    }
}
