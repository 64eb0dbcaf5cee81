//! The `pipeline` query: the sampler's latest snapshot of the processor group's lag, members and
//! rates, and the stored history. It holds no tenant data, so any signed-in caller may read it.

use std::{sync::Arc, time::Duration};

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    Live,
    group::Member,
    history::{MAX_HISTORY_MINUTES, Sample},
    sampler::{PartitionLag, Rates, Snapshot},
};
use crate::{
    auth::require_reader,
    errors::{ApiError, Code},
};

/// How long `pipeline` waits for the sampler's first snapshot after start-up.
const FIRST_SAMPLE_WAIT: Duration = Duration::from_secs(3);

/// The `pipeline` root field (merged into the Query root).
#[derive(Default)]
pub struct PipelineQuery;

#[Object]
impl PipelineQuery {
    /// The processor group's lag over the raw topic, its members, the rates and their history.
    async fn pipeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Pipeline> {
        require_reader(ctx)?;
        let live = live(ctx)?;
        let snapshot = live.snapshot(FIRST_SAMPLE_WAIT).await.ok_or_else(|| {
            ApiError::new(
                Code::Internal,
                "no pipeline sample yet: Kafka has not answered",
            )
        })?;
        Ok(Pipeline {
            snapshot,
            live: live.clone(),
        })
    }
}

/// The process's live machinery from the schema's data.
pub(crate) fn live<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Live>, ApiError> {
    ctx.data_opt::<Arc<Live>>()
        .ok_or_else(|| ApiError::new(Code::Internal, "live data is not available"))
}

/// The pipeline as last sampled.
pub struct Pipeline {
    snapshot: Arc<Snapshot>,
    live: Arc<Live>,
}

#[Object]
impl Pipeline {
    async fn topic(&self) -> &str {
        &self.snapshot.topic
    }

    async fn group(&self) -> &str {
        &self.snapshot.group
    }

    async fn partitions(&self) -> &[PartitionLag] {
        &self.snapshot.partitions
    }

    async fn total_lag(&self) -> i64 {
        self.snapshot.total_lag
    }

    async fn max_lag_seconds(&self) -> f64 {
        self.snapshot.max_lag_seconds
    }

    async fn members(&self) -> &[Member] {
        &self.snapshot.members
    }

    async fn rates(&self) -> Rates {
        self.snapshot.rates
    }

    /// Samples of the last `minutes` minutes (max 1440), oldest first; kept across restarts
    async fn history(
        &self,
        #[graphql(default = 60)] minutes: i32,
    ) -> async_graphql::Result<Vec<Sample>> {
        if !(1..=MAX_HISTORY_MINUTES).contains(&minutes) {
            return Err(ApiError::bad_input(format!(
                "minutes must be between 1 and {MAX_HISTORY_MINUTES}"
            ))
            .into());
        }
        let samples = self.live.history(minutes).await.map_err(|e| {
            tracing::error!(error = %e, "reading pipeline history failed");
            ApiError::internal()
        })?;
        Ok(samples)
    }
}

/// The `consumerLag` subscription's item: the lag part of a snapshot.
#[derive(SimpleObject, Clone, Debug)]
pub struct ConsumerLag {
    pub at: DateTime<Utc>,
    pub total_lag: i64,
    pub max_lag_seconds: f64,
    pub partitions: Vec<PartitionLag>,
}

impl From<&Snapshot> for ConsumerLag {
    fn from(s: &Snapshot) -> Self {
        Self {
            at: s.at,
            total_lag: s.total_lag,
            max_lag_seconds: s.max_lag_seconds,
            partitions: s.partitions.clone(),
        }
    }
}
