//! The run's figures: one JSON document (every figure with its target beside it) and a markdown
//! section for BENCHMARKS.md, both from this run only.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{live::LiveResult, queries::KindResult, queries::LoadConfig};

/// What the data set looked like.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    pub database: String,
    pub events: i64,
    pub dead_letters: i64,
    pub tenants: usize,
    pub rollup_rows: i64,
    pub seeded_at: DateTime<Utc>,
    pub reused: bool,
    pub prepare_seconds: f64,
}

/// The live part's targets.
#[derive(Debug, Clone, Serialize)]
pub struct LiveTargets {
    pub delay_p99_ms: f64,
    pub rss_mb: f64,
    pub every_event_accounted: bool,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub started_at: DateTime<Utc>,
    pub git_commit: String,
    pub pulse_bin: String,
    pub smoke: bool,
    pub dataset: Dataset,
    pub load: LoadConfig,
    pub queries: Vec<KindResult>,
    pub live: LiveResult,
    pub live_targets: LiveTargets,
    pub live_met: bool,
}

impl Report {
    /// Whether the live part met its targets: delivery p99, RSS, and every delivery either
    /// received or reported as missed.
    pub fn live_verdict(live: &LiveResult, targets: &LiveTargets) -> bool {
        live.delay_p99_ms < targets.delay_p99_ms
            && live.rss_mb_peak < targets.rss_mb
            && live.unaccounted == 0
            && live.failed_subscribers == 0
            && live.expected > 0
    }

    /// The markdown section for BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let mark = |met: bool| if met { "✅" } else { "❌" };
        let d = &self.dataset;
        let l = &self.live;
        let mut md = String::new();
        md.push_str("## GraphQL admin API\n\n");
        md.push_str(&format!(
            "Run of {} (commit `{}`{}), `pulse-graphql-bench` against a release `pulse graphql` \
             started for the run on its own database `{}`: {} events and {} dead letters over the \
             24 h before {} across {} tenants ({} rollup rows; {}). Each query kind is driven for \
             {:.0} s (after {:.0} s unrecorded) by {} concurrent clients (keep-alive, admin token), \
             each sending {} requests/s ({:.0}/s in all); latency counts from when a request was due (a slow answer also \
             delays the requests queued behind it). A thread of the client wakes each client when its request is due \
             (tokio's millisecond timer woke them 1.3 ms late at p50); *sent late* is how long after its due time a \
             request actually left. The client runs on the same machine. Before \
             each kind the machine settles: a `CHECKPOINT`, then a rest until PostgreSQL, Jaeger \
             and the service each use under 5 % of a core and the whole machine under 0.3 cores \
             for five seconds (seconds waited in the table). \
             `stats(24h)` asks for the day's series in its `columns` form, as the console does. \
             {}\n\n",
            self.started_at.format("%Y-%m-%d %H:%M UTC"),
            self.git_commit,
            if self.smoke { ", smoke size" } else { "" },
            d.database,
            thousands(d.events as u64),
            thousands(d.dead_letters as u64),
            d.seeded_at.format("%Y-%m-%d %H:%M UTC"),
            d.tenants,
            thousands(d.rollup_rows as u64),
            if d.reused {
                "reused from an earlier run"
            } else {
                "seeded by this run"
            },
            self.load.seconds,
            self.load.warmup_seconds,
            self.load.clients,
            self.load.rate_per_client,
            self.load.rate_per_client * self.load.clients as f64,
            match self.load.prewarmed_mb {
                Some(mb) => format!(
                    "Before the first kind, the database's tables and indexes ({mb:.0} MB) were \
                     read into memory with `pg_prewarm`, as a running system holds its working set."
                ),
                None => "The database was not prewarmed (pg_prewarm missing): lookups may have \
                         waited on a cold disk."
                    .to_owned(),
            },
        ));
        md.push_str(
            "| query | rested s | requests/s | errors | sent late p99 ms | p50 ms | p99 ms | max ms | target p99 | |\n",
        );
        md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
        for k in &self.queries {
            md.push_str(&format!(
                "| **{}** (all variants) | {:.0} | {:.0} | {} | {:.2} | {:.1} | {:.1} | {:.1} | < {} ms | {} |\n",
                k.kind,
                k.rested_seconds,
                k.all.requests_per_second,
                k.all.errors,
                k.sent_late_p99_ms,
                k.all.p50_ms,
                k.all.p99_ms,
                k.all.max_ms,
                k.target_p99_ms,
                mark(k.met)
            ));
            for v in &k.variants {
                md.push_str(&format!(
                    "| &nbsp;&nbsp;`{}` | | {:.0} | {} | | {:.1} | {:.1} | {:.1} | | |\n",
                    v.name, v.requests_per_second, v.errors, v.p50_ms, v.p99_ms, v.max_ms
                ));
            }
        }
        if l.config.subscribers == 0 {
            md.push_str("\nLive: not measured in this run (`--only`).\n");
            return md;
        }
        md.push_str(&format!(
            "\nLive: {} WebSocket subscribers (a tenth on the legacy `graphql-ws` protocol) over {} \
             tenants, each subscribed to its tenant's `events`; events written to the service's \
             own raw topic as ingest writes them for {:.0} s; the delay runs from the start of \
             the write to receipt. Subscribers connected in {:.1} s.\n\n",
            l.config.subscribers, l.config.tenants, l.config.seconds, l.connect_seconds
        ));
        md.push_str("| measurement | result | target | |\n|---|---|---|---|\n");
        md.push_str(&format!(
            "| events written, per second | {:.0} ({} failed writes) | {} | {} |\n",
            l.events_per_second,
            l.write_errors,
            thousands(l.config.rate),
            mark(l.events_per_second >= 0.95 * l.config.rate as f64)
        ));
        md.push_str(&format!(
            "| deliveries received / expected | {} / {} ({:.2} %) | every event | {} |\n",
            thousands(l.received),
            thousands(l.expected),
            l.delivered_percent,
            mark(l.received == l.expected)
        ));
        md.push_str(&format!(
            "| reported missed (`missedBefore`) / unaccounted | {} / {} | 0 unaccounted | {} |\n",
            thousands(l.missed_reported),
            thousands(l.unaccounted),
            mark(l.unaccounted == 0)
        ));
        md.push_str(&format!(
            "| subscribers with every event / failed sockets | {} / {} | all / 0 | {} |\n",
            l.complete_subscribers,
            l.failed_subscribers,
            mark(l.complete_subscribers == l.config.subscribers && l.failed_subscribers == 0)
        ));
        md.push_str(&format!(
            "| delay p50 / p99 / max | {:.0} / {:.0} / {:.0} ms | p99 < {} ms | {} |\n",
            l.delay_p50_ms,
            l.delay_p99_ms,
            l.delay_max_ms,
            self.live_targets.delay_p99_ms,
            mark(l.delay_p99_ms < self.live_targets.delay_p99_ms)
        ));
        md.push_str(&format!(
            "| graphql RSS idle / subscribed / median / peak | {:.0} / {:.0} / {:.0} / {:.0} MB | < {} MB | {} |\n",
            l.rss_mb_idle,
            l.rss_mb_subscribed,
            l.rss_mb_median,
            l.rss_mb_peak,
            self.live_targets.rss_mb,
            mark(l.rss_mb_peak < self.live_targets.rss_mb)
        ));
        md.push_str(&format!(
            "| graphql CPU while writing | {:.2} cores | — | |\n",
            l.cpu_cores
        ));
        md
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
