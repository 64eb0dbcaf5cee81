//! Pipeline history that survives restarts: the sampler's latest snapshot is written to
//! `pipeline_samples` every `history_every` (10 s by default), rows past the retention are deleted
//! once a minute, and `Pipeline.history(minutes)` reads them back.

use std::{sync::Arc, time::Duration};

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::sampler::{Snapshot, Snapshots};

/// How often rows past the retention are deleted (an indexed range delete on the primary key).
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Longest history a query may ask for, in minutes (24 h).
pub const MAX_HISTORY_MINUTES: i32 = 1440;

/// One stored sample of the pipeline.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, SimpleObject)]
#[graphql(name = "PipelineSample")]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub total_lag: i64,
    pub max_lag_seconds: f64,
    #[graphql(name = "ingestPerSecond")]
    pub ingest_per_s: f64,
    #[graphql(name = "processedPerSecond")]
    pub processed_per_s: f64,
    #[graphql(name = "deadLetteredPerSecond")]
    pub dead_lettered_per_s: f64,
}

/// Writes samples and prunes old ones until `shutdown`.
pub(crate) async fn run(
    pool: PgPool,
    mut snapshots: Snapshots,
    every: Duration,
    retention: Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_written: Option<DateTime<Utc>> = None;
    let mut last_pruned: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let latest = snapshots.borrow_and_update().clone();
        if let Some(snapshot) = latest.filter(|s| Some(s.at) > last_written) {
            match insert(&pool, &snapshot).await {
                Ok(()) => last_written = Some(snapshot.at),
                Err(e) => tracing::warn!(error = %e, "writing a pipeline sample failed"),
            }
        }
        if last_pruned.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            last_pruned = Some(tokio::time::Instant::now());
            if let Err(e) = prune(&pool, retention).await {
                tracing::warn!(error = %e, "deleting old pipeline samples failed");
            }
        }
    }
}

async fn insert(pool: &PgPool, snapshot: &Arc<Snapshot>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into pipeline_samples (at, total_lag, max_lag_seconds, ingest_per_s, \
         processed_per_s, dead_lettered_per_s, partitions) values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (at) do nothing",
    )
    .bind(snapshot.at)
    .bind(snapshot.total_lag)
    .bind(snapshot.max_lag_seconds)
    .bind(snapshot.rates.ingest_per_second)
    .bind(snapshot.rates.processed_per_second)
    .bind(snapshot.rates.dead_lettered_per_second)
    .bind(sqlx::types::Json(&snapshot.partitions))
    .execute(pool)
    .await?;
    Ok(())
}

async fn prune(pool: &PgPool, retention: Duration) -> Result<(), sqlx::Error> {
    let seconds = retention.as_secs_f64();
    let deleted =
        sqlx::query("delete from pipeline_samples where at < now() - make_interval(secs => $1)")
            .bind(seconds)
            .execute(pool)
            .await?
            .rows_affected();
    if deleted > 0 {
        tracing::debug!(deleted, "old pipeline samples deleted");
    }
    Ok(())
}

/// The samples of the last `minutes` minutes (at most a day), oldest first.
pub(crate) async fn read(pool: &PgPool, minutes: i32) -> Result<Vec<Sample>, sqlx::Error> {
    let minutes = minutes.clamp(0, MAX_HISTORY_MINUTES);
    sqlx::query_as(
        "select at, total_lag, max_lag_seconds, ingest_per_s, processed_per_s, \
         dead_lettered_per_s from pipeline_samples \
         where at >= now() - make_interval(mins => $1) order by at",
    )
    .bind(minutes)
    .fetch_all(pool)
    .await
}
