//! `stats` reads the coarser rollups the triggers keep from `event_counts_minute`: the per-minute
//! totals and, for the busiest types, whole hours from the hourly rollup plus the window's first
//! and last partial hours by the minute. They must agree exactly with summing the minute rows
//! (inserts and upserts alike, one tenant or all).

use chrono::{DateTime, TimeZone as _, Utc};
use pulse_core::{
    admin::stats::{Window, stats_at},
    testkit::TestDb,
};
use uuid::Uuid;

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
}

async fn add(db: &TestDb, tenant: Uuid, minute: DateTime<Utc>, ty: &str, shard: i16, n: i64) {
    // the processor's upsert, so the update trigger is exercised as well as the insert one
    sqlx::query(
        "insert into event_counts_minute as c (tenant_id, minute, event_type, shard, stored, dead_lettered) \
         values ($1, $2, $3, $4, $5, 1) on conflict (tenant_id, minute, event_type, shard) do update set \
         stored = c.stored + excluded.stored, dead_lettered = c.dead_lettered + excluded.dead_lettered",
    )
    .bind(tenant)
    .bind(minute)
    .bind(ty)
    .bind(shard)
    .bind(n - 1)
    .execute(&db.pool)
    .await
    .unwrap();
}

fn top(s: &pulse_core::admin::stats::Stats) -> Vec<(&str, i64)> {
    s.top_event_types
        .iter()
        .map(|(t, n)| (t.as_str(), *n))
        .collect()
}

#[tokio::test]
async fn a_days_stats_agree_with_the_minute_rows_across_hour_edges() {
    let db = TestDb::new().await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    // seen at 30 Nov 12:30:30, a day is the minutes 29 Nov 12:31 ..= 30 Nov 12:30: whole hours
    // 29 Nov 13:00 .. 30 Nov 12:00, partial hours before and after
    let now = at(30, 12, 30) + chrono::Duration::seconds(30);
    add(&db, a, at(29, 12, 30), "too-old", 0, 100).await;
    add(&db, a, at(29, 12, 31), "first-edge", 0, 5).await;
    add(&db, a, at(29, 15, 10), "middle", 0, 7).await;
    add(&db, a, at(29, 15, 10), "middle", 1, 3).await;
    add(&db, a, at(30, 12, 30), "last-edge", 2, 2).await;
    add(&db, a, at(30, 12, 31), "too-new", 0, 50).await;
    add(&db, b, at(30, 11, 59), "middle", 3, 10).await;
    // a second batch upserts an existing row
    add(&db, a, at(29, 15, 10), "middle", 0, 1).await;

    let one = stats_at(&db.pool, Window::OneDay, Some(a), now)
        .await
        .unwrap();
    assert_eq!(one.received(), 18);
    assert_eq!(one.dead_lettered, 5);
    assert_eq!(
        top(&one),
        [("middle", 11), ("first-edge", 5), ("last-edge", 2)]
    );
    assert_eq!(one.series.len(), 1440);
    assert_eq!(one.series[0].received(), 5);
    assert_eq!(one.series[1439].received(), 2);

    let all = stats_at(&db.pool, Window::OneDay, None, now).await.unwrap();
    assert_eq!(all.received(), 28);
    assert_eq!(
        top(&all),
        [("middle", 21), ("first-edge", 5), ("last-edge", 2)]
    );
    assert_eq!(all.series[1439 - 31].received(), 10);

    // a window without a whole hour reads only minutes
    let five = stats_at(&db.pool, Window::FiveMinutes, None, now)
        .await
        .unwrap();
    assert_eq!(top(&five), [("last-edge", 2)]);
    assert_eq!(five.received(), 2);

    // every rollup sums to the minute rows
    let (minutes, totals, hours, everyone): (i64, i64, i64, i64) = sqlx::query_as(
        "select (select sum(stored + dead_lettered) from event_counts_minute)::int8, \
         (select sum(stored + dead_lettered) from event_counts_minute_total where tenant_id <> $1)::int8, \
         (select sum(stored + dead_lettered) from event_counts_hour where tenant_id = $1)::int8, \
         (select sum(stored + dead_lettered) from event_counts_minute_all)::int8",
    )
    .bind(Uuid::nil())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((totals, hours, everyone), (minutes, minutes, minutes));
}
