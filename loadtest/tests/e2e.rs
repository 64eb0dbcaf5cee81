//! End to end: a short load against a real ingest and processor started in-process (their own
//! database, topics, consumer group and Redis prefix), then the reconciliation must find every
//! accepted event stored exactly once.

use std::{path::PathBuf, time::Duration};

use clap::Parser as _;
use pulse_core::{
    server::ShutdownTiming,
    testkit::{self, Spawned, TestDb},
};
use pulse_loadtest::{Cli, Kind};

fn shutdown_timing() -> ShutdownTiming {
    ShutdownTiming {
        grace: Duration::from_millis(100),
        drain: Duration::from_secs(8),
    }
}

async fn start_ingest(db: &TestDb, raw: &str) -> Spawned {
    let mut config = pulse_ingest::Config::from_env().unwrap();
    config.infra = db.infra();
    config.raw_topic = raw.to_owned();
    config.redis_prefix = testkit::unique("lt:");
    config.create_topics = false;
    config.shutdown = shutdown_timing();
    Spawned::start("ingest", |listener, token| {
        pulse_ingest::serve(config, listener, token)
    })
    .await
}

async fn start_processor(db: &TestDb, raw: &str, dlq: &str) -> Spawned {
    let mut config = pulse_processor::Config::from_env().unwrap();
    config.infra = db.infra();
    config.raw_topic = raw.to_owned();
    config.dlq_topic = dlq.to_owned();
    config.group = testkit::unique("lt-group-");
    config.session_timeout = Duration::from_secs(6);
    config.max_backoff = Duration::from_millis(500);
    config.shutdown = shutdown_timing();
    Spawned::start("processor", |listener, token| {
        pulse_processor::serve(config, listener, token)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_seconds_of_mixed_load_lose_and_duplicate_nothing() {
    testkit::telemetry();
    let db = TestDb::new().await;
    let raw = testkit::TestTopic::new("lt-raw");
    let dlq = testkit::TestTopic::new("lt-dlq");
    pulse_core::kafka::ensure_topics(&testkit::kafka_brokers(), &[(&raw, 6), (&dlq, 3)])
        .await
        .unwrap();
    let ingest = start_ingest(&db, &raw).await;
    let processor = start_processor(&db, &raw, &dlq).await;
    // kept after the test (under target/tmp) so a failure can be looked at
    let reports = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("loadtest-e2e");

    let host = format!("http://{}", ingest.addr);
    let reports_arg = reports.to_string_lossy().into_owned();
    let cli = Cli::try_parse_from([
        "pulse-loadtest",
        "--database-url",
        &db.url,
        "--tenants",
        "4",
        "--tenant-skew",
        "1",
        "--rate",
        "60",
        "--duration",
        "10s",
        "--dup-pct",
        "10",
        "--bad-pct",
        "5",
        "--invalid-pct",
        "10",
        "--batch-pct",
        "5",
        "--batch-size",
        "5",
        "--payload-bytes",
        "1024",
        "--drain-timeout",
        "30",
        "--max-error-pct",
        "0",
        "--report-dir",
        &reports_arg,
        "--host",
        &host,
        "--users",
        "4",
        "--quiet",
    ])
    .unwrap();
    let outcome = pulse_loadtest::run(cli.pulse, cli.goose)
        .await
        .expect("the run completes");

    let r = outcome.reconciliation.as_ref().expect("a reconciliation");
    assert!(r.drain.drained, "the processor drained: {}", r.verdict());
    assert_eq!(r.lost(), 0, "no accepted event was lost");
    assert_eq!(r.duplicated(), 0, "no event was stored twice");
    assert!(r.is_clean(), "{}", r.table());
    assert_eq!(
        outcome.unexpected_share, 0.0,
        "every answer was the expected one"
    );
    assert!(outcome.passed());
    // every kind was exercised, and the database holds what was accepted: at most one request
    // per user more, as goose may cut off a request the server had already taken
    for kind in Kind::ALL {
        assert!(r.row(kind).sent > 0, "{} requests were sent", kind.name());
    }
    let accepted_ok = r.row(Kind::Valid).accepted + r.row(Kind::Batch).accepted;
    assert!(accepted_ok > 100, "10 s at up to 60 req/s: {accepted_ok}");
    let events: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let stored = r.row(Kind::Valid).stored + r.row(Kind::Batch).stored;
    assert!(
        (stored..=stored + 4 * 5).contains(&(events as u64)),
        "{events} rows for {stored}"
    );
    let dead: i64 =
        sqlx::query_scalar("select count(*) from dead_letters where reason = 'missing_field'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let invalid = r.row(Kind::Invalid).accepted;
    assert!(
        (invalid..=invalid + 4).contains(&(dead as u64)),
        "{dead} rows for {invalid}"
    );

    let run_dir: PathBuf = outcome.run_dir.clone().expect("a run folder");
    for name in [
        "summary.html",
        "report.html",
        "report.json",
        "reconciliation.txt",
    ] {
        let path = run_dir.join(name);
        assert!(path.is_file(), "{} written", path.display());
    }
    let summary = std::fs::read_to_string(run_dir.join("summary.html")).unwrap();
    assert!(summary.contains("reconciliation OK") && summary.contains("<svg"));
    println!("summary: {}", run_dir.join("summary.html").display());
    processor.stop().await;
    ingest.stop().await;
}
