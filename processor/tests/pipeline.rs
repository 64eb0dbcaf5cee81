//! The processor against the real Kafka and PostgreSQL: rows, dead letters, redeliveries, two
//! processors, an unavailable database, schemas and replay.
//!
//! (Its size: one file is one test binary, and every binary is another link of the whole
//! dependency tree on CI's two cores; the tests share one harness and read best together.)

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{Harness, TRACEPARENT};
use pulse_core::admin::{
    dead_letters::{self as dlq, DeadLetterFilter, ReplayEdit, Replayer},
    schemas,
};
use pulse_core::testkit::{self, CuttableProxy};
use rdkafka::{Message, consumer::Consumer as _};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn a_valid_event_becomes_one_row_with_every_field() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let tenant = h.tenant().await;
    let received: DateTime<Utc> = "2026-11-27T08:00:00.123456Z".parse().unwrap();
    let id = Uuid::now_v7();
    h.send_with(
        tenant.id,
        id,
        received,
        Some("order-7"),
        r#"{"event_type":"order.created","payload":{"order_id":"o-7","amount":42.5},"occurred_at":"2026-11-27T07:59:00Z","source":"checkout","partition_key":"o-7"}"#,
    )
    .await;
    let other = h
        .send(tenant.id, r#"{"event_type":"a","payload":{}}"#)
        .await;
    // whitespace, escapes and backslashes survive the COPY text format untouched
    let tricky = h
        .send(
            tenant.id,
            "{\n\t\"event_type\": \"a\",\r\n \"payload\": {\"s\": \"tab\\there \\\\N back\\nslash\",\n\t\"u\": \"\u{e9} \u{2713}\"},\n \"source\": \"we\\tird\\\\src\"}",
        )
        .await;
    h.wait_for_count("events", 3, Duration::from_secs(30)).await;

    #[derive(sqlx::FromRow)]
    struct Row {
        tenant_id: Uuid,
        event_type: String,
        occurred_at: DateTime<Utc>,
        received_at: DateTime<Utc>,
        processed_at: DateTime<Utc>,
        source: Option<String>,
        idempotency_key: Option<String>,
        payload: Value,
        trace_id: Option<String>,
        kafka_partition: i32,
        kafka_offset: i64,
    }
    let row: Row = sqlx::query_as("select * from events where event_id = $1")
        .bind(id)
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(row.tenant_id, tenant.id);
    assert_eq!(row.event_type, "order.created");
    assert_eq!(
        row.occurred_at,
        "2026-11-27T07:59:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(row.received_at, received);
    assert!(row.processed_at > received);
    assert_eq!(row.source.as_deref(), Some("checkout"));
    assert_eq!(row.idempotency_key.as_deref(), Some("order-7"));
    assert_eq!(row.payload, json!({"order_id": "o-7", "amount": 42.5}));
    assert_eq!(
        row.trace_id.as_deref(),
        TRACEPARENT.split('-').nth(1),
        "trace id from the record's traceparent"
    );
    assert!((0..6).contains(&row.kafka_partition));
    assert!(row.kafka_offset >= 0);

    // occurred_at defaults to received_at
    let (occurred, received): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("select occurred_at, received_at from events where event_id = $1")
            .bind(other)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(occurred, received);
    let (payload, source): (Value, Option<String>) =
        sqlx::query_as("select payload, source from events where event_id = $1")
            .bind(tricky)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(
        payload,
        json!({"s": "tab\there \\N back\nslash", "u": "\u{e9} \u{2713}"})
    );
    assert_eq!(source.as_deref(), Some("we\tird\\src"));
    assert_eq!(h.count("dead_letters").await, 0);

    let metrics = testkit::get_text(&p.url("/metrics")).await;
    for series in [
        "messaging_client_consumed_messages",
        "messaging_process_duration",
        "pulse_events_stored",
    ] {
        assert!(metrics.contains(series), "{series} missing from /metrics");
    }
    p.stop().await;
}

#[tokio::test]
async fn each_invalid_class_is_dead_lettered_once_with_reason_and_paths() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let tenant = h.tenant().await;
    let cases = [
        (r#"{"payload":{}}"#, "missing_field", "/event_type"),
        (
            r#"{"event_type":"a","payload":"nope"}"#,
            "invalid_type",
            "/payload",
        ),
        (
            r#"{"event_type":"has space","payload":{}}"#,
            "invalid_value",
            "/event_type",
        ),
        (
            r#"{"event_type":"a","payload":{},"occurred_at":"2999-01-01T00:00:00Z"}"#,
            "invalid_value",
            "/occurred_at",
        ),
    ];
    let mut ids = Vec::new();
    for (body, _, _) in cases {
        ids.push(h.send(tenant.id, body).await);
    }
    // a record that is not an envelope at all, with Pulse's headers
    let malformed_id = Uuid::now_v7();
    h.send_raw(b"\x00\x01 not json", Some((tenant.id, malformed_id)), "x")
        .await;

    h.wait_for_count("dead_letters", 5, Duration::from_secs(30))
        .await;
    assert_eq!(h.count("events").await, 0);
    for (id, (body, reason, path)) in ids.iter().zip(cases) {
        let (r, errors, stored_body, attempts, trace): (String, Value, Value, i32, Option<String>) = sqlx::query_as(
            "select reason, errors, body, attempts, trace_id from dead_letters where event_id = $1",
        )
        .bind(id)
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
        assert_eq!(r, reason, "{body}");
        assert_eq!(errors[0]["path"], path, "{body}");
        assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(stored_body, serde_json::from_str::<Value>(body).unwrap());
        assert_eq!(attempts, 1);
        assert_eq!(trace.as_deref(), TRACEPARENT.split('-').nth(1));
    }
    let (reason, tenant_id): (String, Uuid) =
        sqlx::query_as("select reason, tenant_id from dead_letters where event_id = $1")
            .bind(malformed_id)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(reason, "malformed_envelope");
    assert_eq!(tenant_id, tenant.id, "tenant taken from the record header");

    let records = h.dlq_records().await;
    assert_eq!(records.len(), 5, "one DLQ record per dead letter");
    for m in &records {
        let v: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        for field in [
            "event_id",
            "tenant_id",
            "failed_at",
            "reason",
            "errors",
            "body",
            "source",
            "attempts",
            "trace_id",
        ] {
            assert!(v.get(field).is_some(), "DLQ record lacks {field}: {v}");
        }
        assert_eq!(v["source"]["topic"], h.raw.name());
        assert_eq!(v["attempts"], 1);
    }
    let metrics = testkit::get_text(&p.url("/metrics")).await;
    assert!(
        metrics.contains("pulse_events_dead_lettered"),
        "dead letters counted"
    );
    p.stop().await;
}

#[tokio::test]
async fn redelivered_records_leave_one_row_and_two_processors_share_the_work() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    let a = h.start(h.config()).await;
    let b = h.start(h.config()).await;
    // both are members of the group with partitions of their own before anything is sent, so
    // both do part of the work
    let consumer: rdkafka::consumer::BaseConsumer =
        pulse_core::kafka::client_config(&testkit::kafka_brokers())
            .create()
            .unwrap();
    testkit::eventually(
        "two members sharing the partitions",
        Duration::from_secs(60),
        || async {
            let groups = consumer
                .fetch_group_list(Some(&h.group), Duration::from_secs(5))
                .ok()?;
            let group = groups.groups().first()?;
            let sharing = group.state() == "Stable"
                && group.members().len() == 2
                && group
                    .members()
                    .iter()
                    .all(|m| m.assignment().is_some_and(|a| assigned_partitions(a) > 0));
            sharing.then_some(())
        },
    )
    .await;
    for i in 0..1500 {
        let body = if i % 50 == 0 {
            json!({"payload": {"i": i}}).to_string()
        } else {
            json!({"event_type": "bulk", "payload": {"i": i}}).to_string()
        };
        h.send(tenant.id, &body).await;
    }
    h.wait_for_count("events", 1470, Duration::from_secs(60))
        .await;
    h.wait_for_count("dead_letters", 30, Duration::from_secs(30))
        .await;
    a.stop().await;
    b.stop().await;

    // a new consumer group reads every record again: still one row each, no new attempts; the
    // rows deleted here come back (a batch mixing stored and new rows)
    let deleted = sqlx::query(
        "delete from events where event_id in (select event_id from events order by event_id limit 100)",
    )
    .execute(&h.db.pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(deleted, 100);
    let mut again = h.config();
    let regroup = testkit::unique("test-regroup-");
    again.group = regroup.clone();
    let c = h.start(again).await;
    testkit::eventually(
        "the second pass to finish",
        Duration::from_secs(60),
        || async {
            let r = h
                .http
                .get(c.url("/metrics"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            // all 1500 records consumed by the redelivery pass as well
            let consumed: f64 = r
                .lines()
                .filter(|l| {
                    l.starts_with("messaging_client_consumed_messages")
                        && l.contains(regroup.as_str())
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            (consumed >= 1500.0).then_some(())
        },
    )
    .await;
    // consumed is counted before a batch is written; a graceful stop finishes the writes
    c.stop().await;
    assert_eq!(h.count("events").await, 1470);
    assert_eq!(h.count("dead_letters").await, 30);
    let max_attempts: i32 = sqlx::query_scalar("select max(attempts) from dead_letters")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(max_attempts, 1, "a redelivery is not a new attempt");
}

#[tokio::test]
async fn database_outage_dead_letters_nothing_and_recovers() {
    let h = Harness::new().await;
    let target = "127.0.0.1:5432".parse().unwrap();
    let proxy = CuttableProxy::start(target).await;
    let mut config = h.config();
    let url = h.db.url.replace("127.0.0.1:5432", &proxy.addr.to_string());
    assert_ne!(url, h.db.url, "test database url points at 127.0.0.1:5432");
    config.infra.database_url = pulse_core::Secret::new(url);
    let tenant = h.tenant().await;
    proxy.cut();
    let p = h.start(config).await;

    h.send(tenant.id, r#"{"event_type":"a","payload":{}}"#)
        .await;
    h.send(tenant.id, r#"{"payload":{}}"#).await;
    let reason = testkit::eventually("readiness degraded", Duration::from_secs(30), || async {
        let r = h.http.get(p.url("/readyz")).send().await.ok()?;
        let v: Value = r.json().await.ok()?;
        (v["status"] == "degraded").then(|| v["reason"].as_str().unwrap_or_default().to_owned())
    })
    .await;
    assert!(
        reason.contains("database_unavailable"),
        "readiness says why: {reason}"
    );
    // several retries have failed (not a fixed sleep): still nothing written or dead-lettered
    testkit::eventually("three retries", Duration::from_secs(30), || async {
        let r = h.http.get(p.url("/readyz")).send().await.ok()?;
        let v: Value = r.json().await.ok()?;
        let attempt: u32 = v["reason"]
            .as_str()?
            .rsplit_once("attempt ")?
            .1
            .trim_end_matches(')')
            .parse()
            .ok()?;
        (attempt >= 3).then_some(())
    })
    .await;
    assert_eq!(h.count("events").await, 0);
    assert_eq!(h.count("dead_letters").await, 0);
    let dlq = h.dlq_records().await;
    assert!(dlq.is_empty(), "nothing dead-lettered during the outage");

    proxy.restore();
    h.wait_for_count("events", 1, Duration::from_secs(30)).await;
    h.wait_for_count("dead_letters", 1, Duration::from_secs(30))
        .await;
    testkit::eventually("readiness back", Duration::from_secs(10), || async {
        let r = h.http.get(p.url("/readyz")).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    p.stop().await;
}

#[tokio::test]
async fn schema_violation_is_dead_lettered_and_replay_after_relaxing_stores_it_once() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let tenant = h.tenant().await;
    let strict = json!({"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number", "minimum": 0}}});
    schemas::set(&h.db.pool, &tenant.name, "order.paid", &strict)
        .await
        .unwrap();

    let good = h
        .send(
            tenant.id,
            r#"{"event_type":"order.paid","payload":{"amount":5}}"#,
        )
        .await;
    let bad = h
        .send(
            tenant.id,
            r#"{"event_type":"order.paid","payload":{"amount":-1,"note":"x"}}"#,
        )
        .await;
    h.wait_for_count("events", 1, Duration::from_secs(30)).await;
    h.wait_for_count("dead_letters", 1, Duration::from_secs(30))
        .await;
    let (reason, errors): (String, Value) =
        sqlx::query_as("select reason, errors from dead_letters where event_id = $1")
            .bind(bad)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(reason, "schema_violation");
    assert_eq!(errors[0]["path"], "/payload/amount");
    let stored: i64 = sqlx::query_scalar("select count(*) from events where event_id = $1")
        .bind(good)
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);

    let relaxed = json!({"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}});
    schemas::set(&h.db.pool, &tenant.name, "order.paid", &relaxed)
        .await
        .unwrap();
    // let the processor's schema cache (200 ms in tests) expire
    tokio::time::sleep(Duration::from_millis(400)).await;

    let producer = Replayer::new(&testkit::kafka_brokers(), &h.raw).unwrap();
    let filter = DeadLetterFilter {
        tenant_name: Some(tenant.name.clone()),
        ..DeadLetterFilter::default()
    };
    let none = ReplayEdit::default();
    let dry = dlq::replay(&h.db.pool, &producer, &filter, &none, true)
        .await
        .unwrap();
    assert_eq!((dry.selected, dry.replayed), (1, 0));
    let report = dlq::replay(&h.db.pool, &producer, &filter, &none, false)
        .await
        .unwrap();
    assert_eq!((report.selected, report.replayed), (1, 1));
    assert_eq!(report.event_ids, [bad]);
    h.wait_for_count("events", 2, Duration::from_secs(30)).await;
    let status: String = sqlx::query_scalar("select status from dead_letters where event_id = $1")
        .bind(bad)
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "replayed");

    // replaying again does nothing; the event stays stored once
    let again = dlq::replay(&h.db.pool, &producer, &filter, &none, false)
        .await
        .unwrap();
    assert_eq!((again.selected, again.replayed), (0, 0));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.count("events").await, 2);
    p.stop().await;
}

#[tokio::test]
async fn replay_with_a_corrected_body_keeps_the_event_id() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let tenant = h.tenant().await;
    let bad = h
        .send(tenant.id, r#"{"event_type":"a","payload":[1]}"#)
        .await;
    h.wait_for_count("dead_letters", 1, Duration::from_secs(30))
        .await;

    let producer = Replayer::new(&testkit::kafka_brokers(), &h.raw).unwrap();
    let filter = DeadLetterFilter {
        event_ids: Some(vec![bad]),
        ..DeadLetterFilter::default()
    };
    let fixed = json!({"event_type": "a", "payload": {"items": [1]}});
    let with_body = |body: Value| ReplayEdit {
        body: Some(body),
        patch: None,
    };
    let report = dlq::replay(
        &h.db.pool,
        &producer,
        &filter,
        &with_body(fixed.clone()),
        false,
    )
    .await
    .unwrap();
    assert_eq!(report.replayed, 1);
    h.wait_for_count("events", 1, Duration::from_secs(30)).await;
    let (tenant_id, payload): (Uuid, Value) =
        sqlx::query_as("select tenant_id, payload from events where event_id = $1")
            .bind(bad)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(tenant_id, tenant.id);
    assert_eq!(payload, json!({"items": [1]}));

    // a corrected body must be an object, and only goes with one id
    let not_object = dlq::replay(
        &h.db.pool,
        &producer,
        &filter,
        &with_body(json!([1])),
        false,
    )
    .await;
    assert!(not_object.is_err());
    let by_tenant = DeadLetterFilter {
        tenant_name: Some(tenant.name.clone()),
        ..DeadLetterFilter::default()
    };
    assert!(
        dlq::replay(&h.db.pool, &producer, &by_tenant, &with_body(fixed), false)
            .await
            .is_err()
    );
    p.stop().await;
}

#[tokio::test]
async fn batches_never_exceed_the_batch_size() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    // a backlog, one writer: records pile up while each batch is written, and the next batch must
    // still take at most batch_size of them
    for i in 0..400 {
        h.send(
            tenant.id,
            &json!({"event_type": "bulk", "payload": {"i": i}}).to_string(),
        )
        .await;
    }
    let mut config = h.config();
    config.batch_size = 20;
    config.writers = 1;
    let p = h.start(config).await;
    h.wait_for_count("events", 400, Duration::from_secs(60))
        .await;
    // the rows of one COPY share its processed_at: each group is one batch's rows
    let (batches, largest): (i64, i64) = sqlx::query_as(
        "select count(*), max(n) from (select count(*) as n from events group by processed_at) b",
    )
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert!(largest <= 20, "a batch of {largest} rows");
    assert!(batches >= 20, "{batches} batches for 400 records");
    p.stop().await;
}

#[tokio::test]
async fn a_batch_larger_than_a_copy_chunk_arrives_whole() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    // 400 events of ~1.2 KB, each with text COPY must escape: the batch is sent to PostgreSQL
    // in several pieces, and rows near each piece's end must neither be lost nor repeated
    let text = |i: usize| format!("{i}\t\\ \n{}", "é.".repeat(400));
    for i in 0..400 {
        h.send(
            tenant.id,
            &json!({"event_type": "bulk", "payload": {"i": i, "text": text(i)}}).to_string(),
        )
        .await;
    }
    let mut config = h.config();
    config.writers = 1;
    // the backlog is already there: one batch takes all of it
    config.batch_wait = Duration::from_secs(2);
    let p = h.start(config).await;
    h.wait_for_count("events", 400, Duration::from_secs(60))
        .await;
    p.stop().await;
    let payloads: Vec<Value> =
        sqlx::query_scalar("select payload from events order by (payload->>'i')::int")
            .fetch_all(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(payloads.len(), 400);
    for (i, payload) in payloads.iter().enumerate() {
        assert_eq!(payload, &json!({"i": i, "text": text(i)}));
    }
}

/// How many partitions a consumer-protocol member assignment holds (version, then per topic its
/// name and its partition ids; Kafka's `ConsumerProtocolAssignment`).
fn assigned_partitions(assignment: &[u8]) -> usize {
    let i16_at = |at: usize| {
        assignment
            .get(at..at + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]) as usize)
    };
    let i32_at = |at: usize| {
        assignment
            .get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]).max(0) as usize)
    };
    let mut at = 2;
    let Some(topics) = i32_at(at) else { return 0 };
    at += 4;
    let mut total = 0;
    for _ in 0..topics {
        let Some(name_len) = i16_at(at) else {
            return total;
        };
        at += 2 + name_len;
        let Some(partitions) = i32_at(at) else {
            return total;
        };
        at += 4 + 4 * partitions;
        total += partitions;
    }
    total
}
