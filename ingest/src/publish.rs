//! Publishing to `events.raw`: an idempotent, `acks=all` producer that answers only after the
//! broker's acknowledgement, fails fast when its queue is full or no broker is reachable, and
//! bounds every delivery by `message.timeout.ms`; and [`Publisher::publish`], which sends one
//! admitted event as an envelope under its own PRODUCER span.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicI32, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use opentelemetry::{
    Context, KeyValue, StringValue,
    trace::{Link, SpanContext, Status, TraceContextExt},
};
use pulse_core::envelope::{EventEnvelope, id_text, record_headers};
use pulse_otel::names::{attr, service};
use rdkafka::{
    ClientContext, Statistics,
    error::{KafkaError, RDKafkaErrorCode},
    message::OwnedHeaders,
    producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer},
};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::{error::IngestError, metrics::IngestMetrics};

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
    topic: Arc<str>,
    /// The topic's partition count once the statistics have reported it (0 until then).
    partitions: Arc<AtomicI32>,
}

impl ClientContext for PublishContext {
    fn stats(&self, stats: Statistics) {
        let up = stats.brokers.values().any(|b| b.state == "UP");
        self.health.0.store(up, Ordering::Relaxed);
        if let Some(topic) = stats.topics.get(&*self.topic) {
            // the statistics list an internal "unassigned" partition -1 too
            let known = topic.partitions.keys().filter(|p| **p >= 0).count();
            self.partitions
                .store(i32::try_from(known).unwrap_or(0), Ordering::Relaxed);
        }
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
    /// How long events without a `partition_key` all go to one partition before the next
    /// (`None`: the key's hash spreads them, librdkafka's partitioner).
    pub sticky_window: Option<Duration>,
}

#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer<PublishContext>,
    topic: Arc<str>,
    /// `send <topic>`, the PRODUCER span's name.
    span_name: Arc<str>,
    health: BrokerHealth,
    sticky: Option<Sticky>,
}

/// Sticky partitioning for events without a `partition_key`: their key is their (unique) event
/// id, so no order depends on their partition. librdkafka sends one produce request per partition
/// (it does not combine partitions in one request), so spreading a linger window's records over
/// every partition multiplies the broker's requests — its CPU per event — by the partition count;
/// sending each time window's records to one partition, the next window to the next, keeps the
/// spread over time and makes one request per window.
#[derive(Clone)]
struct Sticky {
    window_ms: u64,
    partitions: Arc<AtomicI32>,
    since: Instant,
}

impl Sticky {
    /// The partition for now, or `None` (librdkafka decides) until the partition count is known.
    fn partition(&self) -> Option<i32> {
        let count = self.partitions.load(Ordering::Relaxed);
        if count <= 0 {
            return None;
        }
        sticky_partition(
            self.since.elapsed().as_millis() as u64,
            self.window_ms,
            count,
        )
    }
}

/// Window `elapsed_ms / window_ms` goes to partition `window % count`: every partition in turn.
fn sticky_partition(elapsed_ms: u64, window_ms: u64, count: i32) -> Option<i32> {
    let count = u64::try_from(count).ok().filter(|c| *c > 0)?;
    i32::try_from((elapsed_ms / window_ms.max(1)) % count).ok()
}

impl Publisher {
    pub fn new(config: &PublisherConfig) -> Result<Self, KafkaError> {
        let health = BrokerHealth(Arc::new(AtomicBool::new(true)));
        let partitions = Arc::new(AtomicI32::new(0));
        let topic: Arc<str> = config.topic.as_str().into();
        let producer = pulse_core::kafka::producer_config(&config.brokers, config.delivery_timeout)
            .set("compression.type", &config.compression)
            .set("linger.ms", config.linger.as_millis().to_string())
            .set(
                "queue.buffering.max.messages",
                config.queue_max_messages.max(1).to_string(),
            )
            .set("queue.buffering.max.kbytes", "262144")
            .set("batch.num.messages", "10000")
            .set("statistics.interval.ms", "1000")
            .create_with_context(PublishContext {
                health: health.clone(),
                topic: topic.clone(),
                partitions: partitions.clone(),
            })?;
        let sticky = config.sticky_window.map(|window| Sticky {
            window_ms: (window.as_millis() as u64).max(1),
            partitions,
            since: Instant::now(),
        });
        Ok(Self {
            producer,
            topic,
            sticky,
            span_name: pulse_otel::names::span::send(&config.topic).into(),
            health,
        })
    }

    /// Publishes one admitted event under its own PRODUCER span and waits for the broker's
    /// acknowledgement. A batch item starts its own trace linked to the batch request
    /// (`batch_link`), so every event has one trace; a single event continues the request's.
    ///
    /// The span is built with the OpenTelemetry SDK directly: the `tracing` layer's per-span
    /// bookkeeping was a large share of a batch's CPU time, and nothing logs inside this span.
    pub async fn publish(
        &self,
        metrics: &IngestMetrics,
        event: Outgoing<'_>,
        batch_link: Option<&SpanContext>,
    ) -> Result<(), IngestError> {
        let tracer = pulse_otel::service_tracer().unwrap_or_else(|| fallback_tracer());
        let event_id_text = id_text(event.event_id);
        let id_value = StringValue::from(event_id_text.clone());
        let mut builder = pulse_otel::messaging::send(
            self.span_name.to_string(),
            self.topic.clone().into(),
            [
                KeyValue::new(attr::MESSAGING_MESSAGE_ID, id_value.clone()),
                KeyValue::new(
                    attr::PULSE_TENANT_ID,
                    StringValue::from(event.tenant_text.clone()),
                ),
                KeyValue::new(attr::PULSE_EVENT_ID, id_value),
            ],
        );
        let parent = match batch_link {
            Some(link) => {
                builder = builder.with_links(vec![Link::with_context(link.clone())]);
                Context::new()
            }
            None => Context::current(),
        };
        let cx = parent.with_span(builder.start_with_context(tracer, &parent));

        let envelope = EventEnvelope {
            event_id: event.event_id,
            tenant_id: event.tenant_id,
            received_at: Utc::now(),
            idempotency_key: event.idempotency_key.map(str::to_owned),
            body: event.raw,
        };
        let value = serde_json::to_vec(&envelope).map_err(|_| IngestError::NotAnObject)?;
        let key = event.partition_key.unwrap_or(&event_id_text);
        let headers =
            pulse_otel::propagation::inject(&cx, record_headers(event.tenant_text, &event_id_text));
        let partition = match (event.partition_key, &self.sticky) {
            (None, Some(sticky)) => sticky.partition(),
            _ => None,
        };
        let result = match self.enqueue(key.as_bytes(), partition, &value, headers) {
            Ok(delivery) => delivered(delivery).await,
            Err(e) => Err(e),
        };
        let span = cx.span();
        let outcome = match result {
            Ok((partition, offset)) => {
                span.set_attributes([
                    KeyValue::new(
                        attr::MESSAGING_DESTINATION_PARTITION_ID,
                        i64::from(partition),
                    ),
                    KeyValue::new(attr::MESSAGING_KAFKA_OFFSET, offset),
                ]);
                metrics.sent(None);
                Ok(())
            }
            Err(e) => {
                let kind = match e {
                    PublishError::QueueFull => "queue_full",
                    PublishError::BrokersDown => "brokers_down",
                    PublishError::Delivery(_) => "delivery_failed",
                };
                span.set_status(Status::error(kind));
                span.set_attribute(KeyValue::new(attr::ERROR_TYPE, kind));
                tracing::warn!(error = %e, "publishing event failed");
                metrics.sent(Some(kind));
                Err(IngestError::BrokerUnavailable)
            }
        };
        span.end();
        outcome
    }

    /// Enqueues one record (to `partition`, or where its key hashes); the returned future
    /// resolves when the broker acknowledged it.
    pub fn enqueue(
        &self,
        key: &[u8],
        partition: Option<i32>,
        value: &[u8],
        headers: OwnedHeaders,
    ) -> Result<DeliveryFuture, PublishError> {
        if !self.health.is_up() {
            return Err(PublishError::BrokersDown);
        }
        let mut record = FutureRecord::to(&self.topic)
            .key(key)
            .payload(value)
            .headers(headers);
        if let Some(p) = partition {
            record = record.partition(p);
        }
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

/// One admitted event on its way to Kafka.
pub struct Outgoing<'a> {
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    /// The tenant id as text, shared by every event of a request.
    pub tenant_text: &'a Arc<str>,
    pub idempotency_key: Option<&'a str>,
    pub raw: &'a RawValue,
    /// The body's `partition_key`, read once by the caller.
    pub partition_key: Option<&'a str>,
}

/// The tracer for PRODUCER spans when no service tracer was installed (tests, tools).
fn fallback_tracer() -> &'static opentelemetry::global::BoxedTracer {
    static TRACER: std::sync::OnceLock<opentelemetry::global::BoxedTracer> =
        std::sync::OnceLock::new();
    TRACER.get_or_init(|| pulse_otel::tracer(service::INGEST))
}

/// Waits for a delivery; `Ok((partition, offset))` once the broker acknowledged it.
pub async fn delivered(future: DeliveryFuture) -> Result<(i32, i64), PublishError> {
    match future.await {
        Ok(Ok(delivery)) => Ok((delivery.partition, delivery.offset)),
        Ok(Err((e, _))) => Err(PublishError::Delivery(e)),
        Err(_) => Err(PublishError::Delivery(KafkaError::Canceled)),
    }
}

#[cfg(test)]
mod tests {
    use super::sticky_partition;

    #[test]
    fn a_window_keeps_one_partition_and_the_windows_visit_every_partition() {
        assert_eq!(sticky_partition(0, 10, 6), Some(0));
        assert_eq!(sticky_partition(9, 10, 6), Some(0), "same window");
        assert_eq!(sticky_partition(10, 10, 6), Some(1), "next window");
        let visited: std::collections::BTreeSet<i32> = (0..60)
            .map(|ms| sticky_partition(ms, 10, 6).unwrap())
            .collect();
        assert_eq!(visited.len(), 6, "every partition in turn");
        assert_eq!(sticky_partition(60, 10, 6), Some(0), "and round again");
    }

    #[test]
    fn unknown_partition_count_leaves_the_choice_to_librdkafka() {
        assert_eq!(sticky_partition(5, 10, 0), None);
        assert_eq!(sticky_partition(5, 10, -1), None);
    }
}
