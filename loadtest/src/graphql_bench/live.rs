//! The live load: `subscribers` WebSocket subscribers (a tenth on the legacy protocol), each on
//! one tenant's `events` subscription, while accepted events are written to the service's private
//! raw topic at `rate` per second, round-robin over the tenants, exactly as ingest writes them.
//! Each subscriber must receive every event of its tenant or be told (`missedBefore`) how many it
//! missed; the delay is from the write to receipt, and the service's RSS is sampled meanwhile.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context as _, Result};
use chrono::Utc;
use futures::StreamExt as _;
use pulse_core::envelope::{EventEnvelope, record_headers};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    queries::Api,
    service::{cpu_seconds, rss_kib},
    ws::{LEGACY_WS, TRANSPORT_WS, Ws},
};
use crate::histogram::Histogram;

/// How the live part is run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LiveConfig {
    pub subscribers: usize,
    pub tenants: usize,
    pub rate: u64,
    pub seconds: f64,
}

/// Where the events go and who reads them.
pub struct LiveTarget<'a> {
    pub addr: SocketAddr,
    pub pid: u32,
    pub api: &'a Api,
    pub brokers: &'a str,
    pub raw_topic: &'a str,
    pub tenants: &'a [Uuid],
}

/// The live part's figures (all zero when the part was skipped with `--only`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveResult {
    pub config: LiveConfig,
    pub connect_seconds: f64,
    pub events_written: u64,
    pub write_errors: u64,
    pub events_per_second: f64,
    /// Deliveries the subscribers should see: each event once per subscriber of its tenant
    pub expected: u64,
    pub received: u64,
    /// Sum of `missedBefore`: deliveries the service said it dropped
    pub missed_reported: u64,
    /// Deliveries neither received nor reported as missed
    pub unaccounted: u64,
    pub delivered_percent: f64,
    /// Subscribers that received every event of their tenant
    pub complete_subscribers: usize,
    /// Subscribers whose socket failed before the end
    pub failed_subscribers: usize,
    pub delay_p50_ms: f64,
    pub delay_p99_ms: f64,
    pub delay_max_ms: f64,
    pub rss_mb_idle: f64,
    pub rss_mb_subscribed: f64,
    pub rss_mb_median: f64,
    pub rss_mb_peak: f64,
    pub cpu_cores: f64,
}

const QUERY: &str =
    "subscription($t: UUID) { events(filter: {tenantId: $t}) { eventId missedBefore payload } }";

struct Reader {
    tenant: usize,
    delays: Histogram,
    received: u64,
    missed: u64,
    failed: bool,
}

fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

fn mb(kib: Option<u64>) -> f64 {
    kib.map_or(f64::NAN, |k| k as f64 / 1024.0)
}

/// Runs the live part against `target`.
pub async fn run(target: &LiveTarget<'_>, config: LiveConfig) -> Result<LiveResult> {
    let tenants = &target.tenants[..config.tenants.min(target.tenants.len())];
    wait_sampled(target.api).await?;
    let rss_idle = rss_kib(target.pid);

    // connect and subscribe everyone first (50 handshakes at a time)
    let received = Arc::new(AtomicU64::new(0));
    let missed = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let started = Instant::now();
    let token = target.api.token.clone();
    let sockets: Vec<Result<(usize, Ws)>> = futures::stream::iter(0..config.subscribers)
        .map(|i| {
            let token = token.clone();
            let tenant = tenants[i % tenants.len()];
            async move {
                let protocol = if i % 10 == 0 { LEGACY_WS } else { TRANSPORT_WS };
                let auth = json!({"Authorization": format!("Bearer {token}")});
                let mut ws = Ws::connect(target.addr, protocol, auth).await?;
                ws.subscribe("e", QUERY, json!({"t": tenant})).await?;
                Ok((i % tenants.len(), ws))
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let connect_seconds = started.elapsed().as_secs_f64();
    let mut readers = Vec::with_capacity(config.subscribers);
    for socket in sockets {
        let (tenant, mut ws) = socket.context("connecting a subscriber")?;
        let (received, missed, stop) = (received.clone(), missed.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut reader = Reader {
                tenant,
                delays: Histogram::new(),
                received: 0,
                missed: 0,
                failed: false,
            };
            loop {
                let result = tokio::select! {
                    () = stop.cancelled() => break,
                    r = ws.next_result() => r,
                };
                let Ok(result) = result else {
                    reader.failed = true;
                    break;
                };
                let event = &result["data"]["events"];
                let Some(sent) = event["payload"]["sent_us"].as_i64() else {
                    continue;
                };
                let gap = event["missedBefore"].as_u64().unwrap_or(0);
                reader
                    .delays
                    .record(u64::try_from(now_micros() - sent).unwrap_or(0));
                reader.received += 1;
                reader.missed += gap;
                received.fetch_add(1, Ordering::Relaxed);
                missed.fetch_add(gap, Ordering::Relaxed);
            }
            reader
        }));
    }
    // let the service register every subscription before measuring
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_subscribed = rss_kib(target.pid);

    let sampler = {
        let (pid, stop) = (target.pid, stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut ticks = tokio::time::interval(Duration::from_millis(200));
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = ticks.tick() => samples.extend(rss_kib(pid)),
                }
            }
            samples
        })
    };
    let cpu_before = cpu_seconds(target.pid);
    let writing = Instant::now();
    let (written, per_tenant, write_errors) =
        produce(target, tenants, config.rate, config.seconds).await?;
    let write_seconds = writing.elapsed().as_secs_f64();
    let cpu = cpu_seconds(target.pid)
        .zip(cpu_before)
        .map_or(f64::NAN, |(after, before)| (after - before) / write_seconds);
    let subscribers_of = |t: usize| {
        (0..config.subscribers)
            .filter(|i| i % tenants.len() == t)
            .count() as u64
    };
    let expected: u64 = per_tenant
        .iter()
        .enumerate()
        .map(|(t, n)| n * subscribers_of(t))
        .sum();
    // let the last ones arrive (bounded)
    let drain_end = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) + missed.load(Ordering::Relaxed) < expected
        && Instant::now() < drain_end
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    let mut rss = sampler.await.unwrap_or_default();
    let mut delays = Histogram::new();
    let (mut got, mut told, mut unaccounted, mut complete, mut failed) = (0, 0, 0, 0, 0);
    for reader in readers {
        let r = reader.await.context("a subscriber task")?;
        delays.merge(&r.delays);
        got += r.received;
        told += r.missed;
        let due = per_tenant[r.tenant];
        unaccounted += due.saturating_sub(r.received + r.missed);
        complete += usize::from(r.received >= due);
        failed += usize::from(r.failed);
    }
    rss.sort_unstable();
    let ms = |v: Option<u64>| v.map_or(f64::NAN, |us| us as f64 / 1000.0);
    Ok(LiveResult {
        config,
        connect_seconds,
        events_written: written,
        write_errors,
        events_per_second: written as f64 / write_seconds,
        expected,
        received: got,
        missed_reported: told,
        unaccounted,
        delivered_percent: if expected == 0 {
            f64::NAN
        } else {
            100.0 * got as f64 / expected as f64
        },
        complete_subscribers: complete,
        failed_subscribers: failed,
        delay_p50_ms: ms(delays.quantile(0.5)),
        delay_p99_ms: ms(delays.quantile(0.99)),
        delay_max_ms: delays.max() as f64 / 1000.0,
        rss_mb_idle: mb(rss_idle),
        rss_mb_subscribed: mb(rss_subscribed),
        rss_mb_median: mb(rss.get(rss.len() / 2).copied()),
        rss_mb_peak: mb(rss.last().copied()),
        cpu_cores: cpu,
    })
}

/// Waits (at most 30 s) until the service's sampler reads the private topic.
async fn wait_sampled(api: &Api) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = api
            .post(&json!({"query": "{ pipeline { partitions { partition } } }"}))
            .await;
        if let Ok(body) = answer
            && body["data"]["pipeline"]["partitions"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the service did not sample its topic within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Writes `rate` events per second for `seconds`, round-robin over `tenants`, in 10 ms ticks
/// whose sends are awaited off the clock; (written, written per tenant, failed writes).
async fn produce(
    target: &LiveTarget<'_>,
    tenants: &[Uuid],
    rate: u64,
    seconds: f64,
) -> Result<(u64, Vec<u64>, u64)> {
    let producer: FutureProducer =
        pulse_core::kafka::producer_config(target.brokers, Duration::from_secs(10))
            .set("linger.ms", "2")
            .create()
            .context("the bench producer")?;
    let errors = Arc::new(AtomicU64::new(0));
    let mut per_tenant = vec![0u64; tenants.len()];
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    let per_tick = (rate / 100).max(1);
    let mut written = 0u64;
    let mut pending = Vec::new();
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        ticks.tick().await;
        let mut batch = Vec::with_capacity(per_tick as usize);
        for _ in 0..per_tick {
            let t = (written % tenants.len() as u64) as usize;
            per_tenant[t] += 1;
            written += 1;
            batch.push(tenants[t]);
        }
        let (producer, topic, errors) = (
            producer.clone(),
            target.raw_topic.to_owned(),
            errors.clone(),
        );
        pending.push(tokio::spawn(async move {
            let sends = batch
                .into_iter()
                .map(|tenant| send(&producer, &topic, tenant));
            for result in futures::future::join_all(sends).await {
                if !result {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for p in pending {
        let _ = p.await;
    }
    Ok((written, per_tenant, errors.load(Ordering::Relaxed)))
}

/// One accepted event as ingest writes it (keyed by its id); whether the broker acknowledged it.
async fn send(producer: &FutureProducer, topic: &str, tenant: Uuid) -> bool {
    let event_id = Uuid::now_v7();
    let envelope = EventEnvelope {
        event_id,
        tenant_id: tenant,
        received_at: Utc::now(),
        idempotency_key: None,
        body: json!({"event_type": "bench.live", "payload": {"sent_us": now_micros()}}),
    };
    let Ok(value) = serde_json::to_vec(&envelope) else {
        return false;
    };
    let id = event_id.to_string();
    let headers = record_headers(&tenant.to_string(), &id);
    producer
        .send(
            FutureRecord::to(topic)
                .key(&id)
                .payload(&value)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .is_ok()
}
