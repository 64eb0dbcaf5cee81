//! The Kafka consumer's context: consumer lag from librdkafka's statistics, and a commit of what
//! is durable before partitions move to another processor; and the broker watch that keeps
//! readiness honest while there is nothing to consume.

use std::{sync::Arc, time::Duration};

use pulse_core::health::Readiness;
use tokio_util::sync::CancellationToken;

use rdkafka::{
    ClientContext, Statistics,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer},
    error::{KafkaError, RDKafkaErrorCode},
};

use crate::metrics::Lag;

/// Feeds consumer lag from librdkafka's statistics, and commits what is durable before
/// partitions move to another processor.
pub struct ProcessorContext {
    pub lag: Arc<Lag>,
    pub topic: String,
}

impl ClientContext for ProcessorContext {
    fn stats(&self, stats: Statistics) {
        if let Some(topic) = stats.topics.get(&self.topic) {
            for (&partition, p) in &topic.partitions {
                if partition >= 0 && p.consumer_lag >= 0 {
                    self.lag.set_records(partition, p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for ProcessorContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            // batches are processed between polls, so everything stored here is durable
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(e) => tracing::warn!(error = %e, "commit before revocation failed"),
            }
            tracing::info!(partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(partitions = tpl.count(), "partitions assigned");
        }
    }
}

pub type PulseConsumer = StreamConsumer<ProcessorContext>;

/// What `/readyz` says while no broker answers (the watch only clears a reason it set itself).
const BROKER_DOWN: &str = "kafka unreachable: no broker answered a metadata request";

/// Failed probes in a row before readiness turns degraded: one slow answer is not an outage.
const PROBES_TO_DEGRADE: u32 = 2;

/// Probes the brokers every `every` with a metadata request for `topic` (on a blocking thread,
/// off the consume loop, with a timeout of `every`): readiness turns degraded after
/// [`PROBES_TO_DEGRADE`] failures in a row and ready again at the first answer. Without this an
/// idle processor never notices that its broker is gone: the consume loop only waits for records.
pub async fn watch_brokers(
    consumer: Arc<PulseConsumer>,
    topic: String,
    readiness: Readiness,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut failures: u32 = 0;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        let probe = {
            let consumer = consumer.clone();
            let topic = topic.clone();
            tokio::task::spawn_blocking(move || {
                consumer.fetch_metadata(Some(&topic), every).map(|_| ())
            })
        };
        match probe.await {
            Ok(Ok(())) => {
                failures = 0;
                if readiness.reason().as_deref() == Some(BROKER_DOWN) {
                    tracing::info!("kafka reachable again");
                    readiness.set_ready();
                }
            }
            Ok(Err(e)) => {
                failures += 1;
                if failures == PROBES_TO_DEGRADE {
                    tracing::warn!(error = %e, "kafka unreachable, readiness degraded");
                }
                // again while it lasts: a batch made durable meanwhile (from records fetched
                // before) sets the service ready
                if failures >= PROBES_TO_DEGRADE && readiness.is_ready() {
                    readiness.set_degraded_because(BROKER_DOWN);
                }
            }
            Err(e) => tracing::warn!(error = %e, "kafka probe task failed"),
        }
    }
}
