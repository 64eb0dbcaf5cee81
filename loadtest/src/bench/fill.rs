//! Fills a topic with event envelopes like ingest's (~1 KB, several tenants, a share without an
//! `event_type` so the processor dead-letters them) as fast as Kafka takes them: the input of the
//! processor drain.

use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use futures::TryStreamExt as _;
use pulse_core::envelope::{EventEnvelope, record_headers};
use rand::Rng as _;
use rdkafka::{
    message::Header,
    producer::{FutureProducer, FutureRecord},
};
use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct Filled {
    pub events: u64,
    pub seconds: f64,
    pub events_per_second: f64,
}

pub async fn fill(
    brokers: &str,
    topic: &str,
    events: u64,
    tenants: usize,
    invalid_pct: f64,
    payload_bytes: usize,
) -> anyhow::Result<Filled> {
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
    let seconds = started.elapsed().as_secs_f64();
    Ok(Filled {
        events,
        seconds,
        events_per_second: events as f64 / seconds,
    })
}
