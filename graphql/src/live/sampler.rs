//! The one sampler per process: every tick it reads from Kafka, for each partition of the raw
//! topic, the end offset and the processor group's committed offset, the age of the first record
//! the group has not processed, the group's members, and the end offsets of the dead-letter topic;
//! from successive samples it derives the ingest, process and dead-letter rates. Subscribers and
//! queries read the latest [`Snapshot`] from a watch channel: Kafka is asked once per tick whatever
//! the number of subscribers.
//!
//! librdkafka's calls block, so a tick runs on the blocking pool.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
    error::KafkaResult,
    message::Message,
};
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{LiveConfig, group::Member};

/// Rates are averaged over this window: the processor commits about once a second, so a shorter
/// one would swing between 0 and twice the real rate.
const RATE_WINDOW: Duration = Duration::from_secs(5);
/// Longest wait for one Kafka request of a tick.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for the records whose timestamps give the lag in seconds.
const PEEK_TIMEOUT: Duration = Duration::from_secs(2);

/// One partition of the raw topic as the processor group sees it.
#[derive(Debug, Clone, PartialEq, Serialize, SimpleObject)]
pub struct PartitionLag {
    pub partition: i32,
    /// The high watermark: offset of the next record written
    pub end_offset: i64,
    /// The group's committed offset (the next record it processes); null before its first commit
    pub committed_offset: Option<i64>,
    /// Records written and not processed yet
    pub lag: i64,
    /// Age of the oldest unprocessed record; 0 when caught up
    pub lag_seconds: f64,
}

/// Records per second, averaged over the last few seconds (5 s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, SimpleObject)]
#[graphql(name = "Throughput")]
pub struct Rates {
    pub at: DateTime<Utc>,
    /// Records written to the raw topic (accepted by ingest)
    pub ingest_per_second: f64,
    /// Records the processor group committed
    pub processed_per_second: f64,
    /// Records written to the dead-letter topic
    pub dead_lettered_per_second: f64,
}

/// Everything one tick learned.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub at: DateTime<Utc>,
    pub topic: String,
    pub group: String,
    pub partitions: Vec<PartitionLag>,
    pub total_lag: i64,
    pub max_lag_seconds: f64,
    pub members: Vec<Member>,
    pub rates: Rates,
}

pub(crate) type Snapshots = watch::Receiver<Option<Arc<Snapshot>>>;

/// Starts the sampler; its snapshots come out of the returned channel until `shutdown`.
pub(crate) fn start(config: &LiveConfig, shutdown: CancellationToken) -> anyhow::Result<Snapshots> {
    let (sender, receiver) = watch::channel(None);
    let sampler = Sampler::new(config)?;
    tokio::spawn(run(sampler, config.sample_every, sender, shutdown));
    Ok(receiver)
}

async fn run(
    mut sampler: Sampler,
    every: Duration,
    sender: watch::Sender<Option<Arc<Snapshot>>>,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let tick = tokio::task::spawn_blocking(move || {
            let result = sampler.sample();
            (sampler, result)
        })
        .await;
        let Ok((returned, result)) = tick else {
            tracing::error!("pipeline sampler panicked");
            break;
        };
        sampler = returned;
        match result {
            Ok(snapshot) => {
                if failing {
                    tracing::info!("pipeline sampler reads kafka again");
                    failing = false;
                }
                sender.send_replace(Some(Arc::new(snapshot)));
            }
            Err(e) => {
                // said once per outage, not once per tick
                if !failing {
                    tracing::warn!(error = %e, "pipeline sampler cannot read kafka");
                    failing = true;
                }
            }
        }
    }
}

/// Offset totals at one instant, for the rates.
#[derive(Debug, Clone, Copy)]
struct Totals {
    at: Instant,
    ingested: i64,
    processed: i64,
    dead_lettered: i64,
}

struct Sampler {
    topic: String,
    dlq_topic: String,
    group: String,
    /// Configured with the watched group's id, only to read its committed offsets: it never
    /// subscribes, joins or commits.
    offsets: BaseConsumer,
    /// Assigned to single offsets to read a record's timestamp; joins no group.
    peek: BaseConsumer,
    /// partition → (offset, timestamp in ms) of the last record peeked at.
    peeked: HashMap<i32, (i64, i64)>,
    history: VecDeque<Totals>,
}

impl Sampler {
    fn new(config: &LiveConfig) -> KafkaResult<Self> {
        let base = || {
            let mut c = pulse_core::kafka::client_config(&config.brokers);
            c.set("enable.auto.commit", "false")
                .set("enable.auto.offset.store", "false")
                .set("client.id", "pulse-graphql-sampler");
            c
        };
        let offsets = base().set("group.id", &config.group).create()?;
        // a group id only so that librdkafka hands it the fetched records; never joined
        let peek_group = format!("pulse-graphql-peek-{}", uuid::Uuid::new_v4().simple());
        let peek = base()
            .set("group.id", &peek_group)
            .set("fetch.wait.max.ms", "50")
            .set("queued.min.messages", "1")
            .set("queued.max.messages.kbytes", "1024")
            .create()?;
        Ok(Self {
            topic: config.raw_topic.clone(),
            dlq_topic: config.dlq_topic.clone(),
            group: config.group.clone(),
            offsets,
            peek,
            peeked: HashMap::new(),
            history: VecDeque::new(),
        })
    }

    fn sample(&mut self) -> KafkaResult<Snapshot> {
        let started = Instant::now();
        let partitions = self.partition_ids(&self.topic)?;
        let mut list = TopicPartitionList::new();
        let mut ends = Vec::with_capacity(partitions.len());
        for &p in &partitions {
            let (low, high) = self
                .offsets
                .fetch_watermarks(&self.topic, p, REQUEST_TIMEOUT)?;
            ends.push((p, low, high));
            list.add_partition(&self.topic, p);
        }
        let committed = self.offsets.committed_offsets(list, REQUEST_TIMEOUT)?;
        let mut lags = Vec::with_capacity(ends.len());
        for (p, low, high) in ends {
            let committed = match committed.find_partition(&self.topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            };
            // before its first commit the group starts from the earliest record it can read
            let next = committed.unwrap_or(low).clamp(low, high.max(low));
            lags.push(PartitionLag {
                partition: p,
                end_offset: high,
                committed_offset: committed,
                lag: (high - next).max(0),
                lag_seconds: 0.0,
            });
        }
        // partition → next offset the group processes (committed, or the lowest readable one)
        let next = lags
            .iter()
            .map(|l| (l.partition, l.end_offset - l.lag))
            .collect();
        self.fill_lag_seconds(&mut lags, next);

        let dead_lettered = self.end_offsets_sum(&self.dlq_topic)?;
        let members =
            super::group::members(&self.offsets, &self.group, &self.topic, REQUEST_TIMEOUT)?;
        let at = Utc::now();
        let rates = self.rates(
            at,
            Totals {
                at: started,
                ingested: lags.iter().map(|l| l.end_offset).sum(),
                processed: lags.iter().map(|l| l.end_offset - l.lag).sum(),
                dead_lettered,
            },
        );
        Ok(Snapshot {
            at,
            topic: self.topic.clone(),
            group: self.group.clone(),
            total_lag: lags.iter().map(|l| l.lag).sum(),
            max_lag_seconds: lags.iter().map(|l| l.lag_seconds).fold(0.0, f64::max),
            partitions: lags,
            members,
            rates,
        })
    }

    fn partition_ids(&self, topic: &str) -> KafkaResult<Vec<i32>> {
        let metadata = self.offsets.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
        let mut ids: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn end_offsets_sum(&self, topic: &str) -> KafkaResult<i64> {
        let mut sum = 0;
        for p in self.partition_ids(topic)? {
            sum += self.offsets.fetch_watermarks(topic, p, REQUEST_TIMEOUT)?.1;
        }
        Ok(sum)
    }

    /// Sets each lagging partition's `lag_seconds` from the timestamp of the first record the
    /// group has not processed (`next[partition]`). A record is fetched only when that offset
    /// moved since the last tick: while the processor is stopped nothing is fetched and the age
    /// simply grows.
    fn fill_lag_seconds(&mut self, lags: &mut [PartitionLag], next: HashMap<i32, i64>) {
        let wanted: Vec<(i32, i64)> = lags
            .iter()
            .filter(|l| l.lag > 0)
            .filter_map(|l| next.get(&l.partition).map(|&o| (l.partition, o)))
            .filter(|(p, o)| self.peeked.get(p).is_none_or(|(seen, _)| seen != o))
            .collect();
        if !wanted.is_empty() {
            match self.peek_timestamps(&wanted) {
                Ok(found) => self.peeked.extend(found),
                Err(e) => {
                    tracing::debug!(error = %e, "reading the oldest unprocessed records failed")
                }
            }
        }
        let now_ms = Utc::now().timestamp_millis();
        for lag in lags.iter_mut().filter(|l| l.lag > 0) {
            let known = next.get(&lag.partition).and_then(|o| {
                self.peeked
                    .get(&lag.partition)
                    .filter(|(seen, _)| seen == o)
            });
            if let Some((_, ts)) = known {
                lag.lag_seconds = ((now_ms - ts).max(0) as f64) / 1000.0;
            }
        }
    }

    /// partition → (offset, timestamp) of the first record at or after each wanted offset.
    fn peek_timestamps(&self, wanted: &[(i32, i64)]) -> KafkaResult<Vec<(i32, (i64, i64))>> {
        let mut list = TopicPartitionList::new();
        for &(p, offset) in wanted {
            list.add_partition_offset(&self.topic, p, Offset::Offset(offset))?;
        }
        self.peek.assign(&list)?;
        let deadline = Instant::now() + PEEK_TIMEOUT;
        let mut found = Vec::with_capacity(wanted.len());
        while found.len() < wanted.len() && Instant::now() < deadline {
            let Some(message) = self.peek.poll(Duration::from_millis(100)) else {
                continue;
            };
            let Ok(message) = message else { continue };
            let Some(&(p, offset)) = wanted.iter().find(|(p, _)| *p == message.partition()) else {
                continue;
            };
            if message.offset() < offset || found.iter().any(|(q, _)| *q == p) {
                continue;
            }
            let ts = message
                .timestamp()
                .to_millis()
                .unwrap_or_else(|| Utc::now().timestamp_millis());
            // keyed by the offset asked for, so the next tick recognises it
            found.push((p, (offset, ts)));
        }
        self.peek.unassign()?;
        Ok(found)
    }

    fn rates(&mut self, at: DateTime<Utc>, now: Totals) -> Rates {
        self.history.push_back(now);
        while self
            .history
            .get(1)
            .is_some_and(|second| now.at.duration_since(second.at) >= RATE_WINDOW)
        {
            self.history.pop_front();
        }
        let first = self.history.front().copied().unwrap_or(now);
        let seconds = now.at.duration_since(first.at).as_secs_f64();
        let per_second = |a: i64, b: i64| {
            if seconds > 0.0 {
                ((b - a).max(0) as f64) / seconds
            } else {
                0.0
            }
        };
        Rates {
            at,
            ingest_per_second: per_second(first.ingested, now.ingested),
            processed_per_second: per_second(first.processed, now.processed),
            dead_lettered_per_second: per_second(first.dead_lettered, now.dead_lettered),
        }
    }
}
