//! BENCHMARKS.md from one run's [`Results`]: every figure comes from that run; sections of the
//! previous page whose heading says "quoted" (figures from other runs, with their dates) are
//! carried over verbatim.

use std::{collections::BTreeMap, fmt::Write as _};

use super::{
    cpu::PROCESSES,
    results::{Results, median},
};

/// `1234567.8` → `1,234,568`; not finite → `—`.
fn n0(v: f64) -> String {
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

fn nd(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "—".into()
    }
}

fn mark(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

fn get(m: Option<&BTreeMap<String, f64>>, k: &str) -> f64 {
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
         the variants rotates from round to round, and every run starts after the same rest (until \
         Jaeger, PostgreSQL and the services are idle). Everything shares one machine: Kafka, \
         PostgreSQL, Redis, Jaeger, the services and the load generators.\n",
        if r.smoke { " --smoke" } else { "" },
        r.started_at,
        r.finished_at,
        r.duration_s,
        r.git_commit,
        r.runs_per_scenario,
        r.seconds_per_run
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
    let _ = writeln!(w, "## GraphQL (`pulse-graphql-bench`, run last)\n");
    match graphql {
        Ok(fragment) => {
            let _ = writeln!(w, "{}\n", fragment.trim());
        }
        Err(why) => {
            let _ = writeln!(w, "{why}\n");
        }
    }
    let _ = writeln!(w, "{}", METHOD.trim());
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
            "COPY ceiling: the drain's rows (events + dead letters), batches of 5,000, 3 at once, rows/s".into(),
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
        ("whole machine, µs of CPU per single event (traced)".into(), nd(get(single, "machine"), 1), "—", ""),
    ];
    let _ = writeln!(w, "| measurement | result | target | |\n|---|---|---|---|");
    for (a, b, c, d) in rows {
        let _ = writeln!(w, "| {a} | {b} | {c} | {d} |");
    }
    let _ = writeln!(w);
}

fn side_by_side(w: &mut String, r: &Results) {
    let _ = writeln!(
        w,
        "## Side by side with the seed Go ingest (issue 18's yardsticks)\n"
    );
    let Some(vs) = &r.vs_seed else {
        let _ = writeln!(w, "Not measured in this run (see the note at the top).\n");
        targets(w, r);
        return;
    };
    let _ = writeln!(
        w,
        "The same wrk script (fresh `Idempotency-Key` per request, 128 connections), the same Kafka, \
         Redis, PostgreSQL and tenant; a processor consumes each run's topic (traced only behind \
         traced Pulse). The seed does less per request than Pulse: a fixed-minute `INCR` limit \
         instead of GCRA, `SETNX` instead of an idempotency record that replays the first answer, \
         no body-mismatch check, no RateLimit headers, no record headers, no tracing.\n"
    );
    let cols = [
        r.cpu_us_per_event.get("single"),
        r.cpu_us_per_event.get("single_untraced"),
        r.cpu_us_per_event.get("single_seed"),
    ];
    let _ = writeln!(
        w,
        "| µs of CPU per accepted event | Pulse (traced) | Pulse (tracing off) | seed Go ingest |\n|---|---|---|---|"
    );
    let row = |w: &mut String, label: &str, keys: [&str; 3]| {
        let _ = writeln!(
            w,
            "| {label} | {} | {} | {} |",
            nd(get(cols[0], keys[0]), 1),
            nd(get(cols[1], keys[1]), 1),
            nd(get(cols[2], keys[2]), 1)
        );
    };
    row(w, "the ingest process", ["ingest", "ingest", "seed"]);
    for (label, k) in [
        ("processor", "processor"),
        ("Kafka broker", "kafka"),
        ("Redis", "redis"),
        ("PostgreSQL", "postgres"),
        ("Jaeger", "jaeger"),
        ("generator (wrk)", "generator"),
        ("other processes", "other"),
        ("whole machine (`/proc/stat`)", "machine"),
    ] {
        row(w, label, [k, k, k]);
    }
    let _ = writeln!(
        w,
        "| events/s in that run | {} | {} | {} |\n",
        n0(r.ingest_single_eps),
        n0(r.ingest_untraced_eps),
        n0(r.seed_single_eps.unwrap_or(f64::NAN))
    );
    let _ = writeln!(
        w,
        "Pulse's ingest process alone ÷ the seed's: {} per event; with tracing off, events/s {} \
         and whole-machine CPU per event {} of the seed's.\n",
        nd(vs.front_cpu_per_event_ratio, 2),
        nd(vs.untraced_single_eps_ratio, 2),
        nd(vs.untraced_cpu_per_event_ratio, 2)
    );
    targets(w, r);
}

fn targets(w: &mut String, r: &Results) {
    let vs = r.vs_seed.as_ref();
    let f = |g: &dyn Fn(&super::results::VsSeed) -> f64| vs.map_or(f64::NAN, g);
    let (eps, machine, kafka, kafka_b, redis) = (
        f(&|v| v.single_eps_ratio),
        f(&|v| v.cpu_per_event_ratio),
        f(&|v| v.kafka_cpu_per_event_ratio),
        f(&|v| v.kafka_batch_cpu_per_event_ratio),
        f(&|v| v.redis_cpu_per_event_ratio),
    );
    let scale = r.scale_out.as_ref();
    let s = |g: &dyn Fn(&super::results::ScaleSummary) -> f64| scale.map_or(f64::NAN, g);
    let (si, sp) = (s(&|x| x.ingest_cpu_ratio), s(&|x| x.processor_cpu_ratio));
    let _ = writeln!(
        w,
        "| ratio, both sides from this run | result | target | |\n|---|---|---|---|"
    );
    let rows: Vec<(&str, String, &str, &str)> = vec![
        (
            "single events/s, Pulse traced ÷ seed",
            nd(eps, 2),
            "≥ 1.5",
            mark(eps >= 1.5),
        ),
        (
            "whole-machine CPU per accepted single event, Pulse traced ÷ seed",
            nd(machine, 2),
            "≤ 0.75",
            mark(machine <= 0.75),
        ),
        (
            "Kafka broker CPU per single event, Pulse ÷ seed",
            nd(kafka, 2),
            "≤ 1.0",
            mark(kafka <= 1.0),
        ),
        (
            "Kafka broker CPU per batched event (100 per request) ÷ seed's per single event",
            nd(kafka_b, 2),
            "far below 1.0",
            "",
        ),
        (
            "Redis CPU per event, Pulse ÷ seed",
            nd(redis, 2),
            "≤ 1.0",
            mark(redis <= 1.0),
        ),
        (
            "tracing's whole-machine cost per event ÷ the untraced whole-machine cost",
            nd(r.tracing_machine_cost_ratio, 2),
            "≤ 0.3",
            mark(r.tracing_machine_cost_ratio <= 0.3),
        ),
        (
            "processor ÷ COPY (same rows, same batches, same parallelism), traced",
            nd(r.processor_ratio_vs_copy, 2),
            "≥ 0.8",
            mark(r.processor_ratio_vs_copy >= 0.8),
        ),
        (
            "PostgreSQL CPU per stored row: traced drain · COPY ceiling, µs",
            format!(
                "{} · {}",
                nd(r.postgres_cpu_us_per_stored_row, 1),
                nd(r.copy_postgres_cpu_us_per_row, 1)
            ),
            "reported",
            "",
        ),
        (
            "scale-out: CPU per event, two ingests ÷ one · two processors ÷ one",
            format!("{} · {}", nd(si, 2), nd(sp, 2)),
            "≤ 1.10 each",
            mark(si <= 1.1 && sp <= 1.1),
        ),
        (
            "goose ÷ wrk on the bare handler (the generator)",
            nd(r.generator_ratio_vs_wrk, 2),
            "≥ 0.5",
            mark(r.generator_ratio_vs_wrk >= 0.5),
        ),
    ];
    for (a, b, c, d) in rows {
        let _ = writeln!(w, "| {a} | {b} | {c} | {d} |");
    }
    let _ = writeln!(w);
}

fn cpu_table(w: &mut String, r: &Results) {
    let _ = writeln!(w, "## CPU per event in every scenario\n");
    let _ = writeln!(
        w,
        "Microseconds of CPU (user + system, `/proc/<pid>/stat`) each process spent per accepted \
         event, medians of the runs. `generator` is wrk (or goose) plus the driver itself (the \
         end-to-end run's client is the driver); `other` is the machine's busy time (`/proc/stat`) \
         that no listed process accounts for; `machine` is all of it. On 2 cores one second holds \
         at most 2,000,000 µs, so events/s ≤ 2,000,000 ÷ machine. `copy` is PostgreSQL per row of \
         the COPY ceiling. — means the process was not running.\n"
    );
    let labels = [
        ("single", "single event, Pulse traced (+ processor)"),
        (
            "single_untraced",
            "single event, Pulse tracing off (+ processor)",
        ),
        ("single_seed", "single event, seed Go ingest (+ processor)"),
        ("single_bare", "single event, bare handler"),
        ("batch", "batch of 100, ingest only"),
        ("drain", "processor drain, traced"),
        ("drain_untraced", "processor drain, tracing off"),
        ("copy", "COPY ceiling (per row)"),
        ("e2e", "end to end (ingest + processor, batches of 10)"),
        ("scale_out_1", "scale-out: 1 ingest + 1 processor"),
        ("scale_out_2", "scale-out: 2 ingests + 2 processors"),
    ];
    let procs: Vec<&str> = std::iter::once("bare")
        .chain(PROCESSES.iter().copied())
        .collect();
    let _ = writeln!(w, "| scenario | {} |", procs.join(" | "));
    let _ = writeln!(w, "|---{}|", "|---".repeat(procs.len()));
    for (key, label) in labels {
        let Some(m) = r.cpu_us_per_event.get(key) else {
            continue;
        };
        let cells: Vec<String> = procs
            .iter()
            .map(|p| m.get(*p).map_or_else(|| "—".to_owned(), |v| nd(*v, 1)))
            .collect();
        let _ = writeln!(w, "| {label} | {} |", cells.join(" | "));
    }
    let _ = writeln!(w);
}

fn scale_out(w: &mut String, r: &Results) {
    let _ = writeln!(w, "## Scale-out on one machine\n");
    let Some(s) = &r.scale_out else {
        let _ = writeln!(w, "Not measured in this run.\n");
        return;
    };
    let (c1, c2) = (
        r.cpu_us_per_event.get("scale_out_1"),
        r.cpu_us_per_event.get("scale_out_2"),
    );
    let _ = writeln!(
        w,
        "One ingest and one processor against two ingests behind the same Redis and two \
         processors in one consumer group, all traced, alternating; with two, wrk runs twice at \
         once with half the connections each, one per ingest.\n"
    );
    let _ = writeln!(
        w,
        "| | one + one | two + two | two ÷ one |\n|---|---|---|---|"
    );
    let _ = writeln!(
        w,
        "| accepted events/s | {} | {} | {} |",
        n0(s.one_eps),
        n0(s.two_eps),
        nd(s.two_eps / s.one_eps, 2)
    );
    for (label, k) in [
        ("ingest µs per event (all instances)", "ingest"),
        ("processor µs per event (all instances)", "processor"),
        ("whole machine µs per event", "machine"),
    ] {
        let (a, b) = (get(c1, k), get(c2, k));
        let _ = writeln!(
            w,
            "| {label} | {} | {} | {} |",
            nd(a, 1),
            nd(b, 1),
            nd(b / a, 2)
        );
    }
    let _ = writeln!(w);
    if !r.sizing_events_per_core_s.is_empty() {
        let parts: Vec<String> = [
            "ingest",
            "processor",
            "kafka",
            "redis",
            "postgres",
            "jaeger",
        ]
        .iter()
        .filter_map(|k| Some(format!("{k} {}", n0(*r.sizing_events_per_core_s.get(*k)?))))
        .collect();
        let _ = writeln!(
            w,
            "**Sizing rule** (single events, traced, from this run's CPU per event): one core of each \
             service handles about {} events/s, so a service needs (events/s ÷ that figure) cores; \
             the whole machine spends one core per {} events/s.\n",
            parts.join(", "),
            n0(r.sizing_events_per_core_s
                .get("machine")
                .copied()
                .unwrap_or(f64::NAN))
        );
    }
}

fn limits(w: &mut String, r: &Results) {
    let single = r.cpu_us_per_event.get("single");
    let batch = r.cpu_us_per_event.get("batch");
    let drain = r.cpu_us_per_event.get("drain");
    let _ = writeln!(w, "## What limits us (figures from this run)\n");
    let m1 = get(single, "machine");
    let _ = writeln!(
        w,
        "- **The CPU budget.** A single event costs the machine {} µs of CPU (ingest {}, processor {}, \
         Kafka {}, Redis {}, PostgreSQL {}, Jaeger {}, generator {}), so two cores carry at most \
         {} single events/s; 15,000/s needs under 133 µs in all.",
        nd(m1, 0),
        nd(get(single, "ingest"), 0),
        nd(get(single, "processor"), 0),
        nd(get(single, "kafka"), 0),
        nd(get(single, "redis"), 0),
        nd(get(single, "postgres"), 0),
        nd(get(single, "jaeger"), 0),
        nd(get(single, "generator"), 0),
        n0(2e6 / m1)
    );
    let mb = get(batch, "machine");
    let _ = writeln!(
        w,
        "- **Batches** cost {} µs per event on the machine (ingest {}, Jaeger {}, Kafka {}), a \
         ceiling near {} events/s; 150,000/s needs 13 µs.",
        nd(mb, 0),
        nd(get(batch, "ingest"), 0),
        nd(get(batch, "jaeger"), 0),
        nd(get(batch, "kafka"), 0),
        n0(2e6 / mb)
    );
    let md = get(drain, "machine");
    let steady = median(r.runs.drain_runs.iter().map(|d| d.eps_steady).collect());
    let _ = writeln!(
        w,
        "- **The processor's drain** costs {} µs per event (processor {}, PostgreSQL {}, Jaeger {}), \
         at most {} events/s on 2 cores; the traced drains ran at {}. PostgreSQL spent {} µs per \
         stored row in the drain and {} µs per row in the COPY ceiling.",
        nd(md, 0),
        nd(get(drain, "processor"), 0),
        nd(get(drain, "postgres"), 0),
        nd(get(drain, "jaeger"), 0),
        n0(2e6 / md),
        n0(steady),
        nd(r.postgres_cpu_us_per_stored_row, 1),
        nd(r.copy_postgres_cpu_us_per_row, 1)
    );
    let _ = writeln!(w);
}

const METHOD: &str = r#"
## How this run measures

```sh
make up      # the infrastructure (the services `make up` started are stopped during the run, then restarted)
make bench   # builds the release binaries, then `target/release/pulse-bench run`; BENCH_RUNS, BENCH_SECONDS, BENCH_DRAIN_EVENTS override the defaults
```

- **Single events**: `wrk -t2 -c128` with a Lua script that sends ~300-byte events, each with a
  fresh `Idempotency-Key`, counting 202 answers (accepted) in `response()`; tenant limit
  2·10⁹/min, idempotency window 120 s. Four fronts take turns on the same script: Pulse's ingest
  traced, Pulse with `OTEL_SDK_DISABLED=true` (its processor too), the seed Go ingest
  (`../shared/peers/seed-go-ingest`, built with Go and cached in `.run/bench/`) and
  `pulse-bench bare` (an axum handler that reads the body and answers 202, on mimalloc like
  `pulse`). Each Pulse/seed run has its own topic and a release processor consuming it; the CPU
  window closes when the processor has stored what was accepted.
- **Batch**: `wrk -c16` posting `{"events":[…100…]}`; accepted events are the sum of the answers'
  `accepted` counts.
- **Generator**: `pulse-loadtest --rate 0 --users 64` (goose) against the bare handler, its rate
  read off the handler's counter, against wrk with 64 connections on the same handler.
- **Processor drain**: `pulse-bench` fills a fresh 6-partition topic with ~1 KB envelopes (10
  tenants, 5 % without `event_type`, so dead-lettered); a release processor (defaults: batches of
  5,000, 3 writers) drains it from a new consumer group, traced and untraced alternating; progress
  from the processor's own stored/dead-lettered counters; steady state from the first durable
  record to the last.
- **COPY ceiling**: after each drain, the rows it stored (events and dead letters) are taken out
  with `COPY … TO STDOUT` (binary), both tables emptied, and written back with `COPY … FROM STDIN`
  in the processor's batch size, one transaction per batch, 3 batches at once — the same rows and
  the same parallelism as the processor. What the processor does besides (validation,
  per-minute counts, offsets, spans) is its overhead over this ceiling.
- **End to end**: the driver offers 5,000 events/s as batches of 10 (at most 64 requests in
  flight) to a traced ingest with a traced processor, and keeps the id of every event an answer
  accepted. An `AFTER INSERT` trigger on the benchmark database (this scenario only) sends
  `pg_notify(event id, received_at)`; PostgreSQL delivers a notification only when the inserting
  transaction commits, so its arrival is the commit as a reader sees it. Latency = arrival −
  `received_at` (ingest's receipt of the request), for every event; the run is reconciled when
  every accepted id was committed exactly once and no other id appeared. (The events table has no
  commit-time column and `track_commit_timestamp` is off; the trigger costs PostgreSQL a few µs
  per row, inside this scenario's CPU figures.) The old measure, `processed_at − received_at` (to
  the start of the batch's write), is in the raw runs as `insert_p50_ms` / `insert_p99_ms`.
- **Scale-out**: see its section.
- **CPU per event**: user + system time of each process from `/proc/<pid>/stat` before and after
  the window (PostgreSQL's exited backends through the postmaster's children's time, the
  generators through the driver's), the whole machine from `/proc/stat`.
- **Dropped spans**: the count the OpenTelemetry batch exporter logs when the service stops.

## What changed in the method (issue 18, item 1)

- The driver is `pulse-bench run` (Rust) instead of `scripts/bench.py`; `make bench` needs no Python.
- The COPY ceiling writes the drain's events *and* dead letters in the processor's batches with
  its 3 writers (it was one `COPY` of the valid rows on one connection).
- End-to-end latency runs from the request's receipt to the commit, event by event (it was Kafka
  enqueue → start of the batch write, checked by row counts).
- The batch figure counts the events the answers accepted (it was 2xx answers × 100).
- Traced and untraced runs (and the seed and the bare handler) alternate round by round and rest
  alike (the untraced runs used to follow the traced ones).
- The bare handler reads the body and runs on mimalloc.
- A processor consumes during the single-event runs, so their CPU per event covers the whole path
  (the single-event figures are not comparable with earlier pages, which ran ingest alone).
- No hand-written figures: every number above is computed by this run; older figures are only in
  the sections marked quoted.
"#;
