//! `Event`: a stored event, a dead-lettered one, or (in the live feed) one just accepted on
//! `events.raw`. Its lifecycle, dead letter and trace are resolved lazily, only when asked for.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, SimpleObject};
use chrono::{DateTime, Utc};
use pulse_core::{
    admin::events::{self, EventRecord},
    envelope::EventEnvelope,
};
use uuid::Uuid;

use super::{DeadLetter, EventStatus, LifecycleStage, PageInfo, Trace};
use crate::{errors::ApiError, services::Services};

/// An event, wherever it is in its life.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Event {
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    #[graphql(skip)]
    pub tenant_name: Option<String>,
    /// Null only for a dead letter whose body has no usable event_type
    pub event_type: Option<String>,
    pub source: Option<String>,
    pub idempotency_key: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub payload: Option<serde_json::Value>,
    pub status: EventStatus,
    pub kafka_topic: Option<String>,
    pub kafka_partition: Option<i32>,
    pub kafka_offset: Option<i64>,
    pub trace_id: Option<String>,
    /// Live feeds only: items this subscriber missed just before this one because it fell behind
    pub missed_before: i32,
    /// What the database said, when the event came from it (the live feed leaves it empty).
    #[graphql(skip)]
    pub record: Option<Arc<EventRecord>>,
}

impl Event {
    /// An event as PostgreSQL knows it (stored, dead-lettered, or both after a replay).
    pub fn from_record(record: EventRecord) -> Self {
        let status = EventStatus::from(record.status());
        let mut event = match (&record.stored, &record.dead_letter) {
            (Some(e), _) => Self {
                event_id: e.event_id,
                tenant_id: e.tenant_id,
                tenant_name: e.tenant.clone(),
                event_type: Some(e.event_type.clone()),
                source: e.source.clone(),
                idempotency_key: e.idempotency_key.clone(),
                occurred_at: Some(e.occurred_at),
                received_at: e.received_at,
                processed_at: Some(e.processed_at),
                payload: Some(e.payload.clone()),
                status,
                kafka_topic: Some(pulse_core::kafka::TOPIC_RAW.to_owned()),
                kafka_partition: Some(e.kafka_partition),
                kafka_offset: Some(e.kafka_offset),
                trace_id: e.trace_id.clone(),
                missed_before: 0,
                record: None,
            },
            (None, Some(d)) => {
                let body = d.body.as_ref();
                let field = |name: &str| {
                    body.and_then(|b| b.get(name))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                Self {
                    event_id: d.event_id,
                    tenant_id: d.tenant_id,
                    tenant_name: d.tenant.clone(),
                    event_type: field("event_type"),
                    source: field("source"),
                    idempotency_key: d.idempotency_key.clone(),
                    occurred_at: field("occurred_at").and_then(|t| t.parse().ok()),
                    received_at: d.received_at.unwrap_or(d.failed_at),
                    processed_at: None,
                    payload: body.and_then(|b| b.get("payload")).cloned(),
                    status,
                    kafka_topic: Some(d.source_topic.clone()),
                    kafka_partition: Some(d.source_partition),
                    kafka_offset: Some(d.source_offset),
                    trace_id: d.trace_id.clone(),
                    missed_before: 0,
                    record: None,
                }
            }
            (None, None) => unreachable!("an EventRecord holds a row"),
        };
        event.record = Some(Arc::new(record));
        event
    }

    /// An event just accepted on `events.raw` (status `ACCEPTED`), for the live feed. The body's
    /// fields are read as far as they are usable; the processor judges them later.
    pub fn from_envelope(
        envelope: &EventEnvelope<serde_json::Value>,
        topic: &str,
        partition: i32,
        offset: i64,
        trace_id: Option<String>,
    ) -> Self {
        let body = &envelope.body;
        let field = |name: &str| body.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Self {
            event_id: envelope.event_id,
            tenant_id: envelope.tenant_id,
            tenant_name: None,
            event_type: field("event_type"),
            source: field("source"),
            idempotency_key: envelope.idempotency_key.clone(),
            occurred_at: field("occurred_at").and_then(|t| t.parse().ok()),
            received_at: envelope.received_at,
            processed_at: None,
            payload: body.get("payload").cloned(),
            status: EventStatus::Accepted,
            kafka_topic: Some(topic.to_owned()),
            kafka_partition: Some(partition),
            kafka_offset: Some(offset),
            trace_id,
            missed_before: 0,
            record: None,
        }
    }

    /// The database's record of this event (looked up once when the event came from Kafka).
    async fn record(&self, services: &Services) -> async_graphql::Result<Option<Arc<EventRecord>>> {
        if let Some(r) = &self.record {
            return Ok(Some(r.clone()));
        }
        let found = events::lookup(&services.pool, Some(self.tenant_id), self.event_id)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(Arc::new))
    }
}

#[ComplexObject]
impl Event {
    async fn tenant_name(&self, ctx: &Context<'_>) -> Option<String> {
        match &self.tenant_name {
            Some(name) => Some(name.clone()),
            None => Services::of(ctx).tenant_name(self.tenant_id).await,
        }
    }

    /// Link to the trace in a full Jaeger UI (http://localhost:16686/trace/<id> by default)
    async fn trace_url(&self, ctx: &Context<'_>) -> Option<String> {
        Services::of(ctx).links.trace_url(self.trace_id.as_deref())
    }

    /// received → published (partition/offset) → stored or dead-lettered → replayed
    async fn lifecycle(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LifecycleStep>> {
        if let Some(record) = self.record(Services::of(ctx)).await? {
            return Ok(record.lifecycle().into_iter().map(Into::into).collect());
        }
        // accepted but not processed yet
        Ok(vec![
            LifecycleStep {
                stage: LifecycleStage::Received,
                at: Some(self.received_at),
                topic: None,
                partition: None,
                offset: None,
                detail: None,
            },
            LifecycleStep {
                stage: LifecycleStage::Published,
                at: None,
                topic: self.kafka_topic.clone(),
                partition: self.kafka_partition,
                offset: self.kafka_offset,
                detail: None,
            },
        ])
    }

    async fn dead_letter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DeadLetter>> {
        let record = self.record(Services::of(ctx)).await?;
        Ok(record
            .and_then(|r| r.dead_letter.clone())
            .map(DeadLetter::from_row))
    }

    /// The trace from Jaeger's query API (null when sampled out or expired)
    async fn trace(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Trace>> {
        let services = Services::of(ctx);
        match &self.trace_id {
            Some(id) => Ok(services.traces.get(id, &services.links).await?),
            None => Ok(None),
        }
    }
}

/// One step of an event's lifecycle.
#[derive(SimpleObject, Clone, Debug)]
pub struct LifecycleStep {
    pub stage: LifecycleStage,
    pub at: Option<DateTime<Utc>>,
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub detail: Option<String>,
}

impl From<events::LifecycleStep> for LifecycleStep {
    fn from(s: events::LifecycleStep) -> Self {
        Self {
            stage: s.stage.into(),
            at: s.at,
            topic: s.topic,
            partition: s.partition,
            offset: s.offset,
            detail: s.detail,
        }
    }
}

/// A page of events.
#[derive(SimpleObject, Clone, Debug)]
pub struct EventConnection {
    pub edges: Vec<EventEdge>,
    pub nodes: Vec<Event>,
    pub page_info: PageInfo,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct EventEdge {
    pub cursor: String,
    pub node: Event,
}
