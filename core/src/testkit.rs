//! Test support used by every crate's integration tests (feature `testkit`). Tests run against the
//! real servers `make test` starts, and stay hermetic: each gets its own database, its own topic
//! names and Redis key prefix, and starts services in-process on port 0. Databases ([`TestDb`])
//! and topics ([`TestTopic`]) are dropped with the value that owns them (`PULSE_TEST_KEEP=1` keeps
//! them for a post-mortem); `scripts/test-cleanup.sh` still sweeps what a killed run left behind.

use std::{future::Future, time::Duration};

use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::config::{
    self, DEFAULT_DATABASE_URL, DEFAULT_KAFKA_BROKERS, DEFAULT_REDIS_URL, InfraConfig,
};

/// `DATABASE_URL` (default the `make up` one): the server tests create their databases on.
pub fn admin_database_url() -> String {
    config::string("DATABASE_URL", DEFAULT_DATABASE_URL)
}

pub fn kafka_brokers() -> String {
    config::string("KAFKA_BROKERS", DEFAULT_KAFKA_BROKERS)
}

pub fn redis_url() -> String {
    config::string("REDIS_URL", DEFAULT_REDIS_URL)
}

/// A short unique name: `{prefix}{12 hex}`.
pub fn unique(prefix: &str) -> String {
    let id = Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..12])
}

/// Whether a test's database and topics are kept after it (`PULSE_TEST_KEEP=1`).
fn keep_test_data() -> bool {
    std::env::var_os("PULSE_TEST_KEEP").is_some_and(|v| v == "1")
}

/// Runs `cleanup` to completion on a runtime of its own: `Drop` cannot await, and the test's
/// runtime may be the one unwinding. Failures are reported, not raised (the sweep at the start of
/// the next run removes what is left).
fn clean_up_blocking<F>(what: String, cleanup: F)
where
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    let outcome = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(async { tokio::time::timeout(Duration::from_secs(15), cleanup).await })
            .map_err(|_| "timed out".to_owned())?
    })
    .join();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("test cleanup: {what}: {e}"),
        Err(_) => eprintln!("test cleanup: {what}: panicked"),
    }
}

/// A fresh database for one test, dropped (with any connection still open) when the value is.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    /// A new database with every migration applied.
    pub async fn new() -> Self {
        let db = Self::empty().await;
        crate::db::migrate(&db.pool)
            .await
            .expect("migrations apply");
        db
    }

    /// A new database with nothing in it.
    pub async fn empty() -> Self {
        let admin = admin_database_url();
        let name = unique("pulse_test_");
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL is reachable (run `make infra`)");
        sqlx::query(sqlx::AssertSqlSafe(format!("create database \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let url = with_database(&admin, &name);
        let pool = crate::db::connect(&url, 10)
            .await
            .expect("connect to test database");
        Self { name, url, pool }
    }

    /// Infrastructure settings pointing at this database and the shared Redis and Kafka.
    pub fn infra(&self) -> InfraConfig {
        InfraConfig {
            database_url: crate::Secret::new(self.url.clone()),
            redis_url: crate::Secret::new(redis_url()),
            kafka_brokers: kafka_brokers(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if keep_test_data() {
            return;
        }
        let name = self.name.clone();
        clean_up_blocking(format!("dropping database {name}"), async move {
            let mut conn = PgConnection::connect(&admin_database_url())
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "drop database if exists \"{name}\" with (force)"
            )))
            .execute(&mut conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
        });
    }
}

/// A Kafka topic name for one test (`test.{purpose}.{12 hex}`), deleted with its partitions when
/// the value is dropped: every leftover topic is partitions the broker keeps open and checks.
/// Whoever uses the name creates the topic (services create theirs on start).
pub struct TestTopic {
    name: String,
}

impl TestTopic {
    pub fn new(purpose: &str) -> Self {
        Self {
            name: unique(&format!("test.{purpose}.")),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::ops::Deref for TestTopic {
    type Target = str;

    fn deref(&self) -> &str {
        &self.name
    }
}

impl AsRef<str> for TestTopic {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl AsRef<std::ffi::OsStr> for TestTopic {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.name.as_ref()
    }
}

impl std::fmt::Display for TestTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Drop for TestTopic {
    fn drop(&mut self) {
        if keep_test_data() {
            return;
        }
        let name = self.name.clone();
        clean_up_blocking(format!("deleting topic {name}"), async move {
            use rdkafka::admin::{AdminClient, AdminOptions};
            let admin: AdminClient<rdkafka::client::DefaultClientContext> =
                crate::kafka::client_config(&kafka_brokers())
                    .create()
                    .map_err(|e| e.to_string())?;
            let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
            let results = admin
                .delete_topics(&[name.as_str()], &options)
                .await
                .map_err(|e| e.to_string())?;
            for result in results {
                match result {
                    // never created (the test failed before using it), or already gone
                    Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                    }
                    Err((topic, code)) => return Err(format!("{topic}: {code}")),
                }
            }
            Ok(())
        });
    }
}

pub use crate::db::with_database;

/// Polls `check` every 50 ms until it yields a value; panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Telemetry for a test process (service name `pulse-test`), installed once; exported to the
/// real Jaeger like the services' own.
pub fn telemetry() -> &'static pulse_otel::OtelGuard {
    static GUARD: std::sync::OnceLock<pulse_otel::OtelGuard> = std::sync::OnceLock::new();
    GUARD.get_or_init(|| {
        pulse_otel::init("pulse-test", &pulse_otel::OtelConfig::from_env())
            .expect("telemetry initialises")
    })
}

/// The body of a GET to `url` (a service's `/metrics`, say) as text; panics if there is none.
pub async fn get_text(url: &str) -> String {
    reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// Every record of `topic`: everything below each partition's high watermark when called, read
/// by a fresh consumer group from the beginning. A producer that waited for the broker's
/// acknowledgements has everything it sent below those marks, so there is no guessing how long a
/// quiet topic must stay quiet.
pub async fn read_topic(topic: &str) -> Vec<rdkafka::message::OwnedMessage> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    let consumer: StreamConsumer = crate::kafka::client_config(&kafka_brokers())
        .set("group.id", unique("test-reader-"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("a test consumer");
    let timeout = Duration::from_secs(10);
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .expect("topic metadata");
    let mut expected = 0;
    for p in metadata.topics()[0].partitions() {
        let (low, high) = consumer
            .fetch_watermarks(topic, p.id(), timeout)
            .expect("watermarks");
        expected += high - low;
    }
    consumer.subscribe(&[topic]).expect("subscribing");
    let mut out = Vec::new();
    while (out.len() as i64) < expected {
        let m = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("the records below the high watermarks arrive")
            .expect("a record");
        out.push(m.detach());
    }
    out
}

/// A TCP proxy in front of a real server that a test can cut and restore, to play an outage of
/// PostgreSQL, Redis or Kafka without touching the shared server.
pub struct CuttableProxy {
    pub addr: std::net::SocketAddr,
    enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttableProxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let enabled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let task = {
            let enabled = enabled.clone();
            let generation = generation.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !enabled.load(Ordering::Acquire) {
                        drop(inbound);
                        continue;
                    }
                    let mut cut = generation.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            })
        };
        Self {
            addr,
            enabled,
            generation,
            task,
        }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.enabled
            .store(false, std::sync::atomic::Ordering::Release);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.enabled
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.generation.send_modify(|g| *g += 1);
    }
}

/// A service started in-process on a free loopback port, the way `pulse <service>` runs it.
/// Dropping it cancels the service (a test that panics leaves nothing running); [`Spawned::stop`]
/// stops it and checks that it shut down cleanly and in time.
pub struct Spawned {
    pub addr: std::net::SocketAddr,
    pub token: tokio_util::sync::CancellationToken,
    handle: Option<tokio::task::JoinHandle<Result<(), String>>>,
    name: &'static str,
}

impl Spawned {
    /// Binds `127.0.0.1:0`, starts `serve(listener, token)` and waits until `/readyz` answers 200.
    pub async fn start<F, Fut, E>(name: &'static str, serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener, tokio_util::sync::CancellationToken) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Debug,
    {
        let spawned = Self::start_unready(name, serve).await;
        spawned.wait_ready().await;
        spawned
    }

    /// [`Spawned::start`] without waiting for readiness (a service started while its
    /// dependencies are down, say).
    pub async fn start_unready<F, Fut, E>(name: &'static str, serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener, tokio_util::sync::CancellationToken) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Debug,
    {
        telemetry();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let addr = listener.local_addr().expect("bound address");
        let token = tokio_util::sync::CancellationToken::new();
        let service = serve(listener, token.clone());
        let handle = tokio::spawn(async move { service.await.map_err(|e| format!("{e:?}")) });
        Self {
            addr,
            token,
            handle: Some(handle),
            name,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits (at most 30 s) until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        let url = self.url("/readyz");
        eventually(
            &format!("{} ready", self.name),
            Duration::from_secs(30),
            || {
                let url = url.clone();
                async move {
                    let r = reqwest::get(&url).await.ok()?;
                    (r.status() == 200).then_some(())
                }
            },
        )
        .await;
    }

    /// Cancels the service and waits (at most 20 s) for it to return `Ok`.
    pub async fn stop(mut self) {
        self.token.cancel();
        let handle = self.handle.take().expect("stopped once");
        let result = tokio::time::timeout(Duration::from_secs(20), handle)
            .await
            .unwrap_or_else(|_| panic!("{} stops in time", self.name))
            .expect("the service task did not panic");
        if let Err(e) = result {
            panic!("{} stopped with an error: {e}", self.name);
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/pulse", "t1"),
            "postgres://u:p@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/pulse?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
    }
}
