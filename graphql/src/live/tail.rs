//! One Kafka tail reader per topic and process: it reads new records from the end of every
//! partition (assigned, never a group member, nothing committed: it never disturbs the processor), decodes
//! each once, and fans it out through a bounded broadcast channel to every subscriber.
//!
//! The reader always runs; while nobody is subscribed it only fetches (records are not decoded),
//! which costs next to nothing next to the processor reading the same records. Each item carries
//! its tenant's sequence number, so a subscriber that falls behind learns exactly how many of *its
//! tenant's* items it missed (see [`super::feed`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
    message::Message,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::record::LiveRecord;

/// An item of a live feed with its place in its tenant's sequence (1, 2, 3, … per tenant, in the
/// order this process read them).
#[derive(Debug)]
pub struct Stamped<T> {
    pub tenant_seq: u64,
    pub item: T,
}

/// The per-tenant sequence counters of one feed.
#[derive(Debug, Default)]
pub(crate) struct TenantCounters(Mutex<HashMap<Uuid, u64>>);

impl TenantCounters {
    /// The last sequence number handed out for `tenant` (0 when none yet).
    pub(crate) fn current(&self, tenant: Uuid) -> u64 {
        self.lock().get(&tenant).copied().unwrap_or(0)
    }

    fn next(&self, tenant: Uuid) -> u64 {
        let mut counters = self.lock();
        let seq = counters.entry(tenant).or_insert(0);
        *seq += 1;
        *seq
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, u64>> {
        // a panic while holding this lock cannot leave the map half-updated
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The sending side of one feed; subscribers come from [`Tail::subscribe`].
pub(crate) struct Tail<T> {
    sender: broadcast::Sender<Arc<Stamped<T>>>,
    pub(crate) counters: Arc<TenantCounters>,
    /// Cancelled at shutdown: subscribers' streams end then.
    pub(crate) stopped: CancellationToken,
}

impl<T: LiveRecord> Tail<T> {
    /// Starts the reader of `topic`; it stops when `shutdown` is cancelled, which ends every
    /// subscriber's stream.
    pub(crate) fn start(
        brokers: &str,
        topic: String,
        capacity: usize,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        // librdkafka delivers fetched records to the consumer queue only when a group id is set;
        // a random one that is never joined (partitions are assigned, nothing is committed)
        let group = format!("pulse-graphql-tail-{}", Uuid::new_v4().simple());
        let consumer: StreamConsumer = pulse_core::kafka::client_config(brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("fetch.wait.max.ms", "100")
            // bounded prefetch: the reader keeps up with the topic or skips, it never hoards
            .set("queued.max.messages.kbytes", "8192")
            .set("client.id", "pulse-graphql-live-tail")
            .create()?;
        let (sender, _) = broadcast::channel(capacity);
        let counters = Arc::new(TenantCounters::default());
        let reader = Reader {
            consumer: Arc::new(consumer),
            topic,
            sender: sender.clone(),
            counters: counters.clone(),
        };
        tokio::spawn(reader.run(shutdown.clone()));
        Ok(Self {
            sender,
            counters,
            stopped: shutdown,
        })
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Stamped<T>>> {
        self.sender.subscribe()
    }

    /// Subscribers at this moment.
    pub(crate) fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

struct Reader<T> {
    consumer: Arc<StreamConsumer>,
    topic: String,
    sender: broadcast::Sender<Arc<Stamped<T>>>,
    counters: Arc<TenantCounters>,
}

impl<T: LiveRecord> Reader<T> {
    async fn run(self, shutdown: CancellationToken) {
        // Kafka may not be up yet when the API starts: keep trying, the API itself is not blocked
        while !self.assign_at_end().await {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
        tracing::info!(topic = %self.topic, "live tail started");
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => break,
                received = self.consumer.recv() => received,
            };
            match received {
                Ok(message) => self.fan_out(&message),
                Err(e) => {
                    tracing::warn!(error = %e, topic = %self.topic, "live tail read failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
        tracing::info!(topic = %self.topic, "live tail stopped");
    }

    /// Assigns every partition of the topic at its end; false when Kafka cannot say what they are.
    async fn assign_at_end(&self) -> bool {
        let metadata = {
            let consumer = self.consumer.clone();
            let topic = self.topic.clone();
            tokio::task::spawn_blocking(move || {
                consumer.fetch_metadata(Some(&topic), Duration::from_secs(5))
            })
            .await
        };
        let partitions: Vec<i32> = match metadata {
            Ok(Ok(m)) => m
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, topic = %self.topic, "live tail cannot read the topic's partitions");
                return false;
            }
            Err(_) => return false,
        };
        if partitions.is_empty() {
            tracing::warn!(topic = %self.topic, "live tail found no partitions");
            return false;
        }
        let mut list = TopicPartitionList::new();
        for p in partitions {
            if list
                .add_partition_offset(&self.topic, p, Offset::End)
                .is_err()
            {
                return false;
            }
        }
        match self.consumer.assign(&list) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, topic = %self.topic, "live tail cannot assign partitions");
                false
            }
        }
    }

    fn fan_out(&self, message: &rdkafka::message::BorrowedMessage<'_>) {
        if self.sender.receiver_count() == 0 {
            return;
        }
        match T::decode(message) {
            Ok(item) => {
                let tenant_seq = self.counters.next(item.tenant_id());
                // an error only means the last subscriber left meanwhile
                let _ = self.sender.send(Arc::new(Stamped { tenant_seq, item }));
            }
            Err(e) => tracing::debug!(
                error = %e,
                topic = %self.topic,
                partition = message.partition(),
                offset = message.offset(),
                "live tail skipped a record it cannot decode"
            ),
        }
    }
}
