//! `DeadLetter` (from PostgreSQL, or from `events.dlq` in the live feed), its groups, and the
//! results of replaying or discarding dead letters.

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use pulse_core::{admin::dead_letters as admin, envelope::DlqRecord};
use uuid::Uuid;

use super::{DeadLetterStatus, DlqReason, PageInfo, Trace};
use crate::services::Services;

/// An event that failed validation.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    row: Arc<admin::DeadLetter>,
    /// Live feeds only: items this subscriber missed just before this one.
    pub missed_before: i32,
}

impl DeadLetter {
    /// A dead letter as PostgreSQL holds it.
    pub fn from_row(row: admin::DeadLetter) -> Self {
        Self {
            row: Arc::new(row),
            missed_before: 0,
        }
    }

    /// A dead letter as the processor published it to `events.dlq` (status `PENDING`).
    pub fn from_record(record: &DlqRecord) -> Self {
        Self::from_row(admin::DeadLetter {
            tenant_id: record.tenant_id,
            tenant: None,
            event_id: record.event_id,
            reason: record.reason.as_str().to_owned(),
            errors: serde_json::to_value(&record.errors).unwrap_or_default(),
            body: Some(record.body.clone()),
            body_text: None,
            body_stored_as_text: false,
            idempotency_key: None,
            received_at: record.received_at,
            failed_at: record.failed_at,
            attempts: record.attempts,
            status: admin::DeadLetterStatus::Pending.as_str().to_owned(),
            trace_id: record.trace_id.clone(),
            source_topic: record.source.topic.clone(),
            source_partition: record.source.partition,
            source_offset: record.source.offset,
            replayed_at: None,
        })
    }

    /// The row behind it (for filtering live feeds by tenant and reason).
    pub fn row(&self) -> &admin::DeadLetter {
        &self.row
    }
}

/// One failing JSON pointer and why.
#[derive(SimpleObject, Clone, Debug)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

#[Object]
impl DeadLetter {
    async fn event_id(&self) -> Uuid {
        self.row.event_id
    }

    async fn tenant_id(&self) -> Uuid {
        self.row.tenant_id
    }

    async fn tenant_name(&self, ctx: &Context<'_>) -> Option<String> {
        match &self.row.tenant {
            Some(name) => Some(name.clone()),
            None => Services::of(ctx).tenant_name(self.row.tenant_id).await,
        }
    }

    async fn reason(&self) -> DlqReason {
        self.row.reason().into()
    }

    async fn errors(&self) -> Vec<FieldError> {
        self.row
            .errors()
            .into_iter()
            .map(|e| FieldError {
                path: e.path,
                message: e.message,
            })
            .collect()
    }

    /// The original body; null only when PostgreSQL's jsonb refused it (then see bodyText)
    async fn body(&self) -> Option<&serde_json::Value> {
        self.row
            .body
            .as_ref()
            .filter(|_| !self.row.body_stored_as_text)
    }

    /// The original body as text when jsonb refused it (bodyStoredAsText = true)
    async fn body_text(&self) -> Option<&str> {
        self.row.body_text.as_deref()
    }

    async fn body_stored_as_text(&self) -> bool {
        self.row.body_stored_as_text
    }

    async fn idempotency_key(&self) -> Option<&str> {
        self.row.idempotency_key.as_deref()
    }

    async fn received_at(&self) -> Option<DateTime<Utc>> {
        self.row.received_at
    }

    async fn failed_at(&self) -> DateTime<Utc> {
        self.row.failed_at
    }

    async fn attempts(&self) -> i32 {
        self.row.attempts
    }

    async fn status(&self) -> DeadLetterStatus {
        self.row.status().into()
    }

    async fn source_topic(&self) -> &str {
        &self.row.source_topic
    }

    async fn source_partition(&self) -> i32 {
        self.row.source_partition
    }

    async fn source_offset(&self) -> i64 {
        self.row.source_offset
    }

    async fn replayed_at(&self) -> Option<DateTime<Utc>> {
        self.row.replayed_at
    }

    async fn trace_id(&self) -> Option<&str> {
        self.row.trace_id.as_deref()
    }

    async fn trace_url(&self, ctx: &Context<'_>) -> Option<String> {
        Services::of(ctx)
            .links
            .trace_url(self.row.trace_id.as_deref())
    }

    /// The trace from Jaeger's query API (null when sampled out or expired)
    async fn trace(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Trace>> {
        let services = Services::of(ctx);
        match &self.row.trace_id {
            Some(id) => Ok(services.traces.get(id, &services.links).await?),
            None => Ok(None),
        }
    }

    /// Live feeds only: items this subscriber missed just before this one because it fell behind
    async fn missed_before(&self) -> i32 {
        self.missed_before
    }
}

/// A page of dead letters.
#[derive(SimpleObject, Clone, Debug)]
pub struct DeadLetterConnection {
    pub edges: Vec<DeadLetterEdge>,
    pub nodes: Vec<DeadLetter>,
    pub page_info: PageInfo,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DeadLetterEdge {
    pub cursor: String,
    pub node: DeadLetter,
}

/// Dead letters with the same reason and first failing path.
#[derive(SimpleObject, Clone, Debug)]
pub struct DeadLetterGroup {
    pub reason: DlqReason,
    pub path: Option<String>,
    pub count: i64,
    pub pending: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub sample: DeadLetter,
}

impl From<admin::DeadLetterGroup> for DeadLetterGroup {
    fn from(g: admin::DeadLetterGroup) -> Self {
        Self {
            reason: g.reason.into(),
            path: g.path,
            count: g.count,
            pending: g.pending,
            first_seen: g.first_seen,
            last_seen: g.last_seen,
            sample: DeadLetter::from_row(g.sample),
        }
    }
}

/// What a replay did (or, with dryRun, would do).
#[derive(SimpleObject, Clone, Debug)]
pub struct ReplayResult {
    pub dry_run: bool,
    pub matched: i32,
    pub replayed: i32,
    pub event_ids: Vec<Uuid>,
    pub audit_id: Option<Uuid>,
}

/// What a discard did (or, with dryRun, would do).
#[derive(SimpleObject, Clone, Debug)]
pub struct DiscardResult {
    pub dry_run: bool,
    pub matched: i32,
    pub discarded: i32,
    pub event_ids: Vec<Uuid>,
    pub audit_id: Option<Uuid>,
}
