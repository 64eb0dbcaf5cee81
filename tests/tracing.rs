//! One connected trace per event in the real Jaeger: `POST /events` (pulse-ingest, SERVER) →
//! `send <raw topic>` (PRODUCER) → `process <raw topic>` (pulse-processor, CONSUMER) → the INSERT
//! or `send <dlq topic>`, with the messaging attributes and no payload, key or tenant data in it.
//! Also: after traffic, each service's `/metrics` has the named series.

mod support;

use std::time::Duration;

use pulse_core::{
    TenantStore,
    testkit::{self, TestDb},
};
use serde_json::Value;
use support::Service;

fn jaeger() -> String {
    std::env::var("PULSE_JAEGER_QUERY_URL").unwrap_or_else(|_| "http://127.0.0.1:16686".to_owned())
}

struct Span<'a> {
    raw: &'a Value,
    service: String,
}

impl Span<'_> {
    fn name(&self) -> &str {
        self.raw["operationName"].as_str().unwrap_or_default()
    }
    fn id(&self) -> &str {
        self.raw["spanID"].as_str().unwrap_or_default()
    }
    fn parent(&self) -> Option<&str> {
        self.raw["references"]
            .as_array()?
            .iter()
            .find(|r| r["refType"] == "CHILD_OF")
            .and_then(|r| r["spanID"].as_str())
    }
    fn tag(&self, key: &str) -> Option<String> {
        let tag = self.raw["tags"]
            .as_array()?
            .iter()
            .find(|t| t["key"] == key)?;
        Some(match &tag["value"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

fn spans(trace: &Value) -> Vec<Span<'_>> {
    let processes = &trace["processes"];
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|raw| Span {
            raw,
            service: processes[raw["processID"].as_str().unwrap()]["serviceName"]
                .as_str()
                .unwrap()
                .to_owned(),
        })
        .collect()
}

async fn trace_with(http: &reqwest::Client, trace_id: &str, wanted: &[&str]) -> Value {
    let url = format!("{}/api/traces/{trace_id}", jaeger());
    testkit::eventually(
        &format!("trace {trace_id} with {wanted:?}"),
        Duration::from_secs(30),
        || async {
            let v: Value = http.get(&url).send().await.ok()?.json().await.ok()?;
            let trace = v["data"].get(0)?.clone();
            let names: Vec<String> = spans(&trace).iter().map(|s| s.name().to_owned()).collect();
            wanted
                .iter()
                .all(|w| names.iter().any(|n| n == w))
                .then_some(trace)
        },
    )
    .await
}

/// The trace id stored with `event_id` in `table` (`events` or `dead_letters`), once it is there.
async fn stored_trace_id(db: &TestDb, table: &str, event_id: &str) -> String {
    let sql = match table {
        "events" => "select trace_id from events where event_id = $1::uuid",
        "dead_letters" => "select trace_id from dead_letters where event_id = $1::uuid",
        other => panic!("no trace ids in {other}"),
    };
    testkit::eventually(
        &format!("the {table} row"),
        Duration::from_secs(30),
        || async {
            sqlx::query_scalar::<_, Option<String>>(sql)
                .bind(event_id)
                .fetch_optional(&db.pool)
                .await
                .ok()
                .flatten()
                .flatten()
        },
    )
    .await
}

fn find<'a, 'b>(spans: &'b [Span<'a>], name: &str) -> &'b Span<'a> {
    spans
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_one_connected_trace_without_payload() {
    let db = TestDb::new().await;
    let raw = testkit::TestTopic::new("raw");
    let dlq = testkit::TestTopic::new("dlq");
    let group = testkit::unique("test-trace-");
    pulse_core::kafka::ensure_topics(&testkit::kafka_brokers(), &[(&raw, 6), (&dlq, 3)])
        .await
        .unwrap();
    let env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("PULSE_TOPIC_RAW", raw.to_string()),
        ("PULSE_TOPIC_DLQ", dlq.to_string()),
        ("PULSE_CONSUMER_GROUP", group.clone()),
        ("PULSE_REDIS_KEY_PREFIX", testkit::unique("test:")),
    ];
    let ingest = Service::start("ingest", &env);
    let processor = Service::start("processor", &env);
    ingest.ready().await;
    processor.ready().await;
    let (tenant, key) = TenantStore::new(db.pool.clone())
        .create(&testkit::unique("t-"), None)
        .await
        .unwrap();

    let http = reqwest::Client::new();
    let secret_value = testkit::unique("very-private-");
    let idempotency_key = testkit::unique("idem-secret-");
    let post = |body: String, idem: Option<String>| {
        let mut r = http
            .post(ingest.url("/events"))
            .header("x-api-key", key.expose())
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = idem {
            r = r.header("idempotency-key", k);
        }
        r.send()
    };

    // a valid event
    let r = post(
        format!(r#"{{"event_type":"order.created","payload":{{"card":"{secret_value}"}}}}"#),
        Some(idempotency_key.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    let header_trace = r.headers()["traceparent"]
        .to_str()
        .unwrap()
        .split('-')
        .nth(1)
        .unwrap()
        .to_owned();
    let event_id: String = r.json::<Value>().await.unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let trace_id = stored_trace_id(&db, "events", &event_id).await;
    assert_eq!(
        trace_id, header_trace,
        "the stored trace id is the one ingest answered with"
    );

    let send_name = format!("send {raw}");
    let process_name = format!("process {raw}");
    let trace = trace_with(
        &http,
        &trace_id,
        &["POST /events", &send_name, &process_name, "INSERT events"],
    )
    .await;
    let all = spans(&trace);
    let server = find(&all, "POST /events");
    let send = find(&all, &send_name);
    let process = find(&all, &process_name);
    let insert = find(&all, "INSERT events");
    assert_eq!(server.service, "pulse-ingest");
    assert_eq!(send.service, "pulse-ingest");
    assert_eq!(process.service, "pulse-processor");
    assert_eq!(insert.service, "pulse-processor");
    assert_eq!(server.tag("span.kind").as_deref(), Some("server"));
    assert_eq!(send.tag("span.kind").as_deref(), Some("producer"));
    assert_eq!(process.tag("span.kind").as_deref(), Some("consumer"));
    assert_eq!(insert.tag("span.kind").as_deref(), Some("client"));
    assert_eq!(send.parent(), Some(server.id()));
    assert_eq!(process.parent(), Some(send.id()));
    assert_eq!(insert.parent(), Some(process.id()));
    assert_eq!(server.tag("http.route").as_deref(), Some("/events"));
    assert_eq!(server.tag("http.request.method").as_deref(), Some("POST"));
    assert_eq!(server.tag("pulse.tenant.id"), Some(tenant.id.to_string()));
    assert_eq!(
        server.tag("http.response.status_code").as_deref(),
        Some("202")
    );
    for s in [send, process] {
        assert_eq!(s.tag("messaging.system").as_deref(), Some("kafka"));
        assert_eq!(
            s.tag("messaging.destination.name").as_deref(),
            Some(raw.name())
        );
        assert!(s.tag("messaging.destination.partition.id").is_some());
        assert!(s.tag("messaging.kafka.offset").is_some());
    }
    assert_eq!(
        send.tag("messaging.kafka.offset"),
        process.tag("messaging.kafka.offset")
    );
    assert_eq!(
        process.tag("messaging.consumer.group.name").as_deref(),
        Some(group.as_str())
    );
    assert_eq!(process.tag("pulse.tenant.id"), Some(tenant.id.to_string()));
    assert_eq!(
        process.tag("pulse.event.type").as_deref(),
        Some("order.created")
    );
    // the event id: `messaging.message.id` on both messaging spans, also `pulse.event.id` on ingest's
    assert_eq!(send.tag("pulse.event.id"), Some(event_id.clone()));
    assert_eq!(send.tag("messaging.message.id"), Some(event_id.clone()));
    assert_eq!(process.tag("messaging.message.id"), Some(event_id.clone()));
    let text = trace.to_string();
    for secret in [
        secret_value.as_str(),
        idempotency_key.as_str(),
        key.expose(),
        &key.expose()[3..20],
    ] {
        assert!(!text.contains(secret), "trace leaks {secret}");
    }

    // a dead-lettered event: the processor's span leads to the DLQ send
    let r = post(r#"{"payload":{}}"#.to_owned(), None).await.unwrap();
    assert_eq!(r.status(), 202);
    let dead_id: String = r.json::<Value>().await.unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dead_trace = stored_trace_id(&db, "dead_letters", &dead_id).await;
    let send_dlq = format!("send {dlq}");
    let trace = trace_with(
        &http,
        &dead_trace,
        &["POST /events", &process_name, &send_dlq],
    )
    .await;
    let all = spans(&trace);
    let process = find(&all, &process_name);
    let to_dlq = find(&all, &send_dlq);
    assert_eq!(to_dlq.parent(), Some(process.id()));
    assert_eq!(to_dlq.tag("span.kind").as_deref(), Some("producer"));
    assert_eq!(
        to_dlq.tag("messaging.destination.name").as_deref(),
        Some(dlq.name())
    );
    assert_eq!(
        process.tag("pulse.dlq.reason").as_deref(),
        Some("missing_field")
    );

    // RED metrics on every service
    let ingest_metrics = testkit::get_text(&ingest.url("/metrics")).await;
    for series in [
        "http_server_request_duration_seconds_bucket",
        "messaging_client_sent_messages_total",
        "pulse_events_ingested_total",
    ] {
        assert!(
            ingest_metrics.contains(series),
            "ingest /metrics lacks {series}"
        );
    }
    assert!(support::metric_sum(&ingest_metrics, "pulse_events_ingested_total") >= 2.0);
    let processor_metrics = testkit::get_text(&processor.url("/metrics")).await;
    for series in [
        "messaging_client_consumed_messages_total",
        "messaging_process_duration_seconds_bucket",
        "pulse_events_dead_lettered_total",
        "pulse_event_end_to_end_duration_seconds_bucket",
        "pulse_consumer_lag",
    ] {
        assert!(
            processor_metrics.contains(series),
            "processor /metrics lacks {series}"
        );
    }
    assert!(
        support::metric_sum(
            &processor_metrics,
            "messaging_client_consumed_messages_total"
        ) >= 2.0
    );
    assert!(processor_metrics.contains(r#"reason="missing_field""#));
}
