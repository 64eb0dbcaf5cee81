//! Bodies that are valid JSON but that PostgreSQL cannot store as they are (numbers past
//! `numeric`'s range, a lone UTF-16 surrogate, NUL escapes, nesting past `jsonb`'s depth) and
//! other odd but valid ones (duplicate keys, huge integers), written to Kafka the way ingest does:
//! each one ends up stored or dead-lettered exactly once, and the processor is not stuck on them
//! (a valid event sent after them is stored).

#[path = "../processor/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use pulse_core::testkit;
use uuid::Uuid;

const HOSTILE: [&str; 9] = [
    r#"{"event_type":"a","payload":{"n":1e999999}}"#,
    r#"{"event_type":"a","payload":{"n":-1e999999}}"#,
    r#"{"event_type":"a","payload":{"n":1e-999999}}"#,
    r#"{"event_type":"a","payload":{"n":123456789012345678901234567890123456789}}"#,
    r#"{"event_type":"a","payload":{"s":"\ud800"}}"#,
    r#"{"event_type":"a","payload":{"s":"\udc00\ud800"}}"#,
    r#"{"event_type":"a","payload":{"s":"nul \u0000 here"}}"#,
    r#"{"event_type":"a","event_type":"b","payload":{}}"#,
    r#"{"event_type":"a","payload":{"k":1,"k":2}}"#,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unstorable_bodies_are_dead_lettered_and_do_not_block_the_stream() {
    let h = common::Harness::new().await;
    let tenant = h.tenant().await;
    let deep = format!(
        r#"{{"event_type":"a","payload":{{"x":{}1{}}}}}"#,
        "[".repeat(300),
        "]".repeat(300)
    );
    let mut ids: Vec<(Uuid, String)> = Vec::new();
    for body in HOSTILE.iter().map(|s| s.to_string()).chain([deep]) {
        ids.push((h.send(tenant.id, &body).await, body));
    }
    let after = h
        .send(tenant.id, r#"{"event_type":"after","payload":{}}"#)
        .await;
    let p = h.start(h.config()).await;

    let all: Vec<Uuid> = ids.iter().map(|(id, _)| *id).chain([after]).collect();
    let placed = |id: Uuid| {
        let pool = h.db.pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "select (select count(*) from events where event_id = $1) \
                 + (select count(*) from dead_letters where event_id = $1)",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
            n
        }
    };
    testkit::eventually(
        "every hostile record stored or dead-lettered",
        Duration::from_secs(60),
        || async {
            for id in &all {
                if placed(*id).await == 0 {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    for (id, body) in &ids {
        assert_eq!(placed(*id).await, 1, "exactly one row for {body}");
    }
    assert_eq!(placed(after).await, 1, "the event after them is stored");
    let retries = testkit::get_text(&p.url("/metrics")).await;
    let retried: f64 = retries
        .lines()
        .filter(|l| l.starts_with("pulse_processor_retries"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(retried, 0.0, "no data error was retried as an outage");
    p.stop().await;
}
