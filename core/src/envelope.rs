//! The records Pulse writes to Kafka: the envelope ingest puts on `events.raw` and the dead-letter
//! record the processor puts on `events.dlq`. Both are JSON; their field names are a contract.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Kafka header carrying the tenant id of a record.
pub const HEADER_TENANT_ID: &str = "pulse-tenant-id";
/// Kafka header carrying the event id of a record.
pub const HEADER_EVENT_ID: &str = "pulse-event-id";

/// A tenant or event id as text, allocated once so the span attributes, record key and headers
/// that carry it share it (hot paths format each id once, not once per use).
pub fn id_text(id: Uuid) -> std::sync::Arc<str> {
    std::sync::Arc::from(id.as_hyphenated().encode_lower(&mut Uuid::encode_buffer()) as &str)
}

/// The headers every Pulse record carries: its tenant and event ids, with room for the trace
/// context (`pulse_otel::propagation::inject`) that follows.
pub fn record_headers(tenant_id: &str, event_id: &str) -> rdkafka::message::OwnedHeaders {
    use rdkafka::message::{Header, OwnedHeaders};
    OwnedHeaders::new_with_capacity(4)
        .insert(Header {
            key: HEADER_TENANT_ID,
            value: Some(tenant_id),
        })
        .insert(Header {
            key: HEADER_EVENT_ID,
            value: Some(event_id),
        })
}

/// The value of a record on `events.raw`. `B` is the client's body: borrowed raw JSON when ingest
/// writes it (no re-serialisation), a parsed value when the processor reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventEnvelope<B> {
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    pub received_at: DateTime<Utc>,
    pub idempotency_key: Option<String>,
    pub body: B,
}

/// Whether `key` is a valid idempotency key: 1..=255 visible ASCII characters. Ingest refuses any
/// other key (400 `invalid_idempotency_key`); the processor dead-letters an envelope that carries
/// one (it was not written by ingest, and PostgreSQL could not store every such key).
pub fn valid_idempotency_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Why an event was dead-lettered: a fixed set of codes, stable for clients and dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DlqReason {
    /// A required field is absent.
    MissingField,
    /// A field has the wrong JSON type.
    InvalidType,
    /// A field has the right type but a bad value.
    InvalidValue,
    /// The tenant's JSON Schema for the event type rejects the event.
    SchemaViolation,
    /// The Kafka record itself cannot be decoded.
    MalformedEnvelope,
}

impl DlqReason {
    pub const ALL: [DlqReason; 5] = [
        Self::MissingField,
        Self::InvalidType,
        Self::InvalidValue,
        Self::SchemaViolation,
        Self::MalformedEnvelope,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingField => "missing_field",
            Self::InvalidType => "invalid_type",
            Self::InvalidValue => "invalid_value",
            Self::SchemaViolation => "schema_violation",
            Self::MalformedEnvelope => "malformed_envelope",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One validation failure, located by a JSON pointer into the event body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePosition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// The value of a record on `events.dlq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DlqRecord {
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    pub received_at: Option<DateTime<Utc>>,
    pub failed_at: DateTime<Utc>,
    pub reason: DlqReason,
    pub errors: Vec<FieldError>,
    pub body: serde_json::Value,
    pub source: SourcePosition,
    pub attempts: i32,
    pub trace_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    #[test]
    fn envelope_keeps_the_raw_body_verbatim() {
        let body =
            RawValue::from_string(r#"{"event_type":"a.b","payload":{"x":1}}"#.into()).unwrap();
        let env = EventEnvelope {
            event_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            received_at: DateTime::<Utc>::UNIX_EPOCH,
            idempotency_key: Some("k".into()),
            body: &*body,
        };
        let json = serde_json::to_string(&env).unwrap();
        assert!(json.contains(r#""body":{"event_type":"a.b","payload":{"x":1}}"#));
        let back: EventEnvelope<serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.body["payload"]["x"], 1);
        assert_eq!(back.idempotency_key.as_deref(), Some("k"));
    }

    #[test]
    fn reasons_round_trip() {
        for r in DlqReason::ALL {
            assert_eq!(DlqReason::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
