//! Topic names and their idempotent creation through the Kafka admin API.

use std::time::Duration;

use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    types::RDKafkaErrorCode,
};

/// Raw events from ingest, keyed by partition key or event id.
pub const TOPIC_RAW: &str = "events.raw";
/// Dead-lettered events from the processor.
pub const TOPIC_DLQ: &str = "events.dlq";
pub const RAW_PARTITIONS: i32 = 6;
pub const DLQ_PARTITIONS: i32 = 3;
/// The processor's consumer group.
pub const CONSUMER_GROUP: &str = "pulse-processor";

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("kafka admin error: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("creating topic {topic} failed: {code}")]
    Create {
        topic: String,
        code: RDKafkaErrorCode,
    },
}

/// A client configuration pointed at `brokers`, shared by every Pulse Kafka client.
pub fn client_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    config
}

/// Creates `topics` (name, partitions) if they do not exist yet; existing topics are left alone.
pub async fn ensure_topics(brokers: &str, topics: &[(&str, i32)]) -> Result<(), TopicError> {
    let admin: AdminClient<DefaultClientContext> = client_config(brokers).create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&new, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError::Create { topic, code }),
        }
    }
    Ok(())
}

/// Creates Pulse's two topics with their contracted partition counts.
pub async fn ensure_pulse_topics(brokers: &str) -> Result<(), TopicError> {
    ensure_topics(
        brokers,
        &[(TOPIC_RAW, RAW_PARTITIONS), (TOPIC_DLQ, DLQ_PARTITIONS)],
    )
    .await
}
