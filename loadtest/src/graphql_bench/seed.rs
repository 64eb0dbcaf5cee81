//! The benchmark's own database: created once and migrated with `pulse migrate`, then filled by
//! `COPY` with events spread over the last 24 h, dead letters, and the per-minute rollup counting
//! exactly those rows (as the processor would have written it). A later run reuses it while its
//! marker matches the asked size and the data is recent enough for `stats(24h)` to cover it.

use std::{path::Path, time::Instant};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Duration, Utc};
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use sqlx::{Connection as _, PgConnection, PgPool};
use uuid::Uuid;

/// Bumped whenever the generated data changes shape, so an old database is seeded again.
const SEED_VERSION: i32 = 1;

/// Event types every tenant sends (the `events` filter and `topEventTypes` see these).
pub const EVENT_TYPES: [&str; 8] = [
    "order.created",
    "order.paid",
    "order.shipped",
    "order.cancelled",
    "user.signed_up",
    "user.logged_in",
    "cart.updated",
    "invoice.sent",
];
const SOURCES: [&str; 4] = ["checkout", "web", "mobile", "billing"];
const REASONS: [(&str, &str); 4] = [
    ("missing_field", "/event_type"),
    ("invalid_type", "/payload"),
    ("invalid_value", "/occurred_at"),
    ("schema_violation", "/payload/amount"),
];
/// Rows per `COPY` statement (one transaction each).
const COPY_ROWS: usize = 250_000;

/// How big the data set is.
#[derive(Debug, Clone)]
pub struct SeedSize {
    pub events: u64,
    pub dead_letters: u64,
    pub tenants: usize,
}

/// The database ready for the run.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub url: String,
    pub database: String,
    pub events: i64,
    pub dead_letters: i64,
    pub rollup_rows: i64,
    pub tenants: Vec<Uuid>,
    pub seeded_at: DateTime<Utc>,
    pub reused: bool,
    pub seed_seconds: f64,
}

/// Creates (or reuses) `database` on the server of `admin_url`, sized `size`. A seed older than
/// `max_age` (or any seed when `force`) is replaced.
pub async fn prepare(
    admin_url: &str,
    database: &str,
    pulse_bin: &Path,
    size: &SeedSize,
    max_age: Duration,
    force: bool,
) -> Result<Seeded> {
    let started = Instant::now();
    let url = pulse_core::db::with_database(admin_url, database);
    create_database(admin_url, database).await?;
    migrate(pulse_bin, &url).await?;
    let pool = pulse_core::db::connect(&url, 4)
        .await
        .context("connecting to the bench database")?;
    sqlx::query(
        "create table if not exists bench_seed (version int not null, events bigint not null, \
         dead_letters bigint not null, tenants int not null, seeded_at timestamptz not null)",
    )
    .execute(&pool)
    .await?;
    if !force && let Some(seeded_at) = reusable(&pool, size, max_age).await? {
        let mut seeded = describe(&pool, &url, database, seeded_at).await?;
        seeded.reused = true;
        seeded.seed_seconds = started.elapsed().as_secs_f64();
        return Ok(seeded);
    }
    let seeded_at = Utc::now();
    seed(&pool, size, seeded_at).await?;
    let mut seeded = describe(&pool, &url, database, seeded_at).await?;
    seeded.seed_seconds = started.elapsed().as_secs_f64();
    Ok(seeded)
}

async fn create_database(admin_url: &str, database: &str) -> Result<()> {
    if !database
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        bail!("database name {database:?}: letters, digits and _ only");
    }
    let mut conn = PgConnection::connect(admin_url)
        .await
        .context("connecting to PostgreSQL (DATABASE_URL)")?;
    let exists: Option<i32> = sqlx::query_scalar("select 1 from pg_database where datname = $1")
        .bind(database)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "create database \"{database}\""
        )))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating database {database}"))?;
    }
    Ok(())
}

/// Applies the migrations the way operators do: `pulse migrate`.
async fn migrate(pulse_bin: &Path, url: &str) -> Result<()> {
    let out = tokio::process::Command::new(pulse_bin)
        .arg("migrate")
        .env("DATABASE_URL", url)
        .output()
        .await
        .with_context(|| format!("running {} migrate", pulse_bin.display()))?;
    if !out.status.success() {
        bail!(
            "pulse migrate failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The marker's seed time when the database holds exactly what `size` asks for.
async fn reusable(
    pool: &PgPool,
    size: &SeedSize,
    max_age: Duration,
) -> Result<Option<DateTime<Utc>>> {
    let marker: Option<(i64, i64, i32, DateTime<Utc>)> = sqlx::query_as(
        "select events, dead_letters, tenants, seeded_at from bench_seed where version = $1",
    )
    .bind(SEED_VERSION)
    .fetch_optional(pool)
    .await?;
    let Some((events, dead_letters, tenants, seeded_at)) = marker else {
        return Ok(None);
    };
    if events != size.events as i64
        || dead_letters != size.dead_letters as i64
        || tenants != size.tenants as i32
        || Utc::now() - seeded_at > max_age
    {
        return Ok(None);
    }
    // the marker is written last, but someone may have touched the rows since
    let (e, d): (i64, i64) =
        sqlx::query_as("select (select count(*) from events), (select count(*) from dead_letters)")
            .fetch_one(pool)
            .await?;
    Ok((e == events && d == dead_letters).then_some(seeded_at))
}

async fn describe(
    pool: &PgPool,
    url: &str,
    database: &str,
    seeded_at: DateTime<Utc>,
) -> Result<Seeded> {
    let (events, dead_letters, rollup_rows): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from events), (select count(*) from dead_letters), \
         (select count(*) from event_counts_minute)",
    )
    .fetch_one(pool)
    .await?;
    let tenants: Vec<Uuid> =
        sqlx::query_scalar("select id from tenants where name like 'bench-%' order by name")
            .fetch_all(pool)
            .await?;
    Ok(Seeded {
        url: url.to_owned(),
        database: database.to_owned(),
        events,
        dead_letters,
        rollup_rows,
        tenants,
        seeded_at,
        reused: false,
        seed_seconds: 0.0,
    })
}

/// Replaces everything with a fresh data set received over the 24 h before `now`.
async fn seed(pool: &PgPool, size: &SeedSize, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "truncate events, dead_letters, event_counts_minute, event_counts_minute_total, \
         event_counts_hour, event_counts_minute_all, tenants, audit_log, \
         pipeline_samples, event_schemas, bench_seed",
    )
    .execute(pool)
    .await?;
    let tenants: Vec<Uuid> = (0..size.tenants).map(|_| Uuid::new_v4()).collect();
    for (i, id) in tenants.iter().enumerate() {
        sqlx::query(
            "insert into tenants (id, name, api_key_hash, api_key_prefix, rate_limit_per_minute) \
             values ($1, $2, $3, 'bench', 1000000)",
        )
        .bind(id)
        .bind(format!("bench-{i:04}"))
        .bind(format!("bench-unusable-{}", Uuid::new_v4().simple()))
        .execute(pool)
        .await?;
    }
    let start = now - Duration::hours(24);
    let mut rng = StdRng::seed_from_u64(0x5eed);
    copy_rows(
        pool,
        size.events,
        |i, buf| event_row(buf, i, size.events, start, &tenants, &mut rng),
        COPY_EVENTS,
    )
    .await
    .context("copying events")?;
    let mut rng = StdRng::seed_from_u64(0xdead);
    copy_rows(
        pool,
        size.dead_letters,
        |i, buf| dead_letter_row(buf, i, size.dead_letters, start, &tenants, &mut rng),
        COPY_DEAD_LETTERS,
    )
    .await
    .context("copying dead letters")?;
    // the rollup exactly as the processor maintains it: outcomes per tenant, minute of receipt
    // and event type, spread over its four shards (a busy key gets all four in production)
    sqlx::query(
        "insert into event_counts_minute (tenant_id, minute, event_type, shard, stored, dead_lettered) \
         select tenant_id, minute, event_type, shard, sum(s), sum(d) from ( \
           select tenant_id, date_bin('1 minute', received_at, timestamptz 'epoch') as minute, \
                  event_type, (get_byte(uuid_send(event_id), 15) % 4)::smallint as shard, \
                  1 as s, 0 as d from events \
           union all \
           select tenant_id, date_bin('1 minute', coalesce(received_at, failed_at), timestamptz 'epoch'), \
                  coalesce(body->>'event_type', ''), (get_byte(uuid_send(event_id), 15) % 4)::smallint, \
                  0, 1 from dead_letters \
         ) x group by 1, 2, 3, 4",
    )
    .execute(pool)
    .await
    .context("filling the rollup")?;
    sqlx::query("analyze events, dead_letters, event_counts_minute, tenants")
        .execute(pool)
        .await?;
    sqlx::query("insert into bench_seed values ($1, $2, $3, $4, $5)")
        .bind(SEED_VERSION)
        .bind(size.events as i64)
        .bind(size.dead_letters as i64)
        .bind(size.tenants as i32)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

const COPY_EVENTS: &str = "copy events (tenant_id, event_id, event_type, occurred_at, received_at, \
    processed_at, source, idempotency_key, payload, trace_id, kafka_partition, kafka_offset) from stdin";
const COPY_DEAD_LETTERS: &str = "copy dead_letters (tenant_id, event_id, reason, errors, body, \
    idempotency_key, received_at, failed_at, source_topic, source_partition, source_offset, attempts, \
    trace_id, status, replayed_at) from stdin";

/// `COPY … FROM STDIN` (text format) of `count` rows written by `row`, `COPY_ROWS` per statement.
async fn copy_rows(
    pool: &PgPool,
    count: u64,
    mut row: impl FnMut(u64, &mut String),
    statement: &'static str,
) -> Result<()> {
    let mut next = 0u64;
    let mut buf = String::with_capacity(300 * 1024);
    while next < count {
        let end = (next + COPY_ROWS as u64).min(count);
        let mut conn = pool.acquire().await?;
        sqlx::query("set synchronous_commit = off")
            .execute(&mut *conn)
            .await?;
        let mut copy = conn.copy_in_raw(statement).await?;
        for i in next..end {
            row(i, &mut buf);
            if buf.len() >= 256 * 1024 {
                copy.send(buf.as_bytes()).await?;
                buf.clear();
            }
        }
        copy.send(buf.as_bytes()).await?;
        buf.clear();
        copy.finish().await?;
        next = end;
    }
    Ok(())
}

/// PostgreSQL's text form of a timestamp (UTC).
fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// A uuid v7 of time `t` (event ids are v7, so they sort by receipt as in production).
fn v7(t: DateTime<Utc>, rng: &mut StdRng) -> Uuid {
    let millis = t.timestamp_millis() as u64;
    let mut bytes: [u8; 16] = rng.random();
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// Event `i` of `n`, received at its share of the 24 h from `start`.
fn event_row(
    buf: &mut String,
    i: u64,
    n: u64,
    start: DateTime<Utc>,
    tenants: &[Uuid],
    rng: &mut StdRng,
) {
    use std::fmt::Write as _;
    let received = start + Duration::microseconds((86_400_000_000.0 * i as f64 / n as f64) as i64);
    let tenant = tenants[rng.random_range(0..tenants.len())];
    let event_type = EVENT_TYPES[rng.random_range(0..EVENT_TYPES.len())];
    let source = SOURCES[rng.random_range(0..SOURCES.len())];
    let id = v7(received, rng);
    let key = if i.is_multiple_of(2) {
        format!("bench-key-{i}")
    } else {
        "\\N".to_owned()
    };
    let trace = Uuid::from_bytes(rng.random()).simple();
    let _ = writeln!(
        buf,
        "{tenant}\t{id}\t{event_type}\t{}\t{}\t{}\t{source}\t{key}\t\
         {{\"order_id\": \"ord-{i}\", \"amount\": {}, \"currency\": \"EUR\", \"items\": [{{\"sku\": \"sku-{}\", \"qty\": {}}}]}}\t\
         {trace}\t{}\t{}",
        ts(received - Duration::milliseconds(20)),
        ts(received),
        ts(received + Duration::milliseconds(40)),
        rng.random_range(100..100_000),
        rng.random_range(0..5000),
        rng.random_range(1..5),
        i % 6,
        i / 6,
    );
}

/// Dead letter `i` of `n`: one of the data-error reasons, mostly pending.
fn dead_letter_row(
    buf: &mut String,
    i: u64,
    n: u64,
    start: DateTime<Utc>,
    tenants: &[Uuid],
    rng: &mut StdRng,
) {
    use std::fmt::Write as _;
    let received = start + Duration::microseconds((86_400_000_000.0 * i as f64 / n as f64) as i64);
    let tenant = tenants[rng.random_range(0..tenants.len())];
    let (reason, path) = REASONS[rng.random_range(0..REASONS.len())];
    let id = v7(received, rng);
    let body = if reason == "missing_field" {
        format!("{{\"payload\": {{\"order_id\": \"ord-dl-{i}\"}}}}")
    } else {
        let event_type = EVENT_TYPES[rng.random_range(0..EVENT_TYPES.len())];
        format!(
            "{{\"event_type\": \"{event_type}\", \"payload\": {{\"order_id\": \"ord-dl-{i}\"}}}}"
        )
    };
    let (status, replayed) = match i % 10 {
        0 => ("replayed", ts(received + Duration::minutes(5))),
        1 => ("discarded", "\\N".to_owned()),
        _ => ("pending", "\\N".to_owned()),
    };
    let trace = Uuid::from_bytes(rng.random()).simple();
    let _ = writeln!(
        buf,
        "{tenant}\t{id}\t{reason}\t[{{\"path\": \"{path}\", \"message\": \"bench: {reason}\"}}]\t{body}\t\
         bench-dl-key-{i}\t{}\t{}\tevents.raw\t{}\t{}\t1\t{trace}\t{status}\t{replayed}",
        ts(received),
        ts(received + Duration::milliseconds(30)),
        i % 6,
        1_000_000 + i,
    );
}
