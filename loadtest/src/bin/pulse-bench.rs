//! `pulse-bench`: the pieces `make bench` needs besides the load generators.
//!
//! - `bare`: an axum server whose `POST /events` only answers 202, the baseline ingest is
//!   compared with (same generator, same run)
//! - `fill`: writes N envelopes (like ingest's) to a topic as fast as Kafka takes them, for the
//!   processor drain benchmark
//! - `copy`: the database's ceiling: takes every row of `events` out with `COPY … TO STDOUT`,
//!   truncates, and times `COPY … FROM STDIN` of the same rows into the same table

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use anyhow::Context as _;
use axum::{Json, Router, http::StatusCode, routing::post};
use chrono::Utc;
use clap::{Parser, Subcommand};
use futures::TryStreamExt;
use pulse_core::envelope::{EventEnvelope, record_headers};
use rand::Rng;
use rdkafka::{
    message::Header,
    producer::{FutureProducer, FutureRecord},
};
use serde_json::{json, value::RawValue};
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "pulse-bench", about = "Helpers for `make bench`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve `POST /events` (202) and `POST /events/batch` (200) and nothing else.
    Bare {
        #[arg(long, default_value = "127.0.0.1:18090")]
        addr: SocketAddr,
    },
    /// Fill a topic with event envelopes: `--invalid-pct` of them miss their event_type.
    Fill {
        #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
        brokers: String,
        #[arg(long)]
        topic: String,
        #[arg(long, default_value_t = 500_000)]
        events: u64,
        #[arg(long, default_value_t = 10)]
        tenants: usize,
        #[arg(long, default_value_t = 5.0)]
        invalid_pct: f64,
        #[arg(long, default_value_t = 1000)]
        payload_bytes: usize,
    },
    /// Re-load every row of `events` with COPY and report rows per second.
    Copy {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Bare { addr } => bare(addr).await,
            Command::Fill {
                brokers,
                topic,
                events,
                tenants,
                invalid_pct,
                payload_bytes,
            } => {
                fill(
                    &brokers,
                    &topic,
                    events,
                    tenants,
                    invalid_pct,
                    payload_bytes,
                )
                .await
            }
            Command::Copy { database_url } => copy(&database_url).await,
        }
    })
}

async fn bare(addr: SocketAddr) -> anyhow::Result<()> {
    // requests answered so far (`GET /count`), so any generator's rate can be read off the server
    static ANSWERED: AtomicU64 = AtomicU64::new(0);
    let app = Router::new()
        .route(
            "/events",
            post(|| async {
                ANSWERED.fetch_add(1, Ordering::Relaxed);
                (
                    StatusCode::ACCEPTED,
                    Json(json!({ "event_id": Uuid::now_v7(), "status": "accepted" })),
                )
            }),
        )
        .route(
            "/count",
            axum::routing::get(|| async { ANSWERED.load(Ordering::Relaxed).to_string() }),
        )
        .route(
            "/events/batch",
            post(|| async {
                Json(json!({ "accepted": 0, "duplicates": 0, "rejected": 0, "results": [] }))
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("bare handler on {addr}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn fill(
    brokers: &str,
    topic: &str,
    events: u64,
    tenants: usize,
    invalid_pct: f64,
    payload_bytes: usize,
) -> anyhow::Result<()> {
    pulse_core::kafka::ensure_topics(brokers, &[(topic, pulse_core::kafka::RAW_PARTITIONS)])
        .await?;
    let producer: FutureProducer = pulse_core::kafka::client_config(brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("compression.type", "lz4")
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "500000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create()?;
    let tenant_ids: Vec<Uuid> = (0..tenants.max(1)).map(|_| Uuid::now_v7()).collect();
    let filler = "x".repeat(payload_bytes.saturating_sub(120));
    let started = Instant::now();
    let mut pending = futures::stream::FuturesUnordered::new();
    let mut rng = rand::rng();
    for n in 0..events {
        let tenant = tenant_ids[rng.random_range(0..tenant_ids.len())];
        let invalid = rng.random_bool((invalid_pct / 100.0).clamp(0.0, 1.0));
        let body = if invalid {
            format!(r#"{{"payload":{{"n":{n},"filler":"{filler}"}}}}"#)
        } else {
            format!(
                r#"{{"event_type":"bench.order","payload":{{"n":{n},"amount":{n},"filler":"{filler}"}},"source":"bench"}}"#
            )
        };
        let raw = RawValue::from_string(body)?;
        let envelope = EventEnvelope {
            event_id: Uuid::now_v7(),
            tenant_id: tenant,
            received_at: Utc::now(),
            idempotency_key: None,
            body: &*raw,
        };
        let value = serde_json::to_vec(&envelope)?;
        let event = envelope.event_id.to_string();
        let tenant_text = tenant.to_string();
        let trace = format!(
            "00-{}-{:016x}-01",
            Uuid::new_v4().simple(),
            rng.random::<u64>()
        );
        let headers = record_headers(&tenant_text, &event).insert(Header {
            key: "traceparent",
            value: Some(&trace),
        });
        loop {
            let record = FutureRecord::to(topic)
                .key(&event)
                .payload(&value)
                .headers(headers.clone());
            match producer.send_result(record) {
                Ok(delivery) => {
                    pending.push(delivery);
                    break;
                }
                // the local queue is full: wait for some acknowledgements
                Err(_) => {
                    pending.try_next().await.ok();
                }
            }
        }
        while pending.len() > 200_000 {
            pending.try_next().await.ok();
        }
    }
    while let Some(result) = pending.try_next().await.transpose() {
        result
            .context("delivery canceled")?
            .map_err(|(e, _)| e)
            .context("delivery failed")?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({ "events": events, "seconds": secs, "events_per_second": events as f64 / secs })
    );
    Ok(())
}

async fn copy(database_url: &str) -> anyhow::Result<()> {
    let pool = pulse_core::db::connect(database_url, 2).await?;
    let mut conn = pool.acquire().await?;
    let mut data = Vec::new();
    {
        let mut stream = conn
            .copy_out_raw("copy events to stdout with (format binary)")
            .await?;
        while let Some(chunk) = stream.try_next().await? {
            data.extend_from_slice(&chunk);
        }
    }
    sqlx::query("truncate events").execute(&mut *conn).await?;
    let started = Instant::now();
    let mut copy_in = conn
        .copy_in_raw("copy events from stdin with (format binary)")
        .await?;
    for chunk in data.chunks(1 << 20) {
        copy_in.send(chunk).await?;
    }
    let rows = copy_in.finish().await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({ "rows": rows, "bytes": data.len(), "seconds": secs, "rows_per_second": rows as f64 / secs })
    );
    Ok(())
}
