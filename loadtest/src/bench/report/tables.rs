//! The page's tables beside the headline: Pulse against the seed with issue 18's targets, CPU
//! per event in every scenario, scale-out with the sizing rule, and the CPU budget in prose.

use std::fmt::Write as _;

use super::{get, mark, n0, nd};
use crate::bench::{
    cpu::PROCESSES,
    results::{Results, ScaleSummary, VsSeed, median},
};

pub fn side_by_side(w: &mut String, r: &Results) {
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
    let f = |g: &dyn Fn(&VsSeed) -> f64| vs.map_or(f64::NAN, g);
    let (eps, machine, kafka, kafka_b, redis) = (
        f(&|v| v.single_eps_ratio),
        f(&|v| v.cpu_per_event_ratio),
        f(&|v| v.kafka_cpu_per_event_ratio),
        f(&|v| v.kafka_batch_cpu_per_event_ratio),
        f(&|v| v.redis_cpu_per_event_ratio),
    );
    let scale = r.scale_out.as_ref();
    let s = |g: &dyn Fn(&ScaleSummary) -> f64| scale.map_or(f64::NAN, g);
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
            "one tenant's limit through two ingests: accepted ÷ allowed",
            r.limit_check
                .as_ref()
                .map_or_else(|| "—".into(), |l| nd(l.accepted as f64 / l.allowed, 3)),
            "exact",
            r.limit_check.as_ref().map_or("", |l| mark(l.exact)),
        ),
        (
            "goose ÷ wrk on the bare handler (the generator)",
            nd(r.generator_ratio_vs_wrk, 2),
            "≥ 0.5",
            mark(r.generator_ratio_vs_wrk >= 0.5),
        ),
        (
            "the reconciling end-to-end run driven by goose: accepted events/s · every event reconciled",
            r.goose_e2e.as_ref().map_or_else(
                || "—".into(),
                |g| {
                    format!(
                        "{} · {}",
                        n0(g.accepted_eps),
                        if g.reconciled { "yes" } else { "no" }
                    )
                },
            ),
            "≥ 5,000 · yes",
            r.goose_e2e
                .as_ref()
                .map_or("", |g| mark(g.accepted_eps >= 5_000.0 && g.reconciled)),
        ),
    ];
    for (a, b, c, d) in rows {
        let _ = writeln!(w, "| {a} | {b} | {c} | {d} |");
    }
    let _ = writeln!(w);
}

pub fn cpu_table(w: &mut String, r: &Results) {
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

pub fn scale_out(w: &mut String, r: &Results) {
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
    let _ = writeln!(
        w,
        "| events per processor batch (accepted ÷ batches, all instances) | {} | {} | {} |",
        n0(s.one_events_per_batch),
        n0(s.two_events_per_batch),
        nd(s.two_events_per_batch / s.one_events_per_batch, 2)
    );
    for (label, k) in [
        ("ingest µs per event (all instances)", "ingest"),
        ("processor µs per event (all instances)", "processor"),
        ("Kafka broker µs per event", "kafka"),
        ("PostgreSQL µs per event", "postgres"),
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
    if let Some(l) = &r.limit_check {
        let _ = writeln!(
            w,
            "**Limits across instances**: one tenant limited to {} per minute, sent to by {} \
             ingests at once for {} s: {} accepted, {} refused; GCRA allows a fresh tenant the \
             minute's burst plus the refill, {} — {}.\n",
            n0(f64::from(l.limit_per_minute)),
            l.instances,
            nd(l.seconds, 1),
            n0(l.accepted as f64),
            n0(l.refused as f64),
            nd(l.allowed, 1),
            if l.exact {
                "exact (within one event and half a second of refill)"
            } else {
                "NOT within one event and half a second of refill"
            }
        );
    }
    if !r.sizing_events_per_core_s.is_empty() {
        let parts: Vec<String> = crate::bench::cpu::SIZED
            .iter()
            .filter(|k| **k != "machine")
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

pub fn limits(w: &mut String, r: &Results) {
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
