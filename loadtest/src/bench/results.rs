//! bench-results.json: every scenario's runs and the figures derived from them (medians of the
//! runs; a ratio is the median of the ratios taken within each round, both sides side by side).
//! The keys of the Python driver are kept; `cpu_us_per_event.{scenario}.{process}`, `vs_seed`,
//! `scale_out` and `sizing_events_per_core_s` are new.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{
    batch::{Batch, BatchRun},
    drain::{Drain, DrainRun},
    e2e::E2eRun,
    fill::Filled,
    goose_e2e::GooseE2e,
    scale::{LimitCheck, ScaleRun},
    single::{FrontRun, GeneratorRun, Single, Variant},
};

pub type CpuTable = BTreeMap<String, BTreeMap<String, f64>>;

#[derive(Debug, Clone, Serialize)]
pub struct VsSeed {
    /// Pulse traced ÷ seed, single events per second (target ≥ 1.5).
    pub single_eps_ratio: f64,
    /// Whole-machine CPU per accepted single event, Pulse traced ÷ seed (target ≤ 0.75).
    pub cpu_per_event_ratio: f64,
    /// Kafka broker CPU per event, Pulse traced ÷ seed (target ≤ 1.0).
    pub kafka_cpu_per_event_ratio: f64,
    /// Redis CPU per event, Pulse traced ÷ seed (target ≤ 1.0).
    pub redis_cpu_per_event_ratio: f64,
    /// The same with Pulse's tracing off.
    pub untraced_single_eps_ratio: f64,
    pub untraced_cpu_per_event_ratio: f64,
    /// The front process alone (ingest ÷ seed), traced.
    pub front_cpu_per_event_ratio: f64,
    /// Kafka CPU per batched event (batch of 100) ÷ the seed's per single event.
    pub kafka_batch_cpu_per_event_ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleSummary {
    pub one_eps: f64,
    pub two_eps: f64,
    /// CPU per event with two instances ÷ with one (target ≤ 1.1), per service and machine.
    pub ingest_cpu_ratio: f64,
    pub processor_cpu_ratio: f64,
    pub machine_cpu_ratio: f64,
    /// Accepted events ÷ processor batches, all instances: the batch closes after
    /// `PULSE_BATCH_WAIT_MS`, so each of two processors fills its batches half as fast.
    pub one_events_per_batch: f64,
    pub two_events_per_batch: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Runs {
    pub single_runs: Vec<FrontRun>,
    pub untraced_runs: Vec<FrontRun>,
    pub seed_runs: Vec<FrontRun>,
    pub bare_runs: Vec<FrontRun>,
    pub generator_runs: Vec<GeneratorRun>,
    pub batch_runs: Vec<BatchRun>,
    pub batch_dropped_spans: u64,
    pub batch_spans: u64,
    pub fill: Option<Filled>,
    pub drain_runs: Vec<DrainRun>,
    pub untraced_drain_runs: Vec<DrainRun>,
    pub e2e_runs: Vec<E2eRun>,
    pub scale_out_runs: Vec<ScaleRun>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Results {
    pub started_at: String,
    pub finished_at: String,
    pub duration_s: u64,
    pub git_commit: String,
    pub machine: String,
    pub smoke: bool,
    pub runs_per_scenario: usize,
    pub seconds_per_run: u64,
    /// The longest rest before a run (0: none, a smoke run).
    pub rest_limit_s: u64,
    pub ingest_single_eps: f64,
    pub ingest_single_p50_ms: f64,
    pub ingest_single_p99_ms: f64,
    pub bare_rps: f64,
    pub ingest_ratio_vs_bare: f64,
    pub ingest_untraced_eps: f64,
    pub tracing_overhead_ratio: f64,
    pub ingest_batch_eps: f64,
    pub ingest_batch_p99_ms: f64,
    pub generator_ratio_vs_wrk: f64,
    pub goose_bare_rps: f64,
    pub processor_eps: f64,
    pub processor_eps_including_startup: f64,
    pub copy_rows_per_s: f64,
    pub processor_ratio_vs_copy: f64,
    pub processor_untraced_eps: f64,
    pub processor_untraced_ratio_vs_copy: f64,
    pub e2e_p99_ms: f64,
    pub e2e_p50_ms: f64,
    pub e2e_rate_eps: f64,
    pub e2e_reconciled: bool,
    pub seed_single_eps: Option<f64>,
    /// (traced − untraced) ÷ untraced whole-machine CPU per single event (target ≤ 0.3).
    pub tracing_machine_cost_ratio: f64,
    /// PostgreSQL CPU per row the traced drain stored, and per row the COPY ceiling wrote.
    pub postgres_cpu_us_per_stored_row: f64,
    pub copy_postgres_cpu_us_per_row: f64,
    pub cpu_us_per_event: CpuTable,
    pub vs_seed: Option<VsSeed>,
    pub scale_out: Option<ScaleSummary>,
    /// One tenant's limit through two ingests at once.
    pub limit_check: Option<LimitCheck>,
    /// The reconciling end-to-end run driven by goose (target ≥ 5,000 accepted events/s).
    pub goose_e2e: Option<GooseE2e>,
    /// Events per second one core of each service handles on the single-event path (traced).
    pub sizing_events_per_core_s: BTreeMap<String, f64>,
    pub graphql: Value,
    /// What was skipped or failed, said plainly.
    pub notes: Vec<String>,
    pub runs: Runs,
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Per-process medians over runs' `cpu_us_per_event` maps.
pub fn cpu_median<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, f64>>,
) -> BTreeMap<String, f64> {
    let maps: Vec<_> = maps.filter(|m| !m.is_empty()).collect();
    let mut keys: Vec<&String> = maps.iter().flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            let v = median(
                maps.iter()
                    .map(|m| m.get(k).copied().unwrap_or(0.0))
                    .collect(),
            );
            (k.clone(), super::cpu::round1(v))
        })
        .collect()
}

fn cpu_of(map: &BTreeMap<String, f64>, process: &str) -> f64 {
    map.get(process).copied().unwrap_or(f64::NAN)
}

/// Ratios `num ÷ den` taken round by round (runs matched by `round`), then the median.
fn paired(num: &[FrontRun], den: &[FrontRun], f: impl Fn(&FrontRun) -> f64) -> f64 {
    median(
        num.iter()
            .filter_map(|a| {
                let b = den.iter().find(|b| b.round == a.round)?;
                Some(f(a) / f(b))
            })
            .collect(),
    )
}

pub fn derive(
    r: &mut Results,
    single: Single,
    batch: Batch,
    drain: Option<Drain>,
    e2e: Vec<E2eRun>,
    scale: Vec<ScaleRun>,
) {
    let pick = |v: Variant| -> Vec<FrontRun> {
        single
            .runs
            .iter()
            .filter(|x| x.variant == v)
            .cloned()
            .collect()
    };
    let (traced, untraced, seed, bare) = (
        pick(Variant::Traced),
        pick(Variant::Untraced),
        pick(Variant::Seed),
        pick(Variant::Bare),
    );
    let eps = |x: &FrontRun| x.wrk.accepted_per_s;
    let machine = |x: &FrontRun| cpu_of(&x.cpu_us_per_event, "machine");
    r.ingest_single_eps = median(traced.iter().map(eps).collect());
    r.ingest_single_p50_ms = median(traced.iter().map(|x| x.wrk.p50_ms).collect());
    r.ingest_single_p99_ms = median(traced.iter().map(|x| x.wrk.p99_ms).collect());
    r.bare_rps = median(bare.iter().map(eps).collect());
    r.ingest_ratio_vs_bare = paired(&traced, &bare, eps);
    r.ingest_untraced_eps = median(untraced.iter().map(eps).collect());
    r.tracing_overhead_ratio = paired(&traced, &untraced, eps);
    r.tracing_machine_cost_ratio = paired(&traced, &untraced, machine) - 1.0;
    r.generator_ratio_vs_wrk = median(
        single
            .generator
            .iter()
            .map(|g| g.goose_rps / g.wrk_rps)
            .collect(),
    );
    r.goose_bare_rps = median(single.generator.iter().map(|g| g.goose_rps).collect());
    let cpu = &mut r.cpu_us_per_event;
    for (name, runs) in [
        ("single", &traced),
        ("single_untraced", &untraced),
        ("single_seed", &seed),
        ("single_bare", &bare),
    ] {
        if !runs.is_empty() {
            cpu.insert(
                name.into(),
                cpu_median(runs.iter().map(|x| &x.cpu_us_per_event)),
            );
        }
    }
    if !seed.is_empty() {
        r.seed_single_eps = Some(median(seed.iter().map(eps).collect()));
        let proc_ratio = |a: &[FrontRun], p: &'static str, q: &'static str| {
            median(
                a.iter()
                    .filter_map(|x| {
                        let s = seed.iter().find(|s| s.round == x.round)?;
                        Some(cpu_of(&x.cpu_us_per_event, p) / cpu_of(&s.cpu_us_per_event, q))
                    })
                    .collect(),
            )
        };
        let batch_kafka = median(
            batch
                .runs
                .iter()
                .map(|b| cpu_of(&b.cpu_us_per_event, "kafka"))
                .collect(),
        );
        let seed_kafka = median(
            seed.iter()
                .map(|s| cpu_of(&s.cpu_us_per_event, "kafka"))
                .collect(),
        );
        r.vs_seed = Some(VsSeed {
            single_eps_ratio: paired(&traced, &seed, eps),
            cpu_per_event_ratio: paired(&traced, &seed, machine),
            kafka_cpu_per_event_ratio: proc_ratio(&traced, "kafka", "kafka"),
            redis_cpu_per_event_ratio: proc_ratio(&traced, "redis", "redis"),
            untraced_single_eps_ratio: paired(&untraced, &seed, eps),
            untraced_cpu_per_event_ratio: paired(&untraced, &seed, machine),
            front_cpu_per_event_ratio: proc_ratio(&traced, "ingest", "seed"),
            kafka_batch_cpu_per_event_ratio: batch_kafka / seed_kafka,
        });
    }
    if let Some(single_cpu) = r.cpu_us_per_event.get("single") {
        r.sizing_events_per_core_s = super::cpu::SIZED
            .iter()
            .filter_map(|p| {
                let us = single_cpu.get(*p).copied()?;
                (us > 0.0).then(|| ((*p).to_owned(), (1e6 / us).round()))
            })
            .collect();
    }

    r.ingest_batch_eps = median(batch.runs.iter().map(|b| b.wrk.accepted_per_s).collect());
    r.ingest_batch_p99_ms = median(batch.runs.iter().map(|b| b.wrk.p99_ms).collect());
    if !batch.runs.is_empty() {
        r.cpu_us_per_event.insert(
            "batch".into(),
            cpu_median(batch.runs.iter().map(|b| &b.cpu_us_per_event)),
        );
    }

    if let Some(drain) = drain {
        let (dt, du): (Vec<DrainRun>, Vec<DrainRun>) =
            drain.runs.into_iter().partition(|d| d.traced);
        r.processor_eps = median(dt.iter().map(|d| d.eps_steady).collect());
        r.processor_eps_including_startup = median(dt.iter().map(|d| d.eps_total).collect());
        r.copy_rows_per_s = median(
            dt.iter()
                .chain(&du)
                .map(|d| d.copy.rows_per_second)
                .collect(),
        );
        r.processor_ratio_vs_copy = median(
            dt.iter()
                .map(|d| d.eps_steady / d.copy.rows_per_second)
                .collect(),
        );
        r.processor_untraced_eps = median(du.iter().map(|d| d.eps_steady).collect());
        r.processor_untraced_ratio_vs_copy = median(
            du.iter()
                .map(|d| d.eps_steady / d.copy.rows_per_second)
                .collect(),
        );
        r.postgres_cpu_us_per_stored_row =
            median(dt.iter().map(|d| d.postgres_cpu_us_per_row).collect());
        r.copy_postgres_cpu_us_per_row = median(
            dt.iter()
                .chain(&du)
                .map(|d| d.copy.postgres_cpu_us_per_row)
                .collect(),
        );
        for (name, runs) in [("drain", &dt), ("drain_untraced", &du)] {
            if !runs.is_empty() {
                r.cpu_us_per_event.insert(
                    name.into(),
                    cpu_median(runs.iter().map(|d| &d.cpu_us_per_event)),
                );
            }
        }
        let mut copy = BTreeMap::new();
        copy.insert(
            "postgres".to_owned(),
            super::cpu::round1(r.copy_postgres_cpu_us_per_row),
        );
        r.cpu_us_per_event.insert("copy".into(), copy);
        r.runs.fill = Some(drain.fill);
        r.runs.drain_runs = dt;
        r.runs.untraced_drain_runs = du;
    }

    r.e2e_p99_ms = median(e2e.iter().map(|e| e.p99_ms).collect());
    r.e2e_p50_ms = median(e2e.iter().map(|e| e.p50_ms).collect());
    r.e2e_rate_eps = median(e2e.iter().map(|e| e.rate_eps).collect());
    r.e2e_reconciled = !e2e.is_empty() && e2e.iter().all(|e| e.reconciled);
    if !e2e.is_empty() {
        r.cpu_us_per_event.insert(
            "e2e".into(),
            cpu_median(e2e.iter().map(|e| &e.cpu_us_per_event)),
        );
    }

    let of = |n: usize| -> Vec<&ScaleRun> { scale.iter().filter(|s| s.instances == n).collect() };
    let per_batch = |runs: &[&ScaleRun]| {
        median(
            runs.iter()
                .map(|s| s.accepted as f64 / s.processor_batches as f64)
                .collect(),
        )
    };
    let (one, two) = (of(1), of(2));
    if !one.is_empty() && !two.is_empty() {
        let c1 = cpu_median(one.iter().map(|s| &s.cpu_us_per_event));
        let c2 = cpu_median(two.iter().map(|s| &s.cpu_us_per_event));
        let ratio = |p: &str| cpu_of(&c2, p) / cpu_of(&c1, p);
        r.scale_out = Some(ScaleSummary {
            one_eps: median(one.iter().map(|s| s.eps).collect()),
            two_eps: median(two.iter().map(|s| s.eps).collect()),
            ingest_cpu_ratio: ratio("ingest"),
            processor_cpu_ratio: ratio("processor"),
            machine_cpu_ratio: ratio("machine"),
            one_events_per_batch: per_batch(&one),
            two_events_per_batch: per_batch(&two),
        });
        r.cpu_us_per_event.insert("scale_out_1".into(), c1);
        r.cpu_us_per_event.insert("scale_out_2".into(), c2);
    }

    r.runs.single_runs = traced;
    r.runs.untraced_runs = untraced;
    r.runs.seed_runs = seed;
    r.runs.bare_runs = bare;
    r.runs.generator_runs = single.generator;
    r.runs.batch_runs = batch.runs;
    r.runs.batch_dropped_spans = batch.dropped_spans;
    r.runs.batch_spans = batch.spans;
    r.runs.e2e_runs = e2e;
    r.runs.scale_out_runs = scale;
}
