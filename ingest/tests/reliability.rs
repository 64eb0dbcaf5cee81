//! The status-table rows that only show up when something is too big, too slow or unavailable:
//! 413 for an oversized batch, 503 when the producer queue is full, 503 `auth_unavailable`, 408
//! for a body that never arrives, and a batch item whose publish fails while the others succeed.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, payload_json};
use pulse_core::testkit::{self, CuttableProxy};
use redis::AsyncCommands;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EVENT: &str = r#"{"event_type":"order.created","payload":{"order_id":"o-1"}}"#;

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// An ingest whose producer holds one record at a time and waits `linger` before sending it, so
/// a second record arriving meanwhile finds the queue full.
fn tiny_queue(h: &Harness) -> pulse_ingest::Config {
    let mut c = h.config();
    c.queue_max_messages = 1;
    c.linger = Duration::from_millis(1500);
    c
}

#[tokio::test]
async fn an_oversized_batch_is_413_and_nothing_is_published() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (_, key) = h.tenant(1000).await;
    // ten events (the harness' limit) of ~7 KiB each: 70 KiB against a 64 KiB batch limit
    let events: Vec<Value> = (0..10)
        .map(|i| json!({"event_type": "a", "payload": {"i": i, "pad": "x".repeat(7000)}}))
        .collect();
    let body = json!({ "events": events }).to_string();
    assert!(body.len() > 64 * 1024);

    let post = || {
        h.http
            .post(ingest.url("/events/batch"))
            .header("x-api-key", key.expose())
            .header("content-type", "application/json")
    };
    // declared length: refused before the body is read
    let r = post().body(body.clone()).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_error(&r.json().await.unwrap(), "payload_too_large");

    // no declared length (chunked): cut off while reading
    let chunks: Vec<Result<String, std::io::Error>> = body
        .as_bytes()
        .chunks(4096)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let r = post()
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_error(&r.json().await.unwrap(), "payload_too_large");

    // a batch just under the limit still goes through, and is the only thing in Kafka
    let small = json!({ "events": [{"event_type": "a", "payload": {}}] }).to_string();
    let r = post().body(small).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.records().await.len(), 1, "the 413s published nothing");
    ingest.stop().await;
}

#[tokio::test]
async fn a_full_producer_queue_is_503_with_retry_after_at_once() {
    let h = Harness::new().await;
    let ingest = h.start(tiny_queue(&h)).await;
    let (_, key) = h.tenant(1000).await;

    let started = Instant::now();
    let answers = futures::future::join_all((0..6).map(|_| async {
        let r = h.post(&ingest, &key, EVENT).send().await.unwrap();
        let status = r.status().as_u16();
        let retry_after = r.headers().get("retry-after").cloned();
        (status, retry_after, r.json::<Value>().await.unwrap())
    }))
    .await;
    let accepted = answers.iter().filter(|(s, _, _)| *s == 202).count();
    let full: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 503).collect();
    assert_eq!(
        accepted + full.len(),
        answers.len(),
        "only 202 or 503: {answers:?}"
    );
    assert!(accepted >= 1, "the first record got through: {answers:?}");
    assert!(!full.is_empty(), "the queue filled up: {answers:?}");
    for (_, retry_after, body) in &full {
        assert!(retry_after.is_some(), "503 carries Retry-After");
        assert_error(body, "broker_unavailable");
    }
    // the refused ones were answered without waiting for the broker (the linger is 1.5 s, the
    // delivery timeout 5 s; everything here is over once the one accepted record is acknowledged)
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(
        h.records().await.len(),
        accepted,
        "only the 202s are in Kafka"
    );

    let metrics = testkit::get_text(&ingest.url("/metrics")).await;
    assert!(
        metrics.contains("queue_full"),
        "queue-full sends are counted"
    );
    ingest.stop().await;
}

#[tokio::test]
async fn a_batch_item_whose_publish_fails_is_503_and_its_key_is_released() {
    let h = Harness::new().await;
    let ingest = h.start(tiny_queue(&h)).await;
    let (tenant, key) = h.tenant(1000).await;
    let items: Vec<Value> = (0..3)
        .map(|i| json!({"event_type": "a", "payload": {"i": i}, "idempotency_key": format!("k-{i}")}))
        .collect();
    let r = h
        .http
        .post(ingest.url("/events/batch"))
        .header("x-api-key", key.expose())
        .header("content-type", "application/json")
        .json(&json!({ "events": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    let accepted: Vec<usize> = (0..3).filter(|&i| results[i]["code"] == 202).collect();
    let failed: Vec<usize> = (0..3).filter(|&i| results[i]["code"] == 503).collect();
    assert_eq!(accepted.len(), 1, "one item fits the queue: {body}");
    assert_eq!(failed.len(), 2, "the others fail to publish: {body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["rejected"], 2);
    for &i in &failed {
        assert_eq!(results[i]["error"], "broker_unavailable", "{body}");
    }

    // the accepted item's key is completed, the failed items' keys are released
    let mut redis = h.redis().await;
    for i in 0..3 {
        let stored: Option<String> = redis
            .get(format!("{}idem:{}:k-{i}", h.prefix, tenant.id))
            .await
            .unwrap();
        if accepted.contains(&i) {
            assert!(stored.is_some_and(|v| v.starts_with("c|")), "k-{i}");
        } else {
            assert_eq!(stored, None, "k-{i} released");
        }
    }

    // a client retrying the failed items one by one gets them accepted, each once
    let mut ids = vec![
        results[accepted[0]]["event_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    for &i in &failed {
        let item =
            json!({"event_type": "a", "payload": {"i": i}, "idempotency_key": format!("k-{i}")});
        let r = h
            .http
            .post(ingest.url("/events/batch"))
            .header("x-api-key", key.expose())
            .header("content-type", "application/json")
            .json(&json!({ "events": [item] }))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["results"][0]["code"], 202, "retry of k-{i}: {v}");
        ids.push(v["results"][0]["event_id"].as_str().unwrap().to_owned());
    }
    let mut in_kafka: Vec<String> = h
        .records()
        .await
        .iter()
        .map(|m| payload_json(m)["event_id"].as_str().unwrap().to_owned())
        .collect();
    in_kafka.sort();
    ids.sort();
    assert_eq!(in_kafka, ids, "each item published exactly once");
    ingest.stop().await;
}

#[tokio::test]
async fn tenant_store_down_is_503_auth_unavailable_and_known_keys_keep_working() {
    let h = Harness::new().await;
    let proxy = CuttableProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let mut config = h.config();
    let url = h.db.url.replace("127.0.0.1:5432", &proxy.addr.to_string());
    assert_ne!(url, h.db.url, "test database url points at 127.0.0.1:5432");
    config.infra.database_url = pulse_core::Secret::new(url);
    config.auth_cache_ttl = Duration::from_secs(60);
    let ingest = h.start(config).await;
    let (_, known) = h.tenant(1000).await;
    let (_, unseen) = h.tenant(1000).await;

    let r = h.post(&ingest, &known, EVENT).send().await.unwrap();
    assert_eq!(r.status(), 202);
    proxy.cut();

    let r = h.post(&ingest, &unseen, EVENT).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_error(&body, "auth_unavailable");
    assert!(
        !body.to_string().contains(unseen.expose()),
        "the key is not echoed"
    );
    let r = h.post(&ingest, &known, EVENT).send().await.unwrap();
    assert_eq!(
        r.status(),
        202,
        "a cached key works while PostgreSQL is down"
    );

    proxy.restore();
    testkit::eventually(
        "the unseen key accepted",
        Duration::from_secs(20),
        || async {
            let r = h.post(&ingest, &unseen, EVENT).send().await.ok()?;
            (r.status() == 202).then_some(())
        },
    )
    .await;
    ingest.stop().await;
}

/// Whether `answer` holds a whole response: headers and `content-length` bytes of body.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    length.is_some_and(|n| body.len() >= n)
}

/// Sends `head` and then nothing more; returns the status line and body of the answer.
async fn raw_exchange(addr: std::net::SocketAddr, head: &str) -> (u16, String, Duration) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if complete(&answer) {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answered in time");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body, started.elapsed())
}

#[tokio::test]
async fn a_body_that_never_arrives_is_408_with_a_json_error() {
    let h = Harness::new().await;
    let mut config = h.config();
    config.request_timeout = Duration::from_millis(800);
    let ingest = h.start(config).await;
    let (_, key) = h.tenant(1000).await;

    // declares 200 bytes, sends 12, then waits
    let head = format!(
        "POST /events HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"event_type\"",
        key.expose()
    );
    let (status, body, waited) = raw_exchange(ingest.addr, &head).await;
    assert_eq!(status, 408, "{body}");
    let v: Value = serde_json::from_str(body.trim())
        .unwrap_or_else(|e| panic!("408 body is JSON ({e}): {body:?}"));
    assert_error(&v, "request_timeout");
    assert!(waited < Duration::from_secs(5), "answered at the deadline");

    // the service is fine afterwards
    let r = h.post(&ingest, &key, EVENT).send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert!(
        h.records().await.len() == 1,
        "the timed-out request published nothing"
    );
    ingest.stop().await;
}

#[tokio::test]
async fn past_the_in_flight_bound_a_request_is_shed_with_503_at_once() {
    let h = Harness::new().await;
    let mut config = h.config();
    config.max_in_flight = 2;
    config.request_timeout = Duration::from_secs(20);
    let ingest = h.start(config).await;
    let (_, key) = h.tenant(1000).await;

    // two requests whose bodies never finish hold both permits
    let head = format!(
        "POST /events HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"event_type\"",
        key.expose()
    );
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(ingest.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        holders.push(stream);
    }
    let shed = testkit::eventually("a third request shed", Duration::from_secs(10), || async {
        let started = Instant::now();
        let r = h.post(&ingest, &key, EVENT).send().await.ok()?;
        (r.status() == 503).then_some((r, started.elapsed()))
    })
    .await;
    let (response, took) = shed;
    assert_eq!(
        response.headers()["retry-after"],
        "1",
        "503 tells the client when to retry"
    );
    assert_error(&response.json().await.unwrap(), "overloaded");
    assert!(took < Duration::from_secs(1), "shed at once, took {took:?}");
    assert!(h.records().await.is_empty(), "nothing was published");

    // the bound is per request in flight: once the holders go, requests are accepted again
    drop(holders);
    testkit::eventually("accepted again", Duration::from_secs(10), || async {
        let r = h.post(&ingest, &key, EVENT).send().await.ok()?;
        (r.status() == 202).then_some(())
    })
    .await;
    ingest.stop().await;
}
