//! BENCHMARKS.md from one run's [`Results`]: every figure comes from that run; sections of the
//! previous page whose heading says "quoted" (figures from other runs, with their dates) are
//! carried over verbatim.

use std::{collections::BTreeMap, fmt::Write as _};

mod tables;

use super::results::{Results, median};
use tables::{cpu_table, limits, scale_out, side_by_side};

/// `1234567.8` → `1,234,568`; not finite → `—`.
pub(crate) fn n0(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

pub(crate) fn nd(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "—".into()
    }
}

pub(crate) fn mark(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

pub(crate) fn get(m: Option<&BTreeMap<String, f64>>, k: &str) -> f64 {
    m.and_then(|m| m.get(k).copied()).unwrap_or(f64::NAN)
}

/// The sections of `previous` whose `## ` heading contains "quoted".
pub fn quoted_sections(previous: &str) -> Vec<String> {
    let mut sections = Vec::new();
    let mut current: Option<String> = None;
    for line in previous.lines() {
        if line.starts_with("## ") {
            if let Some(s) = current.take() {
                sections.push(s.trim_end().to_owned());
            }
            if line.to_lowercase().contains("quoted") {
                current = Some(String::new());
            }
        }
        if let Some(s) = current.as_mut() {
            s.push_str(line);
            s.push('\n');
        }
    }
    if let Some(s) = current {
        sections.push(s.trim_end().to_owned());
    }
    sections
}

pub fn render(r: &Results, graphql: Result<&str, &str>, quoted: &[String]) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Written by `make bench` (`pulse-bench run{}`) from {} to {} ({} s) at git commit `{}`. \
         Every figure on this page comes from that run — medians of {} run(s) of {} s of load each — \
         except the sections whose title says *quoted*, which name the run they come from. Both \
         sides of every ratio were measured in the same round, one after the other: the order of \
         the variants rotates from round to round, and {}. Everything shares one machine: Kafka, \
         PostgreSQL, Redis, Jaeger, the services and the load generators.\n",
        if r.smoke { " --smoke" } else { "" },
        r.started_at,
        r.finished_at,
        r.duration_s,
        r.git_commit,
        r.runs_per_scenario,
        r.seconds_per_run,
        if r.rest_limit_s == 0 {
            "no run rests first (a smoke run checks the driver, not the figures)".to_owned()
        } else {
            format!(
                "every run starts after the same rest (until Jaeger, PostgreSQL and the services \
                 are idle, at most {} s)",
                r.rest_limit_s
            )
        }
    );
    let _ = writeln!(w, "**Machine:** {}.\n", r.machine);
    for note in &r.notes {
        let _ = writeln!(w, "> {note}\n");
    }

    headline(w, r);
    side_by_side(w, r);
    cpu_table(w, r);
    scale_out(w, r);
    limits(w, r);
    // pulse-graphql-bench's fragment brings its own `## ` title
    const TITLE: &str = "## GraphQL (`pulse-graphql-bench`, run last)";
    match graphql {
        Ok(fragment) if fragment.trim_start().starts_with("## ") => {
            let _ = writeln!(w, "{}\n", fragment.trim());
        }
        Ok(fragment) => {
            let _ = writeln!(w, "{TITLE}\n\n{}\n", fragment.trim());
        }
        Err(why) => {
            let _ = writeln!(w, "{TITLE}\n\n{why}\n");
        }
    }
    let _ = writeln!(w, "{}", include_str!("method.md").trim());
    let _ = writeln!(w);
    for q in quoted {
        let _ = writeln!(w, "{q}\n");
    }
    let runs = serde_json::to_string_pretty(&r.runs).unwrap_or_default();
    let _ = writeln!(w, "## Raw runs (this run)\n\n```json\n{runs}\n```");
    md
}

fn headline(w: &mut String, r: &Results) {
    let single = r.cpu_us_per_event.get("single");
    let max_rss = |runs: &[f64]| runs.iter().copied().fold(f64::NAN, f64::max);
    let ingest_rss = max_rss(
        &r.runs
            .single_runs
            .iter()
            .map(|x| x.peak_rss_mb)
            .collect::<Vec<_>>(),
    );
    let batch_rss = max_rss(
        &r.runs
            .batch_runs
            .iter()
            .map(|x| x.ingest_peak_rss_mb)
            .collect::<Vec<_>>(),
    );
    let pct = |d: u64, t: u64| {
        if t == 0 {
            f64::NAN
        } else {
            100.0 * d as f64 / t as f64
        }
    };
    let single_drop = pct(
        r.runs.single_runs.iter().map(|x| x.dropped_spans).sum(),
        r.runs.single_runs.iter().map(|x| x.spans).sum(),
    );
    let batch_drop = pct(r.runs.batch_dropped_spans, r.runs.batch_spans);
    let drain_drop = pct(
        r.runs.drain_runs.iter().map(|x| x.dropped_spans).sum(),
        r.runs.drain_runs.iter().map(|x| x.spans).sum(),
    );
    let drain_rss = |runs: &[super::drain::DrainRun]| {
        runs.iter()
            .map(|x| x.processor_peak_rss_mb)
            .fold(f64::NAN, f64::max)
    };
    let e2e_after = |p: f64| {
        median(
            r.runs
                .e2e_runs
                .iter()
                .map(|e| {
                    if p < 0.9 {
                        e.statement_end_to_commit_p50_ms
                    } else {
                        e.statement_end_to_commit_p99_ms
                    }
                })
                .collect(),
        )
    };
    let e2e_min = r
        .runs
        .e2e_runs
        .iter()
        .map(|e| e.rate_eps)
        .fold(f64::NAN, f64::min);
    let rows: Vec<(String, String, &str, &str)> = vec![
        (
            "ingest, single event (auth + GCRA + Idempotency-Key + Kafka ack), traced, processor running, accepted events/s".into(),
            n0(r.ingest_single_eps),
            "≥ 15,000",
            mark(r.ingest_single_eps >= 15_000.0),
        ),
        (
            "ingest single-event p50 / p99 at that load (128 connections), ms".into(),
            format!("{} / {}", nd(r.ingest_single_p50_ms, 1), nd(r.ingest_single_p99_ms, 1)),
            "p99 < 50 at 10k/s",
            mark(r.ingest_single_p99_ms < 50.0 && r.ingest_single_eps >= 10_000.0),
        ),
        ("bare axum handler (reads the body, mimalloc), same wrk script, requests/s".into(), n0(r.bare_rps), "—", ""),
        ("ingest ÷ bare handler".into(), nd(r.ingest_ratio_vs_bare, 2), "—", ""),
        (
            "ingest, /events/batch of 100, accepted events/s (counted from the answers)".into(),
            n0(r.ingest_batch_eps),
            "≥ 150,000",
            mark(r.ingest_batch_eps >= 150_000.0),
        ),
        (
            "ingest peak RSS (VmHWM) under single-event / batch load, MiB".into(),
            format!("{} / {}", n0(ingest_rss), n0(batch_rss)),
            "< 100",
            mark(ingest_rss.max(batch_rss) < 100.0),
        ),
        (
            "spans the exporter dropped (queue full) in the single / batch / drain runs, % of spans".into(),
            format!("{} / {} / {}", nd(single_drop, 1), nd(batch_drop, 1), nd(drain_drop, 1)),
            "0",
            mark(single_drop == 0.0 && batch_drop == 0.0 && drain_drop == 0.0),
        ),
        ("ingest with tracing off (OTEL_SDK_DISABLED, processor too), events/s".into(), n0(r.ingest_untraced_eps), "—", ""),
        (
            "tracing overhead: traced ÷ tracing off, events/s".into(),
            nd(r.tracing_overhead_ratio, 2),
            "≥ 0.85",
            mark(r.tracing_overhead_ratio >= 0.85),
        ),
        (
            "processor drain (steady state), events/s".into(),
            n0(r.processor_eps),
            "≥ 25,000",
            mark(r.processor_eps >= 25_000.0),
        ),
        (
            "processor drain with tracing off, events/s · ÷ COPY".into(),
            format!("{} · {}", n0(r.processor_untraced_eps), nd(r.processor_untraced_ratio_vs_copy, 2)),
            "—",
            "",
        ),
        ("processor drain including start-up and group join, events/s".into(), n0(r.processor_eps_including_startup), "—", ""),
        (
            "processor peak RSS (VmHWM) during a traced / untraced drain, MiB".into(),
            format!("{} / {}", n0(drain_rss(&r.runs.drain_runs)), n0(drain_rss(&r.runs.untraced_drain_runs))),
            "—",
            "",
        ),
        (
            format!(
                "COPY ceiling: the drain's rows (events + dead letters), batches of {}, {} at once, rows/s",
                n0(super::drain::PROCESSOR_BATCH as f64),
                super::drain::PROCESSOR_WRITERS
            ),
            n0(r.copy_rows_per_s),
            "—",
            "",
        ),
        (
            "end to end (HTTP receipt → commit seen, event by event) p50 / p99, ms".into(),
            format!("{} / {}", nd(r.e2e_p50_ms, 1), nd(r.e2e_p99_ms, 1)),
            "p99 < 500 at 5,000/s",
            mark(r.e2e_p99_ms < 500.0 && e2e_min >= 4_500.0 && r.e2e_reconciled),
        ),
        (
            "end to end: accepted events/s offered by the driver · every accepted event committed once".into(),
            format!("{} · {}", n0(r.e2e_rate_eps), if r.e2e_reconciled { "yes" } else { "no" }),
            "—",
            "",
        ),
        (
            "of which from the end of the row's COPY statement to its commit seen, p50 / p99, ms"
                .into(),
            format!("{} / {}", nd(e2e_after(0.5), 1), nd(e2e_after(0.99), 1)),
            "—",
            "",
        ),
        (
            "whole machine, µs of CPU per single event (traced)".into(),
            nd(get(single, "machine"), 1),
            "—",
            "",
        ),
    ];
    let _ = writeln!(w, "| measurement | result | target | |\n|---|---|---|---|");
    for (a, b, c, d) in rows {
        let _ = writeln!(w, "| {a} | {b} | {c} | {d} |");
    }
    let _ = writeln!(w);
}
