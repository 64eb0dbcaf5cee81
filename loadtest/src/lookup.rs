//! Reading PostgreSQL for the reconciliation: polling until the processor has written a row for
//! every recorded id, then fetching those rows, in chunks of ids. A row in `event_aliases` (the
//! processor's record of an id whose idempotency key another event held) counts as a row.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// Where a row for an event id was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Events,
    DeadLetters {
        reason: String,
        replayed: bool,
    },
    /// In `event_aliases`: not stored itself, a duplicate of `original` (same idempotency key).
    Alias {
        original: Uuid,
    },
}

/// One row for a recorded event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    pub place: Place,
}

/// How waiting for the processor went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drain {
    pub drained: bool,
    /// Ids still without a row when the wait ended.
    pub pending: usize,
    pub waited: Duration,
}

/// Ids per query: large enough to be quick, small enough for a reasonable bind size.
const CHUNK: usize = 5_000;
const POLL: Duration = Duration::from_millis(500);

/// The ids among `ids` that have a row in `events`, `dead_letters` or `event_aliases`.
async fn present(pool: &PgPool, ids: &[Uuid], tenants: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut present: Vec<Uuid> = sqlx::query_scalar(
        "select event_id from events where event_id = any($1::uuid[]) \
         union all \
         select event_id from dead_letters \
         where tenant_id = any($2::uuid[]) and event_id = any($1::uuid[])",
    )
    .bind(ids)
    .bind(tenants)
    .fetch_all(pool)
    .await?;
    present.extend(aliases(pool, ids, tenants).await?.into_iter().map(|a| a.0));
    Ok(present)
}

/// `(event_id, tenant_id, original_event_id)` of the aliases among `ids`; none on a database
/// migrated before `event_aliases` existed.
async fn aliases(
    pool: &PgPool,
    ids: &[Uuid],
    tenants: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, Uuid)>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("select to_regclass('event_aliases') is not null")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "select event_id, tenant_id, original_event_id from event_aliases \
         where tenant_id = any($2::uuid[]) and event_id = any($1::uuid[])",
    )
    .bind(ids)
    .bind(tenants)
    .fetch_all(pool)
    .await
}

/// Polls until every id has a row, `patience` passes without one more id arriving, or `progress`
/// (told how many ids of how many are still pending after each poll) returns false.
pub async fn wait_for_drain(
    pool: &PgPool,
    ids: &[Uuid],
    tenants: &[Uuid],
    patience: Duration,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<Drain, sqlx::Error> {
    let started = Instant::now();
    let mut pending: HashSet<Uuid> = ids.iter().copied().collect();
    let mut last_progress = Instant::now();
    loop {
        let before = pending.len();
        let batch: Vec<Uuid> = pending.iter().copied().collect();
        for chunk in batch.chunks(CHUNK) {
            for id in present(pool, chunk, tenants).await? {
                pending.remove(&id);
            }
        }
        if pending.len() < before {
            last_progress = Instant::now();
        }
        let keep_waiting = progress(pending.len(), ids.len());
        if pending.is_empty() || !keep_waiting || last_progress.elapsed() >= patience {
            return Ok(Drain {
                drained: pending.is_empty(),
                pending: pending.len(),
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Every row in `events`, `dead_letters` and `event_aliases` for `ids`.
pub async fn fetch(
    pool: &PgPool,
    ids: &[Uuid],
    tenants: &[Uuid],
) -> Result<Vec<Found>, sqlx::Error> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let stored: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "select event_id, tenant_id from events where event_id = any($1::uuid[])",
        )
        .bind(chunk)
        .fetch_all(pool)
        .await?;
        found.extend(stored.into_iter().map(|(event_id, tenant_id)| Found {
            event_id,
            tenant_id,
            place: Place::Events,
        }));
        let dead: Vec<(Uuid, Uuid, String, String)> = sqlx::query_as(
            "select event_id, tenant_id, reason, status from dead_letters \
             where tenant_id = any($2::uuid[]) and event_id = any($1::uuid[])",
        )
        .bind(chunk)
        .bind(tenants)
        .fetch_all(pool)
        .await?;
        found.extend(
            dead.into_iter()
                .map(|(event_id, tenant_id, reason, status)| Found {
                    event_id,
                    tenant_id,
                    place: Place::DeadLetters {
                        reason,
                        replayed: status == "replayed",
                    },
                }),
        );
        found.extend(aliases(pool, chunk, tenants).await?.into_iter().map(
            |(event_id, tenant_id, original)| Found {
                event_id,
                tenant_id,
                place: Place::Alias { original },
            },
        ));
    }
    Ok(found)
}
