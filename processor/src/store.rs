//! Writing a batch to PostgreSQL in one transaction: valid events with `COPY … FROM STDIN`
//! straight into `events` (inside a savepoint); if one of them is already stored (a redelivery
//! after a crash or rebalance), the savepoint is rolled back and the batch goes through one
//! multi-row `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`, so a redelivered record never
//! makes a second row. Dead letters are written with one upsert that counts real attempts (a
//! replay) but not redeliveries of the same Kafka record.
//!
//! Measured (`make bench` drain of 500k events, same machine, BENCHMARKS.md):
//! - the `unnest` insert alone: 12.5k events/s traced, 15.6k untraced; PostgreSQL spent 46 µs of
//!   CPU per event (the speculative insertion of `ON CONFLICT` probes the primary key before each
//!   row and takes a speculative-insertion lock);
//! - `COPY` first, `unnest` only on a conflict: 14.0k traced, 17.4k untraced, 38 µs per event;
//! - `COPY` into a temporary staging table, then `INSERT … SELECT … ON CONFLICT DO NOTHING` from
//!   it: slower than `unnest` alone (13.6–15.3k vs 15.9–16.3k untraced): a second pass over every
//!   row and the conflict check stays.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pulse_core::envelope::DlqReason;
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
    /// The original body as JSON text.
    pub body: String,
    pub idempotency_key: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub failed_at: DateTime<Utc>,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub trace_id: Option<String>,
}

/// What a batch write changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// New rows in `events` (the rest were already there).
    pub events_inserted: u64,
    /// Rows in `dead_letters` created or counted as a new attempt.
    pub dead_letters_upserted: u64,
}

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

/// Writes the batch's rows inside `tx` (the caller commits).
pub async fn write(
    tx: &mut Transaction<'static, Postgres>,
    events: &[&EventRow<'_>],
    dead: &[&DeadLetterRow],
) -> Result<Written, sqlx::Error> {
    let mut written = Written::default();
    if !events.is_empty() {
        written.events_inserted = insert_events(tx, events).await?;
    }
    if !dead.is_empty() {
        written.dead_letters_upserted = upsert_dead_letters(tx, dead).await?;
    }
    Ok(written)
}

async fn insert_events(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&EventRow<'_>],
) -> Result<u64, sqlx::Error> {
    // Redeliveries are rare (a crash or a rebalance before offsets were stored), so the batch is
    // first copied straight into `events`; only when a row is already there does the batch go
    // again through the slower conflict-checking insert.
    sqlx::query("savepoint copy_events")
        .execute(&mut **tx)
        .await?;
    match copy_events(tx, rows).await {
        Ok(n) => Ok(n),
        Err(e) if is_unique_violation(&e) => {
            sqlx::query("rollback to savepoint copy_events")
                .execute(&mut **tx)
                .await?;
            insert_events_on_conflict(tx, rows).await
        }
        Err(e) => Err(e),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

/// `COPY … FROM STDIN` (text format) of the rows; fails with a unique violation when one of them
/// is already stored.
async fn copy_events(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&EventRow<'_>],
) -> Result<u64, sqlx::Error> {
    let mut processed_at = Vec::with_capacity(32);
    push_timestamp(&mut processed_at, Utc::now());
    let mut copy = tx
        .copy_in_raw(
            "copy events (tenant_id, event_id, event_type, occurred_at, received_at, processed_at, \
               source, idempotency_key, payload, trace_id, kafka_partition, kafka_offset) from stdin",
        )
        .await?;
    // sent in chunks as they fill: PostgreSQL parses the first rows while the next are encoded,
    // and one small buffer is reused instead of a batch-sized one
    let mut buf = Vec::with_capacity(COPY_CHUNK + 4 * 1024);
    for r in rows {
        encode_event(&mut buf, r, &processed_at);
        if buf.len() >= COPY_CHUNK {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_slice()).await?;
    }
    copy.finish().await
}

/// `COPY` data is sent to PostgreSQL whenever this much is encoded.
const COPY_CHUNK: usize = 128 * 1024;

/// One line of `COPY` text format: tab-separated, `\N` for NULL, backslash escapes.
fn encode_event(buf: &mut Vec<u8>, r: &EventRow<'_>, processed_at: &[u8]) {
    // uuids, timestamps and integers never need escaping
    let mut uuid = Uuid::encode_buffer();
    buf.extend_from_slice(
        r.tenant_id
            .as_hyphenated()
            .encode_lower(&mut uuid)
            .as_bytes(),
    );
    buf.push(b'\t');
    buf.extend_from_slice(
        r.event_id
            .as_hyphenated()
            .encode_lower(&mut uuid)
            .as_bytes(),
    );
    buf.push(b'\t');
    escape_into(buf, &r.event_type);
    buf.push(b'\t');
    push_timestamp(buf, r.occurred_at);
    buf.push(b'\t');
    push_timestamp(buf, r.received_at);
    buf.push(b'\t');
    buf.extend_from_slice(processed_at);
    for text in [r.source.as_deref(), r.idempotency_key.as_deref()] {
        buf.push(b'\t');
        escape_opt_into(buf, text);
    }
    buf.push(b'\t');
    escape_into(buf, r.payload);
    buf.push(b'\t');
    escape_opt_into(buf, r.trace_id.as_deref());
    buf.push(b'\t');
    buf.extend_from_slice(itoa::Buffer::new().format(r.partition).as_bytes());
    buf.push(b'\t');
    buf.extend_from_slice(itoa::Buffer::new().format(r.offset).as_bytes());
    buf.push(b'\n');
}

/// `YYYY-MM-DD HH:MM:SS.ffffff+00` (chrono's strftime parses its format string on every call,
/// which was 7 % of the processor's CPU).
fn push_timestamp(buf: &mut Vec<u8>, t: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // outside what RFC 3339 can carry; let chrono spell it
        buf.extend_from_slice(t.to_rfc3339().as_bytes());
        return;
    }
    let micros = t.nanosecond() % 1_000_000_000 / 1_000;
    let fields = [
        (year as u32, 4, b'-'),
        (t.month(), 2, b'-'),
        (t.day(), 2, b' '),
        (t.hour(), 2, b':'),
        (t.minute(), 2, b':'),
        (t.second(), 2, b'.'),
    ];
    for (n, width, separator) in fields {
        push_digits(buf, n, width);
        buf.push(separator);
    }
    push_digits(buf, micros, 6);
    buf.extend_from_slice(b"+00");
}

/// `n` in decimal, zero-padded to `width` digits.
fn push_digits(buf: &mut Vec<u8>, mut n: u32, width: usize) {
    let start = buf.len();
    buf.resize(start + width, b'0');
    for d in buf[start..].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

fn escape_opt_into(buf: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(t) => escape_into(buf, t),
        None => buf.extend_from_slice(b"\\N"),
    }
}

/// Appends `text` with backslash, newline, carriage return and tab escaped. Most payloads have
/// none of them: 32-byte chunks are checked with a branch-free test and copied whole.
fn escape_into(buf: &mut Vec<u8>, text: &str) {
    let needs_care = |b: u8| b < 14 || b == b'\\';
    for chunk in text.as_bytes().chunks(32) {
        if !chunk.iter().fold(false, |any, &b| any | needs_care(b)) {
            buf.extend_from_slice(chunk);
            continue;
        }
        for &b in chunk {
            match b {
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                _ => buf.push(b),
            }
        }
    }
}

async fn insert_events_on_conflict(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&EventRow<'_>],
) -> Result<u64, sqlx::Error> {
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
    let result = sqlx::query(
        "insert into events (tenant_id, event_id, event_type, occurred_at, received_at, processed_at, \
           source, idempotency_key, payload, trace_id, kafka_partition, kafka_offset) \
         select t, e, et, o, r, clock_timestamp(), s, i, p::jsonb, tr, kp, ko \
         from unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], \
                     $7::text[], $8::text[], $9::text[], $10::int4[], $11::int8[]) \
           as u(t, e, et, o, r, s, i, p, tr, kp, ko) \
         on conflict (tenant_id, event_id) do nothing",
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
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

async fn upsert_dead_letters(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[&DeadLetterRow],
) -> Result<u64, sqlx::Error> {
    // one statement may not update a row twice: keep the last record per (tenant, event)
    let mut last: HashMap<(Uuid, Uuid), &DeadLetterRow> = HashMap::with_capacity(rows.len());
    for r in rows {
        last.insert((r.tenant_id, r.event_id), r);
    }
    let rows: Vec<&DeadLetterRow> = last.into_values().collect();
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
    for r in rows {
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
    let result = sqlx::query(
        "insert into dead_letters as d (tenant_id, event_id, reason, errors, body, idempotency_key, received_at, \
           failed_at, source_topic, source_partition, source_offset, trace_id) \
         select t, e, rs, er::jsonb, b::jsonb, i, r, f, st, sp, so, tr \
         from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], \
                     $8::timestamptz[], $9::text[], $10::int4[], $11::int8[], $12::text[]) \
           as u(t, e, rs, er, b, i, r, f, st, sp, so, tr) \
         on conflict (tenant_id, event_id) do update set \
           reason = excluded.reason, errors = excluded.errors, body = excluded.body, \
           failed_at = excluded.failed_at, source_topic = excluded.source_topic, \
           source_partition = excluded.source_partition, source_offset = excluded.source_offset, \
           trace_id = excluded.trace_id, attempts = d.attempts + 1, status = 'pending', updated_at = now() \
         where (d.source_topic, d.source_partition, d.source_offset) \
           is distinct from (excluded.source_topic, excluded.source_partition, excluded.source_offset)",
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
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_only_what_the_format_needs() {
        let mut buf = Vec::new();
        escape_into(&mut buf, "a\tb\nc\rd\\e \\N é");
        assert_eq!(buf, "a\\tb\\nc\\rd\\\\e \\\\N é".as_bytes());
        buf.clear();
        escape_opt_into(&mut buf, None);
        assert_eq!(buf, b"\\N");
        // a long text: clean chunks are copied whole, the one with a tab is escaped
        let long = format!("{}\t{}", "x".repeat(40), "y".repeat(40));
        buf.clear();
        escape_into(&mut buf, &long);
        assert_eq!(
            buf,
            format!("{}\\t{}", "x".repeat(40), "y".repeat(40)).as_bytes()
        );
    }

    #[test]
    fn timestamps_are_written_as_postgres_reads_them() {
        let mut buf = Vec::new();
        push_timestamp(&mut buf, "2026-01-02T03:04:05.000007Z".parse().unwrap());
        assert_eq!(buf, b"2026-01-02 03:04:05.000007+00");
    }
}
