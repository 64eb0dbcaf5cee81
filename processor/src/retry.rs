//! Retrying what failed for a reason outside the record: PostgreSQL or Kafka unavailable. Never a
//! dead letter; the partitions pause, readiness says why, and a batch retried too long is reported.

use std::{sync::Arc, time::Duration};

use pulse_core::health::Readiness;
use rand::Rng;
use rdkafka::error::KafkaError;

use crate::metrics::ProcessorMetrics;

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

/// Accounts for failed attempt number `attempt` (from 1): counts it, reports the service
/// degraded with why, says it in the log (loudly once the batch is stuck), and returns how long to
/// wait before the next.
pub(crate) fn failed_attempt(
    metrics: &ProcessorMetrics,
    readiness: &Readiness,
    error: &InfraError,
    attempt: u32,
    what: &'static str,
    max_backoff: Duration,
) -> Duration {
    metrics.retried(error.kind());
    readiness.set_degraded_because(format!("{what}: {} (attempt {attempt})", error.kind()));
    let delay = backoff(attempt, max_backoff);
    if attempt == STUCK_AFTER {
        // said once per batch, loudly: retries this long mean an operator should look
        metrics.stuck(error.kind());
        tracing::error!(error = %error, error_type = error.kind(), attempts = attempt, "{what}: batch stuck, still retrying");
    } else {
        tracing::warn!(error = %error, attempt, delay_ms = delay.as_millis() as u64, "{what}, retrying");
    }
    delay
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
