//! What the idempotency key claim costs: a backlog of keyed events drained by the release
//! `pulse processor` with `PULSE_IDEMPOTENCY_CHECK` off and on (alternating, twice each), each on
//! its own database and topic; rows per second over the drain (first to last `processed_at`) and
//! the processor's CPU per row. A measurement, not a check: ignored by default, run with
//! `cargo build --release -p pulse && cargo test -p pulse-processor --test idempotency_cost -- --ignored --nocapture`
//! (`PULSE_BIN` overrides the binary, `PULSE_COST_EVENTS` the backlog, default 50,000).

mod common;

use std::{path::PathBuf, process::Stdio, time::Duration};

use chrono::{DateTime, Utc};
use common::Harness;
use pulse_core::{envelope::EventEnvelope, testkit};
use rdkafka::producer::FutureRecord;
use serde_json::value::RawValue;
use uuid::Uuid;

fn pulse_bin() -> PathBuf {
    std::env::var_os("PULSE_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/pulse"),
        PathBuf::from,
    )
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // the fields after the command name (which is in parentheses and may hold spaces)
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state
    (ticks(11) + ticks(12)) / 100.0
}

struct Run {
    check: bool,
    rows_per_s: f64,
    cpu_us_per_row: f64,
    pg_cpu_us_per_row: f64,
}

async fn drain(events: usize, check: bool) -> Run {
    let h = Harness::new().await;
    let tenant = h.tenant().await;
    let payload = format!(
        r#"{{"event_type":"order.created","payload":{{"order_id":"o-1","amount":42.5,"note":"{}"}}}}"#,
        "x".repeat(200)
    );
    let raw = RawValue::from_string(payload).unwrap();
    let mut deliveries = Vec::with_capacity(events);
    for i in 0..events {
        let event_id = Uuid::now_v7();
        let envelope = EventEnvelope {
            event_id,
            tenant_id: tenant.id,
            received_at: Utc::now(),
            idempotency_key: Some(format!("order-{i}")),
            body: &*raw,
        };
        let value = serde_json::to_vec(&envelope).unwrap();
        let key = event_id.to_string();
        deliveries.push(
            h.producer
                .send_result(FutureRecord::to(&h.raw).key(&key).payload(&value))
                .map_err(|(e, _)| e)
                .unwrap(),
        );
        if deliveries.len() >= 10_000 {
            for d in deliveries.drain(..) {
                d.await.unwrap().map_err(|(e, _)| e).unwrap();
            }
        }
    }
    for d in deliveries {
        d.await.unwrap().map_err(|(e, _)| e).unwrap();
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new(pulse_bin())
        .args(["processor", "--addr", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &h.db.url)
        .env("KAFKA_BROKERS", testkit::kafka_brokers())
        .env("PULSE_TOPIC_RAW", h.raw.name())
        .env("PULSE_TOPIC_DLQ", h.dlq.name())
        .env("PULSE_CONSUMER_GROUP", &h.group)
        .env("PULSE_IDEMPOTENCY_CHECK", check.to_string())
        .env("OTEL_SDK_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the release pulse binary (cargo build --release -p pulse)");
    let pid = child.id().unwrap();
    h.wait_for_count("events", events as i64, Duration::from_secs(600))
        .await;
    let cpu = cpu_seconds(pid);
    // the processor's PostgreSQL backends are processes on this machine too (this test's own
    // connections last ran its polling count)
    let backends: Vec<i32> = sqlx::query_scalar(
        "select pid from pg_stat_activity where datname = current_database() \
         and pid <> pg_backend_pid() and query not ilike 'select count(*) from events%'",
    )
    .fetch_all(&h.db.pool)
    .await
    .unwrap();
    let pg_cpu: f64 = backends.iter().map(|&b| cpu_seconds(b as u32)).sum();
    let _ = child.kill().await;
    let (first, last): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("select min(processed_at), max(processed_at) from events")
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    let seconds = ((last - first).num_microseconds().unwrap_or(1) as f64 / 1e6).max(1e-3);
    let claimed: i64 = sqlx::query_scalar("select count(*) from idempotency_keys")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(claimed, if check { events as i64 } else { 0 });
    Run {
        check,
        rows_per_s: events as f64 / seconds,
        cpu_us_per_row: cpu * 1e6 / events as f64,
        pg_cpu_us_per_row: pg_cpu * 1e6 / events as f64,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
async fn the_key_claim_costs_this_much_per_row() {
    let events: usize = std::env::var("PULSE_COST_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let mut runs = Vec::new();
    for check in [false, true, false, true] {
        let run = drain(events, check).await;
        println!(
            "check {:<5} {events} keyed events: {:>8.0} rows/s, CPU per row: processor {:>6.1} µs, PostgreSQL backends {:>6.1} µs",
            run.check, run.rows_per_s, run.cpu_us_per_row, run.pg_cpu_us_per_row
        );
        runs.push(run);
    }
    let mean = |check: bool, f: fn(&Run) -> f64| {
        let xs: Vec<f64> = runs.iter().filter(|r| r.check == check).map(f).collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    println!(
        "mean: off {:.0} rows/s, {:.1} + {:.1} µs/row; on {:.0} rows/s, {:.1} + {:.1} µs/row (processor + PostgreSQL)",
        mean(false, |r| r.rows_per_s),
        mean(false, |r| r.cpu_us_per_row),
        mean(false, |r| r.pg_cpu_us_per_row),
        mean(true, |r| r.rows_per_s),
        mean(true, |r| r.cpu_us_per_row),
        mean(true, |r| r.pg_cpu_us_per_row),
    );
}
