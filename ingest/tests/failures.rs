//! What ingest does when Kafka or Redis is unavailable, and that shutdown loses no acknowledged
//! event.

mod common;

use std::{collections::HashSet, time::Duration};

use common::{Harness, payload_json};
use redis::AsyncCommands;
use serde_json::Value;

const EVENT: &str = r#"{"event_type":"order.created","payload":{"order_id":"o-1"}}"#;

#[tokio::test]
async fn failed_publish_releases_the_key_and_the_retry_succeeds() {
    let h = Harness::new().await;
    let mut broken = h.config();
    broken.infra.kafka_brokers = "127.0.0.1:1".to_owned();
    broken.delivery_timeout = Duration::from_millis(1500);
    let down = h.start(broken).await;
    let (tenant, key) = h.tenant(1000).await;

    let started = std::time::Instant::now();
    let r = h
        .post(&down, &key, EVENT)
        .header("idempotency-key", "retry-me")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "503 comes quickly"
    );
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "broker_unavailable");

    let mut redis = h.redis().await;
    let stored: Option<String> = redis
        .get(format!("{}idem:{}:retry-me", h.prefix, tenant.id))
        .await
        .unwrap();
    assert_eq!(stored, None, "the reservation was released");
    down.stop().await;

    let up = h.start(h.config()).await;
    let r = h
        .post(&up, &key, EVENT)
        .header("idempotency-key", "retry-me")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "the retry is not mistaken for a duplicate");
    let id = r.json::<Value>().await.unwrap()["event_id"].clone();
    let records = h.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(payload_json(&records[0])["event_id"], id);
    up.stop().await;
}

#[tokio::test]
async fn redis_down_serves_unkeyed_requests_and_refuses_keyed_ones() {
    let h = Harness::new().await;
    let mut config = h.config();
    config.infra.redis_url = pulse_core::Secret::new("redis://127.0.0.1:1");
    let ingest = h.start(config).await;
    let (_, key) = h.tenant(1000).await;

    let r = h.post(&ingest, &key, EVENT).send().await.unwrap();
    assert_eq!(
        r.status(),
        202,
        "rate limiting falls back to the in-process limiter"
    );

    let r = h
        .post(&ingest, &key, EVENT)
        .header("idempotency-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "idempotency_unavailable"
    );

    // the fallback limiter still limits
    let (_, small) = h.tenant(2).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            h.post(&ingest, &small, EVENT)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [202, 202, 429, 429]);

    let metrics = pulse_core::testkit::get_text(&ingest.url("/metrics")).await;
    assert!(
        metrics.contains("pulse_rate_limit_fallback"),
        "fallback is counted"
    );
    ingest.stop().await;
}

#[tokio::test]
async fn shutdown_loses_no_acknowledged_event() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (_, key) = h.tenant(1_000_000).await;

    let url = ingest.url("/events");
    let sender = {
        let http = h.http.clone();
        let key = key.expose().to_owned();
        tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..400 {
                let http = http.clone();
                let key = key.clone();
                let url = url.clone();
                tasks.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(i)).await;
                    let r = http
                        .post(url)
                        .header("x-api-key", key)
                        .header("content-type", "application/json")
                        .body(EVENT)
                        .send()
                        .await
                        .ok()?;
                    if r.status() == 202 {
                        r.json::<Value>()
                            .await
                            .ok()
                            .map(|v| v["event_id"].as_str().unwrap().to_owned())
                    } else {
                        None
                    }
                });
            }
            while let Some(r) = tasks.join_next().await {
                if let Some(id) = r.unwrap() {
                    accepted.push(id);
                }
            }
            accepted
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    ingest.stop().await;
    let accepted = sender.await.unwrap();
    assert!(
        !accepted.is_empty(),
        "some requests were accepted before shutdown"
    );
    assert!(
        accepted.len() < 400,
        "shutdown happened while requests were coming in"
    );

    let in_kafka: HashSet<String> = h
        .records()
        .await
        .iter()
        .map(|m| payload_json(m)["event_id"].as_str().unwrap().to_owned())
        .collect();
    for id in &accepted {
        assert!(
            in_kafka.contains(id),
            "acknowledged event {id} is not in Kafka"
        );
    }
}
