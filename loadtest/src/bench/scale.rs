//! Scale-out on one machine: one ingest and one processor against two ingests behind the same
//! Redis and two processors in one consumer group (all traced), alternating. With two, wrk is
//! split in two (half the connections each, one per ingest, at the same time). CPU per event
//! that stays flat from one to two instances means N machines give N times the throughput.

use std::{collections::BTreeMap, time::Duration};

use serde::Serialize;

use super::{
    context::Ctx,
    cpu,
    procs::{self, Service},
    wrk::{self, Script},
};

/// The processor's histogram of batch durations; its count is the batches written.
const BATCHES: &str = "messaging_process_duration_seconds_count";

#[derive(Debug, Clone, Serialize)]
pub struct ScaleRun {
    pub instances: usize,
    pub round: usize,
    pub accepted: u64,
    pub eps: f64,
    /// The worst p99 of the wrk runs, ms.
    pub p99_ms: f64,
    pub processors_caught_up: bool,
    /// Batches the processors made durable, all instances: each costs a transaction, its COPY
    /// statements and spans, whatever its size.
    pub processor_batches: u64,
    pub cpu_us_per_event: BTreeMap<String, f64>,
    /// Cores each group kept busy on average over the window.
    pub cores: BTreeMap<String, f64>,
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<ScaleRun>> {
    let mut runs = Vec::new();
    for round in 0..ctx.plan.runs {
        for i in 0..2 {
            let instances = 1 + (i + round) % 2;
            super::say(&format!(
                "scale-out: {instances} ingest(s) + {instances} processor(s), run {}/{}",
                round + 1,
                ctx.plan.runs
            ));
            runs.push(once(ctx, instances, round).await?);
        }
    }
    Ok(runs)
}

async fn once(ctx: &Ctx, instances: usize, round: usize) -> anyhow::Result<ScaleRun> {
    let topic = ctx.topic("scale").await?;
    let group = ctx.name("scale-group");
    let mut processors = Vec::new();
    let mut ingests = Vec::new();
    for _ in 0..instances {
        processors.push(ctx.processor(&topic, &group, true).await?);
        ingests.push(ctx.ingest(&topic, true).await?);
    }
    let mut roles: Vec<(&str, u32)> = ingests.iter().map(|s| ("ingest", s.pid())).collect();
    roles.extend(processors.iter().map(|s| ("processor", s.pid())));
    cpu::rest(&roles, ctx.plan.rest_limit).await;
    let before = cpu::snapshot(&roles);
    let connections = ctx.plan.single_connections / instances as u32;
    let targets: Vec<(String, String)> = ingests
        .iter()
        .map(|s| (s.url(""), ctx.name("scale")))
        .collect();
    let runs = futures::future::try_join_all(targets.iter().map(|(url, id)| {
        wrk::run(
            &ctx.work,
            Script::Single,
            url,
            &ctx.key,
            ctx.plan.seconds,
            connections,
            id,
        )
    }))
    .await?;
    let accepted: u64 = runs.iter().map(|r| r.accepted).sum();
    let caught_up = wait_all(ctx, &processors, accepted, ctx.plan.catch_up_limit).await;
    let used = before.until(&cpu::snapshot(&roles));
    let mut processor_batches = 0;
    for p in &processors {
        processor_batches += procs::counter(&ctx.http, p, &[BATCHES]).await;
    }
    for s in ingests.into_iter().chain(processors) {
        s.stop().await;
    }
    let seconds = runs.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let cores = cpu::SIZED
        .iter()
        .map(|g| ((*g).to_owned(), (used.cores(g) * 100.0).round() / 100.0))
        .collect();
    Ok(ScaleRun {
        instances,
        round,
        accepted,
        eps: accepted as f64 / seconds.max(1e-9),
        p99_ms: runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
        processors_caught_up: caught_up,
        processor_batches,
        cpu_us_per_event: used.per_event(accepted),
        cores,
    })
}

async fn wait_all(ctx: &Ctx, processors: &[Service], target: u64, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let mut n = 0;
        for p in processors {
            n += procs::durable_count(&ctx.http, p).await;
        }
        if n >= target {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether a tenant's limit holds across two ingests: what they accepted together against what
/// GCRA allows a fresh tenant (a burst of the minute's limit, then the limit's rate).
#[derive(Debug, Clone, Serialize)]
pub struct LimitCheck {
    pub limit_per_minute: u32,
    pub instances: usize,
    pub seconds: f64,
    pub accepted: u64,
    pub refused: u64,
    /// `limit + limit × seconds ÷ 60`: the burst and the refill over the load's length.
    pub allowed: f64,
    /// Some requests were refused and the accepted are within one event plus half a second of
    /// refill of `allowed` (the window's edges are timed by wrk, the limiter by Redis' clock).
    pub exact: bool,
}

pub async fn limit_check(ctx: &Ctx) -> anyhow::Result<LimitCheck> {
    const LIMIT: u32 = 600;
    super::say("limit exactness: one tenant at 600/min through two ingests");
    let (_, key) = pulse_core::TenantStore::new(ctx.pool.clone())
        .create_with_limits(&ctx.name("limit"), Some(LIMIT as i32), Some(120))
        .await?;
    let key = key.expose().to_owned();
    let topic = ctx.topic("limit").await?;
    let ingests = [
        ctx.ingest(&topic, false).await?,
        ctx.ingest(&topic, false).await?,
    ];
    let targets: Vec<(String, String)> = ingests
        .iter()
        .map(|s| (s.url(""), ctx.name("limit")))
        .collect();
    let runs = futures::future::try_join_all(targets.iter().map(|(url, id)| {
        wrk::run(
            &ctx.work,
            Script::Single,
            url,
            &key,
            ctx.plan.seconds,
            16,
            id,
        )
    }))
    .await?;
    for s in ingests {
        s.stop().await;
    }
    let seconds = runs.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let accepted: u64 = runs.iter().map(|r| r.accepted).sum();
    let limit = f64::from(LIMIT);
    let allowed = limit + limit * seconds / 60.0;
    let slack = 1.0 + limit * 0.5 / 60.0;
    let refused: u64 = runs.iter().map(|r| r.non2xx).sum();
    Ok(LimitCheck {
        limit_per_minute: LIMIT,
        instances: 2,
        seconds,
        accepted,
        refused,
        allowed,
        // a limit never reached (no refusal) proves nothing
        exact: refused > 0 && (accepted as f64 - allowed).abs() <= slack,
    })
}
