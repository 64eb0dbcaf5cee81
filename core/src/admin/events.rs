//! Stored events as operators see them: look one up (by id or idempotency key), list them newest
//! first, and tell its lifecycle from the two tables that record it (`events`, `dead_letters`).

use crate::admin::Traced as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    Result,
    dead_letters::{self, DeadLetter, DeadLetterStatus},
    page::{Cursor, Page, Paged},
};

/// A row of `events` with its tenant's name.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StoredEvent {
    pub tenant_id: Uuid,
    pub tenant: Option<String>,
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub processed_at: DateTime<Utc>,
    pub source: Option<String>,
    pub idempotency_key: Option<String>,
    pub payload: serde_json::Value,
    pub trace_id: Option<String>,
    pub kafka_partition: i32,
    pub kafka_offset: i64,
}

macro_rules! columns {
    () => {
        "select e.tenant_id, t.name as tenant, e.event_id, e.event_type, e.occurred_at, \
         e.received_at, e.processed_at, e.source, e.idempotency_key, e.payload, e.trace_id, \
         e.kafka_partition, e.kafka_offset from events e left join tenants t on t.id = e.tenant_id "
    };
}

/// Which events to list; every set field must match. `from`/`to` bound `received_at` (`to`
/// excluded).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub tenant_id: Option<Uuid>,
    pub event_types: Option<Vec<String>>,
    pub source: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Events matching `filter`, newest first (`received_at desc, event_id desc`), one page.
pub async fn list(pool: &PgPool, filter: &EventFilter, page: &Page) -> Result<Paged<StoredEvent>> {
    let sql = concat!(
        columns!(),
        "where ($1::uuid is null or e.tenant_id = $1) \
           and ($2::text[] is null or e.event_type = any($2)) \
           and ($3::text is null or e.source = $3) \
           and ($4::timestamptz is null or e.received_at >= $4) \
           and ($5::timestamptz is null or e.received_at < $5) \
           and ($6::timestamptz is null or (e.received_at, e.event_id) < ($6, $7::uuid)) \
         order by e.received_at desc, e.event_id desc limit $8"
    );
    let (after_at, after_id) = page.after_parts();
    let rows = sqlx::query_as::<_, StoredEvent>(sql)
        .bind(filter.tenant_id)
        .bind(filter.event_types.as_deref())
        .bind(filter.source.as_deref())
        .bind(filter.from)
        .bind(filter.to)
        .bind(after_at)
        .bind(after_id)
        .bind(page.fetch_limit())
        .fetch_all(pool)
        .traced("SELECT", "events")
        .await?;
    Ok(Paged::from_rows(page, rows, |e| Cursor {
        at: e.received_at,
        id: e.event_id,
    }))
}

/// Everything Pulse knows about one event: its row in `events` and/or its dead letter.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub stored: Option<StoredEvent>,
    pub dead_letter: Option<DeadLetter>,
}

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventStatus {
    Stored,
    DeadLettered,
    Replayed,
    Discarded,
}

impl EventRecord {
    pub fn tenant_id(&self) -> Uuid {
        self.stored
            .as_ref()
            .map(|e| e.tenant_id)
            .or(self.dead_letter.as_ref().map(|d| d.tenant_id))
            .unwrap_or_default()
    }

    pub fn status(&self) -> EventStatus {
        match (&self.stored, &self.dead_letter) {
            (Some(_), _) | (None, None) => EventStatus::Stored,
            (None, Some(d)) => match d.status() {
                DeadLetterStatus::Pending => EventStatus::DeadLettered,
                DeadLetterStatus::Replayed => EventStatus::Replayed,
                DeadLetterStatus::Discarded => EventStatus::Discarded,
            },
        }
    }

    /// received → published → stored, or → dead-lettered (→ replayed → published → stored).
    pub fn lifecycle(&self) -> Vec<LifecycleStep> {
        let mut steps = Vec::new();
        let received = self
            .stored
            .as_ref()
            .map(|e| e.received_at)
            .or(self.dead_letter.as_ref().and_then(|d| d.received_at));
        steps.push(LifecycleStep::new(Stage::Received, received));
        if let Some(d) = &self.dead_letter {
            steps.push(LifecycleStep {
                topic: Some(d.source_topic.clone()),
                partition: Some(d.source_partition),
                offset: Some(d.source_offset),
                ..LifecycleStep::new(Stage::Published, None)
            });
            let first = d.errors().into_iter().next();
            steps.push(LifecycleStep {
                detail: Some(match first {
                    Some(e) => format!("{} at {}: {}", d.reason, e.path, e.message),
                    None => d.reason.clone(),
                }),
                ..LifecycleStep::new(Stage::DeadLettered, Some(d.failed_at))
            });
            match d.status() {
                DeadLetterStatus::Replayed => {
                    steps.push(LifecycleStep::new(Stage::Replayed, d.replayed_at))
                }
                DeadLetterStatus::Discarded => {
                    steps.push(LifecycleStep::new(Stage::Discarded, None))
                }
                DeadLetterStatus::Pending => {}
            }
        }
        if let Some(e) = &self.stored {
            steps.push(LifecycleStep {
                topic: Some(crate::kafka::TOPIC_RAW.to_owned()),
                partition: Some(e.kafka_partition),
                offset: Some(e.kafka_offset),
                detail: self.dead_letter.as_ref().map(|_| "replay".to_owned()),
                ..LifecycleStep::new(Stage::Published, None)
            });
            steps.push(LifecycleStep::new(Stage::Stored, Some(e.processed_at)));
        }
        steps
    }
}

/// A stage of an event's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Stage {
    Received,
    Published,
    Stored,
    DeadLettered,
    Replayed,
    Discarded,
}

/// One step of [`EventRecord::lifecycle`]; `at` is null where Pulse records no time.
#[derive(Debug, Clone, Serialize)]
pub struct LifecycleStep {
    pub stage: Stage,
    pub at: Option<DateTime<Utc>>,
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub detail: Option<String>,
}

impl LifecycleStep {
    fn new(stage: Stage, at: Option<DateTime<Utc>>) -> Self {
        Self {
            stage,
            at,
            topic: None,
            partition: None,
            offset: None,
            detail: None,
        }
    }
}

/// The event `event_id` (within `tenant_id` when given), stored or dead-lettered; for an id
/// recorded as the alias of another event with the same idempotency key, that event.
pub async fn lookup(
    pool: &PgPool,
    tenant_id: Option<Uuid>,
    event_id: Uuid,
) -> Result<Option<EventRecord>> {
    // the row and its dead letter are read at once (two connections, one round trip of waiting);
    // without a tenant, the dead letter is the stored event's tenant's (ids are unique per tenant)
    let stored = sqlx::query_as::<_, StoredEvent>(concat!(
        columns!(),
        "where e.event_id = $1 and ($2::uuid is null or e.tenant_id = $2) limit 1"
    ))
    .bind(event_id)
    .bind(tenant_id)
    .fetch_optional(pool)
    .traced("SELECT", "events");
    let letters = dead_letters::with_event_id(pool, tenant_id, event_id);
    let (stored, letters) = tokio::try_join!(async { Ok(stored.await?) }, letters)?;
    let dead_letter = match &stored {
        Some(e) => letters.into_iter().find(|d| d.tenant_id == e.tenant_id),
        None => letters.into_iter().next(),
    };
    if stored.is_some() || dead_letter.is_some() {
        return Ok(Some(EventRecord {
            stored,
            dead_letter,
        }));
    }
    // an id the processor did not store because its idempotency key was held by another event
    // (Redis had lost the key, ingest answered the retry with a new id): the event it duplicates
    // is what became of it; its different `event_id` tells the caller so
    let original: Option<(Uuid, Uuid)> = sqlx::query_as(
        "select tenant_id, original_event_id from event_aliases \
         where event_id = $1 and ($2::uuid is null or tenant_id = $2) limit 1",
    )
    .bind(event_id)
    .bind(tenant_id)
    .fetch_optional(pool)
    .traced("SELECT", "event_aliases")
    .await?;
    match original {
        Some((tenant, original)) if original != event_id => {
            Box::pin(lookup(pool, Some(tenant), original)).await
        }
        _ => Ok(None),
    }
}

/// The events (stored or dead-lettered) sent with idempotency key `key`, newest first (at most
/// 100: a key is unique per tenant within its window, but may be reused after it).
pub async fn by_idempotency_key(
    pool: &PgPool,
    tenant_id: Option<Uuid>,
    key: &str,
) -> Result<Vec<EventRecord>> {
    // the stored events and the dead letters' ids are read at once (two connections)
    let stored = sqlx::query_as::<_, StoredEvent>(concat!(
        columns!(),
        "where e.idempotency_key = $1 and ($2::uuid is null or e.tenant_id = $2) \
         order by e.received_at desc limit 100"
    ))
    .bind(key)
    .bind(tenant_id)
    .fetch_all(pool)
    .traced("SELECT", "events");
    let letter_ids = sqlx::query_scalar::<_, Uuid>(
        "select event_id from dead_letters where idempotency_key = $1 \
         and ($2::uuid is null or tenant_id = $2) order by failed_at desc limit 100",
    )
    .bind(key)
    .bind(tenant_id)
    .fetch_all(pool)
    .traced("SELECT", "dead_letters");
    let (stored, ids) = tokio::try_join!(stored, letter_ids)?;
    let letters: Vec<DeadLetter> = if ids.is_empty() {
        Vec::new()
    } else {
        let filter = dead_letters::DeadLetterFilter {
            event_ids: Some(ids),
            tenant_id,
            ..Default::default()
        };
        dead_letters::select_all(pool, &filter, 100).await?
    };
    let mut records: Vec<EventRecord> = stored
        .into_iter()
        .map(|e| EventRecord {
            dead_letter: letters
                .iter()
                .find(|d| d.tenant_id == e.tenant_id && d.event_id == e.event_id)
                .cloned(),
            stored: Some(e),
        })
        .collect();
    for d in letters {
        let known = records.iter().any(|r| {
            r.stored
                .as_ref()
                .is_some_and(|e| e.tenant_id == d.tenant_id && e.event_id == d.event_id)
        });
        if !known {
            records.push(EventRecord {
                stored: None,
                dead_letter: Some(d),
            });
        }
    }
    records.sort_by_key(|r| std::cmp::Reverse(received_at(r)));
    Ok(records)
}

fn received_at(r: &EventRecord) -> Option<DateTime<Utc>> {
    r.stored
        .as_ref()
        .map(|e| e.received_at)
        .or(r.dead_letter.as_ref().and_then(|d| d.received_at))
}
