//! The live half of the admin API: subscriptions, the pipeline's lag and rates, and their history.
//!
//! One [`Live`] per process owns:
//! - [`tail`]: one Kafka tail reader per topic (`events.raw` for the `events` subscription,
//!   `events.dlq` for `deadLetters`), fanned out to every subscriber through a bounded broadcast;
//!   [`feed`] is one subscriber's filter and its `missedBefore` count when it falls behind;
//! - [`sampler`]: one sampler of end offsets, the processor group's committed offsets, lag in
//!   records and in seconds, group members ([`group`]) and rates, read by `pipeline`,
//!   `throughput` and `consumerLag` from a watch channel (nothing polls per subscriber);
//! - [`history`]: a sample every ~10 s in `pipeline_samples`, kept 25 h, read by
//!   `Pipeline.history`.
//!
//! Wiring (for `serve`): `let live = Live::start(LiveConfig::from_env(&infra)?, pool, shutdown)?;`
//! then put the `Arc<Live>` into the schema's data.

mod config;
pub mod feed;
pub mod group;
pub mod history;
mod pipeline;
pub mod record;
pub mod sampler;
mod subscription;
pub mod tail;
pub mod ws;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use pulse_core::envelope::DlqReason;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use self::{
    config::{LiveConfig, WsLimits},
    pipeline::{ConsumerLag, Pipeline, PipelineQuery},
    subscription::{LiveDeadLetterFilter, LiveEventFilter, Subscription},
};
use self::{
    feed::{Feed, Predicate},
    record::{LiveDeadLetter, LiveEvent},
    sampler::{Snapshot, Snapshots},
    tail::Tail,
};

/// The process's live feeds and pipeline sampler; cheap to share (`Arc`).
pub struct Live {
    config: LiveConfig,
    pool: PgPool,
    events: Tail<LiveEvent>,
    dead_letters: Tail<LiveDeadLetter>,
    snapshots: Snapshots,
    stopped: CancellationToken,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Live {
    /// Starts the tail readers, the sampler and the history writer; they stop when `shutdown` is
    /// cancelled. Kafka being down does not fail this: they retry until it is back.
    pub fn start(
        config: LiveConfig,
        pool: PgPool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let events = Tail::start(
            &config.brokers,
            config.raw_topic.clone(),
            config.buffer,
            shutdown.clone(),
        )
        .context("creating the events tail reader")?;
        let dead_letters = Tail::start(
            &config.brokers,
            config.dlq_topic.clone(),
            config.buffer,
            shutdown.clone(),
        )
        .context("creating the dead letters tail reader")?;
        let snapshots =
            sampler::start(&config, shutdown.clone()).context("creating the pipeline sampler")?;
        tokio::spawn(history::run(
            pool.clone(),
            snapshots.clone(),
            config.history_every,
            config.history_retention,
            shutdown.clone(),
        ));
        Ok(Arc::new(Self {
            config,
            pool,
            events,
            dead_letters,
            snapshots,
            stopped: shutdown,
        }))
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    /// The latest pipeline snapshot, waiting up to `wait` for the first one after start-up;
    /// `None` when the sampler has not reached Kafka.
    pub async fn snapshot(&self, wait: Duration) -> Option<Arc<Snapshot>> {
        let mut snapshots = self.snapshots.clone();
        let first = tokio::time::timeout(wait, snapshots.wait_for(Option::is_some)).await;
        match first {
            Ok(Ok(latest)) => latest.clone(),
            _ => self.snapshots.borrow().clone(),
        }
    }

    /// The accepted events read from now on: `tenant`'s only (every tenant's when `None`), of
    /// one of `event_types` when given.
    pub fn events(
        &self,
        tenant: Option<Uuid>,
        event_types: Option<Vec<String>>,
    ) -> Feed<LiveEvent> {
        let matches: Predicate<LiveEvent> = match event_types {
            Some(types) => Box::new(move |e: &LiveEvent| {
                e.event_type().is_some_and(|t| types.iter().any(|w| w == t))
            }),
            None => Box::new(|_: &LiveEvent| true),
        };
        Feed::new(&self.events, tenant, matches)
    }

    /// The dead letters written from now on: `tenant`'s only (every tenant's when `None`), for
    /// one of `reasons` when given.
    pub fn dead_letters(
        &self,
        tenant: Option<Uuid>,
        reasons: Option<Vec<DlqReason>>,
    ) -> Feed<LiveDeadLetter> {
        let matches: Predicate<LiveDeadLetter> = match reasons {
            Some(reasons) => Box::new(move |d: &LiveDeadLetter| reasons.contains(&d.record.reason)),
            None => Box::new(|_: &LiveDeadLetter| true),
        };
        Feed::new(&self.dead_letters, tenant, matches)
    }

    /// Every new pipeline snapshot, from the latest one on.
    pub fn snapshots(&self) -> tokio::sync::watch::Receiver<Option<Arc<Snapshot>>> {
        self.snapshots.clone()
    }

    /// The stored samples of the last `minutes` minutes (at most a day), oldest first.
    pub async fn history(&self, minutes: i32) -> Result<Vec<history::Sample>, sqlx::Error> {
        history::read(&self.pool, minutes).await
    }

    /// Cancelled when the process shuts down (live streams end then).
    pub fn stopped(&self) -> &CancellationToken {
        &self.stopped
    }

    /// Subscribers of the `events` and `deadLetters` feeds right now.
    pub fn subscribers(&self) -> (usize, usize) {
        (self.events.subscribers(), self.dead_letters.subscribers())
    }
}
