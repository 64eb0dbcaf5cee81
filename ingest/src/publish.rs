//! Publishing to `events.raw`: an idempotent, `acks=all` producer that answers only after the
//! broker's acknowledgement, fails fast when its queue is full or no broker is reachable, and
//! bounds every delivery by `message.timeout.ms`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use rdkafka::{
    ClientContext, Statistics,
    error::{KafkaError, RDKafkaErrorCode},
    message::OwnedHeaders,
    producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer},
};

/// Tracks whether any broker is up, from librdkafka's statistics and error callbacks.
#[derive(Clone, Default)]
pub struct BrokerHealth(Arc<AtomicBool>);

impl BrokerHealth {
    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct PublishContext {
    health: BrokerHealth,
}

impl ClientContext for PublishContext {
    fn stats(&self, stats: Statistics) {
        let up = stats.brokers.values().any(|b| b.state == "UP");
        self.health.0.store(up, Ordering::Relaxed);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown)
        ) {
            self.health.0.store(false, Ordering::Relaxed);
        }
        tracing::warn!(error = %error, reason, "kafka producer error");
    }
}

/// Why a record was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("producer queue is full")]
    QueueFull,
    #[error("no broker is reachable")]
    BrokersDown,
    #[error("delivery failed: {0}")]
    Delivery(KafkaError),
}

/// Producer settings (from the ingest config).
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    pub brokers: String,
    pub topic: String,
    pub linger: Duration,
    pub compression: String,
    pub delivery_timeout: Duration,
    /// `queue.buffering.max.messages`: records queued or in flight before `QueueFull`.
    pub queue_max_messages: u32,
}

#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer<PublishContext>,
    topic: Arc<str>,
    /// `send <topic>`, the PRODUCER span's name.
    span_name: Arc<str>,
    health: BrokerHealth,
}

impl Publisher {
    pub fn new(config: &PublisherConfig) -> Result<Self, KafkaError> {
        let health = BrokerHealth(Arc::new(AtomicBool::new(true)));
        let producer = pulse_core::kafka::client_config(&config.brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("compression.type", &config.compression)
            .set("linger.ms", config.linger.as_millis().to_string())
            .set(
                "message.timeout.ms",
                config.delivery_timeout.as_millis().to_string(),
            )
            .set(
                "queue.buffering.max.messages",
                config.queue_max_messages.max(1).to_string(),
            )
            .set("queue.buffering.max.kbytes", "262144")
            .set("batch.num.messages", "10000")
            .set("statistics.interval.ms", "1000")
            .create_with_context(PublishContext {
                health: health.clone(),
            })?;
        Ok(Self {
            producer,
            topic: config.topic.as_str().into(),
            span_name: pulse_otel::names::span::send(&config.topic).into(),
            health,
        })
    }

    /// The topic as a span attribute value (shared, not copied).
    pub fn topic_value(&self) -> opentelemetry::StringValue {
        self.topic.clone().into()
    }

    pub fn span_name(&self) -> &str {
        &self.span_name
    }

    /// Enqueues one record; the returned future resolves when the broker acknowledged it.
    pub fn enqueue(
        &self,
        key: &[u8],
        value: &[u8],
        headers: OwnedHeaders,
    ) -> Result<DeliveryFuture, PublishError> {
        if !self.health.is_up() {
            return Err(PublishError::BrokersDown);
        }
        let record = FutureRecord::to(&self.topic)
            .key(key)
            .payload(value)
            .headers(headers);
        self.producer
            .send_result(record)
            .map_err(|(e, _)| match e.rdkafka_error_code() {
                Some(RDKafkaErrorCode::QueueFull) => PublishError::QueueFull,
                _ => PublishError::Delivery(e),
            })
    }

    /// Flushes everything queued, waiting at most `timeout`.
    pub fn flush(&self, timeout: Duration) {
        if let Err(e) = self.producer.flush(timeout) {
            tracing::error!(error = %e, "flushing the producer failed; unacknowledged events were answered 503");
        }
    }
}

/// Waits for a delivery; `Ok((partition, offset))` once the broker acknowledged it.
pub async fn delivered(future: DeliveryFuture) -> Result<(i32, i64), PublishError> {
    match future.await {
        Ok(Ok(delivery)) => Ok((delivery.partition, delivery.offset)),
        Ok(Err((e, _))) => Err(PublishError::Delivery(e)),
        Err(_) => Err(PublishError::Delivery(KafkaError::Canceled)),
    }
}
