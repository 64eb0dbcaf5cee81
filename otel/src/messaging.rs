//! PRODUCER and CONSUMER span builders for Kafka records, carrying the messaging semantic
//! conventions' attributes, so ingest, the processor and the admin API's replays name and describe
//! a record's spans one way. Callers add what only they know (event id, tenant, reason) and start
//! the span with the context it belongs to.

use std::borrow::Cow;

use opentelemetry::{
    KeyValue, StringValue,
    trace::{SpanBuilder, SpanKind},
};

use crate::names::attr;

/// The PRODUCER span of one record sent to `topic`, named `name` (`send <topic>`), with `extra`
/// attributes after the messaging ones.
pub fn send(
    name: impl Into<Cow<'static, str>>,
    topic: StringValue,
    extra: impl IntoIterator<Item = KeyValue>,
) -> SpanBuilder {
    let mut attributes = vec![
        KeyValue::new(attr::MESSAGING_SYSTEM, "kafka"),
        KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "send"),
        KeyValue::new(attr::MESSAGING_OPERATION_NAME, "send"),
        KeyValue::new(attr::MESSAGING_DESTINATION_NAME, topic),
    ];
    attributes.extend(extra);
    SpanBuilder::from_name(name)
        .with_kind(SpanKind::Producer)
        .with_attributes(attributes)
}

/// The CONSUMER span of one record read from `topic` by `group`, named `name` (`process <topic>`).
pub fn process(
    name: impl Into<Cow<'static, str>>,
    topic: StringValue,
    group: StringValue,
    partition: i32,
    offset: i64,
) -> SpanBuilder {
    SpanBuilder::from_name(name)
        .with_kind(SpanKind::Consumer)
        .with_attributes([
            KeyValue::new(attr::MESSAGING_SYSTEM, "kafka"),
            KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "process"),
            KeyValue::new(attr::MESSAGING_OPERATION_NAME, "process"),
            KeyValue::new(attr::MESSAGING_DESTINATION_NAME, topic),
            KeyValue::new(attr::MESSAGING_CONSUMER_GROUP_NAME, group),
            KeyValue::new(
                attr::MESSAGING_DESTINATION_PARTITION_ID,
                i64::from(partition),
            ),
            KeyValue::new(attr::MESSAGING_KAFKA_OFFSET, offset),
        ])
}
