//! The Kafka consumer's context: consumer lag from librdkafka's statistics, and a commit of what
//! is durable before partitions move to another processor.

use std::sync::Arc;

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
