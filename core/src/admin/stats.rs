//! Traffic statistics from `event_counts_minute`, the per-minute rollup the processor maintains in
//! the same transaction as the rows it counts; `events` is never scanned, so a day's stats cost a
//! few thousand rollup rows at most.

use crate::admin::Traced as _;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{AdminError, Result};

/// How far back stats look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    // one scan of the window's rollup rows answers both the series (grouped by minute) and the
    // busiest event types (grouped by type)
    type Row = (Option<DateTime<Utc>>, Option<String>, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "select minute, event_type, sum(stored)::bigint, sum(dead_lettered)::bigint \
         from event_counts_minute \
         where minute >= $1 and minute <= $2 and ($3::uuid is null or tenant_id = $3) \
         group by grouping sets ((minute), (event_type))",
    )
    .bind(from)
    .bind(last)
    .bind(tenant_id)
    .fetch_all(pool)
    .traced("SELECT", "event_counts_minute")
    .await?;
    let mut series: Vec<Point> = (0..window.minutes())
        .map(|i| Point {
            minute: from + Duration::minutes(i),
            stored: 0,
            dead_lettered: 0,
        })
        .collect();
    let mut top_event_types = Vec::new();
    for (minute, event_type, stored, dead_lettered) in rows {
        match (minute, event_type) {
            (Some(minute), None) => {
                let i = (minute - from).num_minutes();
                if let Some(p) = usize::try_from(i).ok().and_then(|i| series.get_mut(i)) {
                    p.stored += stored;
                    p.dead_lettered += dead_lettered;
                }
            }
            (None, Some(event_type)) => top_event_types.push((event_type, stored + dead_lettered)),
            _ => {}
        }
    }
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
