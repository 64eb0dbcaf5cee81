//! Single events, side by side in one run: Pulse traced, Pulse with tracing off, the seed Go
//! ingest and the bare handler, under the same wrk script and connections, in an order that
//! rotates every round, each after the same rest. A processor (traced only with traced Pulse)
//! consumes each run's own topic, so the CPU per event covers the whole path to PostgreSQL, and
//! the window closes once it has stored what was accepted. Then goose against wrk on the bare
//! handler: is the generator the limit?

use std::{collections::BTreeMap, time::Instant};

use serde::Serialize;

use super::{
    context::Ctx,
    cpu,
    procs::{self, Service},
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
    let mut goose = tokio::process::Command::new(&ctx.bins.loadtest)
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
    // the handler's count, sampled while goose runs: its rate is taken between the first sample
    // that saw requests and the last that saw more, as wrk's is over its own run — goose's
    // start-up (tenants, API keys) and its reconciliation afterwards are not load
    let mut samples = vec![(Instant::now(), count().await.unwrap_or(0))];
    let status = loop {
        tokio::select! {
            status = goose.wait() => break status?,
            () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {
                if let Some(n) = count().await {
                    samples.push((Instant::now(), n));
                }
            }
        }
    };
    if !status.success() {
        // the reconciliation finds no processor behind the bare handler; the rate still counts
        super::say("goose on the bare handler exited non-zero (expected: nothing behind it)");
    }
    Ok(sending_rate(&samples))
}

/// Requests per second between the first sample after requests began and the last that still
/// saw new ones; 0 with fewer than two such samples.
pub fn sending_rate(samples: &[(Instant, u64)]) -> f64 {
    let Some(&(_, idle)) = samples.first() else {
        return 0.0;
    };
    let first = samples.iter().position(|&(_, n)| n > idle);
    let last = samples
        .windows(2)
        .rposition(|w| w[1].1 > w[0].1)
        .map(|i| i + 1);
    match (first, last) {
        (Some(a), Some(b)) if b > a => {
            let (ta, na) = samples[a];
            let (tb, nb) = samples[b];
            (nb - na) as f64 / (tb - ta).as_secs_f64()
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_sending_rate_leaves_out_start_up_and_shutdown() {
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        // idle for a second, 1,000/s from 1.5 s to 3.5 s, idle again
        let samples = [
            (at(0.0), 50),
            (at(1.0), 50),
            (at(1.5), 550),
            (at(2.5), 1550),
            (at(3.5), 2550),
            (at(4.5), 2550),
            (at(5.5), 2550),
        ];
        assert!((sending_rate(&samples) - 1000.0).abs() < 1e-6);
        assert_eq!(sending_rate(&samples[..2]), 0.0);
        assert_eq!(sending_rate(&[]), 0.0);
    }
}
