//! Overload: the stack's capacity measured with closed-loop clients, then `factor` times that
//! offered open-loop for a while, to tenants whose limits add up to the capacity. Ingest must shed
//! (429, 503) rather than queue, accepted requests must stay fast, memory bounded, nothing
//! acknowledged lost, and the stack must be back to normal on its own when the load stops.
//!
//! A generator on the same two cores cannot offer three times what ingest can take, so the stack
//! runs ingest with a small in-flight bound ([`MAX_IN_FLIGHT`]): the 512 open-loop clients exceed
//! it, and what the bound does under overload — shed at once with 503 `overloaded` — is what this
//! phase shows.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::{
    faults::describe_statuses,
    load::{Load, LoadConfig},
    stack::Stack,
};
use crate::reconcile;

/// `PULSE_MAX_IN_FLIGHT` of the chaos stack's ingest instances: above the fault phases' and the
/// capacity probe's clients per instance (16, 32), below the overload's (256).
pub const MAX_IN_FLIGHT: usize = 64;

/// The slowest a shed answer (429, 503) may be at p99: shedding must be quick.
const SHED_P99_LIMIT_MS: f64 = 250.0;
/// The slowest an accepted request may be at p99 under overload: bounded, not queueing.
const ACCEPTED_P99_LIMIT_MS: f64 = 1000.0;

#[derive(Debug, Clone)]
pub struct OverloadReport {
    /// Accepted events per second with closed-loop clients.
    pub capacity: f64,
    /// Requests per second offered during the overload.
    pub offered: f64,
    /// Answers per second received during the overload.
    pub answered: f64,
    pub statuses: BTreeMap<u16, u64>,
    /// Requests the clients could not even start (every client busy).
    pub skipped: u64,
    pub accepted_p50_ms: f64,
    pub accepted_p99_ms: f64,
    /// Answers 429 and 503, and how fast they came at p99.
    pub shed: u64,
    pub shed_p99_ms: f64,
    pub peak_rss_kib: Vec<(String, u64)>,
    pub lost: u64,
    pub duplicated: u64,
    pub server_errors: u64,
    /// From the end of the load until a request is answered 202 within 100 ms again.
    pub recovery: Option<Duration>,
}

impl OverloadReport {
    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.server_errors == 0
            && self.recovery.is_some()
            && self.shed > 0
            && self.shed_p99_ms <= SHED_P99_LIMIT_MS
            && self.accepted_p99_ms <= ACCEPTED_P99_LIMIT_MS
    }

    pub fn describe(&self) -> String {
        let rss: Vec<String> = self
            .peak_rss_kib
            .iter()
            .map(|(name, kib)| format!("{name} {} MiB", kib / 1024))
            .collect();
        format!(
            "overload: capacity {:.0} events/s; offered {:.0} req/s ({:.1}x), answered {:.0}/s, \
             {} not started; answers {}; accepted p50 {:.1} ms p99 {:.1} ms (limit {:.0}); \
             shed {} at p99 {:.1} ms (limit {:.0}); peak RSS {}; \
             lost {}, duplicated {}, 5xx other than 503: {}; back to normal {} after the load \
             stopped: {}",
            self.capacity,
            self.offered,
            self.offered / self.capacity.max(1.0),
            self.answered,
            self.skipped,
            describe_statuses(&self.statuses),
            self.accepted_p50_ms,
            self.accepted_p99_ms,
            ACCEPTED_P99_LIMIT_MS,
            self.shed,
            self.shed_p99_ms,
            SHED_P99_LIMIT_MS,
            rss.join(", "),
            self.lost,
            self.duplicated,
            self.server_errors,
            self.recovery.map_or_else(
                || "never".to_owned(),
                |d| format!("{:.1}s", d.as_secs_f64())
            ),
            if self.passed() { "PASS" } else { "FAIL" }
        )
    }
}

fn load_config(
    stack: &Stack,
    tenants: Vec<(Uuid, String)>,
    rate: u32,
    clients: usize,
) -> LoadConfig {
    LoadConfig {
        targets: stack.targets(),
        tenants,
        rate,
        clients,
        keyed_pct: 50.0,
        resend_pct: 0.0,
        retry_window: Duration::ZERO,
        timeout: Duration::from_secs(10),
    }
}

pub async fn run(
    stack: &mut Stack,
    measure: Duration,
    duration: Duration,
    factor: f64,
) -> anyhow::Result<OverloadReport> {
    // capacity: as fast as 64 clients go
    let probe = Load::start(load_config(stack, stack.tenants.clone(), 0, 64));
    tokio::time::sleep(measure).await;
    let record = probe.stop().await;
    let capacity = record.ledger.snapshot().accepted.len() as f64 / measure.as_secs_f64();

    // tenants whose limits add up to the capacity, offered `factor` times it
    let per_tenant = ((capacity * 60.0) / 10.0).max(60.0) as i32;
    let tenants = stack.add_tenants(10, per_tenant).await?;
    let rate = (capacity * factor).max(1.0) as u32;
    let load = Load::start(load_config(stack, tenants.clone(), rate, 512));
    tokio::time::sleep(duration).await;
    let peak_rss_kib = stack.peak_rss();
    let record = load.stop().await;
    let stopped = Instant::now();

    let answers = record.answers();
    let mut statuses = BTreeMap::new();
    for a in &answers {
        *statuses.entry(a.status).or_insert(0) += 1;
    }
    let took_ms = |wanted: &dyn Fn(u16) -> bool| -> Vec<f64> {
        let mut ms: Vec<f64> = answers
            .iter()
            .filter(|a| wanted(a.status))
            .map(|a| a.took.as_secs_f64() * 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let accepted_ms = took_ms(&|s| s == 202);
    let shed_ms = took_ms(&|s| s == 429 || s == 503);
    let recovery = recovery(stack, stopped).await;
    let snapshot = record.ledger.snapshot();
    let tenant_ids: Vec<Uuid> = tenants.iter().map(|(id, _)| *id).collect();
    let reconciliation = reconcile::reconcile(
        &stack.pool,
        &snapshot,
        &tenant_ids,
        Duration::from_secs(60),
        |_, _| true,
    )
    .await?;
    let total = reconciliation.total();
    Ok(OverloadReport {
        capacity,
        offered: f64::from(rate),
        answered: answers.len() as f64 / duration.as_secs_f64(),
        skipped: record.skipped.load(std::sync::atomic::Ordering::Relaxed),
        server_errors: answers
            .iter()
            .filter(|a| a.status >= 500 && a.status != 503)
            .count() as u64,
        statuses,
        accepted_p50_ms: percentile(&accepted_ms, 0.50),
        accepted_p99_ms: percentile(&accepted_ms, 0.99),
        shed: shed_ms.len() as u64,
        shed_p99_ms: percentile(&shed_ms, 0.99),
        peak_rss_kib,
        lost: total.missing,
        duplicated: total.duplicated,
        recovery,
    })
}

/// The `p` quantile of sorted `values` (0 when empty).
fn percentile(values: &[f64], p: f64) -> f64 {
    values
        .get(((values.len() as f64 * p) as usize).min(values.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// Time from `since` until one of the stack's regular tenants gets a 202 within 100 ms.
async fn recovery(stack: &Stack, since: Instant) -> Option<Duration> {
    let (_, key) = stack.tenants.first()?;
    let target = stack.targets().into_iter().next()?;
    while since.elapsed() < Duration::from_secs(60) {
        let started = Instant::now();
        let ok = stack
            .http
            .post(format!("{target}/events"))
            .header("x-api-key", key)
            .header("content-type", "application/json")
            .body(r#"{"event_type":"chaos.probe","payload":{}}"#)
            .send()
            .await
            .is_ok_and(|r| r.status() == 202);
        if ok && started.elapsed() < Duration::from_millis(100) {
            return Some(since.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
