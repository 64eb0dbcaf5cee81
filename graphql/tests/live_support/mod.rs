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
    pub raw: testkit::TestTopic,
    pub dlq: testkit::TestTopic,
    pub group: String,
}

impl Topics {
    pub async fn new() -> Self {
        let topics = Self {
            raw: testkit::TestTopic::new("live-raw"),
            dlq: testkit::TestTopic::new("live-dlq"),
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
            raw_topic: self.raw.to_string(),
            dlq_topic: self.dlq.to_string(),
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

/// Writes an accepted event to `topic` as ingest does (keyed by its event id); returns its id.
pub async fn produce_event(
    producer: &FutureProducer,
    topic: &str,
    tenant: Uuid,
    event_type: &str,
    payload: serde_json::Value,
) -> Uuid {
    produce_keyed(producer, topic, None, tenant, event_type, payload).await
}

/// [`produce_event`] with a partition key (records with the same key are read in order).
pub async fn produce_keyed(
    producer: &FutureProducer,
    topic: &str,
    partition_key: Option<&str>,
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
    let id = event_id.to_string();
    let key = partition_key.unwrap_or(&id);
    let headers = record_headers(&tenant.to_string(), &id).insert(rdkafka::message::Header {
        key: "traceparent",
        value: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    });
    producer
        .send(
            FutureRecord::to(topic)
                .key(key)
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

/// The admin token of the test services.
pub const ADMIN_TOKEN: &str = "live-test-admin-token-0123456789";

/// A `pulse graphql` service in-process on port 0, on a test's database and topics.
pub struct Service {
    pub addr: std::net::SocketAddr,
    spawned: testkit::Spawned,
}

impl Service {
    pub async fn start(
        db: &testkit::TestDb,
        topics: &Topics,
        tweak: impl FnOnce(&mut pulse_graphql::Config),
    ) -> Self {
        let mut config =
            pulse_graphql::Config::new(db.infra(), pulse_core::Secret::new(ADMIN_TOKEN));
        config.raw_topic = topics.raw.to_string();
        config.live = topics.config();
        config.shutdown.grace = Duration::ZERO;
        config.shutdown.drain = Duration::from_secs(2);
        tweak(&mut config);
        let spawned = testkit::Spawned::start("graphql", |listener, token| {
            pulse_graphql::serve(config, listener, token)
        })
        .await;
        Self {
            addr: spawned.addr,
            spawned,
        }
    }

    /// Stops the service and checks it shut down cleanly and in time.
    pub async fn stop(self) {
        self.spawned.stop().await;
    }

    /// `query` over HTTP with `auth` as (header, value); the whole response.
    pub async fn query(
        &self,
        auth: Option<(&str, &str)>,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        let mut request = reqwest::Client::new()
            .post(format!("http://{}/graphql", self.addr))
            .json(&serde_json::json!({"query": query, "variables": variables}));
        if let Some((name, value)) = auth {
            request = request.header(name, value);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    pub async fn ws(&self, protocol: &str) -> Ws {
        Ws::connect(self.addr, protocol).await
    }
}

/// `Authorization: Bearer <admin token>`.
pub fn admin() -> Option<(&'static str, String)> {
    Some(("authorization", format!("Bearer {ADMIN_TOKEN}")))
}

/// A new tenant: its id and API key.
pub async fn tenant(db: &testkit::TestDb) -> (Uuid, String) {
    let (t, key) = pulse_core::TenantStore::new(db.pool.clone())
        .create(&testkit::unique("live-tenant-"), None)
        .await
        .unwrap();
    (t.id, key.expose().to_owned())
}

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A GraphQL WebSocket client speaking either subprotocol.
pub struct Ws {
    socket: Socket,
    legacy: bool,
}

/// What the server said next.
#[derive(Debug)]
pub enum Said {
    Json(serde_json::Value),
    Closed(Option<u16>),
}

impl Ws {
    pub async fn connect(addr: std::net::SocketAddr, protocol: &str) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol,
            "the server speaks the protocol asked for"
        );
        Self {
            socket,
            legacy: protocol == LEGACY_WS,
        }
    }

    pub async fn send(&mut self, message: serde_json::Value) {
        use futures::SinkExt as _;
        use tokio_tungstenite::tungstenite::Message;
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// The next JSON message or the close, skipping pings and keep-alives.
    pub async fn said(&mut self) -> Said {
        tokio::time::timeout(Duration::from_secs(20), self.said_eventually())
            .await
            .expect("the server says something within 20 s")
    }

    async fn said_eventually(&mut self) -> Said {
        use futures::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let next = self.socket.next().await;
            match next {
                None | Some(Err(_)) => return Said::Closed(None),
                Some(Ok(Message::Close(frame))) => {
                    return Said::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(Message::Text(text))) => {
                    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                    if matches!(value["type"].as_str(), Some("ka" | "ping" | "pong")) {
                        continue;
                    }
                    return Said::Json(value);
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next JSON message; panics on a close.
    pub async fn json(&mut self) -> serde_json::Value {
        match self.said().await {
            Said::Json(v) => v,
            Said::Closed(code) => panic!("closed ({code:?}) where a message was expected"),
        }
    }

    /// The close code, skipping any message before it.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            if let Said::Closed(code) = self.said().await {
                return code;
            }
        }
    }

    /// `connection_init` with `payload`; the server's answer.
    pub async fn init(&mut self, payload: serde_json::Value) -> Said {
        self.send(serde_json::json!({"type": "connection_init", "payload": payload}))
            .await;
        self.said().await
    }

    /// `connection_init` that must be acknowledged.
    pub async fn init_ok(&mut self, payload: serde_json::Value) {
        match self.init(payload).await {
            Said::Json(v) if v["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: serde_json::Value) {
        let kind = if self.legacy { "start" } else { "subscribe" };
        let payload = serde_json::json!({"query": query, "variables": variables});
        self.send(serde_json::json!({"type": kind, "id": id, "payload": payload}))
            .await;
    }

    /// The next result of subscription `id` (`{data, errors}`); panics on anything else but
    /// another subscription's results, which are skipped.
    pub async fn next_result(&mut self, id: &str) -> serde_json::Value {
        tokio::time::timeout(Duration::from_secs(20), self.result_eventually(id))
            .await
            .unwrap_or_else(|_| panic!("subscription {id}: nothing within 20 s"))
    }

    /// Like [`Ws::next_result`] without a time limit (for a reader whose caller waits with one).
    pub async fn result_eventually(&mut self, id: &str) -> serde_json::Value {
        loop {
            let message = match self.said_eventually().await {
                Said::Json(v) => v,
                Said::Closed(code) => panic!("closed ({code:?}) where a result was expected"),
            };
            let kind = message["type"].as_str().unwrap_or_default();
            if message["id"] != id {
                continue;
            }
            match kind {
                "next" | "data" => return message["payload"].clone(),
                "error" => return serde_json::json!({"errors": message["payload"]}),
                _ => panic!("subscription {id}: unexpected {message}"),
            }
        }
    }

    /// Like [`Ws::next_result`] with a time limit; `None` when nothing came.
    pub async fn next_result_within(
        &mut self,
        id: &str,
        limit: Duration,
    ) -> Option<serde_json::Value> {
        tokio::time::timeout(limit, self.result_eventually(id))
            .await
            .ok()
    }
}
