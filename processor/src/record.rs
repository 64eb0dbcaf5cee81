//! What the processor keeps of a Kafka record while its batch is validated and written.

use std::sync::Arc;

use opentelemetry::Context;
use pulse_core::envelope::{HEADER_EVENT_ID, HEADER_TENANT_ID, SourcePosition};
use pulse_otel::propagation::TraceHeaders;
use rdkafka::{
    Message,
    message::{BorrowedMessage, Headers},
};
use uuid::Uuid;

/// A Kafka record reduced to what the processor uses, its headers read in one pass.
///
/// rdkafka's `OwnedMessage` (what `detach` makes) also copies the key, the timestamp and every
/// header into allocations of their own, and every later header lookup walks the headers again
/// through FFI calls: copying and reading records that way was about a tenth of the processor's
/// CPU per event.
#[derive(Debug)]
pub struct Record {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub payload: Box<[u8]>,
    /// The trace its `traceparent` header continues (an empty context without one).
    pub parent: Context,
    /// The `pulse-tenant-id` header, for a record whose body is not an event envelope.
    pub tenant_header: Option<Uuid>,
    /// The `pulse-event-id` header, likewise.
    pub event_header: Option<Uuid>,
}

impl Record {
    /// Copies what is needed of `m`; `topic` is shared when it names `m`'s topic (the processor
    /// reads one).
    pub fn new(m: &BorrowedMessage<'_>, topic: &Arc<str>) -> Self {
        let mut trace = TraceHeaders::default();
        let (mut tenant_header, mut event_header) = (None, None);
        for header in m.headers().into_iter().flat_map(|h| h.iter()) {
            let Some(value) = header.value.and_then(|v| std::str::from_utf8(v).ok()) else {
                continue;
            };
            if header.key == HEADER_TENANT_ID {
                tenant_header = Uuid::try_parse(value).ok();
            } else if header.key == HEADER_EVENT_ID {
                event_header = Uuid::try_parse(value).ok();
            } else {
                trace.offer(header.key, value);
            }
        }
        Self {
            topic: if **topic == *m.topic() {
                topic.clone()
            } else {
                Arc::from(m.topic())
            },
            partition: m.partition(),
            offset: m.offset(),
            payload: m.payload().unwrap_or_default().into(),
            parent: trace.extract(),
            tenant_header,
            event_header,
        }
    }

    /// Where the record was read from (dead letters record it).
    pub fn position(&self) -> SourcePosition {
        SourcePosition {
            topic: self.topic.to_string(),
            partition: self.partition,
            offset: self.offset,
        }
    }
}
