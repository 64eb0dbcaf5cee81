//! Batches of 100 events against a traced ingest (no processor: the drain measures that side),
//! counting the events each answer says it accepted.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    context::Ctx,
    cpu,
    wrk::{self, Script, WrkRun},
};

#[derive(Debug, Clone, Serialize)]
pub struct BatchRun {
    #[serde(flatten)]
    pub wrk: WrkRun,
    pub cpu_us_per_event: BTreeMap<String, f64>,
    pub ingest_peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Batch {
    pub runs: Vec<BatchRun>,
    pub dropped_spans: u64,
    /// SERVER spans (one per request) + PRODUCER spans (one per accepted event).
    pub spans: u64,
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Batch> {
    let topic = ctx.topic("batch").await?;
    let ingest = ctx.ingest(&topic, true).await?;
    let roles = [("ingest", ingest.pid())];
    let mut out = Batch::default();
    for round in 0..ctx.plan.runs {
        super::say(&format!(
            "/events/batch of 100, run {}/{}",
            round + 1,
            ctx.plan.runs
        ));
        cpu::rest(&roles, ctx.plan.rest_limit).await;
        let before = cpu::snapshot(&roles);
        let w = wrk::run(
            &ctx.work,
            Script::Batch,
            &ingest.url(""),
            &ctx.key,
            ctx.plan.seconds,
            ctx.plan.batch_connections,
            &ctx.name("batch"),
        )
        .await?;
        let used = before.until(&cpu::snapshot(&roles));
        out.spans += w.requests + w.accepted;
        out.runs.push(BatchRun {
            cpu_us_per_event: used.per_event(w.accepted),
            ingest_peak_rss_mb: ingest.peak_rss_mb(),
            wrk: w,
        });
    }
    out.dropped_spans = ingest.stop().await.dropped_spans;
    Ok(out)
}
