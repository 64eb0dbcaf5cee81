//! Judging one record: decoding its envelope, the fixed rules and the tenant's JSON Schema, under
//! the record's own CONSUMER span. The outcome is an event row (borrowing the record's payload) or
//! a dead letter (its row and its `events.dlq` record).

use chrono::{DateTime, Utc};
use opentelemetry::{Context, KeyValue, global::BoxedTracer, trace::TraceContextExt};
use pulse_core::envelope::{
    DlqReason, DlqRecord, EventEnvelope, FieldError, SourcePosition, id_text, valid_idempotency_key,
};
use pulse_otel::names::attr;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::{
    record::Record,
    retry::InfraError,
    schema::{self, SchemaCache},
    spans::SpanNames,
    store::{DeadLetterRow, EventRow},
    validate::{self, Invalid},
};

/// One record's fate, with the context of the CONSUMER span that follows it.
pub(crate) struct Handled<'m> {
    pub(crate) cx: Context,
    pub(crate) partition: i32,
    pub(crate) outcome: Outcome<'m>,
}

/// A stored event borrows its payload from the Kafka record it came from.
pub(crate) enum Outcome<'m> {
    Store(EventRow<'m>),
    DeadLetter(Box<(DeadLetterRow, DlqRecord)>),
}

/// What a dead letter is made of, whichever way its record failed.
pub(crate) struct Failed {
    pub(crate) tenant_id: Uuid,
    pub(crate) event_id: Uuid,
    pub(crate) received_at: Option<DateTime<Utc>>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) event_type: Option<String>,
    /// The body for the `events.dlq` record.
    pub(crate) body: serde_json::Value,
    /// The body for the `dead_letters` row: the original JSON text, lossless.
    pub(crate) stored_body: String,
    pub(crate) source: SourcePosition,
    pub(crate) trace_id: Option<String>,
}

/// Judges records: the tenants' schemas to check against and the span names to judge under.
pub(crate) struct Judge<'a> {
    pub(crate) schemas: &'a SchemaCache,
    pub(crate) names: &'a SpanNames,
}

impl Judge<'_> {
    /// Decodes and validates one record under its own CONSUMER span, which continues the trace
    /// in the record's `traceparent` ([`crate::spans`]).
    pub(crate) async fn handle<'m>(
        &self,
        tracer: &BoxedTracer,
        m: &'m Record,
    ) -> Result<Handled<'m>, InfraError> {
        let span = self.names.process(tracer, m);
        let cx = m.parent.with_span(span);
        let sc = cx.span().span_context().clone();
        let trace_id = sc.is_valid().then(|| sc.trace_id().to_string());
        let outcome = self.judge(&cx, m, trace_id).await?;
        Ok(Handled {
            cx,
            partition: m.partition,
            outcome,
        })
    }

    async fn judge<'m>(
        &self,
        cx: &Context,
        m: &'m Record,
        trace_id: Option<String>,
    ) -> Result<Outcome<'m>, InfraError> {
        let span = cx.span();
        let bytes = &*m.payload;
        let malformed = |why: &str, trace_id: Option<String>| {
            let source = m.position();
            let body = validate::body_for_dlq(bytes);
            let failed = Failed {
                tenant_id: m.tenant_header.unwrap_or(Uuid::nil()),
                event_id: m.event_header.unwrap_or_else(|| position_id(&source)),
                received_at: None,
                idempotency_key: None,
                event_type: None,
                stored_body: body.to_string(),
                body,
                source,
                trace_id,
            };
            dead_letter(
                cx,
                failed,
                &Invalid::single(DlqReason::MalformedEnvelope, "", why),
            )
        };
        let Ok(envelope) = serde_json::from_slice::<EventEnvelope<&RawValue>>(bytes) else {
            return Ok(malformed(
                "the Kafka record is not a Pulse event envelope",
                trace_id,
            ));
        };
        if envelope
            .idempotency_key
            .as_deref()
            .is_some_and(|k| !valid_idempotency_key(k))
        {
            // ingest never writes such a key, and claiming it could fail the whole batch
            return Ok(malformed(
                "the envelope's idempotency_key is not 1 to 255 visible ASCII characters",
                trace_id,
            ));
        }
        if span.is_recording() {
            // the event id only as the semantic conventions' `messaging.message.id`: a second copy
            // as `pulse.event.id` (ingest's spans carry it) cost this span and Jaeger ~0.6 µs per event
            span.set_attributes([
                KeyValue::new(attr::PULSE_TENANT_ID, envelope.tenant_id.to_string()),
                KeyValue::new(attr::MESSAGING_MESSAGE_ID, id_text(envelope.event_id)),
            ]);
        }

        let checked = match validate::validate(envelope.body, envelope.received_at) {
            Ok(valid) => {
                if span.is_recording() {
                    span.set_attribute(KeyValue::new(
                        attr::PULSE_EVENT_TYPE,
                        valid.event_type.clone(),
                    ));
                }
                self.check_schema(envelope.tenant_id, &valid)
                    .await?
                    .map(|()| valid)
            }
            Err(invalid) => Err(invalid),
        };
        match checked {
            Ok(valid) => Ok(Outcome::Store(EventRow {
                tenant_id: envelope.tenant_id,
                event_id: envelope.event_id,
                event_type: valid.event_type,
                occurred_at: valid.occurred_at,
                received_at: envelope.received_at,
                source: valid.source,
                idempotency_key: envelope.idempotency_key,
                payload: valid.payload.get(),
                body: envelope.body.get(),
                trace_id,
                partition: m.partition,
                offset: m.offset,
            })),
            Err(invalid) => {
                let failed = Failed {
                    tenant_id: envelope.tenant_id,
                    event_id: envelope.event_id,
                    received_at: Some(envelope.received_at),
                    idempotency_key: envelope.idempotency_key,
                    event_type: validate::event_type_hint(envelope.body),
                    body: validate::raw_body_for_dlq(envelope.body),
                    stored_body: envelope.body.get().to_owned(),
                    source: m.position(),
                    trace_id,
                };
                Ok(dead_letter(cx, failed, &invalid))
            }
        }
    }

    /// `Ok(Err(..))` when the tenant's schema for this event type rejects the payload.
    async fn check_schema(
        &self,
        tenant: Uuid,
        valid: &validate::ValidEvent<'_>,
    ) -> Result<Result<(), Invalid>, InfraError> {
        let schemas = self.schemas.for_tenant(tenant).await?;
        let Some(validator) = schemas.get(&valid.event_type) else {
            return Ok(Ok(()));
        };
        let payload: serde_json::Value =
            serde_json::from_str(valid.payload.get()).unwrap_or_default();
        Ok(schema::check(validator, &payload))
    }
}

/// Turns a failed record into a dead letter (its row and its `events.dlq` record).
pub(crate) fn dead_letter(cx: &Context, failed: Failed, invalid: &Invalid) -> Outcome<'static> {
    let reason = invalid.reason();
    cx.span()
        .set_attribute(KeyValue::new(attr::PULSE_DLQ_REASON, reason.as_str()));
    let errors: Vec<FieldError> = invalid.field_errors();
    let failed_at = Utc::now();
    let row = DeadLetterRow {
        tenant_id: failed.tenant_id,
        event_id: failed.event_id,
        reason,
        errors: serde_json::to_string(&errors).unwrap_or_else(|_| "[]".to_owned()),
        body: failed.stored_body,
        event_type: failed.event_type,
        idempotency_key: failed.idempotency_key,
        received_at: failed.received_at,
        failed_at,
        source_topic: failed.source.topic.clone(),
        source_partition: failed.source.partition,
        source_offset: failed.source.offset,
        trace_id: failed.trace_id.clone(),
    };
    let record = DlqRecord {
        event_id: failed.event_id,
        tenant_id: failed.tenant_id,
        received_at: failed.received_at,
        failed_at,
        reason,
        errors,
        body: failed.body,
        source: failed.source,
        attempts: 1,
        trace_id: failed.trace_id,
    };
    Outcome::DeadLetter(Box::new((row, record)))
}

/// A stable id for a record that carries none, so its redelivery maps to the same dead letter.
fn position_id(source: &SourcePosition) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!(
            "pulse:{}:{}:{}",
            source.topic, source.partition, source.offset
        )
        .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_ids_are_stable() {
        let p = SourcePosition {
            topic: "t".into(),
            partition: 1,
            offset: 7,
        };
        assert_eq!(position_id(&p), position_id(&p.clone()));
        assert_ne!(
            position_id(&p),
            position_id(&SourcePosition { offset: 8, ..p })
        );
    }
}
