//! Each service answers `/healthz`, `/readyz` and `/metrics`, and turns `/readyz` to 503 as soon
//! as shutdown starts, before it stops accepting connections.

use std::{future::Future, net::SocketAddr, time::Duration};

use pulse_core::{
    server::ShutdownTiming,
    testkit::{self, TestDb},
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

const TIMING: ShutdownTiming = ShutdownTiming {
    grace: Duration::from_millis(1500),
    drain: Duration::from_secs(5),
};

async fn start<F, Fut>(
    serve: F,
) -> (
    SocketAddr,
    CancellationToken,
    JoinHandle<anyhow::Result<()>>,
)
where
    F: FnOnce(TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    testkit::telemetry();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let handle = tokio::spawn(serve(listener, token.clone()));
    (addr, token, handle)
}

async fn check_lifecycle(
    addr: SocketAddr,
    token: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
) {
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");
    let ready = testkit::eventually("readyz 200", Duration::from_secs(20), || async {
        let r = http.get(url("/readyz")).send().await.ok()?;
        (r.status() == 200).then_some(r)
    })
    .await;
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

    token.cancel();
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

    let stopped = tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("service stops within 10 s");
    stopped.unwrap().expect("service exits cleanly");
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
    config.raw_topic = testkit::unique("test.raw.");
    config.redis_prefix = testkit::unique("test:");
    config.shutdown = TIMING;
    let (addr, token, handle) = start(|l, t| pulse_ingest::serve(config, l, t)).await;
    check_lifecycle(addr, token, handle).await;
}

#[tokio::test]
async fn processor_health_and_shutdown() {
    let mut config = pulse_processor::Config::from_env().unwrap();
    config.shutdown = TIMING;
    let (addr, token, handle) = start(|l, t| pulse_processor::serve(config, l, t)).await;
    check_lifecycle(addr, token, handle).await;
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
    let (addr, token, handle) = start(|l, t| pulse_graphql::serve(config, l, t)).await;
    check_lifecycle(addr, token, handle).await;
}
