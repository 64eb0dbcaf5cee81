//! The `audit_log`: one row per operator action (every GraphQL mutation, refused ones too): who,
//! what, with which arguments (secrets removed by the caller), the result and the trace id.

use crate::admin::Traced as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    Result,
    page::{Cursor, Page, Paged},
};

/// An action to record.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    /// `admin` or `tenant:<tenant id>`.
    pub actor: &'a str,
    pub action: &'a str,
    /// The arguments, never a secret (API keys, tokens).
    pub arguments: &'a serde_json::Value,
    /// `ok` or the error code.
    pub result: &'a str,
    pub trace_id: Option<&'a str>,
}

/// A recorded action.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub arguments: serde_json::Value,
    pub result: String,
    pub trace_id: Option<String>,
}

/// Appends `entry` and returns its id.
pub async fn append(pool: &PgPool, entry: &NewAuditEntry<'_>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into audit_log (id, at, actor, action, arguments, result, trace_id) \
         values ($1, now(), $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.arguments)
    .bind(entry.result)
    .bind(entry.trace_id)
    .execute(pool)
    .traced("INSERT", "audit_log")
    .await?;
    Ok(id)
}

/// Recorded actions, newest first, one page.
pub async fn list(pool: &PgPool, page: &Page) -> Result<Paged<AuditEntry>> {
    let (after_at, after_id) = page.after_parts();
    let rows = sqlx::query_as::<_, AuditEntry>(
        "select id, at, actor, action, arguments, result, trace_id from audit_log \
         where ($1::timestamptz is null or (at, id) < ($1, $2::uuid)) \
         order by at desc, id desc limit $3",
    )
    .bind(after_at)
    .bind(after_id)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .traced("SELECT", "audit_log")
    .await?;
    Ok(Paged::from_rows(page, rows, |a| Cursor {
        at: a.at,
        id: a.id,
    }))
}
