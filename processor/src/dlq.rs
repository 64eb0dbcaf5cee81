//! Publishing DLQ records to `events.dlq`. Listing, discarding and replaying dead letters are
//! operator use cases in `pulse_core::admin::dead_letters`.

use pulse_core::envelope::{DlqRecord, record_headers};
use rdkafka::{
    error::KafkaError,
    message::OwnedHeaders,
    producer::{DeliveryFuture, FutureProducer, FutureRecord},
};
use uuid::Uuid;

/// Record headers every Pulse record carries, plus the current trace context.
pub fn headers(tenant_id: Uuid, event_id: Uuid, cx: &opentelemetry::Context) -> OwnedHeaders {
    let headers = record_headers(&tenant_id.to_string(), &event_id.to_string());
    pulse_otel::propagation::inject(cx, headers)
}

/// Enqueues one DLQ record (keyed by tenant, so a tenant's failures stay in order).
pub fn enqueue(
    producer: &FutureProducer,
    topic: &str,
    record: &DlqRecord,
    cx: &opentelemetry::Context,
) -> Result<DeliveryFuture, KafkaError> {
    let value = serde_json::to_vec(record).map_err(|_| {
        KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::InvalidMessage)
    })?;
    let key = record.tenant_id.to_string();
    producer
        .send_result(
            FutureRecord::to(topic)
                .key(key.as_bytes())
                .payload(&value)
                .headers(headers(record.tenant_id, record.event_id, cx)),
        )
        .map_err(|(e, _)| e)
}
