//! Retrying what failed for a reason outside the record: PostgreSQL or Kafka unavailable. Never a
//! dead letter; the partitions pause, readiness says why, and a batch retried too long is reported.

use std::{sync::Arc, time::Duration};

use rand::Rng;
use rdkafka::error::KafkaError;
use tokio_util::sync::CancellationToken;

use crate::pipeline::Pipeline;

/// An infrastructure failure: retried, never dead-lettered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InfraError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database (schema lookup): {0}")]
    Schemas(#[from] Arc<sqlx::Error>),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
}

impl InfraError {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Database(_) | Self::Schemas(_) => "database_unavailable",
            Self::Kafka(_) => "kafka_unavailable",
        }
    }
}

impl Pipeline {
    /// After a failed attempt: counts it, reports degraded, pauses fetching on the first failure
    /// (the main loop keeps polling, so the group membership stays), then sleeps a jittered,
    /// growing delay. False if shutdown came first.
    pub(crate) async fn back_off(
        &self,
        error: &InfraError,
        attempt: &mut u32,
        what: &'static str,
        shutdown: &CancellationToken,
    ) -> bool {
        self.metrics.retried(error.kind());
        if *attempt == 0 {
            self.set_paused(true);
        }
        *attempt += 1;
        self.readiness.set_degraded_because(format!(
            "{what}: {} (attempt {})",
            error.kind(),
            *attempt
        ));
        let delay = backoff(*attempt, self.config.max_backoff);
        if *attempt == STUCK_AFTER {
            // said once per batch, loudly: retries this long mean an operator should look
            self.metrics.stuck(error.kind());
            tracing::error!(error = %error, error_type = error.kind(), attempts = *attempt, "{what}: batch stuck, still retrying");
        } else {
            tracing::warn!(error = %error, attempt = *attempt, delay_ms = delay.as_millis() as u64, "{what}, retrying");
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = shutdown.cancelled() => false,
        }
    }
}

/// Retries of one batch after which it is reported stuck (about a minute with the default cap).
const STUCK_AFTER: u32 = 10;

/// Exponential backoff from 100 ms, capped, with ±50 % jitter.
fn backoff(attempt: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(100)
        .saturating_mul(1 << attempt.min(10))
        .min(max);
    let jitter = rand::rng().random_range(0.5..1.5);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let max = Duration::from_secs(5);
        for attempt in 1..20 {
            let d = backoff(attempt, max);
            assert!(d <= max.mul_f64(1.5), "{d:?}");
            assert!(d >= Duration::from_millis(100), "{d:?}");
        }
        assert!(backoff(1, max) < Duration::from_millis(400));
    }
}
