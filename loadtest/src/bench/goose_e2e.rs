//! The reconciling end-to-end run driven by goose, as a user runs it (`make loadtest`): the load
//! tester's default mix of requests (valid, duplicate, malformed, invalid) offered at a fixed rate
//! to a traced ingest with a traced processor behind it; afterwards the load tester waits for the
//! processor and checks every accepted event id against PostgreSQL, and exits non-zero on any
//! event lost, doubled or misplaced. Its accepted events per second are read off ingest's own
//! counter while it runs (goose's start-up and reconciliation are not load).

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::reconcile::Reconciliation;

use super::{context::Ctx, procs, sampling};

/// Requests per second offered: with the default mix (5 % duplicates, 2 % malformed), 93 % of
/// them are new events, so about 5,600 events per second.
const OFFERED_RPS: u32 = 6_000;
const SMOKE_RPS: u32 = 500;

#[derive(Debug, Clone, Serialize)]
pub struct GooseE2e {
    pub offered_rps: u32,
    pub seconds: u64,
    /// Accepted events per second while the load ran, from ingest's counter.
    pub accepted_eps: f64,
    /// New events the load tester saw accepted (duplicates' replays left out), from its
    /// reconciliation.
    pub accepted: u64,
    /// Events lost, doubled or misplaced, from its reconciliation.
    pub problems: u64,
    /// The load tester exited zero: reconciled, and no request got an unexpected answer.
    pub reconciled: bool,
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<GooseE2e> {
    ctx.truncate().await?;
    let topic = ctx.topic("goose-e2e").await?;
    let processor = ctx
        .processor(&topic, &ctx.name("goose-e2e-group"), true)
        .await?;
    let ingest = ctx.ingest(&topic, true).await?;
    let rate = if ctx.plan.smoke {
        SMOKE_RPS
    } else {
        OFFERED_RPS
    };
    let seconds = ctx.plan.e2e_seconds;
    let reports = ctx.work.join("goose-e2e");
    super::say(&format!(
        "goose end to end: {rate} requests/s for {seconds} s, then its reconciliation"
    ));
    let goose = tokio::process::Command::new(&ctx.bins.loadtest)
        .args(["--host", &ingest.url(""), "--rate", &rate.to_string()])
        .args(["--duration", &format!("{seconds}s"), "--tenants", "10"])
        .arg("--report-dir")
        .arg(&reports)
        .args(["--database-url", &ctx.db_url])
        .stdout(std::fs::File::create(ctx.work.join("goose-e2e.log"))?)
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let ingested = || async {
        Some(procs::counter(&ctx.http, &ingest, &["pulse_events_ingested_total"]).await)
    };
    let (status, samples) = sampling::while_running(goose, ingested).await?;
    ingest.stop().await;
    processor.stop().await;
    let (accepted, problems) = reconciliation(&reports)?;
    Ok(GooseE2e {
        offered_rps: rate,
        seconds,
        accepted_eps: sampling::rate(&samples),
        accepted,
        problems,
        reconciled: status.success() && problems == 0,
    })
}

/// Accepted events and problems from the run folder's `reconciliation.json`.
fn reconciliation(reports: &Path) -> anyhow::Result<(u64, u64)> {
    let run = std::fs::read_dir(reports)
        .with_context(|| format!("reading {}", reports.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("reconciliation.json").is_file())
        .context("the load tester wrote no reconciliation.json")?;
    let text = std::fs::read_to_string(run.join("reconciliation.json"))?;
    let found: Reconciliation = serde_json::from_str(&text)?;
    Ok((found.new_events_accepted(), found.problem_count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ledger::Kind, reconcile::Row};

    #[test]
    fn accepted_events_leave_out_the_duplicates_replays() {
        let dir = std::env::temp_dir().join(format!("pulse-goose-e2e-{}", uuid::Uuid::new_v4()));
        let run = dir.join("2026-12-02T15-00-00");
        std::fs::create_dir_all(&run).unwrap();
        let row = |accepted| Row {
            accepted,
            ..Row::default()
        };
        let written = Reconciliation {
            rows: vec![
                (Kind::Valid, row(900)),
                (Kind::Duplicate, row(50)),
                (Kind::Invalid, row(30)),
                (Kind::Batch, row(200)),
            ],
            problem_count: 2,
            ..Reconciliation::default()
        };
        std::fs::write(
            run.join("reconciliation.json"),
            serde_json::to_string(&written).unwrap(),
        )
        .unwrap();
        let read = reconciliation(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.unwrap(), (1_130, 2));
    }
}
