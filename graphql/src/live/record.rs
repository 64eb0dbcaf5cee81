//! The items of the live feeds as read from Kafka: an accepted event from `events.raw` and a dead
//! letter from `events.dlq`, decoded once per process and shared by every subscriber.

use chrono::{DateTime, Utc};
use pulse_core::envelope::{DlqRecord, EventEnvelope};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use uuid::Uuid;

/// A record a live feed carries: decoded from a Kafka message, owned by one tenant.
pub trait LiveRecord: Send + Sync + 'static {
    fn decode(message: &BorrowedMessage<'_>) -> Result<Self, serde_json::Error>
    where
        Self: Sized;
    fn tenant_id(&self) -> Uuid;
}

/// An accepted event as ingest wrote it to `events.raw`.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub envelope: EventEnvelope<serde_json::Value>,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// From the record's `traceparent` header.
    pub trace_id: Option<String>,
}

impl LiveEvent {
    /// The body's `event_type` when it is a string (the processor validates it later).
    pub fn event_type(&self) -> Option<&str> {
        self.envelope.body.get("event_type")?.as_str()
    }
}

impl LiveRecord for LiveEvent {
    fn decode(message: &BorrowedMessage<'_>) -> Result<Self, serde_json::Error> {
        let envelope = serde_json::from_slice(message.payload().unwrap_or_default())?;
        Ok(Self {
            envelope,
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            trace_id: trace_id(message),
        })
    }

    fn tenant_id(&self) -> Uuid {
        self.envelope.tenant_id
    }
}

/// A dead letter as the processor wrote it to `events.dlq`.
#[derive(Debug, Clone)]
pub struct LiveDeadLetter {
    pub record: DlqRecord,
    /// When the record reached `events.dlq` (its Kafka timestamp).
    pub at: Option<DateTime<Utc>>,
}

impl LiveRecord for LiveDeadLetter {
    fn decode(message: &BorrowedMessage<'_>) -> Result<Self, serde_json::Error> {
        let record = serde_json::from_slice(message.payload().unwrap_or_default())?;
        Ok(Self {
            record,
            at: message
                .timestamp()
                .to_millis()
                .and_then(DateTime::from_timestamp_millis),
        })
    }

    fn tenant_id(&self) -> Uuid {
        self.record.tenant_id
    }
}

/// The trace id of a W3C `traceparent` header (`00-<trace id>-<span id>-<flags>`), if valid.
fn trace_id(message: &BorrowedMessage<'_>) -> Option<String> {
    let headers = message.headers()?;
    let value = headers
        .iter()
        .find(|h| h.key.eq_ignore_ascii_case("traceparent"))?
        .value?;
    parse_traceparent(std::str::from_utf8(value).ok()?).map(str::to_owned)
}

fn parse_traceparent(value: &str) -> Option<&str> {
    let mut parts = value.split('-');
    let (_version, id) = (parts.next()?, parts.next()?);
    let valid = id.len() == 32
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && id.bytes().any(|b| b != b'0');
    valid.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::parse_traceparent;

    #[test]
    fn trace_ids_come_from_valid_traceparents_only() {
        assert_eq!(
            parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        assert_eq!(
            parse_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01"),
            None
        );
        assert_eq!(parse_traceparent("00-not-a-trace-01"), None);
        assert_eq!(parse_traceparent(""), None);
    }
}
