//! Secrets stay secret: a flow through ingest, the processor and the GraphQL API with a known
//! tenant key, admin token, idempotency key and payload marker (and wrong keys and tokens), then
//! every log line the services wrote (at debug for Pulse's crates) and every span they exported to
//! Jaeger in that time is searched for them. Also: services listen on loopback unless told not to.

mod support;

use std::{
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use pulse_core::{
    TenantStore,
    testkit::{self, TestDb},
};
use serde_json::{Value, json};
use support::Service;

fn jaeger() -> String {
    std::env::var("PULSE_JAEGER_QUERY_URL").unwrap_or_else(|_| "http://127.0.0.1:16686".to_owned())
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

fn log_of(service: &Service) -> String {
    let path =
        std::env::temp_dir().join(format!("pulse-test-{}-{}.log", service.name, service.port));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn random_hex(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(len);
    s
}

#[test]
fn services_listen_on_loopback_by_default() {
    for (command, var, port) in [
        ("ingest", "PULSE_INGEST_ADDR", 8080),
        ("processor", "PULSE_PROCESSOR_ADDR", 8082),
        ("graphql", "PULSE_GRAPHQL_ADDR", 8081),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pulse"))
            .args([command, "--help"])
            .env_remove(var)
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains(&format!("[default: 127.0.0.1:{port}]")),
            "pulse {command} defaults to loopback: {help}"
        );
        assert!(help.contains(var), "the switch is {var}: {help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line_or_an_exported_span() {
    let started_us = now_us();
    let db = TestDb::new().await;
    let store = TenantStore::new(db.pool.clone());
    let (_, key) = store
        .create(&testkit::unique("t-"), Some(100_000))
        .await
        .unwrap();
    let key = key.expose().to_owned();
    let admin_token = format!("admin-{}", random_hex(32));
    let wrong_key = format!("pk_{}", random_hex(40));
    let wrong_token = format!("wrong-{}", random_hex(32));
    let idempotency_key = format!("idem-{}", random_hex(24));
    let payload_marker = format!("payload-{}", random_hex(24));

    let raw = testkit::TestTopic::new("raw");
    let dlq = testkit::TestTopic::new("dlq");
    let env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("KAFKA_BROKERS", testkit::kafka_brokers()),
        ("PULSE_TOPIC_RAW", raw.to_string()),
        ("PULSE_TOPIC_DLQ", dlq.to_string()),
        ("PULSE_CONSUMER_GROUP", testkit::unique("test-secrets-")),
        ("PULSE_REDIS_KEY_PREFIX", testkit::unique("test:")),
        ("PULSE_ADMIN_TOKEN", admin_token.clone()),
        ("PULSE_LOG_FORMAT", "json".to_owned()),
        (
            "RUST_LOG",
            "info,pulse_ingest=debug,pulse_processor=debug,pulse_graphql=debug,pulse_core=debug"
                .to_owned(),
        ),
    ];
    let mut ingest = Service::start("ingest", &env);
    let mut processor = Service::start("processor", &env);
    let mut graphql = Service::start("graphql", &env);
    ingest.ready().await;
    processor.ready().await;
    graphql.ready().await;
    let http = reqwest::Client::new();

    let trace_id = random_hex(32);
    let traceparent = format!("00-{trace_id}-{}-01", random_hex(16));
    let event = json!({"event_type": "secret.test", "payload": {"marker": payload_marker}});
    let r = http
        .post(ingest.url("/events"))
        .header("x-api-key", &key)
        .header("idempotency-key", &idempotency_key)
        .header("traceparent", &traceparent)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // the same key again (a duplicate), a dead letter, a batch, and a wrong key
    let r = http
        .post(ingest.url("/events"))
        .header("x-api-key", &key)
        .header("idempotency-key", &idempotency_key)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(ingest.url("/events"))
        .header("x-api-key", &key)
        .json(&json!({"payload": {"marker": payload_marker}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = http
        .post(ingest.url("/events/batch"))
        .header("x-api-key", &key)
        .json(&json!({"events": [
            {"event_type": "secret.batch", "payload": {"marker": payload_marker}, "idempotency_key": format!("{idempotency_key}-b")}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(ingest.url("/events"))
        .header("x-api-key", &wrong_key)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(!body.contains(&wrong_key), "the 401 does not echo the key");

    // GraphQL: the admin token, a wrong token, and the tenant key
    for auth in [
        ("authorization", format!("Bearer {admin_token}")),
        ("authorization", format!("Bearer {wrong_token}")),
        ("x-api-key", key.clone()),
    ] {
        let r = http
            .post(graphql.url("/graphql"))
            .header(auth.0, &auth.1)
            .header(
                "traceparent",
                format!("00-{}-{}-01", random_hex(32), random_hex(16)),
            )
            .json(&json!({"query": "{ version tenants { name } }"}))
            .send()
            .await
            .unwrap();
        let text = r.text().await.unwrap();
        for secret in [&admin_token, &wrong_token, &key] {
            assert!(
                !text.contains(secret.as_str()),
                "a GraphQL answer echoes a secret: {text}"
            );
        }
    }

    testkit::eventually("events stored", Duration::from_secs(60), || async {
        let n: i64 = sqlx::query_scalar("select count(*) from events")
            .fetch_one(&db.pool)
            .await
            .ok()?;
        let d: i64 = sqlx::query_scalar("select count(*) from dead_letters")
            .fetch_one(&db.pool)
            .await
            .ok()?;
        (n >= 2 && d >= 1).then_some(())
    })
    .await;
    // a clean stop flushes the span exporters and the logs
    assert!(ingest.terminate().is_some());
    assert!(processor.terminate().is_some());
    assert!(graphql.terminate().is_some());

    let secrets = [
        ("tenant API key", key.clone()),
        (
            "tenant API key without its prefix",
            key["pk_".len()..].to_owned(),
        ),
        ("admin token", admin_token.clone()),
        ("wrong API key", wrong_key.clone()),
        ("wrong admin token", wrong_token.clone()),
        ("idempotency key", idempotency_key.clone()),
        ("payload", payload_marker.clone()),
    ];
    let logs = [log_of(&ingest), log_of(&processor), log_of(&graphql)];
    assert!(
        logs[0].contains("ingest listening"),
        "the ingest log is the one written by this test"
    );
    for (what, secret) in &secrets {
        for (log, name) in logs.iter().zip(["ingest", "processor", "graphql"]) {
            assert!(
                !log.contains(secret.as_str()),
                "the {what} is in the {name} log"
            );
        }
    }

    // every span the three services exported since the test started (not only this test's:
    // secrets are unique, so a hit can only be ours)
    let mut exported = String::new();
    testkit::eventually(
        "this test's ingest trace, processor span included, in Jaeger",
        Duration::from_secs(30),
        || async {
            let v: Value = http
                .get(format!("{}/api/traces/{trace_id}", jaeger()))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let text = v["data"].get(0)?.to_string();
            text.contains("pulse-processor").then_some(())
        },
    )
    .await;
    for service in ["pulse-ingest", "pulse-processor", "pulse-graphql"] {
        let url = format!(
            "{}/api/traces?service={service}&start={started_us}&end={}&limit=2000",
            jaeger(),
            now_us()
        );
        let text = http.get(&url).send().await.unwrap().text().await.unwrap();
        exported.push_str(&text);
    }
    assert!(
        exported.contains(&trace_id),
        "the search found this test's trace"
    );
    for (what, secret) in &secrets {
        assert!(
            !exported.contains(secret.as_str()),
            "the {what} is in a span exported to Jaeger"
        );
    }

    // and not in the audit log either, where there is one
    let audit: Option<String> =
        sqlx::query_scalar("select string_agg(a::text, ' ') from audit_log a")
            .fetch_one(&db.pool)
            .await
            .ok()
            .flatten();
    if let Some(audit) = audit {
        for (what, secret) in &secrets {
            assert!(
                !audit.contains(secret.as_str()),
                "the {what} is in audit_log"
            );
        }
    }
}
