//! Writing a batch to PostgreSQL in one transaction: valid events with `COPY … FROM STDIN`
//! straight into `events` (inside a savepoint); if one of them is already stored (a redelivery
//! after a crash or rebalance), the savepoint is rolled back and the batch goes through one
//! multi-row `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`, so a redelivered record never
//! makes a second row. Dead letters are written with one upsert that counts real attempts (a
//! replay) but not redeliveries of the same Kafka record. The per-minute counts `stats` reads are
//! updated in the same transaction, from the rows actually inserted.
//!
//! When PostgreSQL refuses the *content* of a row ([`Failure::Data`], e.g. a payload nested past
//! its stack), the write is bisected under savepoints until the refused rows are found; they are
//! handed back to the caller to be dead-lettered and every other row is written once. A dead
//! letter whose body `jsonb` refuses is kept as text instead (`body_stored_as_text`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pulse_core::{
    db::{self, Failure},
    envelope::DlqReason,
};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// One valid event, ready to insert. The payload is borrowed from the Kafka record rather than
/// copied (a full batch of 1 KB events is 5 MB).
#[derive(Debug, Clone)]
pub struct EventRow<'a> {
    pub tenant_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub source: Option<String>,
    pub idempotency_key: Option<String>,
    /// The payload object as JSON text, exactly as the client sent it.
    pub payload: &'a str,
    /// The whole body as sent, kept for a dead letter should PostgreSQL refuse the row.
    pub body: &'a str,
    pub trace_id: Option<String>,
    pub partition: i32,
    pub offset: i64,
}

/// One dead letter, ready to upsert.
#[derive(Debug, Clone)]
pub struct DeadLetterRow {
    pub tenant_id: Uuid,
    pub event_id: Uuid,
    pub reason: DlqReason,
    /// JSON array of `{path, message}`.
    pub errors: String,
    /// The original body: JSON text, or (a record that is not JSON) a JSON string of its text.
    /// Stored as `jsonb` when PostgreSQL takes it, else verbatim as text.
    pub body: String,
    /// The body's `event_type` when it has a string one, for the per-minute counts.
    pub event_type: Option<String>,
    pub idempotency_key: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub failed_at: DateTime<Utc>,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub trace_id: Option<String>,
}

/// What a batch write changed.
#[derive(Debug, Default)]
pub struct Written {
    /// New rows in `events` (the rest were already there).
    pub events_inserted: u64,
    /// Rows in `dead_letters` created or counted as a new attempt.
    pub dead_letters_upserted: u64,
    /// Event rows PostgreSQL refused, to be dead-lettered by the caller (nothing of theirs was
    /// written).
    pub refused: Vec<Refused>,
}

/// An event row whose content PostgreSQL refused.
#[derive(Debug)]
pub struct Refused {
    /// Its position in the `events` slice given to [`write`].
    pub index: usize,
    /// What was refused, without any of the row's values ([`db::refusal`]).
    pub message: String,
}

/// Inserted rows per (tenant, minute of receipt, event type): `(stored, dead_lettered)`.
type Counts<'a> = HashMap<(Uuid, i64, &'a str), (i64, i64)>;

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60) * 60
}

/// A batch's transaction.
pub type Tx = Transaction<'static, Postgres>;

/// Starts the batch transaction.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin().await
}

/// Attempts so far for each dead letter about to be written, keyed by (tenant, event); a row
/// whose stored source position equals the new one is a redelivery and keeps its count.
pub async fn next_attempts(
    tx: &mut Transaction<'static, Postgres>,
    dead: &[&DeadLetterRow],
) -> Result<HashMap<(Uuid, Uuid), i32>, sqlx::Error> {
    if dead.is_empty() {
        return Ok(HashMap::new());
    }
    let tenants: Vec<Uuid> = dead.iter().map(|d| d.tenant_id).collect();
    let events: Vec<Uuid> = dead.iter().map(|d| d.event_id).collect();
    let rows: Vec<(Uuid, Uuid, i32, String, i32, i64)> = sqlx::query_as(
        "select d.tenant_id, d.event_id, d.attempts, d.source_topic, d.source_partition, d.source_offset \
         from dead_letters d join unnest($1::uuid[], $2::uuid[]) as k(t, e) on d.tenant_id = k.t and d.event_id = k.e \
         for update of d",
    )
    .bind(&tenants)
    .bind(&events)
    .fetch_all(&mut **tx)
    .await?;
    // (tenant, event) → (attempts, source position)
    type Stored = HashMap<(Uuid, Uuid), (i32, (String, i32, i64))>;
    let stored: Stored = rows
        .into_iter()
        .map(|(t, e, a, st, sp, so)| ((t, e), (a, (st, sp, so))))
        .collect();
    Ok(dead
        .iter()
        .map(|d| {
            let key = (d.tenant_id, d.event_id);
            let attempts = match stored.get(&key) {
                None => 1,
                Some((a, pos))
                    if *pos == (d.source_topic.clone(), d.source_partition, d.source_offset) =>
                {
                    *a
                }
                Some((a, _)) => a + 1,
            };
            (key, attempts)
        })
        .collect())
}

/// Writes the batch's rows inside `tx` (the caller commits). Event rows PostgreSQL refuses are
/// left out and returned in [`Written::refused`]; any other failure is returned as an error and
/// the caller retries the whole batch.
pub async fn write<'a>(
    tx: &mut Transaction<'static, Postgres>,
    events: &[&'a EventRow<'_>],
    dead: &[&'a DeadLetterRow],
) -> Result<Written, sqlx::Error> {
    let mut written = Written::default();
    let mut counts = Counts::new();
    if !events.is_empty() {
        let mut isolate = Isolation::default();
        written.events_inserted =
            insert_events_isolating(tx, events, 0, &mut isolate, &mut counts).await?;
        written.refused = isolate.refused;
    }
    if !dead.is_empty() {
        written.dead_letters_upserted = upsert_dead_letters(tx, dead, &mut counts).await?;
    }
    if !counts.is_empty() {
        add_counts(tx, &counts).await?;
    }
    Ok(written)
}

/// State of one bisection: savepoint names must be unique within the transaction.
#[derive(Default)]
struct Isolation {
    savepoints: u32,
    refused: Vec<Refused>,
}

impl Isolation {
    fn next_savepoint(&mut self) -> String {
        self.savepoints += 1;
        format!("isolate_{}", self.savepoints)
    }
}

/// Inserts `rows` under a savepoint; when PostgreSQL refuses the content of one of them, rolls
/// back and bisects. A single refused row is recorded (at `base` + its index) instead of written.
///
/// Bisection rather than row-by-row retries: one hostile record in a 5,000-row batch is found in
/// about 13 halvings, and a clean batch costs nothing extra (the savepoint doubles as the one the
/// redelivery path needs).
async fn insert_events_isolating<'a>(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&'a EventRow<'_>],
    base: usize,
    isolate: &mut Isolation,
    counts: &mut Counts<'a>,
) -> Result<u64, sqlx::Error> {
    let savepoint = isolate.next_savepoint();
    execute(tx, &format!("savepoint {savepoint}")).await?;
    match insert_events(tx, rows, &savepoint, counts).await {
        Ok(n) => Ok(n),
        Err(e) if Failure::of(&e) == Failure::Data => {
            execute(tx, &format!("rollback to savepoint {savepoint}")).await?;
            if let [_] = rows {
                isolate.refused.push(Refused {
                    index: base,
                    message: db::refusal(&e),
                });
                return Ok(0);
            }
            let (left, right) = rows.split_at(rows.len() / 2);
            let n = Box::pin(insert_events_isolating(tx, left, base, isolate, counts)).await?;
            let m = Box::pin(insert_events_isolating(
                tx,
                right,
                base + left.len(),
                isolate,
                counts,
            ))
            .await?;
            Ok(n + m)
        }
        Err(e) => Err(e),
    }
}

async fn execute(tx: &mut Transaction<'static, Postgres>, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// `COPY` first; on a unique violation (a redelivery) back to `savepoint` and the
/// conflict-checking insert. Counts what was inserted.
async fn insert_events<'a>(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&'a EventRow<'_>],
    savepoint: &str,
    counts: &mut Counts<'a>,
) -> Result<u64, sqlx::Error> {
    // Redeliveries are rare (a crash or a rebalance before offsets were stored), so the batch is
    // first copied straight into `events`; only when a row is already there does the batch go
    // again through the slower conflict-checking insert.
    match copy_events(tx, rows).await {
        Ok(n) => {
            for r in rows {
                count_stored(counts, r);
            }
            Ok(n)
        }
        Err(e) if is_unique_violation(&e) => {
            execute(tx, &format!("rollback to savepoint {savepoint}")).await?;
            let inserted = insert_events_on_conflict(tx, rows).await?;
            for r in rows {
                if inserted.contains(&(r.tenant_id, r.event_id)) {
                    count_stored(counts, r);
                }
            }
            Ok(inserted.len() as u64)
        }
        Err(e) => Err(e),
    }
}

fn count_stored<'a>(counts: &mut Counts<'a>, r: &'a EventRow<'_>) {
    let key = (r.tenant_id, minute_of(r.received_at), r.event_type.as_str());
    counts.entry(key).or_default().0 += 1;
}

/// Adds the batch's counts to `event_counts_minute` in key order (two writers never wait on each
/// other's rows in opposite orders), on one of a few shards per key (concurrent writers rarely
/// wait on the same row at all).
async fn add_counts(
    tx: &mut Transaction<'static, Postgres>,
    counts: &Counts<'_>,
) -> Result<(), sqlx::Error> {
    let mut keys: Vec<_> = counts.iter().collect();
    keys.sort_by_key(|(k, _)| **k);
    let shard: i16 = rand::random_range(0..COUNT_SHARDS);
    let n = keys.len();
    let mut tenant = Vec::with_capacity(n);
    let mut minute = Vec::with_capacity(n);
    let mut event_type = Vec::with_capacity(n);
    let mut stored = Vec::with_capacity(n);
    let mut dead = Vec::with_capacity(n);
    for ((t, m, et), (s, d)) in keys {
        tenant.push(*t);
        minute.push(DateTime::<Utc>::from_timestamp(*m, 0).unwrap_or_default());
        event_type.push(*et);
        stored.push(*s);
        dead.push(*d);
    }
    sqlx::query(
        "insert into event_counts_minute as c (tenant_id, minute, event_type, shard, stored, dead_lettered) \
         select t, m, et, $6, s, d \
         from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int8[], $5::int8[]) as u(t, m, et, s, d) \
         on conflict (tenant_id, minute, event_type, shard) do update set \
           stored = c.stored + excluded.stored, dead_lettered = c.dead_lettered + excluded.dead_lettered",
    )
    .bind(&tenant)
    .bind(&minute)
    .bind(&event_type)
    .bind(&stored)
    .bind(&dead)
    .bind(shard)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Shards of a per-minute count row.
const COUNT_SHARDS: i16 = 4;

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

/// `COPY … FROM STDIN` of the rows in PostgreSQL's binary format; fails with a unique violation
/// when one of them is already stored.
///
/// Binary rather than text: the server takes uuids, timestamps and integers as they are instead of
/// parsing their text, and neither side scans every byte of a payload for characters to escape.
/// In `perf` of the backends the text format's line and field splitting plus `uuid_in`,
/// `timestamptz_in` and `strtoll` were about a tenth of PostgreSQL's CPU per row.
async fn copy_events(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&EventRow<'_>],
) -> Result<u64, sqlx::Error> {
    let processed_at = pg_micros(Utc::now());
    let mut copy = tx
        .copy_in_raw(
            "copy events (tenant_id, event_id, event_type, occurred_at, received_at, processed_at, \
               source, idempotency_key, payload, trace_id, kafka_partition, kafka_offset) \
             from stdin with (format binary)",
        )
        .await?;
    // sent in chunks as they fill: PostgreSQL parses the first rows while the next are encoded,
    // and one small buffer is reused instead of a batch-sized one
    let mut buf = Vec::with_capacity(COPY_CHUNK + 4 * 1024);
    buf.extend_from_slice(COPY_HEADER);
    for r in rows {
        encode_event(&mut buf, r, processed_at);
        if buf.len() >= COPY_CHUNK {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    buf.extend_from_slice(COPY_TRAILER);
    copy.send(buf.as_slice()).await?;
    copy.finish().await
}

/// `COPY` data is sent to PostgreSQL whenever this much is encoded.
const COPY_CHUNK: usize = 128 * 1024;

/// The binary format's signature, flags (none) and header extension length (none).
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// A field count of -1 ends the data.
const COPY_TRAILER: &[u8] = &(-1i16).to_be_bytes();

/// One row of the binary format: the field count, then each field as its length (-1 for NULL)
/// and its value in the type's binary form.
fn encode_event(buf: &mut Vec<u8>, r: &EventRow<'_>, processed_at: i64) {
    buf.extend_from_slice(&12i16.to_be_bytes());
    push_field(buf, r.tenant_id.as_bytes());
    push_field(buf, r.event_id.as_bytes());
    push_field(buf, r.event_type.as_bytes());
    push_field(buf, &pg_micros(r.occurred_at).to_be_bytes());
    push_field(buf, &pg_micros(r.received_at).to_be_bytes());
    push_field(buf, &processed_at.to_be_bytes());
    push_opt_field(buf, r.source.as_deref());
    push_opt_field(buf, r.idempotency_key.as_deref());
    // jsonb's binary form is a version byte (1) and the JSON text
    push_len(buf, r.payload.len() + 1);
    buf.push(1);
    buf.extend_from_slice(r.payload.as_bytes());
    push_opt_field(buf, r.trace_id.as_deref());
    push_field(buf, &r.partition.to_be_bytes());
    push_field(buf, &r.offset.to_be_bytes());
}

fn push_field(buf: &mut Vec<u8>, value: &[u8]) {
    push_len(buf, value.len());
    buf.extend_from_slice(value);
}

fn push_opt_field(buf: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(t) => push_field(buf, t.as_bytes()),
        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

/// A field's length as the format's signed 32-bit integer. Nothing in a row comes near 2 GiB: a
/// Kafka record is at most a few MiB.
fn push_len(buf: &mut Vec<u8>, len: usize) {
    buf.extend_from_slice(&(len as i32).to_be_bytes());
}

/// A `timestamptz` in PostgreSQL's binary form: microseconds since 2000-01-01 00:00:00 UTC.
fn pg_micros(t: DateTime<Utc>) -> i64 {
    const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;
    t.timestamp_micros() - POSTGRES_EPOCH_MICROS
}

/// Inserts the rows not stored yet; returns the (tenant, event) ids it inserted.
async fn insert_events_on_conflict(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&EventRow<'_>],
) -> Result<std::collections::HashSet<(Uuid, Uuid)>, sqlx::Error> {
    let n = rows.len();
    let mut tenant = Vec::with_capacity(n);
    let mut event = Vec::with_capacity(n);
    let mut event_type = Vec::with_capacity(n);
    let mut occurred = Vec::with_capacity(n);
    let mut received = Vec::with_capacity(n);
    let mut source = Vec::with_capacity(n);
    let mut idem = Vec::with_capacity(n);
    let mut payload = Vec::with_capacity(n);
    let mut trace = Vec::with_capacity(n);
    let mut partition = Vec::with_capacity(n);
    let mut offset = Vec::with_capacity(n);
    for r in rows {
        tenant.push(r.tenant_id);
        event.push(r.event_id);
        event_type.push(r.event_type.as_str());
        occurred.push(r.occurred_at);
        received.push(r.received_at);
        source.push(r.source.as_deref());
        idem.push(r.idempotency_key.as_deref());
        payload.push(r.payload);
        trace.push(r.trace_id.as_deref());
        partition.push(r.partition);
        offset.push(r.offset);
    }
    let inserted: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "insert into events (tenant_id, event_id, event_type, occurred_at, received_at, processed_at, \
           source, idempotency_key, payload, trace_id, kafka_partition, kafka_offset) \
         select t, e, et, o, r, clock_timestamp(), s, i, p::jsonb, tr, kp, ko \
         from unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], \
                     $7::text[], $8::text[], $9::text[], $10::int4[], $11::int8[]) \
           as u(t, e, et, o, r, s, i, p, tr, kp, ko) \
         on conflict (tenant_id, event_id) do nothing \
         returning tenant_id, event_id",
    )
    .bind(&tenant)
    .bind(&event)
    .bind(&event_type)
    .bind(&occurred)
    .bind(&received)
    .bind(&source)
    .bind(&idem)
    .bind(&payload)
    .bind(&trace)
    .bind(&partition)
    .bind(&offset)
    .fetch_all(&mut **tx)
    .await?;
    Ok(inserted.into_iter().collect())
}

/// Upserts the dead letters under a savepoint. When PostgreSQL refuses one of them (its body as
/// `jsonb`), they are written one by one and a refused body is kept as text.
async fn upsert_dead_letters<'a>(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&'a DeadLetterRow],
    counts: &mut Counts<'a>,
) -> Result<u64, sqlx::Error> {
    execute(tx, "savepoint dead_letters").await?;
    match upsert_dead_letters_as(tx, rows, BodyAs::Json, counts).await {
        Ok(n) => return Ok(n),
        Err(e) if Failure::of(&e) == Failure::Data => {
            execute(tx, "rollback to savepoint dead_letters").await?;
        }
        Err(e) => return Err(e),
    }
    let mut n = 0;
    for row in rows {
        execute(tx, "savepoint dead_letter").await?;
        match upsert_dead_letters_as(tx, &[*row], BodyAs::Json, counts).await {
            Ok(m) => n += m,
            Err(e) if Failure::of(&e) == Failure::Data => {
                execute(tx, "rollback to savepoint dead_letter").await?;
                n += upsert_dead_letters_as(tx, &[*row], BodyAs::Text, counts).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How a dead letter's body is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyAs {
    Json,
    /// `body` null, the text in `body_text`, `body_stored_as_text` true.
    Text,
}

async fn upsert_dead_letters_as<'a>(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&'a DeadLetterRow],
    body_as: BodyAs,
    counts: &mut Counts<'a>,
) -> Result<u64, sqlx::Error> {
    // one statement may not update a row twice: keep the last record per (tenant, event)
    let mut last: HashMap<(Uuid, Uuid), &'a DeadLetterRow> = HashMap::with_capacity(rows.len());
    for r in rows {
        last.insert((r.tenant_id, r.event_id), *r);
    }
    let rows: Vec<&'a DeadLetterRow> = last.into_values().collect();
    let n = rows.len();
    let mut tenant = Vec::with_capacity(n);
    let mut event = Vec::with_capacity(n);
    let mut reason = Vec::with_capacity(n);
    let mut errors = Vec::with_capacity(n);
    let mut body = Vec::with_capacity(n);
    let mut idem = Vec::with_capacity(n);
    let mut received = Vec::with_capacity(n);
    let mut failed = Vec::with_capacity(n);
    let mut topic = Vec::with_capacity(n);
    let mut partition = Vec::with_capacity(n);
    let mut offset = Vec::with_capacity(n);
    let mut trace = Vec::with_capacity(n);
    for r in &rows {
        tenant.push(r.tenant_id);
        event.push(r.event_id);
        reason.push(r.reason.as_str());
        errors.push(r.errors.as_str());
        body.push(r.body.as_str());
        idem.push(r.idempotency_key.as_deref());
        received.push(r.received_at);
        failed.push(r.failed_at);
        topic.push(r.source_topic.as_str());
        partition.push(r.source_partition);
        offset.push(r.source_offset);
        trace.push(r.trace_id.as_deref());
    }
    let as_text = body_as == BodyAs::Text;
    let upserted: Vec<(Uuid, Uuid, bool)> = sqlx::query_as(
        "insert into dead_letters as d (tenant_id, event_id, reason, errors, body, body_text, body_stored_as_text, \
           idempotency_key, received_at, failed_at, source_topic, source_partition, source_offset, trace_id) \
         select t, e, rs, er::jsonb, case when $13 then null else b::jsonb end, case when $13 then b end, $13, \
           i, r, f, st, sp, so, tr \
         from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], \
                     $8::timestamptz[], $9::text[], $10::int4[], $11::int8[], $12::text[]) \
           as u(t, e, rs, er, b, i, r, f, st, sp, so, tr) \
         on conflict (tenant_id, event_id) do update set \
           reason = excluded.reason, errors = excluded.errors, body = excluded.body, \
           body_text = excluded.body_text, body_stored_as_text = excluded.body_stored_as_text, \
           failed_at = excluded.failed_at, source_topic = excluded.source_topic, \
           source_partition = excluded.source_partition, source_offset = excluded.source_offset, \
           trace_id = excluded.trace_id, attempts = d.attempts + 1, status = 'pending', updated_at = now() \
         where (d.source_topic, d.source_partition, d.source_offset) \
           is distinct from (excluded.source_topic, excluded.source_partition, excluded.source_offset) \
         returning d.tenant_id, d.event_id, (xmax = 0) as inserted",
    )
    .bind(&tenant)
    .bind(&event)
    .bind(&reason)
    .bind(&errors)
    .bind(&body)
    .bind(&idem)
    .bind(&received)
    .bind(&failed)
    .bind(&topic)
    .bind(&partition)
    .bind(&offset)
    .bind(&trace)
    .bind(as_text)
    .fetch_all(&mut **tx)
    .await?;
    // a new row is a newly dead-lettered event; a new attempt of an existing one is not counted
    let new: std::collections::HashSet<(Uuid, Uuid)> = upserted
        .iter()
        .filter(|(_, _, inserted)| *inserted)
        .map(|(t, e, _)| (*t, *e))
        .collect();
    for r in rows {
        if new.contains(&(r.tenant_id, r.event_id)) {
            let at = r.received_at.unwrap_or(r.failed_at);
            let key = (
                r.tenant_id,
                minute_of(at),
                r.event_type.as_deref().unwrap_or(""),
            );
            counts.entry(key).or_default().1 += 1;
        }
    }
    Ok(upserted.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_count_microseconds_from_postgres_epoch() {
        assert_eq!(pg_micros("2000-01-01T00:00:00Z".parse().unwrap()), 0);
        assert_eq!(
            pg_micros("2026-01-02T03:04:05.000007Z".parse().unwrap()),
            820_638_245_000_007
        );
        assert_eq!(
            pg_micros("1999-12-31T23:59:59Z".parse().unwrap()),
            -1_000_000
        );
    }

    #[test]
    fn a_row_is_a_field_count_then_length_prefixed_fields() {
        let tenant = Uuid::from_u128(0x0102);
        let event = Uuid::from_u128(0x0304);
        let at: DateTime<Utc> = "2000-01-01T00:00:01Z".parse().unwrap();
        let row = EventRow {
            tenant_id: tenant,
            event_id: event,
            event_type: "a.b".into(),
            occurred_at: at,
            received_at: at,
            source: None,
            idempotency_key: Some("k".into()),
            payload: "{}",
            body: "{}",
            trace_id: None,
            partition: 7,
            offset: 9,
        };
        let mut buf = Vec::new();
        encode_event(&mut buf, &row, 2);
        let mut want = vec![0, 12];
        for field in [
            &tenant.as_bytes()[..],
            event.as_bytes(),
            b"a.b",
            &1_000_000i64.to_be_bytes(),
            &1_000_000i64.to_be_bytes(),
            &2i64.to_be_bytes(),
        ] {
            want.extend_from_slice(&(field.len() as i32).to_be_bytes());
            want.extend_from_slice(field);
        }
        want.extend_from_slice(&(-1i32).to_be_bytes()); // source
        want.extend_from_slice(&[0, 0, 0, 1, b'k']);
        want.extend_from_slice(&[0, 0, 0, 3, 1, b'{', b'}']);
        want.extend_from_slice(&(-1i32).to_be_bytes()); // trace_id
        want.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 7]);
        want.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(buf, want);
    }
}
