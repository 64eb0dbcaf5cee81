//! The processor's durable idempotency check (behind ingest's Redis): two events with one
//! `(tenant, idempotency key)` within the key's window are stored once, the other recorded as an
//! alias; a redelivery stays a redelivery; tenants, windows and poison rows are respected.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::Harness;
use pulse_core::testkit;
use uuid::Uuid;

const GOOD: &str = r#"{"event_type":"order.created","payload":{"n":1}}"#;
/// `jsonb` refuses the number: the row is found by bisection and dead-lettered.
const POISON: &str = r#"{"event_type":"a","payload":{"n":1e200000}}"#;
/// No `event_type`: dead-lettered by validation.
const INVALID: &str = r#"{"payload":{}}"#;

/// `(event_id, original_event_id)` of every alias, sorted.
async fn aliases(h: &Harness) -> Vec<(Uuid, Uuid)> {
    sqlx::query_as("select event_id, original_event_id from event_aliases order by event_id")
        .fetch_all(&h.db.pool)
        .await
        .unwrap()
}

async fn events_of(h: &Harness, tenant: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar("select event_id from events where tenant_id = $1 order by event_id")
        .bind(tenant)
        .fetch_all(&h.db.pool)
        .await
        .unwrap()
}

async fn wait_aliases(h: &Harness, n: usize) -> Vec<(Uuid, Uuid)> {
    testkit::eventually(&format!("{n} aliases"), Duration::from_secs(30), || async {
        (aliases(h).await.len() >= n).then_some(())
    })
    .await;
    let a = aliases(h).await;
    assert_eq!(a.len(), n, "exactly {n} aliases: {a:?}");
    a
}

/// What `event_counts_minute` says was stored (summed over its shards).
async fn counted_stored(h: &Harness) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>("select sum(stored)::int8 from event_counts_minute")
        .fetch_one(&h.db.pool)
        .await
        .unwrap()
        .unwrap_or(0)
}

/// Sends a record behind `after` on its Kafka partition and waits until it is stored: then
/// everything sent before it on that partition has been processed.
async fn barrier(h: &Harness, tenant: Uuid, kafka_key: &str) {
    let id = Uuid::now_v7();
    h.send_keyed(tenant, id, Utc::now(), None, GOOD, kafka_key)
        .await;
    testkit::eventually("the barrier stored", Duration::from_secs(30), || async {
        events_of(h, tenant).await.contains(&id).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_retried_key_with_a_new_event_id_is_stored_once_and_recorded_as_an_alias() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let tenant = h.tenant().await;
    let first = Uuid::now_v7();
    h.send_keyed(tenant.id, first, Utc::now(), Some("order-1"), GOOD, "a")
        .await;
    h.wait_for_count("events", 1, Duration::from_secs(30)).await;

    // ingest lost the key (Redis emptied) and gave the retry a new event id
    let retry = Uuid::now_v7();
    h.send_keyed(tenant.id, retry, Utc::now(), Some("order-1"), GOOD, "b")
        .await;
    assert_eq!(wait_aliases(&h, 1).await, vec![(retry, first)]);
    assert_eq!(events_of(&h, tenant.id).await, vec![first]);
    assert_eq!(
        counted_stored(&h).await,
        1,
        "an alias is not counted as stored"
    );
    let holder: Uuid = sqlx::query_scalar(
        "select event_id from idempotency_keys where tenant_id = $1 and idempotency_key = 'order-1'",
    )
    .bind(tenant.id)
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert_eq!(holder, first);
    // the id the retry was acknowledged with leads to the event it duplicates (GraphQL `event`)
    let looked_up = pulse_core::admin::events::lookup(&h.db.pool, Some(tenant.id), retry)
        .await
        .unwrap()
        .expect("the alias id is found");
    assert_eq!(looked_up.stored.map(|e| e.event_id), Some(first));
    // and by its key there is one event
    let by_key =
        pulse_core::admin::events::by_idempotency_key(&h.db.pool, Some(tenant.id), "order-1")
            .await
            .unwrap();
    assert_eq!(by_key.len(), 1);

    // and the alias redelivered stays one alias
    h.send_keyed(tenant.id, retry, Utc::now(), Some("order-1"), GOOD, "b")
        .await;
    barrier(&h, tenant.id, "b").await;
    assert_eq!(aliases(&h).await, vec![(retry, first)]);
    assert_eq!(
        h.count("events").await,
        2,
        "the first event and the barrier"
    );
    p.stop().await;
}

#[tokio::test]
async fn a_redelivered_event_id_is_one_row_and_no_alias() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let tenant = h.tenant().await;
    let id = Uuid::now_v7();
    let at = Utc::now();
    h.send_keyed(tenant.id, id, at, Some("k"), GOOD, "k").await;
    h.wait_for_count("events", 1, Duration::from_secs(30)).await;
    // a redelivery: the very same record again (a crash before the offset was committed)
    h.send_keyed(tenant.id, id, at, Some("k"), GOOD, "k").await;
    barrier(&h, tenant.id, "k").await;
    assert_eq!(
        h.count("events").await,
        2,
        "the event once, and the barrier"
    );
    assert!(aliases(&h).await.is_empty());
    assert_eq!(counted_stored(&h).await, 2);
    p.stop().await;
}

#[tokio::test]
async fn one_key_in_two_tenants_is_two_events() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let a = h.tenant().await;
    let b = h.tenant().await;
    let (ea, eb) = (Uuid::now_v7(), Uuid::now_v7());
    h.send_keyed(a.id, ea, Utc::now(), Some("same"), GOOD, "x")
        .await;
    h.send_keyed(b.id, eb, Utc::now(), Some("same"), GOOD, "x")
        .await;
    h.wait_for_count("events", 2, Duration::from_secs(30)).await;
    assert_eq!(events_of(&h, a.id).await, vec![ea]);
    assert_eq!(events_of(&h, b.id).await, vec![eb]);
    assert!(aliases(&h).await.is_empty());
    p.stop().await;
}

#[tokio::test]
async fn a_key_past_its_window_is_a_new_event_and_takes_the_key_over() {
    let h = Harness::new().await;
    let p = h.start(h.config()).await;
    let tenant = h.tenant().await;
    sqlx::query("update tenants set idempotency_ttl_seconds = 60 where id = $1")
        .bind(tenant.id)
        .execute(&h.db.pool)
        .await
        .unwrap();
    let old = Uuid::now_v7();
    let now = Utc::now();
    h.send_keyed(
        tenant.id,
        old,
        now - chrono::Duration::seconds(61),
        Some("k"),
        GOOD,
        "k",
    )
    .await;
    h.wait_for_count("events", 1, Duration::from_secs(30)).await;
    let new = Uuid::now_v7();
    h.send_keyed(tenant.id, new, now, Some("k"), GOOD, "k")
        .await;
    h.wait_for_count("events", 2, Duration::from_secs(30)).await;
    let holder: (Uuid, DateTime<Utc>) = sqlx::query_as(
        "select event_id, expires_at from idempotency_keys where tenant_id = $1 and idempotency_key = 'k'",
    )
    .bind(tenant.id)
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert_eq!(holder.0, new);
    assert_eq!(
        holder.1.timestamp_micros(),
        (now + chrono::Duration::seconds(60)).timestamp_micros()
    );

    // a retry inside the new window is a duplicate of the new event; the old one redelivered
    // (outside that window) is still itself, not an alias
    let retry = Uuid::now_v7();
    h.send_keyed(
        tenant.id,
        retry,
        now + chrono::Duration::seconds(5),
        Some("k"),
        GOOD,
        "k",
    )
    .await;
    h.send_keyed(
        tenant.id,
        old,
        now - chrono::Duration::seconds(61),
        Some("k"),
        GOOD,
        "k",
    )
    .await;
    barrier(&h, tenant.id, "k").await;
    assert_eq!(aliases(&h).await, vec![(retry, new)]);
    assert_eq!(h.count("events").await, 3, "old, new and the barrier");
    p.stop().await;
}

#[tokio::test]
async fn keys_are_claimed_right_when_a_poison_row_is_bisected_out_of_the_batch() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    let t = tenant.id;
    let at = Utc::now();
    let later = at + chrono::Duration::seconds(1);
    // everything is on the topic before the processor starts, so it arrives in few batches;
    // each pair is an original and a retry ingest gave a new event id
    let (g1, g2) = (Uuid::now_v7(), Uuid::now_v7());
    let (p1, p2) = (Uuid::now_v7(), Uuid::now_v7());
    let (d1, d2) = (Uuid::now_v7(), Uuid::now_v7());
    let mut fillers = Vec::new();
    for i in 0..40 {
        let id = Uuid::now_v7();
        let key = format!("filler-{i}");
        h.send_keyed(t, id, at, Some(&key), GOOD, &key).await;
        fillers.push(id);
        match i {
            10 => h.send_keyed(t, g1, at, Some("good"), GOOD, "g1").await,
            15 => h.send_keyed(t, p1, at, Some("poison"), POISON, "p1").await,
            20 => {
                h.send_keyed(t, d1, at, Some("invalid"), INVALID, "d1")
                    .await
            }
            25 => {
                h.send_keyed(t, p2, later, Some("poison"), POISON, "p2")
                    .await
            }
            30 => h.send_keyed(t, g2, later, Some("good"), GOOD, "g2").await,
            35 => {
                h.send_keyed(t, d2, later, Some("invalid"), INVALID, "d2")
                    .await
            }
            _ => {}
        }
    }
    let p = h.start(h.config()).await;
    let found = wait_aliases(&h, 3).await;
    h.wait_for_count("events", 41, Duration::from_secs(30))
        .await;
    h.wait_for_count("dead_letters", 2, Duration::from_secs(30))
        .await;

    // of each pair, one is written (the one whose batch claimed first: the original when they
    // share a batch) and the other is its alias
    let stored = events_of(&h, t).await;
    let dead: Vec<(Uuid, String)> =
        sqlx::query_as("select event_id, reason from dead_letters order by event_id")
            .fetch_all(&h.db.pool)
            .await
            .unwrap();
    for (a, b, table) in [
        (g1, g2, "events"),
        (p1, p2, "dead_letters"),
        (d1, d2, "dead_letters"),
    ] {
        let written_as_itself = |id: Uuid| match table {
            "events" => stored.contains(&id),
            _ => dead.iter().any(|(e, _)| *e == id),
        };
        let pair_alias = found
            .iter()
            .find(|(e, _)| *e == a || *e == b)
            .copied()
            .unwrap_or_else(|| panic!("one of {a}, {b} is an alias: {found:?}"));
        let (alias, original) = pair_alias;
        assert!(written_as_itself(original), "{original} in {table}");
        assert!(!written_as_itself(alias), "{alias} not in {table}");
        assert!(!stored.contains(&alias), "an alias is never stored");
        assert!(!dead.iter().any(|(e, _)| *e == alias), "nor dead-lettered");
    }
    assert!(
        dead.iter()
            .any(|(e, reason)| (*e == p1 || *e == p2) && reason == "invalid_value"),
        "the poison row refused by PostgreSQL: {dead:?}"
    );
    for f in &fillers {
        assert!(stored.contains(f), "filler {f} stored");
    }
    assert_eq!(counted_stored(&h).await, 41, "aliases are not counted");
    p.stop().await;
}

#[tokio::test]
async fn expired_keys_are_deleted_and_live_ones_kept() {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    sqlx::query(
        "insert into idempotency_keys (tenant_id, idempotency_key, event_id, received_at, expires_at) values \
         ($1, 'old', $2, now() - interval '3 hours', now() - interval '150 minutes'), \
         ($1, 'live', $2, now() - interval '1 minute', now() + interval '29 minutes'), \
         ($1, 'just-expired', $2, now() - interval '31 minutes', now() - interval '1 minute')",
    )
    .bind(tenant.id)
    .bind(Uuid::now_v7())
    .execute(&h.db.pool)
    .await
    .unwrap();
    let deleted = pulse_processor::idempotency::delete_expired(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let left: Vec<String> =
        sqlx::query_scalar("select idempotency_key from idempotency_keys order by idempotency_key")
            .fetch_all(&h.db.pool)
            .await
            .unwrap();
    // a key just past its window is kept a little longer, for records still waiting in Kafka
    assert_eq!(left, vec!["just-expired".to_owned(), "live".to_owned()]);
}
