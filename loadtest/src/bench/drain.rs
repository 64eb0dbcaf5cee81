//! The processor draining a pre-filled topic (traced and with tracing off, alternating), each
//! drain followed by the fair COPY ceiling of the same rows ([`super::copy`]).

use std::{collections::BTreeMap, time::Instant};

use anyhow::bail;
use serde::Serialize;

use super::{
    context::Ctx,
    copy::{self, CopyRun},
    cpu,
    fill::{self, Filled},
    procs,
};

/// The processor's defaults (`PULSE_BATCH_SIZE`, `PULSE_WRITERS`), which the COPY ceiling copies.
pub const PROCESSOR_BATCH: usize = 5_000;
pub const PROCESSOR_WRITERS: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct DrainRun {
    pub traced: bool,
    pub round: usize,
    /// Events made durable per second from the processor's start (group join included).
    pub eps_total: f64,
    /// From the first durable record to the last.
    pub eps_steady: f64,
    pub stored: u64,
    pub dead_lettered: u64,
    pub cpu_us_per_event: BTreeMap<String, f64>,
    /// PostgreSQL's CPU per stored row (events + dead letters).
    pub postgres_cpu_us_per_row: f64,
    pub processor_peak_rss_mb: f64,
    pub dropped_spans: u64,
    /// CONSUMER + INSERT per stored event; CONSUMER + send + INSERT per dead letter.
    pub spans: u64,
    pub copy: CopyRun,
    /// `copy.rows_per_second`, kept under its old name.
    pub copy_rows_per_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Drain {
    pub fill: Filled,
    pub runs: Vec<DrainRun>,
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Drain> {
    let topic = ctx.name("drain");
    let total = ctx.plan.drain_events;
    super::say(&format!(
        "filling {topic} with {total} events (~1 KB, 10 tenants, 5 % invalid)"
    ));
    let filled = fill::fill(&ctx.brokers, &topic, total, 10, 5.0, 1000).await?;
    let mut runs = Vec::new();
    for round in 0..ctx.plan.runs {
        for i in 0..2 {
            let traced = (i + round).is_multiple_of(2);
            super::say(&format!(
                "processor drain ({}) + COPY ceiling, run {}/{}",
                if traced { "traced" } else { "tracing off" },
                round + 1,
                ctx.plan.runs
            ));
            runs.push(once(ctx, &topic, traced, round).await?);
        }
    }
    ctx.truncate().await?;
    Ok(Drain { fill: filled, runs })
}

async fn once(ctx: &Ctx, topic: &str, traced: bool, round: usize) -> anyhow::Result<DrainRun> {
    let total = ctx.plan.drain_events;
    ctx.truncate().await?;
    cpu::rest(&[], ctx.plan.rest_limit).await;
    let started = Instant::now();
    let before = cpu::snapshot(&[]);
    let p = ctx
        .processor(topic, &ctx.name("drain-group"), traced)
        .await?;
    let roles = [("processor", p.pid())];
    // the processor's start-up is inside the window; its pid joins the accounting now
    let before = {
        let mut b = cpu::snapshot(&roles);
        b.carry_from(&before);
        b
    };
    let mut first: Option<(Instant, u64)> = None;
    loop {
        let n = procs::durable_count(&ctx.http, &p).await;
        let now = Instant::now();
        if first.is_none() && n > 0 {
            first = Some((now, n));
        }
        if n >= total {
            break;
        }
        if now.duration_since(started) > ctx.plan.catch_up_limit * 5 {
            p.stop().await;
            bail!("drain did not finish ({n} of {total})");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let end = Instant::now();
    let used = before.until(&cpu::snapshot(&roles));
    let peak = p.peak_rss_mb();
    let dropped = p.stop().await.dropped_spans;
    let (stored,): (i64,) = sqlx::query_as("select count(*) from events")
        .fetch_one(&ctx.pool)
        .await?;
    let (dead,): (i64,) = sqlx::query_as("select count(*) from dead_letters")
        .fetch_one(&ctx.pool)
        .await?;
    let (first_at, first_n) = first.unwrap_or((started, 0));
    let steady = end.duration_since(first_at).as_secs_f64();
    let pg = used.seconds.get("postgres").copied().unwrap_or(0.0);
    cpu::rest(&[], ctx.plan.rest_limit).await;
    let copy = copy::fair_copy(&ctx.db_url, PROCESSOR_BATCH, PROCESSOR_WRITERS).await?;
    Ok(DrainRun {
        traced,
        round,
        eps_total: total as f64 / end.duration_since(started).as_secs_f64(),
        // a drain that was done at the first look (a tiny smoke drain) has no steady state
        eps_steady: if steady > 0.0 && first_n < total {
            (total - first_n) as f64 / steady
        } else {
            f64::NAN
        },
        stored: stored as u64,
        dead_lettered: dead as u64,
        cpu_us_per_event: used.per_event(total),
        postgres_cpu_us_per_row: cpu::round1(pg / ((stored + dead).max(1) as f64) * 1e6),
        processor_peak_rss_mb: peak,
        dropped_spans: dropped,
        spans: 2 * stored as u64 + 3 * dead as u64,
        copy_rows_per_s: copy.rows_per_second,
        copy,
    })
}
