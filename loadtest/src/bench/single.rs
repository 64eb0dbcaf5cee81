//! Single events, side by side in one run: Pulse traced, Pulse with tracing off, the seed Go
//! ingest and the bare handler, under the same wrk script and connections, in an order that
//! rotates every round, each after the same rest. A processor (traced only with traced Pulse)
//! consumes each run's own topic, so the CPU per event covers the whole path to PostgreSQL, and
//! the window closes once it has stored what was accepted. Then goose against wrk on the bare
//! handler: is the generator the limit?

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    context::Ctx,
    cpu,
    procs::{self, Service},
    sampling,
    wrk::{self, Script, WrkRun},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    Traced,
    Untraced,
    Seed,
    Bare,
}

impl Variant {
    pub fn label(self) -> &'static str {
        match self {
            Variant::Traced => "Pulse (traced)",
            Variant::Untraced => "Pulse (tracing off)",
            Variant::Seed => "seed Go ingest",
            Variant::Bare => "bare handler",
        }
    }
}

/// One wrk run against one front (ingest, seed or bare), with what it cost.
#[derive(Debug, Clone, Serialize)]
pub struct FrontRun {
    pub variant: Variant,
    pub round: usize,
    #[serde(flatten)]
    pub wrk: WrkRun,
    /// The processor stored every accepted event before the window closed.
    pub processor_caught_up: bool,
    pub cpu_us_per_event: BTreeMap<String, f64>,
    pub peak_rss_mb: f64,
    pub dropped_spans: u64,
    /// Spans the front made (SERVER + PRODUCER per accepted Pulse event).
    pub spans: u64,
    pub rest_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GeneratorRun {
    pub wrk_rps: f64,
    pub goose_rps: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Single {
    pub runs: Vec<FrontRun>,
    pub generator: Vec<GeneratorRun>,
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Single> {
    let mut out = Single::default();
    let bare = ctx.bare().await?;
    let order = [
        Variant::Traced,
        Variant::Untraced,
        Variant::Seed,
        Variant::Bare,
    ];
    for round in 0..ctx.plan.runs {
        for i in 0..order.len() {
            let variant = order[(i + round) % order.len()];
            if variant == Variant::Seed && ctx.bins.seed.is_err() {
                continue;
            }
            super::say(&format!(
                "single events, {}, run {}/{}",
                variant.label(),
                round + 1,
                ctx.plan.runs
            ));
            out.runs.push(one(ctx, variant, round, &bare).await?);
        }
        super::say(&format!(
            "goose vs wrk on the bare handler, run {}/{}",
            round + 1,
            ctx.plan.runs
        ));
        cpu::rest(&[("bare", bare.pid())], ctx.plan.rest_limit).await;
        let w = wrk::run(
            &ctx.work,
            Script::Single,
            &bare.url(""),
            &ctx.key,
            ctx.plan.seconds,
            64,
            &ctx.name("gen"),
        )
        .await?;
        let goose_rps = goose_on_bare(ctx, &bare).await?;
        out.generator.push(GeneratorRun {
            wrk_rps: w.rps,
            goose_rps,
        });
    }
    bare.stop().await;
    Ok(out)
}

async fn one(
    ctx: &Ctx,
    variant: Variant,
    round: usize,
    bare: &Service,
) -> anyhow::Result<FrontRun> {
    let (front, processor) = if variant == Variant::Bare {
        (None, None)
    } else {
        let topic = ctx.topic("single").await?;
        let processor = ctx
            .processor(&topic, &ctx.name("group"), variant == Variant::Traced)
            .await?;
        let front = match variant {
            Variant::Seed => ctx.seed(&topic).await?,
            _ => Some(ctx.ingest(&topic, variant == Variant::Traced).await?),
        };
        (front, Some(processor))
    };
    let target = front.as_ref().unwrap_or(bare);
    let role = match variant {
        Variant::Seed => "seed",
        Variant::Bare => "bare",
        _ => "ingest",
    };
    let mut roles = vec![(role, target.pid())];
    if let Some(p) = &processor {
        roles.push(("processor", p.pid()));
    }
    let rest_s = cpu::rest(&roles, ctx.plan.rest_limit).await;
    let before = cpu::snapshot(&roles);
    let w = wrk::run(
        &ctx.work,
        Script::Single,
        &target.url(""),
        &ctx.key,
        ctx.plan.seconds,
        ctx.plan.single_connections,
        &ctx.name("single"),
    )
    .await?;
    let caught_up = match &processor {
        Some(p) => procs::wait_durable(&ctx.http, p, w.accepted, ctx.plan.catch_up_limit).await,
        None => true,
    };
    let used = before.until(&cpu::snapshot(&roles));
    let peak_rss_mb = target.peak_rss_mb();
    let mut dropped_spans = 0;
    if let Some(f) = front {
        dropped_spans += f.stop().await.dropped_spans;
    }
    if let Some(p) = processor {
        p.stop().await;
    }
    let traced = variant == Variant::Traced;
    Ok(FrontRun {
        variant,
        round,
        processor_caught_up: caught_up,
        cpu_us_per_event: used.per_event(w.accepted),
        peak_rss_mb,
        dropped_spans,
        spans: if traced { 2 * w.accepted } else { 0 },
        wrk: w,
        rest_s,
    })
}

/// goose (`pulse-loadtest`) as fast as it goes on the bare handler; its rate read off the
/// handler's own counter over the load window.
async fn goose_on_bare(ctx: &Ctx, bare: &Service) -> anyhow::Result<f64> {
    let count = || async {
        let r = ctx.http.get(bare.url("/count")).send().await.ok()?;
        r.text().await.ok()?.trim().parse::<u64>().ok()
    };
    let seconds = ctx.plan.seconds;
    let goose = tokio::process::Command::new(&ctx.bins.loadtest)
        .args(["--host", &bare.url(""), "--rate", "0", "--users", "64"])
        .args(["--duration", &format!("{seconds}s")])
        .args(["--dup-pct", "0", "--bad-pct", "0", "--invalid-pct", "0"])
        .args(["--batch-pct", "0", "--tenants", "2", "--drain-timeout", "1"])
        .arg("--report-dir")
        .arg(ctx.work.join("goose-bare"))
        .args(["--database-url", &ctx.db_url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    // goose's start-up (tenants, API keys) and its reconciliation afterwards are not load
    let (status, samples) = sampling::while_running(goose, count).await?;
    if !status.success() {
        // the reconciliation finds no processor behind the bare handler; the rate still counts
        super::say("goose on the bare handler exited non-zero (expected: nothing behind it)");
    }
    Ok(sampling::rate(&samples))
}
