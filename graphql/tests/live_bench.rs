//! Live-feed benchmark (ignored; run by hand against a running `pulse graphql`): many concurrent
//! WebSocket subscribers while events are written to `events.raw` at a steady rate; reports the
//! p50/p99/max delay from the write to receipt, and the peak RSS of the graphql process.
//!
//! ```sh
//! BENCH_GRAPHQL_ADDR=127.0.0.1:18081 BENCH_GRAPHQL_PID=<pid> BENCH_TOPIC=<its PULSE_TOPIC_RAW> \
//! BENCH_ADMIN_TOKEN=<its PULSE_ADMIN_TOKEN> BENCH_SUBSCRIBERS=1000 BENCH_RATE=2000 \
//! BENCH_TENANTS=100 BENCH_SECONDS=20 \
//! cargo test --release -p pulse-graphql --test live_bench -- --ignored --nocapture
//! ```
//!
//! Subscriber `i` subscribes to tenant `i % BENCH_TENANTS`; events go round-robin over the tenants,
//! so every subscriber should receive `rate / tenants` events per second, all of them.

mod live_support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use live_support::{LEGACY_WS, TRANSPORT_WS, Ws, produce_event, producer};
use serde_json::json;
use uuid::Uuid;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the fields after the command name (which is in parentheses and may hold spaces)
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run by hand against a running service (see the module docs)"]
async fn live_subscribers_under_load() {
    let addr: std::net::SocketAddr = env("BENCH_GRAPHQL_ADDR", "127.0.0.1:18081".parse().unwrap());
    let pid: u32 = env("BENCH_GRAPHQL_PID", 0);
    let topic: String = env("BENCH_TOPIC", "events.raw".to_owned());
    let token: String = env("BENCH_ADMIN_TOKEN", String::new());
    let subscribers: usize = env("BENCH_SUBSCRIBERS", 1000);
    let rate: u64 = env("BENCH_RATE", 2000);
    let tenant_count: usize = env("BENCH_TENANTS", 100);
    let seconds: u64 = env("BENCH_SECONDS", 20);
    let tenants: Vec<Uuid> = (0..tenant_count).map(|_| Uuid::new_v4()).collect();

    // the topic with its contracted partitions, and the service sampling it
    pulse_core::kafka::ensure_topics(&pulse_core::testkit::kafka_brokers(), &[(&topic, 6)])
        .await
        .unwrap();
    let http = reqwest::Client::new();
    pulse_core::testkit::eventually(
        "the service samples the topic",
        Duration::from_secs(30),
        || {
            let request = http
                .post(format!("http://{addr}/graphql"))
                .bearer_auth(&token)
                .json(&json!({"query": "{ pipeline { partitions { partition } } }"}))
                .send();
            async move {
                let body: serde_json::Value = request.await.ok()?.json().await.ok()?;
                (body["data"]["pipeline"]["partitions"].as_array()?.len() == 6).then_some(())
            }
        },
    )
    .await;

    // connect and subscribe everyone first
    let received = Arc::new(AtomicU64::new(0));
    let missed = Arc::new(AtomicU64::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut readers = Vec::with_capacity(subscribers);
    let started = Instant::now();
    for i in 0..subscribers {
        let protocol = if i % 10 == 0 { LEGACY_WS } else { TRANSPORT_WS };
        let mut ws = Ws::connect(addr, protocol).await;
        ws.init_ok(json!({"Authorization": format!("Bearer {token}")}))
            .await;
        let query = "subscription($t: UUID) { events(filter: {tenantId: $t}) { eventId \
                     missedBefore payload } }";
        ws.subscribe("e", query, json!({"t": tenants[i % tenant_count]}))
            .await;
        let (received, missed, stop) = (received.clone(), missed.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            // each reader keeps its own delays (no lock shared by a thousand readers)
            let mut delays = Vec::new();
            loop {
                let result = tokio::select! {
                    () = stop.cancelled() => break,
                    r = ws.result_eventually("e") => r,
                };
                let event = &result["data"]["events"];
                let Some(sent) = event["payload"]["sent_us"].as_i64() else {
                    continue;
                };
                let delay = now_micros() - sent;
                received.fetch_add(1, Ordering::Relaxed);
                missed.fetch_add(
                    event["missedBefore"].as_u64().unwrap_or(0),
                    Ordering::Relaxed,
                );
                delays.push(delay);
            }
            delays
        }));
    }
    println!(
        "{subscribers} subscribers connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // let the server register every subscription before measuring
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = rss_kib(pid);
    let cpu_before = cpu_seconds(pid);
    let writing = Instant::now();

    // write at `rate` events/s for `seconds`, round-robin over the tenants; each event carries
    // the time its write began (the broker acknowledges a few ms later, so the delay measured is
    // a slight overestimate of acknowledgement to receipt)
    let p = producer();
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    let per_tick = (rate / 100).max(1);
    let mut written = 0u64;
    let mut peak_rss = rss_before.unwrap_or(0);
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        ticks.tick().await;
        let sends = (0..per_tick).map(|k| {
            let tenant = tenants[((written + k) as usize) % tenant_count];
            produce_event(
                &p,
                &topic,
                tenant,
                "bench",
                json!({"sent_us": now_micros()}),
            )
        });
        futures::future::join_all(sends).await;
        written += per_tick;
        if written % (rate / 2).max(1) < per_tick {
            peak_rss = peak_rss.max(rss_kib(pid).unwrap_or(0));
        }
    }
    let cpu = cpu_seconds(pid)
        .zip(cpu_before)
        .map(|(after, before)| (after - before) / writing.elapsed().as_secs_f64());
    let expected = written * (subscribers / tenant_count) as u64;
    // let the last ones arrive (bounded)
    let drain_end = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) + missed.load(Ordering::Relaxed) < expected
        && Instant::now() < drain_end
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak_rss = peak_rss.max(rss_kib(pid).unwrap_or(0));
    }
    stop.cancel();
    let mut delays = Vec::new();
    for r in readers {
        delays.extend(r.await.unwrap_or_default());
    }
    delays.sort_unstable();
    let pct = |p: f64| {
        delays
            .get(((delays.len() as f64 * p) as usize).min(delays.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| *d as f64 / 1000.0)
    };
    println!(
        "written {written} events in {seconds} s ({:.0}/s) to {tenant_count} tenants; \
         {subscribers} subscribers expected {expected} deliveries, received {}, missedBefore sum {}",
        written as f64 / seconds as f64,
        received.load(Ordering::Relaxed),
        missed.load(Ordering::Relaxed),
    );
    println!(
        "delay from write to receipt: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "graphql RSS: {:?} KiB before writing, peak {peak_rss} KiB; graphql CPU while writing: \
         {:.2} cores",
        rss_before,
        cpu.unwrap_or(f64::NAN)
    );
}
