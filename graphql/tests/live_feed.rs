//! The live feeds against the real Kafka, through `Live`'s Rust API: filters, tenants, and
//! subscribers that fall behind. (The same through GraphQL over WebSocket is in `live_ws.rs`.)

mod live_support;

use std::{sync::Arc, time::Duration};

use live_support::{Topics, produce_dead_letter, produce_event, producer};
use pulse_core::{envelope::DlqReason, testkit::TestDb};
use pulse_graphql::live::{Live, LiveConfig, feed::Feed, record::LiveEvent};
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

struct Harness {
    live: Arc<Live>,
    topics: Topics,
    producer: FutureProducer,
    shutdown: CancellationToken,
    _db: TestDb,
}

impl Harness {
    async fn start(configure: impl FnOnce(&mut LiveConfig)) -> Self {
        let db = TestDb::new().await;
        let topics = Topics::new().await;
        let mut config = topics.config();
        configure(&mut config);
        let shutdown = CancellationToken::new();
        let live = Live::start(config, db.pool.clone(), shutdown.clone()).unwrap();
        let harness = Self {
            live,
            topics,
            producer: producer(),
            shutdown,
            _db: db,
        };
        harness.wait_until_tailing().await;
        harness
    }

    /// Writes probes (their own tenant) until the tail reader delivers one: from then on it
    /// reads everything written.
    async fn wait_until_tailing(&self) {
        let probe = Uuid::new_v4();
        let mut feed = self.live.events(Some(probe), None);
        for _ in 0..100 {
            produce_event(
                &self.producer,
                &self.topics.raw,
                probe,
                "probe",
                serde_json::json!({}),
            )
            .await;
            if tokio::time::timeout(Duration::from_millis(500), feed.next())
                .await
                .is_ok()
            {
                return;
            }
        }
        panic!("the live tail never delivered a probe");
    }

    async fn event(&self, tenant: Uuid, event_type: &str) -> Uuid {
        produce_event(
            &self.producer,
            &self.topics.raw,
            tenant,
            event_type,
            serde_json::json!({"n": 1}),
        )
        .await
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The next `n` items of `feed` as (event id, missed before it).
async fn take(feed: &mut Feed<LiveEvent>, n: usize) -> Vec<(Uuid, u64)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (item, missed) = tokio::time::timeout(Duration::from_secs(20), feed.next())
            .await
            .expect("the next live event arrives")
            .expect("the feed is open");
        out.push((item.item.envelope.event_id, missed));
    }
    out
}

fn ids(items: &[(Uuid, u64)]) -> Vec<Uuid> {
    items.iter().map(|(id, _)| *id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subscriber_gets_exactly_the_events_of_its_tenant_and_types() {
    let h = Harness::start(|_| {}).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut only_a = h.live.events(Some(a), None);
    let mut only_orders = h.live.events(None, Some(vec!["order.created".into()]));
    let mut b_orders = h.live.events(Some(b), Some(vec!["order.created".into()]));

    let a1 = h.event(a, "order.created").await;
    let b1 = h.event(b, "user.signed_up").await;
    let a2 = h.event(a, "user.signed_up").await;
    let b2 = h.event(b, "order.created").await;

    // (records on different partitions may be read in either order)
    assert_eq!(
        sorted(ids(&take(&mut only_a, 2).await)),
        sorted(vec![a1, a2])
    );
    assert_eq!(
        sorted(ids(&take(&mut only_orders, 2).await)),
        sorted(vec![a1, b2])
    );
    let got = take(&mut b_orders, 1).await;
    assert_eq!(got, vec![(b2, 0)]);
    let _ = b1;

    // what a subscriber receives is the record as ingest wrote it, with its place in Kafka
    let mut all_a = h.live.events(Some(a), None);
    let a3 = h.event(a, "order.paid").await;
    let (item, missed) = all_a.next().await.unwrap();
    assert_eq!(missed, 0);
    let event = &item.item;
    assert_eq!(event.envelope.event_id, a3);
    assert_eq!(event.event_type(), Some("order.paid"));
    assert_eq!(event.topic, h.topics.raw.name());
    assert!(event.offset >= 0);
    assert_eq!(
        event.trace_id.as_deref(),
        Some("0af7651916cd43dd8448eb211c80319c")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_told_what_it_missed_while_a_fast_one_misses_nothing() {
    let h = Harness::start(|c| c.buffer = 16).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let (a_count, b_count) = (120, 60);
    let total = a_count + b_count;

    let mut fast = h.live.events(None, None);
    // these two are not read until everything has been written
    let mut slow_all = h.live.events(None, None);
    let mut slow_a = h.live.events(Some(a), None);

    // written in bursts of 8 (half the buffer), each read by the fast subscriber before the next
    // is written, so the fast one can never fall behind whatever the machine's load
    let mut written = Vec::with_capacity(total);
    let mut got = Vec::with_capacity(total);
    for i in 0..total {
        let tenant = if i % 3 == 2 { b } else { a };
        written.push(h.event(tenant, "tick").await);
        if written.len() % 8 == 0 || written.len() == total {
            let burst = written.len() - got.len();
            got.extend(take(&mut fast, burst).await);
        }
    }
    // partitions are read interleaved, so the order across them is not the order written
    assert_eq!(
        sorted(ids(&got)),
        sorted(written.clone()),
        "the fast subscriber gets every event"
    );
    assert!(got.iter().all(|(_, missed)| *missed == 0));

    let of_a: Vec<Uuid> = written
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 2)
        .map(|(_, id)| *id)
        .collect();
    for (feed, expected) in [(&mut slow_all, &written), (&mut slow_a, &of_a)] {
        let mut received = Vec::new();
        let mut missed = 0;
        while received.len() as u64 + missed < expected.len() as u64 {
            let (item, m) = tokio::time::timeout(Duration::from_secs(20), feed.next())
                .await
                .expect("the slow subscriber's next event")
                .unwrap();
            missed += m;
            received.push(item.item.envelope.event_id);
        }
        assert!(
            missed > 0,
            "the slow subscriber fell behind and was told so"
        );
        assert_eq!(
            received.len() as u64 + missed,
            expected.len() as u64,
            "every event is either received or counted as missed"
        );
        assert!(received.iter().all(|id| expected.contains(id)));
        assert_eq!(sorted(received.clone()).len(), {
            let mut r = sorted(received);
            r.dedup();
            r.len()
        });
    }
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_tailed_by_tenant_and_reason() {
    let h = Harness::start(|_| {}).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut a_missing = h
        .live
        .dead_letters(Some(a), Some(vec![DlqReason::MissingField]));
    let mut all = h.live.dead_letters(None, None);
    // the dead-letter tail has no probe of its own: write until the unfiltered feed sees one
    let mut first = None;
    for _ in 0..100 {
        let id = produce_dead_letter(&h.producer, &h.topics.dlq, b, DlqReason::InvalidType).await;
        if let Ok(Some((item, _))) =
            tokio::time::timeout(Duration::from_millis(500), all.next()).await
        {
            first = Some((id, item.item.record.event_id));
            break;
        }
    }
    assert!(first.is_some(), "the dead-letter tail delivers");

    let skipped = produce_dead_letter(&h.producer, &h.topics.dlq, a, DlqReason::InvalidValue).await;
    let wanted = produce_dead_letter(&h.producer, &h.topics.dlq, a, DlqReason::MissingField).await;
    let (item, missed) = tokio::time::timeout(Duration::from_secs(20), a_missing.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((item.item.record.event_id, missed), (wanted, 0));
    assert_eq!(item.item.record.reason, DlqReason::MissingField);
    assert!(item.item.at.is_some());
    let _ = skipped;

    // at shutdown every live stream ends
    let mut events = h.live.events(None, None);
    h.shutdown.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        (
            a_missing.next().await.is_none(),
            events.next().await.is_none(),
        )
    });
    assert_eq!(ended.await.unwrap(), (true, true));
}
