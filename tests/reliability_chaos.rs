//! The bounded version of `make chaos`: a private Redis and `pulse` processes (two ingests, one
//! processor) on this test's own database and topics, under steady keyed load with retries; a
//! few faults in turn, each reconciled: nothing acknowledged lost or stored twice, no 5xx other
//! than 503, clients recovered. The full run (Kafka, PostgreSQL, Redis stopped and emptied,
//! rebalances, overload) is `make chaos`; see RELIABILITY.md.

use std::time::Duration;

use pulse_core::testkit::{self, TestDb};
use pulse_loadtest::chaos::{
    faults::{self, Fault, Plan},
    infra::repo_root,
    stack::{Backing, Stack, StackConfig},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_chaos_loses_nothing_and_stores_no_event_twice() {
    let db = TestDb::new().await;
    let root = repo_root()
        .join(".run/chaos")
        .join(testkit::unique("test-"));
    let mut stack = Stack::start(StackConfig {
        root: root.clone(),
        bin: env!("CARGO_BIN_EXE_pulse").into(),
        backing: Backing::Shared {
            database_url: db.url.clone(),
            brokers: testkit::kafka_brokers(),
        },
        ingests: 2,
        processors: 1,
        tenants: 3,
        tenant_rate_limit: 1_000_000,
        env: Vec::new(),
    })
    .await
    .expect("a private stack");
    let plan = Plan {
        warmup: Duration::from_secs(2),
        hold: Duration::from_secs(3),
        tail: Duration::from_secs(4),
        rate: 40,
        clients: 8,
        keyed_pct: 80.0,
        resend_pct: 10.0,
        retry_window: Duration::from_secs(45),
        drain_patience: Duration::from_secs(30),
        processor_kills: 2,
    };
    let mut verdicts = Vec::new();
    for fault in [Fault::ProcessorKill, Fault::RedisKill, Fault::IngestKill] {
        verdicts.push(faults::run(&mut stack, fault, &plan).await.unwrap());
    }
    let table = faults::table(&verdicts);
    println!("{table}");
    for v in &verdicts {
        let name = v.fault.name();
        assert!(v.accepted > 0, "load ran during {name}\n{table}");
        assert_eq!(
            (v.lost, v.duplicated, v.wrong_place, v.server_errors),
            (0, 0, 0, 0),
            "{name}: nothing lost, no second row, no 5xx other than 503\n{table}"
        );
        assert!(v.drained, "{name}: the processor drained\n{table}");
        assert!(
            v.client_recovery.is_some(),
            "{name}: clients recovered\n{table}"
        );
        // a Redis that loses completions (the last second of its append-only file) or an ingest
        // killed between the broker's ack and the completion answers a retried key with a new
        // event id; the processor's key claim records it as an alias instead of a second event
        assert_eq!(
            v.keys_stored_twice, 0,
            "{name}: no key stored as two events\n{table}"
        );
    }
    drop(stack);
    let _ = std::fs::remove_dir_all(&root);
}
