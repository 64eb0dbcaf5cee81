//! The processor's durable idempotency check, behind ingest's Redis: each keyed record of a batch
//! claims `(tenant_id, idempotency_key)` in `idempotency_keys`, in the batch's transaction, with
//! one statement per batch. A record whose key is held by *another* event within the key's window
//! (the tenant's `idempotency_ttl_seconds`, as in ingest) is an alias: it is neither stored nor
//! dead-lettered, but recorded in `event_aliases` as a duplicate of the holder, so every
//! acknowledged `event_id` is still accounted for exactly once. A redelivery of the holder itself
//! is not an alias (the `(tenant_id, event_id)` keys absorb it as before).
//!
//! Why the processor and not only ingest: Redis is the only place ingest remembers a key, and a
//! Redis that comes back empty (failover to a lagging replica, a lost disk) forgets them; ingest
//! cannot check PostgreSQL instead, because the first event may still be in Kafka.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A keyed record of the batch, stored or dead-lettered.
#[derive(Debug, Clone, Copy)]
pub struct Keyed<'a> {
    pub tenant_id: Uuid,
    pub key: &'a str,
    pub event_id: Uuid,
    pub received_at: DateTime<Utc>,
}

/// `(tenant_id, idempotency_key, event_id, received_at, expires_at)` as the claim returns it.
type HolderRow = (Uuid, String, Uuid, DateTime<Utc>, DateTime<Utc>);

/// Who holds a key after the claim: the event, when it received it, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Holder {
    event_id: Uuid,
    received_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// Claims the keys of `keyed` and returns, for each of them (same order), the event it is a
/// duplicate of, or `None` when it is to be written (it holds the key, or lies outside the
/// holder's window).
///
/// Within the batch the earliest record of each key (by `received_at`, then `event_id`) is the
/// one that claims; the statement locks the keys in one fixed order, so concurrent writers never
/// deadlock on them. A key held by another event whose window has passed is taken over.
pub async fn claim(
    tx: &mut Transaction<'static, Postgres>,
    keyed: &[Keyed<'_>],
) -> Result<Vec<Option<Uuid>>, sqlx::Error> {
    if keyed.is_empty() {
        return Ok(Vec::new());
    }
    let groups = group(keyed);
    let n = groups.len();
    let mut tenant = Vec::with_capacity(n);
    let mut key = Vec::with_capacity(n);
    let mut event = Vec::with_capacity(n);
    let mut received = Vec::with_capacity(n);
    for members in groups.values() {
        let first = &keyed[members[0]];
        tenant.push(first.tenant_id);
        key.push(first.key);
        event.push(first.event_id);
        received.push(first.received_at);
    }
    // `do update` on every conflict (not `do nothing`): it locks the holder's row until commit,
    // so a concurrent batch with the same key waits and then sees this one's claim, and
    // `returning` then gives the holder whether it changed or not
    let rows: Vec<HolderRow> = sqlx::query_as(
        "insert into idempotency_keys as c (tenant_id, idempotency_key, event_id, received_at, expires_at) \
         select u.t, u.k, u.e, u.r, u.r + make_interval(secs => coalesce(tn.idempotency_ttl_seconds, 1800)) \
         from unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[]) with ordinality as u(t, k, e, r, n) \
           left join tenants tn on tn.id = u.t \
         order by u.n \
         on conflict (tenant_id, idempotency_key) do update set \
           event_id = case when c.expires_at <= excluded.received_at then excluded.event_id else c.event_id end, \
           received_at = case when c.expires_at <= excluded.received_at then excluded.received_at else c.received_at end, \
           expires_at = case when c.expires_at <= excluded.received_at then excluded.expires_at else c.expires_at end \
         returning c.tenant_id, c.idempotency_key, c.event_id, c.received_at, c.expires_at",
    )
    .bind(&tenant)
    .bind(&key)
    .bind(&event)
    .bind(&received)
    .fetch_all(&mut **tx)
    .await?;
    let holders: BTreeMap<(Uuid, String), Holder> = rows
        .into_iter()
        .map(|(t, k, event_id, received_at, expires_at)| {
            (
                (t, k),
                Holder {
                    event_id,
                    received_at,
                    expires_at,
                },
            )
        })
        .collect();
    let mut fates = vec![None; keyed.len()];
    for ((t, k), members) in &groups {
        // every claimed key comes back; if one did not, writing is the safe side
        let Some(holder) = holders.get(&(*t, (*k).to_owned())) else {
            continue;
        };
        for &i in members {
            fates[i] = duplicate_of(holder, &keyed[i]);
        }
    }
    Ok(fates)
}

/// The keyed records' positions grouped by (tenant, key), each group earliest first; the map's
/// order is the order the keys are locked in.
fn group<'k>(keyed: &[Keyed<'k>]) -> BTreeMap<(Uuid, &'k str), Vec<usize>> {
    let mut groups: BTreeMap<(Uuid, &str), Vec<usize>> = BTreeMap::new();
    for (i, k) in keyed.iter().enumerate() {
        groups.entry((k.tenant_id, k.key)).or_default().push(i);
    }
    for members in groups.values_mut() {
        members.sort_by_key(|&i| (keyed[i].received_at, keyed[i].event_id));
    }
    groups
}

/// Whether `record` duplicates the key's holder: another event, received within the holder's
/// window on either side. An event older than the window (a dead letter replayed long after, a
/// redelivery of an event whose key was since taken over) or newer (a later record of the same
/// batch past the window) is written as itself.
fn duplicate_of(holder: &Holder, record: &Keyed<'_>) -> Option<Uuid> {
    if record.event_id == holder.event_id {
        return None;
    }
    let window = holder.expires_at - holder.received_at;
    let inside =
        record.received_at < holder.expires_at && record.received_at > holder.received_at - window;
    inside.then_some(holder.event_id)
}

/// A record not written because its key is held by `original_event_id`.
#[derive(Debug, Clone)]
pub struct Alias<'a> {
    pub tenant_id: Uuid,
    pub event_id: Uuid,
    pub original_event_id: Uuid,
    pub key: &'a str,
    pub received_at: DateTime<Utc>,
}

/// Records the aliases (a redelivered alias keeps its row). An id that is already a row in
/// `events` or `dead_letters` is not made an alias too: it is accounted for already.
pub async fn record_aliases(
    tx: &mut Transaction<'static, Postgres>,
    aliases: &[Alias<'_>],
) -> Result<u64, sqlx::Error> {
    if aliases.is_empty() {
        return Ok(0);
    }
    let tenant: Vec<Uuid> = aliases.iter().map(|a| a.tenant_id).collect();
    let event: Vec<Uuid> = aliases.iter().map(|a| a.event_id).collect();
    let original: Vec<Uuid> = aliases.iter().map(|a| a.original_event_id).collect();
    let key: Vec<&str> = aliases.iter().map(|a| a.key).collect();
    let received: Vec<DateTime<Utc>> = aliases.iter().map(|a| a.received_at).collect();
    let done = sqlx::query(
        "insert into event_aliases (tenant_id, event_id, original_event_id, idempotency_key, received_at) \
         select t, e, o, k, r \
         from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[]) as u(t, e, o, k, r) \
         where not exists (select 1 from events ev where ev.tenant_id = u.t and ev.event_id = u.e) \
           and not exists (select 1 from dead_letters d where d.tenant_id = u.t and d.event_id = u.e) \
         on conflict (tenant_id, event_id) do nothing",
    )
    .bind(&tenant)
    .bind(&event)
    .bind(&original)
    .bind(&key)
    .bind(&received)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// How long a key's row is kept past its window: a record that waited in Kafka longer than this
/// after its key's window ended would no longer be recognised (ingest's Redis still does unless
/// it lost its data too).
pub const KEEP_PAST_WINDOW: Duration = Duration::from_secs(600);

/// Rows deleted per statement, so one cleanup never holds many locks or a long transaction.
const CLEANUP_CHUNK: i64 = 5_000;

/// Deletes the keys whose window ended more than [`KEEP_PAST_WINDOW`] ago, in chunks; returns
/// how many.
pub async fn delete_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let done = sqlx::query(
            "delete from idempotency_keys where ctid = any(array( \
               select ctid from idempotency_keys \
               where expires_at < now() - make_interval(secs => $1) limit $2))",
        )
        .bind(KEEP_PAST_WINDOW.as_secs_f64())
        .bind(CLEANUP_CHUNK)
        .execute(pool)
        .await?;
        total += done.rows_affected();
        if done.rows_affected() < CLEANUP_CHUNK as u64 {
            return Ok(total);
        }
    }
}

/// Runs [`delete_expired`] every `every` until `shutdown` (a failure is retried next time).
pub async fn clean_up_periodically(pool: PgPool, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        match delete_expired(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "expired idempotency keys deleted"),
            Err(e) => tracing::warn!(error = %e, "deleting expired idempotency keys failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn holder(id: u128, received: i64, window: i64) -> Holder {
        Holder {
            event_id: Uuid::from_u128(id),
            received_at: at(received),
            expires_at: at(received + window),
        }
    }

    fn record(id: u128, received: i64) -> Keyed<'static> {
        Keyed {
            tenant_id: Uuid::nil(),
            key: "k",
            event_id: Uuid::from_u128(id),
            received_at: at(received),
        }
    }

    #[test]
    fn the_holder_itself_is_never_an_alias() {
        assert_eq!(duplicate_of(&holder(1, 100, 60), &record(1, 100)), None);
    }

    #[test]
    fn another_event_inside_the_window_on_either_side_is_an_alias() {
        let h = holder(1, 100, 60);
        assert_eq!(duplicate_of(&h, &record(2, 100)), Some(Uuid::from_u128(1)));
        assert_eq!(duplicate_of(&h, &record(2, 159)), Some(Uuid::from_u128(1)));
        // processed out of order: the retry claimed first, the original is its duplicate
        assert_eq!(duplicate_of(&h, &record(2, 41)), Some(Uuid::from_u128(1)));
    }

    #[test]
    fn an_event_outside_the_window_is_written_as_itself() {
        let h = holder(1, 100, 60);
        assert_eq!(duplicate_of(&h, &record(2, 160)), None);
        assert_eq!(duplicate_of(&h, &record(2, 40)), None);
    }

    #[test]
    fn groups_are_earliest_first_and_keyed_by_tenant_and_key() {
        let t2 = Uuid::from_u128(9);
        let keyed = [
            record(3, 20),
            record(1, 10),
            Keyed {
                tenant_id: t2,
                ..record(2, 5)
            },
            record(4, 10),
        ];
        let groups = group(&keyed);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[&(Uuid::nil(), "k")], vec![1, 3, 0]);
        assert_eq!(groups[&(t2, "k")], vec![2]);
    }
}
