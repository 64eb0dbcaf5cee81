//! Span, attribute and metric names, in one place. Messaging and HTTP names follow the current
//! OpenTelemetry semantic conventions; Pulse's own use the `pulse.` prefix.

/// Service names as they appear in Jaeger.
pub mod service {
    pub const INGEST: &str = "pulse-ingest";
    pub const PROCESSOR: &str = "pulse-processor";
    pub const GRAPHQL: &str = "pulse-graphql";
    pub const CLI: &str = "pulse-cli";
}

/// Span names: `{operation} {destination}` for messaging spans (the topic is configurable, so
/// these are built), `{operation} {table}` for database spans.
pub mod span {
    /// The PRODUCER span of a record sent to `topic`.
    pub fn send(topic: &str) -> String {
        format!("send {topic}")
    }

    /// The CONSUMER span of a record read from `topic`.
    pub fn process(topic: &str) -> String {
        format!("process {topic}")
    }

    pub const INSERT_EVENTS: &str = "INSERT events";
    pub const INSERT_DEAD_LETTERS: &str = "INSERT dead_letters";
}

/// Attribute keys.
pub mod attr {
    pub const MESSAGING_SYSTEM: &str = "messaging.system";
    pub const MESSAGING_OPERATION_TYPE: &str = "messaging.operation.type";
    pub const MESSAGING_OPERATION_NAME: &str = "messaging.operation.name";
    pub const MESSAGING_DESTINATION_NAME: &str = "messaging.destination.name";
    pub const MESSAGING_DESTINATION_PARTITION_ID: &str = "messaging.destination.partition.id";
    pub const MESSAGING_CONSUMER_GROUP_NAME: &str = "messaging.consumer.group.name";
    pub const MESSAGING_KAFKA_OFFSET: &str = "messaging.kafka.offset";
    pub const MESSAGING_MESSAGE_ID: &str = "messaging.message.id";
    pub const MESSAGING_BATCH_MESSAGE_COUNT: &str = "messaging.batch.message_count";
    pub const HTTP_ROUTE: &str = "http.route";
    pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
    pub const ERROR_TYPE: &str = "error.type";
    pub const DB_SYSTEM_NAME: &str = "db.system.name";
    pub const DB_OPERATION_NAME: &str = "db.operation.name";
    pub const DB_COLLECTION_NAME: &str = "db.collection.name";
    pub const PULSE_TENANT_ID: &str = "pulse.tenant.id";
    pub const PULSE_EVENT_ID: &str = "pulse.event.id";
    pub const PULSE_EVENT_TYPE: &str = "pulse.event.type";
    pub const PULSE_DLQ_REASON: &str = "pulse.dlq.reason";
    pub const PULSE_OUTCOME: &str = "pulse.outcome";
    pub const GRAPHQL_OPERATION_TYPE: &str = "graphql.operation.type";
    pub const GRAPHQL_OPERATION_NAME: &str = "graphql.operation.name";
}

/// Metric names.
pub mod metric {
    pub const HTTP_SERVER_REQUEST_DURATION: &str = "http.server.request.duration";
    pub const MESSAGING_CLIENT_SENT_MESSAGES: &str = "messaging.client.sent.messages";
    pub const MESSAGING_CLIENT_CONSUMED_MESSAGES: &str = "messaging.client.consumed.messages";
    pub const MESSAGING_PROCESS_DURATION: &str = "messaging.process.duration";
    pub const EVENTS_INGESTED: &str = "pulse.events.ingested";
    pub const EVENTS_DEDUPLICATED: &str = "pulse.events.deduplicated";
    pub const EVENTS_REJECTED: &str = "pulse.events.rejected";
    pub const EVENTS_DEAD_LETTERED: &str = "pulse.events.dead_lettered";
    pub const EVENTS_STORED: &str = "pulse.events.stored";
    pub const EVENT_END_TO_END_LAG: &str = "pulse.event.end_to_end.duration";
    pub const CONSUMER_LAG_RECORDS: &str = "pulse.consumer.lag";
    pub const CONSUMER_LAG_SECONDS: &str = "pulse.consumer.lag.seconds";
    pub const RATE_LIMIT_FALLBACK: &str = "pulse.rate_limit.fallback";
    /// GraphQL operations by type, name and outcome (`pulse.outcome`: ok or the error code).
    pub const GRAPHQL_OPERATIONS: &str = "pulse.graphql.operations";
    pub const GRAPHQL_OPERATION_DURATION: &str = "pulse.graphql.operation.duration";
}
