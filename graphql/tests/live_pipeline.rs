//! The pipeline sampler and its history against the real Kafka and PostgreSQL, through `Live`'s
//! Rust API: lag in records and seconds with no processor running and after the group caught
//! up, the group's members, and history across a restart. (The `pipeline` query and the
//! `consumerLag`/`throughput` subscriptions over GraphQL are in `live_ws.rs`.)

mod live_support;

use std::{sync::Arc, time::Duration};

use live_support::{RAW_PARTITIONS, Topics, client, produce_event, producer};
use pulse_core::testkit::{TestDb, eventually};
use pulse_graphql::live::{Live, sampler::Snapshot};
use rdkafka::consumer::{Consumer, StreamConsumer};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

/// The first snapshot (taken after this call) for which `check` holds.
async fn snapshot_where(
    live: &Live,
    what: &str,
    check: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut snapshots = live.snapshots();
    snapshots.mark_unchanged();
    tokio::time::timeout(WAIT, async {
        loop {
            snapshots.changed().await.expect("the sampler runs");
            let latest = snapshots.borrow_and_update().clone();
            if let Some(s) = latest.filter(|s| check(s)) {
                return s;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for a snapshot where {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_seconds_grow_while_nothing_processes_and_are_zero_once_the_group_caught_up() {
    let db = TestDb::new().await;
    let topics = Topics::new().await;
    let shutdown = CancellationToken::new();
    let live = Live::start(topics.config(), db.pool.clone(), shutdown.clone()).unwrap();
    let p = producer();
    let tenant = Uuid::new_v4();
    for _ in 0..4 {
        produce_event(&p, &topics.raw, tenant, "lagging", serde_json::json!({})).await;
    }

    // no processor: the group has never committed, so all four records are lag
    let first = snapshot_where(&live, "4 records lag", |s| {
        s.total_lag == 4 && s.max_lag_seconds > 0.0
    })
    .await;
    assert_eq!(first.partitions.len(), RAW_PARTITIONS as usize);
    assert!(
        first
            .partitions
            .iter()
            .all(|p| p.committed_offset.is_none())
    );
    assert_eq!(
        first.partitions.iter().map(|p| p.end_offset).sum::<i64>(),
        4
    );
    assert_eq!(first.group, topics.group);
    let grown = snapshot_where(&live, "lag seconds grew by a second", |s| {
        s.max_lag_seconds >= first.max_lag_seconds + 1.0
    })
    .await;
    assert_eq!(grown.total_lag, 4, "nothing was processed meanwhile");
    assert_eq!(
        grown.rates.processed_per_second, 0.0,
        "nothing processed, nothing counted"
    );

    // the group catches up: lag 0 in records and seconds, committed = end
    topics.commit_all_as_group();
    let caught_up = snapshot_where(&live, "the group caught up", |s| s.total_lag == 0).await;
    assert_eq!(caught_up.max_lag_seconds, 0.0);
    for p in &caught_up.partitions {
        assert_eq!(p.committed_offset, Some(p.end_offset));
        assert_eq!((p.lag, p.lag_seconds), (0, 0.0));
    }
    let processing = snapshot_where(&live, "a processed rate", |s| {
        s.rates.processed_per_second > 0.0
    })
    .await;
    assert!(processing.rates.processed_per_second <= 4.0 / 0.2);
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_groups_members_are_listed_with_their_partitions() {
    let db = TestDb::new().await;
    let topics = Topics::new().await;
    let shutdown = CancellationToken::new();
    let live = Live::start(topics.config(), db.pool.clone(), shutdown.clone()).unwrap();
    let none = snapshot_where(&live, "a first sample", |_| true).await;
    assert!(none.members.is_empty());

    let member: StreamConsumer = client()
        .set("group.id", &topics.group)
        .set("client.id", "live-test-member")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    member.subscribe(&[&topics.raw]).unwrap();
    let member = Arc::new(member);
    let polling = {
        let member = member.clone();
        // a member stays in the group only while it polls
        tokio::spawn(async move {
            loop {
                let _ = member.recv().await;
            }
        })
    };
    let listed = snapshot_where(&live, "the member is listed with every partition", |s| {
        s.members.iter().any(|m| {
            m.client_id == "live-test-member" && m.partitions.len() == RAW_PARTITIONS as usize
        })
    })
    .await;
    let m = &listed.members[0];
    assert_eq!(m.partitions, (0..RAW_PARTITIONS).collect::<Vec<_>>());
    assert!(!m.member_id.is_empty() && !m.host.is_empty());
    polling.abort();
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_restart() {
    let db = TestDb::new().await;
    let topics = Topics::new().await;
    let first_run = CancellationToken::new();
    let live = Live::start(topics.config(), db.pool.clone(), first_run.clone()).unwrap();
    let written = eventually("two samples in pipeline_samples", WAIT, || async {
        let rows = live.history(5).await.unwrap();
        (rows.len() >= 2).then_some(rows)
    })
    .await;
    first_run.cancel();
    drop(live);

    // a new instance (as after a restart) reads what the first one wrote
    let second_run = CancellationToken::new();
    let mut config = topics.config();
    config.history_every = Duration::from_secs(3600);
    let live = Live::start(config, db.pool.clone(), second_run.clone()).unwrap();
    let read = live.history(5).await.unwrap();
    assert!(read.len() >= written.len());
    assert_eq!(
        &read[..written.len()],
        &written[..],
        "oldest first, as written"
    );
    assert!(read.windows(2).all(|w| w[0].at < w[1].at));
    assert!(live.history(0).await.unwrap().len() <= 1);
    second_run.cancel();
}
