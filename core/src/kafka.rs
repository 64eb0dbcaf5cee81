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

/// `PULSE_TOPIC_RAW` (default [`TOPIC_RAW`]): the one place its name and default are read.
pub fn raw_topic_from_env() -> String {
    crate::config::string("PULSE_TOPIC_RAW", TOPIC_RAW)
}

/// `PULSE_TOPIC_DLQ` (default [`TOPIC_DLQ`]).
pub fn dlq_topic_from_env() -> String {
    crate::config::string("PULSE_TOPIC_DLQ", TOPIC_DLQ)
}

/// `PULSE_CONSUMER_GROUP` (default [`CONSUMER_GROUP`]): the processor's group, which the
/// processor joins and the admin API watches (committed offsets, lag, members).
pub fn consumer_group_from_env() -> String {
    crate::config::string("PULSE_CONSUMER_GROUP", CONSUMER_GROUP)
}

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

/// The settings of a producer that neither loses nor duplicates a record: every replica
/// acknowledges (`acks=all`), retries are idempotent, records are compressed and batched briefly.
/// Services add their own tuning (queue sizes, statistics) on top.
pub fn producer_config(brokers: &str, delivery_timeout: Duration) -> ClientConfig {
    let mut config = client_config(brokers);
    config
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .set(
            "message.timeout.ms",
            delivery_timeout.as_millis().to_string(),
        );
    config
}

/// A producer with [`producer_config`]: the processor's DLQ producer and operator replays.
pub fn producer(
    brokers: &str,
    delivery_timeout: Duration,
) -> Result<rdkafka::producer::FutureProducer, rdkafka::error::KafkaError> {
    producer_config(brokers, delivery_timeout).create()
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
