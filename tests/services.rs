//! Each service answers `/healthz`, `/readyz` and `/metrics`, and turns `/readyz` to 503 as soon
//! as shutdown starts, before it stops accepting connections.

use std::time::Duration;

use pulse_core::{
    server::ShutdownTiming,
    testkit::{self, Spawned, TestDb, TestTopic},
};

const TIMING: ShutdownTiming = ShutdownTiming {
    grace: Duration::from_millis(1500),
    drain: Duration::from_secs(5),
};

/// `service` is ready (Spawned waited for it): health, readiness and metrics answer; then its
/// shutdown turns readiness to 503 at once while liveness stays, and it exits cleanly.
async fn check_lifecycle(service: Spawned) {
    let http = reqwest::Client::new();
    let addr = service.addr;
    let url = |p: &str| format!("http://{addr}{p}");
    let ready = http.get(url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
    let health = http.get(url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let metrics = http.get(url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("http_server_request_duration"),
        "no request histogram in:\n{text}"
    );

    service.token.cancel();
    let during = testkit::eventually(
        "readyz 503 during shutdown",
        Duration::from_secs(1),
        || async {
            let r = http.get(url("/readyz")).send().await.ok()?;
            (r.status() == 503).then_some(r)
        },
    )
    .await;
    assert_eq!(
        during.json::<serde_json::Value>().await.unwrap()["status"],
        "shutting_down"
    );
    // liveness stays green while draining
    assert_eq!(
        http.get(url("/healthz")).send().await.unwrap().status(),
        200
    );

    // exits cleanly and in time
    service.stop().await;
    assert!(
        http.get(url("/healthz")).send().await.is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn ingest_health_and_shutdown() {
    let db = TestDb::new().await;
    let mut config = pulse_ingest::Config::from_env().unwrap();
    config.infra = db.infra();
    let raw = TestTopic::new("raw");
    config.raw_topic = raw.to_string();
    config.redis_prefix = testkit::unique("test:");
    config.shutdown = TIMING;
    check_lifecycle(Spawned::start("ingest", |l, t| pulse_ingest::serve(config, l, t)).await).await;
}

#[tokio::test]
async fn processor_health_and_shutdown() {
    // its own database, topics and group: never the running stack's `pulse-processor` group
    let db = TestDb::new().await;
    let (raw, dlq) = (TestTopic::new("raw"), TestTopic::new("dlq"));
    let mut config = pulse_processor::Config::from_env().unwrap();
    config.infra = db.infra();
    config.raw_topic = raw.to_string();
    config.dlq_topic = dlq.to_string();
    config.group = testkit::unique("test-group-");
    config.shutdown = TIMING;
    check_lifecycle(Spawned::start("processor", |l, t| pulse_processor::serve(config, l, t)).await)
        .await;
}

#[tokio::test]
async fn graphql_health_and_shutdown() {
    let db = TestDb::new().await;
    // PULSE_ADMIN_TOKEN has no default; a test brings its own
    let mut config = pulse_graphql::Config::new(
        db.infra(),
        pulse_core::Secret::new("services-test-admin-token"),
    );
    config.shutdown = TIMING;
    check_lifecycle(Spawned::start("graphql", |l, t| pulse_graphql::serve(config, l, t)).await)
        .await;
}
