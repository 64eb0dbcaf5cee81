//! End to end, event by event: the driver itself offers batches of 10 at a fixed rate to a traced
//! ingest with a traced processor behind it, keeps the id of every event an answer accepted, and
//! learns when each row was committed from PostgreSQL: an `AFTER INSERT` row trigger (on the
//! benchmark database only, for this run only) sends `pg_notify` with the event id and its
//! `received_at`, and notifications are delivered only when the inserting transaction commits.
//! Latency is the notification's arrival minus `received_at` (ingest's receipt of the HTTP
//! request); the events table has no commit-time column and `track_commit_timestamp` is off, so
//! this is the honest commit time on offer (it includes the notification's delivery, well under a
//! millisecond on loopback; the trigger costs PostgreSQL a few µs per row). Every accepted id must
//! be committed exactly once, and no other id may appear.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde::Serialize;
use sqlx::postgres::PgListener;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::{context::Ctx, cpu, procs::Service};

const CHANNEL: &str = "bench_commit";
const PER_REQUEST: u32 = 10;
const IN_FLIGHT: u32 = 64;

#[derive(Debug, Clone, Serialize)]
pub struct E2eRun {
    pub round: usize,
    pub offered_eps: u32,
    /// Accepted events per second of load.
    pub rate_eps: f64,
    pub requests: u64,
    pub failed_requests: u64,
    /// Events the answers accepted (kept under the old key `events` too).
    pub accepted: u64,
    pub events: u64,
    /// Accepted events whose commit was seen.
    pub committed: u64,
    pub missing: u64,
    pub committed_twice: u64,
    pub unknown_committed: u64,
    /// Rows in `events` with an accepted id, counted once at the end.
    pub rows_found: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// From the end of the row's `COPY` statement (when its trigger fired) to the commit seen:
    /// what the transaction does after the write, its commit, and the notification's delivery.
    pub statement_end_to_commit_p50_ms: f64,
    pub statement_end_to_commit_p99_ms: f64,
    /// The old measure (`processed_at − received_at`: to the start of the batch's write).
    pub insert_p50_ms: f64,
    pub insert_p99_ms: f64,
    pub reconciled: bool,
    pub cpu_us_per_event: BTreeMap<String, f64>,
}

/// When one event was received, written and seen committed.
#[derive(Debug, Clone, Copy)]
struct Times {
    /// ingest's `received_at`, µs
    received: i64,
    /// its row's trigger fired (the end of the `COPY` statement), µs
    written: i64,
    /// the first notification arrived, µs
    committed: i64,
    /// notifications received for it
    times: u32,
}

type Seen = Arc<Mutex<HashMap<Uuid, Times>>>;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<E2eRun>> {
    for sql in [
        "create or replace function bench_commit_notify() returns trigger language plpgsql as $$ \
         begin perform pg_notify('bench_commit', new.event_id::text || ' ' || \
         ((extract(epoch from new.received_at) * 1000000)::bigint)::text || ' ' || \
         ((extract(epoch from clock_timestamp()) * 1000000)::bigint)::text); \
         return null; end $$",
        "drop trigger if exists bench_commit_notify on events",
        "create trigger bench_commit_notify after insert on events for each row \
         execute function bench_commit_notify()",
    ] {
        sqlx::query(sql).execute(&ctx.pool).await?;
    }
    let mut runs = Vec::new();
    let result = async {
        for round in 0..ctx.plan.runs {
            super::say(&format!(
                "end to end at {} events/s (commit seen event by event), run {}/{}",
                ctx.plan.e2e_rate,
                round + 1,
                ctx.plan.runs
            ));
            runs.push(once(ctx, round).await?);
        }
        anyhow::Ok(())
    }
    .await;
    sqlx::query("drop trigger if exists bench_commit_notify on events")
        .execute(&ctx.pool)
        .await?;
    result?;
    ctx.truncate().await?;
    Ok(runs)
}

async fn once(ctx: &Ctx, round: usize) -> anyhow::Result<E2eRun> {
    ctx.truncate().await?;
    let topic = ctx.topic("e2e").await?;
    let processor = ctx.processor(&topic, &ctx.name("e2e-group"), true).await?;
    let ingest = ctx.ingest(&topic, true).await?;
    let seen: Seen = Arc::default();
    let mut listener = PgListener::connect(&ctx.db_url).await?;
    listener.listen(CHANNEL).await?;
    let listening = tokio::spawn(listen(listener, seen.clone()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(IN_FLIGHT as usize)
        .build()?;

    // one batch first, committed before the clock starts: the processor has joined its group
    let (warm, _) = post(&client, &ingest.url(""), &ctx.key, u64::MAX).await;
    let warm_ok = wait_seen(&seen, &warm, ctx.plan.catch_up_limit * 3).await;
    anyhow::ensure!(warm_ok, "the warm-up batch was not committed");
    seen.lock().expect("seen").clear();

    let roles = [("ingest", ingest.pid()), ("processor", processor.pid())];
    cpu::rest(&roles, ctx.plan.rest_limit).await;
    let before = cpu::snapshot(&roles);
    let (accepted, requests, failed, load_s) = offer(ctx, &client, &ingest).await;
    let committed_all = wait_seen(&seen, &accepted, ctx.plan.catch_up_limit).await;
    let used = before.until(&cpu::snapshot(&roles));
    listening.abort();
    ingest.stop().await;
    processor.stop().await;

    let seen = seen.lock().expect("seen").clone();
    let mut latencies = Vec::with_capacity(accepted.len());
    let mut after_write = Vec::with_capacity(accepted.len());
    let (mut missing, mut twice) = (0, 0);
    for id in &accepted {
        match seen.get(id) {
            Some(t) => {
                latencies.push((t.committed - t.received) as f64 / 1000.0);
                after_write.push((t.committed - t.written) as f64 / 1000.0);
                if t.times > 1 {
                    twice += 1;
                }
            }
            None => missing += 1,
        }
    }
    after_write.sort_by(f64::total_cmp);
    let accepted_set: std::collections::HashSet<&Uuid> = accepted.iter().collect();
    let unknown = seen.keys().filter(|id| !accepted_set.contains(id)).count() as u64;
    latencies.sort_by(f64::total_cmp);
    let pct_of = |v: &[f64], p: f64| {
        v.get(((v.len() as f64 - 1.0) * p).round().max(0.0) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let pct = |p: f64| pct_of(&latencies, p);
    let (rows, ins50, ins99): (i64, Option<f64>, Option<f64>) = sqlx::query_as(
        "select count(*), \
           percentile_cont(0.5) within group (order by extract(epoch from processed_at - received_at))::float8, \
           percentile_cont(0.99) within group (order by extract(epoch from processed_at - received_at))::float8 \
         from events where event_id = any($1)",
    )
    .bind(&accepted)
    .fetch_one(&ctx.pool)
    .await
    .context("counting the accepted events' rows")?;
    let n = accepted.len() as u64;
    Ok(E2eRun {
        round,
        offered_eps: ctx.plan.e2e_rate,
        rate_eps: n as f64 / load_s,
        requests,
        failed_requests: failed,
        accepted: n,
        events: n,
        committed: latencies.len() as u64,
        missing,
        committed_twice: twice,
        unknown_committed: unknown,
        rows_found: rows as u64,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        statement_end_to_commit_p50_ms: pct_of(&after_write, 0.5),
        statement_end_to_commit_p99_ms: pct_of(&after_write, 0.99),
        insert_p50_ms: ins50.unwrap_or(f64::NAN) * 1000.0,
        insert_p99_ms: ins99.unwrap_or(f64::NAN) * 1000.0,
        reconciled: committed_all && missing == 0 && twice == 0 && unknown == 0 && rows as u64 == n,
        cpu_us_per_event: used.per_event(n),
    })
}

async fn listen(mut listener: PgListener, seen: Seen) {
    while let Ok(note) = listener.recv().await {
        let now = chrono::Utc::now().timestamp_micros();
        let mut parts = note.payload().split(' ');
        let (Some(Ok(id)), Some(Ok(received)), Some(Ok(written))) = (
            parts.next().map(Uuid::try_parse),
            parts.next().map(str::parse::<i64>),
            parts.next().map(str::parse::<i64>),
        ) else {
            continue;
        };
        let mut seen = seen.lock().expect("seen");
        let entry = seen.entry(id).or_insert(Times {
            received,
            written,
            committed: now,
            times: 0,
        });
        entry.times += 1;
    }
}

async fn wait_seen(seen: &Seen, ids: &[Uuid], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if ids
            .iter()
            .all(|id| seen.lock().expect("seen").contains_key(id))
        {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One batch of 10 to `base`; the ids the answer accepted, and whether the request failed.
async fn post(client: &reqwest::Client, base: &str, key: &str, n: u64) -> (Vec<Uuid>, bool) {
    let text = "x".repeat(200);
    let items: Vec<String> = (0..PER_REQUEST)
        .map(|i| {
            format!(r#"{{"event_type":"bench.e2e","payload":{{"n":{n},"i":{i},"text":"{text}"}}}}"#)
        })
        .collect();
    let body = format!(r#"{{"events":[{}]}}"#, items.join(","));
    let resp = client
        .post(format!("{base}/events/batch"))
        .header("X-API-Key", key)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await;
    let Ok(resp) = resp else {
        return (Vec::new(), true);
    };
    let ok = resp.status().is_success();
    let answer: serde_json::Value = resp.json().await.unwrap_or_default();
    let ids = answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["code"] == 202)
        .filter_map(|r| r["event_id"].as_str().and_then(|s| Uuid::try_parse(s).ok()))
        .collect();
    (ids, !ok)
}

/// Offers `e2e_rate` events per second for `e2e_seconds`; returns the accepted ids, requests,
/// failed requests and the load's length.
async fn offer(
    ctx: &Ctx,
    client: &reqwest::Client,
    ingest: &Service,
) -> (Vec<Uuid>, u64, u64, f64) {
    let accepted: Arc<Mutex<Vec<Uuid>>> = Arc::default();
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let slots = Arc::new(Semaphore::new(IN_FLIGHT as usize));
    let every =
        Duration::from_secs_f64(f64::from(PER_REQUEST) / f64::from(ctx.plan.e2e_rate.max(1)));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let length = Duration::from_secs(ctx.plan.e2e_seconds);
    let started = Instant::now();
    let mut requests = 0u64;
    while started.elapsed() < length {
        ticker.tick().await;
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        requests += 1;
        let (client, accepted, failed) = (client.clone(), accepted.clone(), failed.clone());
        let (base, key) = (ingest.url(""), ctx.key.clone());
        tokio::spawn(async move {
            let (ids, bad) = post(&client, &base, &key, requests).await;
            accepted.lock().expect("accepted").extend(ids);
            if bad {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            drop(slot);
        });
    }
    let load_s = started.elapsed().as_secs_f64();
    let _all = slots.acquire_many(IN_FLIGHT).await;
    let ids = std::mem::take(&mut *accepted.lock().expect("accepted"));
    (
        ids,
        requests,
        failed.load(std::sync::atomic::Ordering::Relaxed),
        load_s,
    )
}
