//! Every row of the ingest status table, against the real Redis and Kafka.
//!
//! (Its size: one file is one test binary, and every binary is another link of the whole
//! dependency tree on CI's two cores; the tests share one harness and read best together.)

mod common;

use std::time::Duration;

use common::{Harness, header, payload_json};
use redis::AsyncCommands;
use serde_json::{Value, json};

const EVENT: &str =
    r#"{"event_type":"order.created","payload":{"order_id":"o-1"},"partition_key":"order-1"}"#;

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("a JSON body")
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn accepted_event_is_in_kafka_with_contracted_shape() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (tenant, key) = h.tenant(1000).await;

    let r = h.post(&ingest, &key, EVENT).send().await.unwrap();
    assert_eq!(r.status(), 202);
    for name in [
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "traceparent",
    ] {
        assert!(r.headers().contains_key(name), "missing {name}");
    }
    assert_eq!(r.headers()["ratelimit-limit"], "1000");
    assert_eq!(r.headers()["ratelimit-remaining"], "999");
    let traceparent = r.headers()["traceparent"].to_str().unwrap().to_owned();
    let body = json_of(r).await;
    assert_eq!(body["status"], "accepted");
    let event_id = uuid::Uuid::parse_str(body["event_id"].as_str().unwrap()).unwrap();
    assert_eq!(event_id.get_version_num(), 7, "event ids are UUID v7");

    let records = h.records().await;
    assert_eq!(records.len(), 1);
    let m = &records[0];
    assert_eq!(
        rdkafka::Message::key(m),
        Some(&b"order-1"[..]),
        "partition_key is the record key"
    );
    let value = payload_json(m);
    assert_eq!(value["event_id"], event_id.to_string());
    assert_eq!(value["tenant_id"], tenant.id.to_string());
    assert!(value["received_at"].as_str().is_some());
    assert_eq!(value["idempotency_key"], Value::Null);
    assert_eq!(value["body"], serde_json::from_str::<Value>(EVENT).unwrap());
    assert_eq!(
        header(m, "pulse-tenant-id"),
        Some(tenant.id.to_string().as_str())
    );
    assert_eq!(
        header(m, "pulse-event-id"),
        Some(event_id.to_string().as_str())
    );
    let tp = header(m, "traceparent").expect("traceparent header");
    assert_eq!(
        tp.split('-').nth(1),
        traceparent.split('-').nth(1),
        "same trace as the HTTP answer"
    );

    // without a partition key the event id is the record key
    let r = h
        .post(&ingest, &key, r#"{"event_type":"a","payload":{}}"#)
        .send()
        .await
        .unwrap();
    let id = json_of(r).await["event_id"].as_str().unwrap().to_owned();
    let records = h.records().await;
    let m = records
        .iter()
        .find(|m| header(m, "pulse-event-id") == Some(id.as_str()))
        .unwrap();
    assert_eq!(rdkafka::Message::key(m), Some(id.as_bytes()));
    ingest.stop().await;
}

#[tokio::test]
async fn authentication_failures_are_401() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (tenant, key) = h.tenant(1000).await;

    let r = h
        .http
        .post(ingest.url("/events"))
        .header("content-type", "application/json")
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_error(&json_of(r).await, "missing_api_key");

    let bogus = pulse_core::Secret::new("pk_nope");
    let r = h.post(&ingest, &bogus, EVENT).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_error(&json_of(r).await, "invalid_api_key");

    assert_eq!(
        h.post(&ingest, &key, EVENT).send().await.unwrap().status(),
        202
    );
    h.tenants.set_disabled(&tenant.name, true).await.unwrap();
    // the auth cache lives 300 ms in tests (30 s by default)
    pulse_core::testkit::eventually("disabled key refused", Duration::from_secs(5), || async {
        let r = h.post(&ingest, &key, EVENT).send().await.ok()?;
        (r.status() == 401).then_some(())
    })
    .await;

    // a rotated key replaces the old one
    h.tenants.set_disabled(&tenant.name, false).await.unwrap();
    let (_, new_key) = h.tenants.rotate_key(&tenant.name).await.unwrap();
    pulse_core::testkit::eventually("new key accepted", Duration::from_secs(5), || async {
        let r = h.post(&ingest, &new_key, EVENT).send().await.ok()?;
        (r.status() == 202).then_some(())
    })
    .await;
    assert_eq!(
        h.post(&ingest, &key, EVENT).send().await.unwrap().status(),
        401
    );
    ingest.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (_, key) = h.tenant(1000).await;

    let r = h
        .http
        .post(ingest.url("/events"))
        .header("x-api-key", key.expose())
        .header("content-type", "text/plain")
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_error(&json_of(r).await, "unsupported_media_type");

    let r = h.post(&ingest, &key, "{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_error(&json_of(r).await, "invalid_json");

    let r = h.post(&ingest, &key, "[1,2]").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_error(&json_of(r).await, "not_an_object");

    // nesting PostgreSQL could never store is refused at the door, in a batch item too
    let deep = format!(
        r#"{{"event_type":"a","payload":{}1{}}}"#,
        r#"{"a":"#.repeat(128),
        "}".repeat(128)
    );
    let r = h.post(&ingest, &key, &deep).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_error(&json_of(r).await, "nesting_too_deep");
    let r = h
        .http
        .post(ingest.url("/events/batch"))
        .header("x-api-key", key.expose())
        .header("content-type", "application/json")
        .body(format!(r#"{{"events":[{EVENT},{deep}]}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_error(&json_of(r).await, "nesting_too_deep");
    let fine = format!(
        r#"{{"event_type":"a","payload":{}1{}}}"#,
        r#"{"a":"#.repeat(126),
        "}".repeat(126)
    );
    let r = h.post(&ingest, &key, &fine).send().await.unwrap();
    assert_eq!(r.status(), 202, "128 levels in all are accepted");

    let big = format!(
        r#"{{"event_type":"a","payload":{{"x":"{}"}}}}"#,
        "x".repeat(5000)
    );
    let r = h.post(&ingest, &key, &big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_error(&json_of(r).await, "payload_too_large");

    // a chunked body without a Content-Length is cut off while reading
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..10).map(|_| Ok("x".repeat(1000))).collect();
    let r = h
        .http
        .post(ingest.url("/events"))
        .header("x-api-key", key.expose())
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    let r = h
        .post(&ingest, &key, EVENT)
        .header("idempotency-key", "has space")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_error(&json_of(r).await, "invalid_idempotency_key");

    let r = h.http.get(ingest.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_error(&json_of(r).await, "not_found");
    let r = h.http.get(ingest.url("/events")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    ingest.stop().await;
}

#[tokio::test]
async fn idempotency_key_replays_conflicts_and_in_flight() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (tenant, key) = h.tenant(1000).await;

    let first = h
        .post(&ingest, &key, EVENT)
        .header("idempotency-key", "order-1")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 202);
    let id = json_of(first).await["event_id"].clone();

    let again = h
        .post(&ingest, &key, EVENT)
        .header("idempotency-key", "order-1")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let body = json_of(again).await;
    assert_eq!(body["status"], "duplicate");
    assert_eq!(body["event_id"], id);

    let other = r#"{"event_type":"order.created","payload":{"order_id":"o-2"}}"#;
    let conflict = h
        .post(&ingest, &key, other)
        .header("idempotency-key", "order-1")
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status(), 422);
    assert_error(&json_of(conflict).await, "idempotency_key_reused");

    // another tenant's identical key is its own
    let (_, key2) = h.tenant(1000).await;
    let r = h
        .post(&ingest, &key2, EVENT)
        .header("idempotency-key", "order-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);

    // a reservation still in flight (as another instance would hold it) answers 409
    let mut redis = h.redis().await;
    let fingerprint = pulse_ingest::body::fingerprint(EVENT.as_bytes());
    let redis_key = format!("{}idem:{}:order-2", h.prefix, tenant.id);
    let _: () = redis
        .set_ex(
            &redis_key,
            format!("p|{fingerprint}|{}", uuid::Uuid::now_v7()),
            60,
        )
        .await
        .unwrap();
    let busy = h
        .post(&ingest, &key, EVENT)
        .header("idempotency-key", "order-2")
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 409);
    assert!(busy.headers().contains_key("retry-after"));
    assert_error(&json_of(busy).await, "idempotency_key_in_flight");

    // the completed key is stored under the contracted name with the tenant's window
    let stored: String = redis
        .get(format!("{}idem:{}:order-1", h.prefix, tenant.id))
        .await
        .unwrap();
    assert!(
        stored.starts_with("c|") && stored.ends_with(id.as_str().unwrap()),
        "{stored}"
    );
    let ttl: i64 = redis
        .ttl(format!("{}idem:{}:order-1", h.prefix, tenant.id))
        .await
        .unwrap();
    assert!((1700..=1800).contains(&ttl), "ttl {ttl}");

    let records = h.records().await;
    assert_eq!(records.len(), 2, "one record per accepted event");
    assert!(
        records
            .iter()
            .any(|m| payload_json(m)["idempotency_key"] == "order-1")
    );
    ingest.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_requests_with_one_key_publish_once() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (_, key) = h.tenant(100_000).await;

    let requests = (0..50).map(|_| {
        h.post(&ingest, &key, EVENT)
            .header("idempotency-key", "same-key")
            .send()
    });
    let answers = futures::future::join_all(requests).await;
    let mut accepted = Vec::new();
    let mut duplicates = Vec::new();
    let mut in_flight = 0;
    for a in answers {
        let a = a.unwrap();
        match a.status().as_u16() {
            202 => accepted.push(json_of(a).await["event_id"].clone()),
            200 => duplicates.push(json_of(a).await["event_id"].clone()),
            409 => in_flight += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(accepted.len(), 1, "exactly one 202");
    assert!(
        duplicates.iter().all(|d| *d == accepted[0]),
        "duplicates name the same event"
    );
    assert_eq!(1 + duplicates.len() + in_flight, 50);
    let records = h.records().await;
    assert_eq!(records.len(), 1, "exactly one Kafka record");
    assert_eq!(payload_json(&records[0])["event_id"], accepted[0]);
    ingest.stop().await;
}

#[tokio::test]
async fn rate_limit_is_exact_across_two_instances() {
    let h = Harness::new().await;
    let a = h.start(h.config()).await;
    let b = h.start(h.config()).await;
    let (_, key) = h.tenant(20).await;

    let mut statuses = Vec::new();
    let mut last_429 = None;
    for i in 0..40 {
        let ingest = if i % 2 == 0 { &a } else { &b };
        let r = h.post(ingest, &key, EVENT).send().await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            last_429 = Some(r);
        }
    }
    let accepted = statuses.iter().filter(|&&s| s == 202).count();
    assert!(
        (20..=21).contains(&accepted),
        "accepted {accepted} of 40 with a limit of 20: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 202 || s == 429),
        "{statuses:?}"
    );
    let r = last_429.expect("some requests were limited");
    for name in [
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
    ] {
        assert!(r.headers().contains_key(name), "missing {name}");
    }
    assert_eq!(r.headers()["ratelimit-remaining"], "0");
    assert_error(&json_of(r).await, "rate_limited");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn batch_answers_per_item_in_order() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (tenant, key) = h.tenant(1000).await;

    let done = h
        .post(&ingest, &key, EVENT)
        .header("idempotency-key", "k-done")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 202);
    let done_id = json_of(done).await["event_id"].clone();
    // the batch item carries its own key; its body differs from the single request's, so reuse
    // with the same item body is what counts as a duplicate
    let keyed_item = json!({"event_type": "a", "payload": {}, "idempotency_key": "k-batch"});
    let first = h
        .http
        .post(ingest.url("/events/batch"))
        .header("x-api-key", key.expose())
        .header("content-type", "application/json")
        .json(&json!({ "events": [keyed_item] }))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let first = json_of(first).await;
    let batch_id = first["results"][0]["event_id"].clone();

    let body = json!({ "events": [
        {"event_type": "a", "payload": {"n": 1}},
        [1, 2],
        {"event_type": "a", "payload": {}, "idempotency_key": "bad key"},
        keyed_item,
        {"missing": "fields are the processor's business"},
    ]});
    let r = h
        .http
        .post(ingest.url("/events/batch"))
        .header("x-api-key", key.expose())
        .header("content-type", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("ratelimit-remaining"));
    let answer = json_of(r).await;
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0]["code"], 202);
    assert_eq!(results[0]["status"], "accepted");
    assert_eq!(results[1]["code"], 400);
    assert_eq!(results[1]["error"], "not_an_object");
    assert_eq!(results[2]["code"], 400);
    assert_eq!(results[2]["error"], "invalid_idempotency_key");
    assert_eq!(results[3]["code"], 200);
    assert_eq!(results[3]["status"], "duplicate");
    assert_eq!(results[3]["event_id"], batch_id);
    assert_eq!(results[4]["code"], 202);
    assert_eq!(
        (
            answer["accepted"].as_u64(),
            answer["duplicates"].as_u64(),
            answer["rejected"].as_u64()
        ),
        (Some(2), Some(1), Some(2))
    );
    assert_ne!(batch_id, done_id);

    // a batch counts each event against the limit
    let (_, small) = h.tenant(3).await;
    let five: Vec<Value> = (0..5)
        .map(|i| json!({"event_type": "a", "payload": {"i": i}}))
        .collect();
    let r = h
        .http
        .post(ingest.url("/events/batch"))
        .header("x-api-key", small.expose())
        .header("content-type", "application/json")
        .json(&json!({ "events": five }))
        .send()
        .await
        .unwrap();
    let answer = json_of(r).await;
    let codes: Vec<u64> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [202, 202, 202, 429, 429]);
    let r = h
        .http
        .post(ingest.url("/events/batch"))
        .header("x-api-key", small.expose())
        .header("content-type", "application/json")
        .json(&json!({ "events": [{"event_type": "a", "payload": {}}] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "nothing fits: the whole batch is limited");
    assert!(r.headers().contains_key("retry-after"));

    // shape limits
    let eleven: Vec<Value> = (0..11)
        .map(|_| json!({"event_type": "a", "payload": {}}))
        .collect();
    let r = h
        .http
        .post(ingest.url("/events/batch"))
        .header("x-api-key", key.expose())
        .header("content-type", "application/json")
        .json(&json!({ "events": eleven }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_error(&json_of(r).await, "too_many_events");
    for bad in [r#"{"events":[]}"#, r#"{"nope":1}"#, r#"{"events":{}}"#] {
        let r = h
            .http
            .post(ingest.url("/events/batch"))
            .header("x-api-key", key.expose())
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert_error(&json_of(r).await, "invalid_batch");
    }

    // each accepted batch item is its own record with its own trace
    let records = h.records().await;
    let ours: Vec<_> = records
        .iter()
        .filter(|m| header(m, "pulse-tenant-id") == Some(tenant.id.to_string().as_str()))
        .collect();
    assert_eq!(ours.len(), 4, "single + first batch + two accepted items");
    let mut traces: Vec<&str> = ours
        .iter()
        .map(|m| header(m, "traceparent").unwrap().split('-').nth(1).unwrap())
        .collect();
    traces.sort_unstable();
    traces.dedup();
    assert_eq!(traces.len(), 4, "every event has its own trace");
    ingest.stop().await;
}

#[tokio::test]
async fn a_batchs_keys_are_all_completed_together() {
    let h = Harness::new().await;
    let ingest = h.start(h.config()).await;
    let (_tenant, key) = h.tenant(1000).await;
    let events: Vec<_> = (0..8)
        .map(|i| json!({"event_type": "a", "payload": {"i": i}, "idempotency_key": format!("many-{i}")}))
        .collect();
    let send = || {
        h.http
            .post(ingest.url("/events/batch"))
            .header("x-api-key", key.expose())
            .header("content-type", "application/json")
            .json(&json!({ "events": events }))
            .send()
    };
    let first = json_of(send().await.unwrap()).await;
    assert_eq!(first["accepted"], 8, "{first}");
    // every key was completed (in one pipelined call): the repeat is 8 duplicates with the
    // original ids, none of them "in flight"
    let again = json_of(send().await.unwrap()).await;
    assert_eq!(again["duplicates"], 8, "{again}");
    for i in 0..8 {
        assert_eq!(again["results"][i]["code"], 200);
        assert_eq!(
            again["results"][i]["event_id"],
            first["results"][i]["event_id"]
        );
    }
}
