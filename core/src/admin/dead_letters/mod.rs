//! Dead letters as operators see them: listing (filtered, newest first, keyset-paginated), groups
//! by reason and first failing path, discarding, and [`replay`]ing them to `events.raw`.

pub mod replay;

use crate::admin::Traced as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    AdminError, Result,
    page::{Cursor, Page, Paged},
};
use crate::envelope::{DlqReason, FieldError};

pub use replay::{ReplayEdit, ReplayReport, Replayer, merge_patch, replay};

/// Where a dead letter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterStatus {
    Pending,
    Replayed,
    Discarded,
}

impl DeadLetterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Replayed => "replayed",
            Self::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "replayed" => Ok(Self::Replayed),
            "discarded" => Ok(Self::Discarded),
            other => Err(AdminError::bad_input(format!(
                "unknown status {other:?} (pending, replayed or discarded)"
            ))),
        }
    }
}

/// A dead letter row with its tenant's name.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeadLetter {
    pub tenant_id: Uuid,
    pub tenant: Option<String>,
    pub event_id: Uuid,
    pub reason: String,
    pub errors: serde_json::Value,
    /// The original body; `None` when PostgreSQL's jsonb refused it (see `body_text`).
    pub body: Option<serde_json::Value>,
    pub body_text: Option<String>,
    pub body_stored_as_text: bool,
    pub idempotency_key: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub failed_at: DateTime<Utc>,
    pub attempts: i32,
    pub status: String,
    pub trace_id: Option<String>,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub replayed_at: Option<DateTime<Utc>>,
}

impl DeadLetter {
    /// The reason as the fixed code (the table's check constraint guarantees one of them).
    pub fn reason(&self) -> DlqReason {
        DlqReason::parse(&self.reason).unwrap_or(DlqReason::MalformedEnvelope)
    }

    pub fn status(&self) -> DeadLetterStatus {
        DeadLetterStatus::parse(&self.status).unwrap_or(DeadLetterStatus::Pending)
    }

    pub fn errors(&self) -> Vec<FieldError> {
        serde_json::from_value(self.errors.clone()).unwrap_or_default()
    }

    fn cursor(&self) -> Cursor {
        Cursor {
            at: self.failed_at,
            id: self.event_id,
        }
    }
}

/// Which dead letters: every set field must match. `from`/`to` bound `failed_at` (`to` excluded).
#[derive(Debug, Clone, Default)]
pub struct DeadLetterFilter {
    pub event_ids: Option<Vec<Uuid>>,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    pub reasons: Option<Vec<DlqReason>>,
    pub status: Option<DeadLetterStatus>,
    /// The first failing JSON pointer, e.g. `/event_type`.
    pub path: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl DeadLetterFilter {
    /// Whether the filter narrows the selection at all: bulk actions refuse "everything".
    pub fn selects_something(&self) -> bool {
        self.event_ids.is_some()
            || self.tenant_id.is_some()
            || self.tenant_name.is_some()
            || self.reasons.is_some()
            || self.path.is_some()
            || self.from.is_some()
            || self.to.is_some()
    }
}

/// The filter's conditions on `dead_letters d join tenants t`, parameters `$1`..`$8`.
macro_rules! filter_sql {
    () => {
        " from dead_letters d left join tenants t on t.id = d.tenant_id \
          where ($1::uuid[] is null or d.event_id = any($1)) \
            and ($2::uuid is null or d.tenant_id = $2) \
            and ($3::text is null or t.name = $3) \
            and ($4::text[] is null or d.reason = any($4)) \
            and ($5::text is null or d.status = $5) \
            and ($6::text is null or d.errors->0->>'path' = $6) \
            and ($7::timestamptz is null or d.failed_at >= $7) \
            and ($8::timestamptz is null or d.failed_at < $8) "
    };
}

macro_rules! columns {
    () => {
        "select d.tenant_id, t.name as tenant, d.event_id, d.reason, d.errors, d.body, d.body_text, \
         d.body_stored_as_text, d.idempotency_key, d.received_at, d.failed_at, d.attempts, d.status, \
         d.trace_id, d.source_topic, d.source_partition, d.source_offset, d.replayed_at"
    };
}

/// Binds `$1`..`$8` of [`filter_sql`].
macro_rules! bind_filter {
    ($query:expr, $f:expr) => {{
        let f: &DeadLetterFilter = $f;
        $query
            .bind(f.event_ids.as_deref())
            .bind(f.tenant_id)
            .bind(f.tenant_name.as_deref())
            .bind(
                f.reasons
                    .as_ref()
                    .map(|r| r.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
            )
            .bind(f.status.map(DeadLetterStatus::as_str))
            .bind(f.path.as_deref())
            .bind(f.from)
            .bind(f.to)
    }};
}

/// Dead letters matching `filter`, newest failure first, one page.
pub async fn list(
    pool: &PgPool,
    filter: &DeadLetterFilter,
    page: &Page,
) -> Result<Paged<DeadLetter>> {
    let sql = concat!(
        columns!(),
        filter_sql!(),
        "and ($9::timestamptz is null or (d.failed_at, d.event_id) < ($9, $10::uuid)) \
         order by d.failed_at desc, d.event_id desc limit $11"
    );
    let (after_at, after_id) = page.after_parts();
    let rows = bind_filter!(sqlx::query_as::<_, DeadLetter>(sql), filter)
        .bind(after_at)
        .bind(after_id)
        .bind(page.fetch_limit())
        .fetch_all(pool)
        .traced("SELECT", "dead_letters")
        .await?;
    Ok(Paged::from_rows(page, rows, DeadLetter::cursor))
}

/// Every dead letter matching `filter` up to `limit`, newest first (for bulk actions).
pub(crate) async fn select_all(
    pool: &PgPool,
    filter: &DeadLetterFilter,
    limit: i64,
) -> Result<Vec<DeadLetter>> {
    let sql = concat!(
        columns!(),
        filter_sql!(),
        "order by d.failed_at desc, d.event_id desc limit $9"
    );
    Ok(bind_filter!(sqlx::query_as::<_, DeadLetter>(sql), filter)
        .bind(limit)
        .fetch_all(pool)
        .traced("SELECT", "dead_letters")
        .await?)
}

/// The dead letters of event id `event_id`, optionally only within `tenant_id` (one per tenant
/// at most: ids are unique per tenant).
pub async fn with_event_id(
    pool: &PgPool,
    tenant_id: Option<Uuid>,
    event_id: Uuid,
) -> Result<Vec<DeadLetter>> {
    let filter = DeadLetterFilter {
        event_ids: Some(vec![event_id]),
        tenant_id,
        ..DeadLetterFilter::default()
    };
    select_all(pool, &filter, 100).await
}

/// Dead letters that failed for the same reason at the same first path.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetterGroup {
    pub reason: DlqReason,
    pub path: Option<String>,
    pub count: i64,
    pub pending: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The group's most recent dead letter.
    pub sample: DeadLetter,
}

/// The groups of the dead letters matching `filter`, largest first (at most 200 groups).
pub async fn groups(pool: &PgPool, filter: &DeadLetterFilter) -> Result<Vec<DeadLetterGroup>> {
    type Row = (
        String,
        Option<String>,
        i64,
        i64,
        DateTime<Utc>,
        DateTime<Utc>,
        Uuid,
    );
    let sql = concat!(
        "select d.reason, d.errors->0->>'path', count(*), \
         count(*) filter (where d.status = 'pending'), min(d.failed_at), max(d.failed_at), \
         (array_agg(d.event_id order by d.failed_at desc, d.event_id desc))[1]",
        filter_sql!(),
        "group by 1, 2 order by 3 desc, 1, 2 limit 200"
    );
    let rows: Vec<Row> = bind_filter!(sqlx::query_as::<_, Row>(sql), filter)
        .fetch_all(pool)
        .traced("SELECT", "dead_letters")
        .await?;
    let samples = select_all(
        pool,
        &DeadLetterFilter {
            event_ids: Some(rows.iter().map(|r| r.6).collect()),
            tenant_id: filter.tenant_id,
            ..DeadLetterFilter::default()
        },
        rows.len() as i64 * 2 + 1,
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(reason, path, count, pending, first_seen, last_seen, sample)| {
                Some(DeadLetterGroup {
                    reason: DlqReason::parse(&reason)?,
                    path,
                    count,
                    pending,
                    first_seen,
                    last_seen,
                    sample: samples.iter().find(|s| s.event_id == sample)?.clone(),
                })
            },
        )
        .collect())
}

/// What a discard did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct DiscardReport {
    pub dry_run: bool,
    pub selected: usize,
    pub discarded: usize,
    pub event_ids: Vec<Uuid>,
}

/// Marks the `pending` dead letters matching `filter` as `discarded` (never replayed again).
pub async fn discard(
    pool: &PgPool,
    filter: &DeadLetterFilter,
    dry_run: bool,
) -> Result<DiscardReport> {
    let filter = bulk_filter(filter)?;
    let letters = select_all(pool, &filter, replay::MAX_BULK).await?;
    let mut report = DiscardReport {
        dry_run,
        selected: letters.len(),
        discarded: 0,
        event_ids: letters.iter().map(|l| l.event_id).collect(),
    };
    if dry_run || letters.is_empty() {
        return Ok(report);
    }
    let tenants: Vec<Uuid> = letters.iter().map(|l| l.tenant_id).collect();
    let discarded: Vec<Uuid> = sqlx::query_scalar(
        "update dead_letters d set status = 'discarded', updated_at = now() \
         from unnest($1::uuid[], $2::uuid[]) as x(tenant_id, event_id) \
         where d.tenant_id = x.tenant_id and d.event_id = x.event_id and d.status = 'pending' \
         returning d.event_id",
    )
    .bind(&tenants)
    .bind(&report.event_ids)
    .fetch_all(pool)
    .traced("UPDATE", "dead_letters")
    .await?;
    report.discarded = discarded.len();
    report.event_ids = discarded;
    Ok(report)
}

/// A bulk action's selection: only `pending` letters, and never "every letter" by accident.
pub(crate) fn bulk_filter(filter: &DeadLetterFilter) -> Result<DeadLetterFilter> {
    if !filter.selects_something() {
        return Err(AdminError::bad_input(
            "name the dead letters: event ids or a filter (tenant, reason, path, time range)",
        ));
    }
    if filter.event_ids.as_ref().is_some_and(Vec::is_empty) {
        return Err(AdminError::bad_input("ids must not be empty"));
    }
    if filter
        .status
        .is_some_and(|s| s != DeadLetterStatus::Pending)
    {
        return Err(AdminError::bad_input(
            "only pending dead letters can be replayed or discarded",
        ));
    }
    Ok(DeadLetterFilter {
        status: Some(DeadLetterStatus::Pending),
        ..filter.clone()
    })
}
