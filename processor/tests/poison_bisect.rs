//! A refused record in a large batch is found by bisection. Alone in its test binary: it checks a
//! process-wide counter that no other test may bump.

mod common;

use std::time::Duration;

use common::Harness;
use pulse_core::testkit;
use uuid::Uuid;

const GOOD: &str = r#"{"event_type":"order.created","payload":{"n":1}}"#;

#[tokio::test]
async fn a_refused_record_found_by_bisection_in_a_large_batch() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    let mut good = 0;
    let mut bad = Vec::new();
    for i in 0..400 {
        if i == 17 || i == 301 {
            bad.push(
                h.send(tenant.id, r#"{"event_type":"a","payload":{"n":1e200000}}"#)
                    .await,
            );
        } else {
            h.send(tenant.id, GOOD).await;
            good += 1;
        }
    }
    let p = h.start(h.config()).await;
    h.wait_for_count("events", good, Duration::from_secs(60))
        .await;
    h.wait_for_count("dead_letters", 2, Duration::from_secs(30))
        .await;
    let refused: Vec<Uuid> = sqlx::query_scalar(
        "select event_id from dead_letters where reason = 'invalid_value' order by event_id",
    )
    .fetch_all(&h.db.pool)
    .await
    .unwrap();
    bad.sort();
    assert_eq!(refused, bad);
    let metrics = testkit::get_text(&p.url("/metrics")).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pulse_processor_records_refused") && l.ends_with(" 2")),
        "two refused records counted:\n{}",
        metrics
            .lines()
            .filter(|l| l.contains("refused"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    p.stop().await;
}
