//! Records PostgreSQL refuses at write time (poison records) are isolated from their batch and
//! dead-lettered; every other record of the batch is stored once and the pipeline carries on.

mod common;

use std::{collections::HashSet, time::Duration};

use common::Harness;
use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
use pulse_core::testkit;
use serde_json::Value;
use uuid::Uuid;

/// Bodies ingest accepts as JSON but PostgreSQL's `jsonb` (or the processor's own defence)
/// refuses, with what the dead letter must say.
fn poison_bodies() -> Vec<(&'static str, String, &'static str)> {
    let deep_objects = format!(
        r#"{{"event_type":"a","payload":{}1{}}}"#,
        r#"{"a":"#.repeat(50_000),
        "}".repeat(50_000)
    );
    let deep_arrays = format!(
        r#"{{"event_type":"a","payload":{{"a":{}{}}}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    vec![
        ("deep objects", deep_objects, "nests deeper"),
        ("deep arrays", deep_arrays, "nests deeper"),
        (
            "numeric overflow",
            r#"{"event_type":"a","payload":{"n":1e999999}}"#.to_owned(),
            "numeric range",
        ),
        (
            "NUL in a key",
            r#"{"event_type":"a","payload":{"k\u0000":1}}"#.to_owned(),
            "NUL",
        ),
        (
            "NUL in a string",
            r#"{"event_type":"a","payload":{"k":"a\u0000b"}}"#.to_owned(),
            "NUL",
        ),
        (
            "lone surrogate",
            r#"{"event_type":"a","payload":{"k":"\ud800"}}"#.to_owned(),
            "not valid JSON for jsonb",
        ),
    ]
}

const GOOD: &str = r#"{"event_type":"order.created","payload":{"n":1}}"#;

async fn readiness(h: &Harness, p: &common::Processor) -> Value {
    h.http
        .get(p.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_refused_class_is_dead_lettered_and_the_rest_of_its_batch_stored_once() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    // everything is on the topic before the processor starts, so it all arrives in one batch
    let mut good = Vec::new();
    let mut poison = Vec::new();
    for (name, body, message) in poison_bodies() {
        good.push(h.send(tenant.id, GOOD).await);
        poison.push((h.send(tenant.id, &body).await, name, body, message));
        good.push(h.send(tenant.id, GOOD).await);
    }
    let p = h.start(h.config()).await;

    h.wait_for_count("events", good.len() as i64, Duration::from_secs(60))
        .await;
    h.wait_for_count("dead_letters", poison.len() as i64, Duration::from_secs(30))
        .await;
    for id in &good {
        let n: i64 = sqlx::query_scalar("select count(*) from events where event_id = $1")
            .bind(id)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "good event {id} stored once");
    }
    for (id, name, body, message) in &poison {
        let (reason, errors, json_body_null, text_body, as_text): (
            String,
            Value,
            bool,
            Option<String>,
            bool,
        ) = sqlx::query_as(
            "select reason, errors, body is null, body_text, body_stored_as_text from dead_letters where event_id = $1",
        )
        .bind(id)
        .fetch_one(&h.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{name}: no dead letter ({e})"));
        assert_eq!(reason, "invalid_value", "{name}");
        assert_eq!(errors[0]["path"], "/payload", "{name}");
        let said = errors[0]["message"].as_str().unwrap();
        assert!(said.contains(message), "{name}: {said}");
        assert!(
            !said.contains("999999"),
            "{name}: the message quotes the value: {said}"
        );
        // jsonb refuses every one of these bodies too: the exact text is kept instead
        assert!(as_text, "{name}: body kept as text");
        assert!(json_body_null, "{name}");
        assert_eq!(
            text_body.as_deref(),
            Some(body.as_str()),
            "{name}: body kept verbatim"
        );
    }
    let dlq = h.dlq_records().await;
    assert_eq!(
        dlq.len(),
        poison.len(),
        "one events.dlq record per poison record"
    );

    // the per-minute counts agree with the rows
    let (stored, dead): (i64, i64) = sqlx::query_as(
        "select coalesce(sum(stored), 0)::int8, coalesce(sum(dead_lettered), 0)::int8 from event_counts_minute where tenant_id = $1",
    )
    .bind(tenant.id)
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert_eq!((stored, dead), (good.len() as i64, poison.len() as i64));

    // and the pipeline carries on: a normal event afterwards is stored promptly, readiness is ready
    let after = h.send(tenant.id, GOOD).await;
    testkit::eventually("the next event stored", Duration::from_secs(5), || async {
        let n: i64 = sqlx::query_scalar("select count(*) from events where event_id = $1")
            .bind(after)
            .fetch_one(&h.db.pool)
            .await
            .ok()?;
        (n == 1).then_some(())
    })
    .await;
    assert_eq!(readiness(&h, &p).await["status"], "ready");
    p.stop().await;
}

/// What to send at one position of a generated stream.
#[derive(Debug, Clone)]
enum Item {
    Good,
    Poison(usize),
}

fn stream() -> impl Strategy<Value = Vec<Item>> {
    let kinds = poison_bodies().len();
    prop::collection::vec(
        prop_oneof![4 => Just(Item::Good), 1 => (0..kinds).prop_map(Item::Poison)],
        20..60,
    )
}

/// Random streams of good and poison records: every record ends up exactly once, a good one in
/// `events` and a poison one in `dead_letters`.
#[tokio::test]
async fn random_poison_in_a_stream_reconciles_every_record() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let bodies = poison_bodies();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 4,
        ..ProptestConfig::default()
    });
    let mut cases = Vec::new();
    for _ in 0..4 {
        cases.push(stream().new_tree(&mut runner).unwrap().current());
    }
    let mut expected_good = HashSet::new();
    let mut expected_dead = HashSet::new();
    for items in cases {
        let tenant = h.tenant().await;
        for item in items {
            match item {
                Item::Good => {
                    expected_good.insert(h.send(tenant.id, GOOD).await);
                }
                Item::Poison(k) => {
                    expected_dead.insert(h.send(tenant.id, &bodies[k].1).await);
                }
            }
        }
    }
    h.wait_for_count(
        "events",
        expected_good.len() as i64,
        Duration::from_secs(60),
    )
    .await;
    h.wait_for_count(
        "dead_letters",
        expected_dead.len() as i64,
        Duration::from_secs(30),
    )
    .await;
    let stored: HashSet<Uuid> = sqlx::query_scalar("select event_id from events")
        .fetch_all(&h.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let dead: HashSet<Uuid> = sqlx::query_scalar("select event_id from dead_letters")
        .fetch_all(&h.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(stored, expected_good);
    assert_eq!(dead, expected_dead);
    p.stop().await;
}

#[tokio::test]
async fn an_envelope_whose_idempotency_key_postgresql_refuses_is_dead_lettered() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    // ingest never sends such a key (1 to 255 visible ASCII characters); a hand-made record can
    let hostile = Uuid::now_v7();
    h.send_with(
        tenant.id,
        hostile,
        chrono::Utc::now(),
        Some("a\u{0}b"),
        GOOD,
    )
    .await;
    let good = h.send(tenant.id, GOOD).await;
    let _p = h.start(h.config()).await;

    h.wait_for_count("events", 1, Duration::from_secs(60)).await;
    h.wait_for_count("dead_letters", 1, Duration::from_secs(30))
        .await;
    let stored: Uuid = sqlx::query_scalar("select event_id from events")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, good);
    let (id, reason): (Uuid, String) = sqlx::query_as("select event_id, reason from dead_letters")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(id, hostile);
    assert_eq!(reason, "malformed_envelope");
}
