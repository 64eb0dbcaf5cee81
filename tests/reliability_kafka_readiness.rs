//! An idle processor whose broker goes away stops being ready, and becomes ready again by itself
//! when the broker is back (a private broker, SIGKILLed and restarted; the consume loop has
//! nothing to read, so only the broker watch can notice).

use std::time::Duration;

use pulse_core::testkit::{self, TestDb};
use pulse_loadtest::chaos::infra::PrivateKafka;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

async fn readyz(http: &reqwest::Client, addr: std::net::SocketAddr) -> Option<(u16, Value)> {
    let r = http
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_processor_is_not_ready_while_its_broker_is_down_and_recovers_by_itself() {
    testkit::telemetry();
    let root = pulse_loadtest::chaos::infra::repo_root()
        .join(".run/chaos")
        .join(testkit::unique("test-"));
    let mut kafka = PrivateKafka::start(&root).await.expect("a private Kafka");
    let db = TestDb::new().await;
    let mut config = pulse_processor::Config::from_env().unwrap();
    config.infra = db.infra();
    config.infra.kafka_brokers = kafka.brokers();
    config.raw_topic = testkit::unique("test.raw.");
    config.dlq_topic = testkit::unique("test.dlq.");
    config.group = testkit::unique("test-group-");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let handle = tokio::spawn(pulse_processor::serve(config, listener, token.clone()));
    let http = reqwest::Client::new();

    testkit::eventually("the processor ready", Duration::from_secs(30), || async {
        (readyz(&http, addr).await?.0 == 200).then_some(())
    })
    .await;

    kafka.kill();
    let body = testkit::eventually(
        "readiness degraded without a broker",
        Duration::from_secs(30),
        || async {
            let (status, body) = readyz(&http, addr).await?;
            (status == 503).then_some(body)
        },
    )
    .await;
    assert_eq!(body["status"], "degraded", "{body}");
    assert!(
        body["reason"].as_str().unwrap_or("").contains("kafka"),
        "the reason names the broker: {body}"
    );
    let alive = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200, "the process stays alive");

    kafka.restart().await.expect("the broker restarts");
    testkit::eventually(
        "ready again once the broker answers",
        Duration::from_secs(60),
        || async { (readyz(&http, addr).await?.0 == 200).then_some(()) },
    )
    .await;

    token.cancel();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .expect("the processor stops in time")
        .unwrap()
        .unwrap();
    drop(kafka);
    let _ = std::fs::remove_dir_all(&root);
}
