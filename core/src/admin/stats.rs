//! Traffic statistics from `event_counts_minute`, the per-minute rollup the processor maintains in
//! the same transaction as the rows it counts, and the coarser rollups triggers keep from it
//! (per-minute totals, hourly counts by type, all tenants summed): `events` is never scanned,
//! and a day's stats read about ten thousand rollup rows whatever the traffic.

use crate::admin::Traced as _;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{AdminError, Result};

/// How far back stats look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Window {
    FiveMinutes,
    ThirtyMinutes,
    OneHour,
    OneDay,
}

impl Window {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "5m" => Ok(Self::FiveMinutes),
            "30m" => Ok(Self::ThirtyMinutes),
            "1h" => Ok(Self::OneHour),
            "24h" => Ok(Self::OneDay),
            other => Err(AdminError::bad_input(format!(
                "unknown window {other:?} (5m, 30m, 1h or 24h)"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FiveMinutes => "5m",
            Self::ThirtyMinutes => "30m",
            Self::OneHour => "1h",
            Self::OneDay => "24h",
        }
    }

    pub fn minutes(self) -> i64 {
        match self {
            Self::FiveMinutes => 5,
            Self::ThirtyMinutes => 30,
            Self::OneHour => 60,
            Self::OneDay => 1440,
        }
    }
}

/// One minute of the series.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    pub minute: DateTime<Utc>,
    pub stored: i64,
    pub dead_lettered: i64,
}

impl Point {
    /// Every received event ends up stored or dead-lettered (the rollup counts by receipt).
    pub fn received(&self) -> i64 {
        self.stored + self.dead_lettered
    }
}

/// The stats of one window.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub window: Window,
    pub tenant_id: Option<Uuid>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub stored: i64,
    pub dead_lettered: i64,
    /// One point per minute, oldest first, zero-filled.
    pub series: Vec<Point>,
    /// The ten busiest event types (`''` when the body had none), busiest first.
    pub top_event_types: Vec<(String, i64)>,
}

impl Stats {
    pub fn received(&self) -> i64 {
        self.stored + self.dead_lettered
    }

    /// Dead-lettered / received; 0 when nothing was received.
    pub fn dlq_rate(&self) -> f64 {
        match self.received() {
            0 => 0.0,
            n => self.dead_lettered as f64 / n as f64,
        }
    }
}

/// The tenant id under which `event_counts_minute_total` and `event_counts_hour` keep the sums
/// over all tenants (maintained by triggers on `event_counts_minute`).
pub const ALL_TENANTS: Uuid = Uuid::nil();

/// The whole hours `[from, to)` inside the minutes `first..=last`; an empty range at `first`
/// when there is none.
fn whole_hours(
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let hour = |t: DateTime<Utc>| {
        t.duration_trunc(Duration::hours(1))
            .map_err(|e| AdminError::Internal(Box::new(e)))
    };
    let start = hour(first + Duration::minutes(59))?;
    let end = hour(last + Duration::minutes(1))?;
    Ok(if start < end {
        (start, end)
    } else {
        (first, first)
    })
}

/// Stats of the last `window` (the current minute included), of one tenant or all.
pub async fn stats(pool: &PgPool, window: Window, tenant_id: Option<Uuid>) -> Result<Stats> {
    stats_at(pool, window, tenant_id, Utc::now()).await
}

/// [`stats`] as seen at `now`.
pub async fn stats_at(
    pool: &PgPool,
    window: Window,
    tenant_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Stats> {
    let last = now
        .duration_trunc(Duration::minutes(1))
        .map_err(|e| AdminError::Internal(Box::new(e)))?;
    let from = last - Duration::minutes(window.minutes() - 1);
    // `ALL_TENANTS` rows of the coarser rollups hold the sums over every tenant
    let scope = tenant_id.unwrap_or(ALL_TENANTS);
    let rows: Vec<(DateTime<Utc>, i64, i64)> = sqlx::query_as(
        "select minute, sum(stored)::bigint, sum(dead_lettered)::bigint \
         from event_counts_minute_total \
         where tenant_id = $1 and minute >= $2 and minute <= $3 group by minute",
    )
    .bind(scope)
    .bind(from)
    .bind(last)
    .fetch_all(pool)
    .traced("SELECT", "event_counts_minute_total")
    .await?;
    let mut series: Vec<Point> = (0..window.minutes())
        .map(|i| Point {
            minute: from + Duration::minutes(i),
            stored: 0,
            dead_lettered: 0,
        })
        .collect();
    for (minute, stored, dead_lettered) in rows {
        let i = (minute - from).num_minutes();
        if let Some(p) = usize::try_from(i).ok().and_then(|i| series.get_mut(i)) {
            p.stored += stored;
            p.dead_lettered += dead_lettered;
        }
    }
    let (hours_from, hours_to) = whole_hours(from, last)?;
    // the window's whole hours from the hourly rollup, its first and last partial hours by the
    // minute (rows of one tenant, or the all-tenant minute rollup)
    let edges = if tenant_id.is_some() {
        "select event_type, stored + dead_lettered from event_counts_minute where tenant_id = $1 \
           and ((minute >= $4 and minute < $2) or (minute >= $3 and minute <= $5))"
    } else {
        "select event_type, stored + dead_lettered from event_counts_minute_all \
           where (minute >= $4 and minute < $2) or (minute >= $3 and minute <= $5)"
    };
    let mut top_event_types: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select event_type, sum(n)::bigint from ( \
           select event_type, stored + dead_lettered as n from event_counts_hour \
            where tenant_id = $6 and hour >= $2 and hour < $3 \
           union all {edges} \
         ) x group by event_type"
    )))
    .bind(tenant_id)
    .bind(hours_from)
    .bind(hours_to)
    .bind(from)
    .bind(last)
    .bind(scope)
    .fetch_all(pool)
    .traced("SELECT", "event_counts_hour")
    .await?;
    top_event_types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top_event_types.truncate(10);
    Ok(Stats {
        window,
        tenant_id,
        from,
        to: now,
        stored: series.iter().map(|p| p.stored).sum(),
        dead_lettered: series.iter().map(|p| p.dead_lettered).sum(),
        series,
        top_event_types,
    })
}
