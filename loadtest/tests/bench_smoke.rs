//! `pulse-bench run --smoke` against the real infrastructure, so `make bench`'s driver cannot rot:
//! one short run of every scenario (the debug `pulse` binaries, a hermetic `pulse_test_bench_*`
//! database and `bench.*` topics), written to a temporary folder. The page and the JSON must hold
//! every figure, measured (positive), and the repository's BENCHMARKS.md must be left alone.
//! The seed Go ingest is built (or taken from `.run/bench/`) when Go is installed; without Go the
//! side-by-side part is skipped and the test says so.

use std::{path::PathBuf, process::Command, time::Instant};

use serde_json::Value;

fn positive(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for part in path.split('.') {
        at = &at[part];
    }
    let n = at
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is missing or not a number: {at}"));
    assert!(
        n > 0.0,
        "{path} = {n}, expected a measured (positive) figure"
    );
    n
}

#[test]
fn smoke_run_measures_every_scenario() {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_pulse-bench"));
    let bins = bench.parent().expect("the binaries' folder").to_path_buf();
    assert!(
        bins.join("pulse").is_file(),
        "{} is missing: `cargo build -p pulse` (cargo test --workspace builds it)",
        bins.join("pulse").display()
    );
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let page_before = std::fs::read_to_string(repo.join("BENCHMARKS.md")).unwrap_or_default();
    let out = std::env::temp_dir().join(format!(
        "pulse-bench-smoke-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let started = Instant::now();
    let status = Command::new(&bench)
        .args(["run", "--smoke", "--no-graphql"])
        .arg("--out-dir")
        .arg(&out)
        .arg("--bin-dir")
        .arg(&bins)
        // the page it prints is read from its file below; progress lines stay on stderr
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pulse-bench runs");
    eprintln!("smoke run took {:.0} s", started.elapsed().as_secs_f64());
    assert!(status.success(), "pulse-bench run --smoke failed: {status}");

    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("bench-results.json"))
            .expect("bench-results.json written"),
    )
    .expect("bench-results.json is JSON");
    for key in [
        "ingest_single_eps",
        "ingest_single_p50_ms",
        "ingest_single_p99_ms",
        "bare_rps",
        "ingest_ratio_vs_bare",
        "ingest_untraced_eps",
        "tracing_overhead_ratio",
        "ingest_batch_eps",
        "ingest_batch_p99_ms",
        "generator_ratio_vs_wrk",
        "goose_bare_rps",
        "processor_eps_including_startup",
        "copy_rows_per_s",
        "copy_postgres_cpu_us_per_row",
        "postgres_cpu_us_per_stored_row",
        "e2e_p50_ms",
        "e2e_p99_ms",
        "e2e_rate_eps",
        "scale_out.one_eps",
        "scale_out.two_eps",
        "scale_out.ingest_cpu_ratio",
        "scale_out.processor_cpu_ratio",
        "scale_out.one_events_per_batch",
        "scale_out.two_events_per_batch",
        "sizing_events_per_core_s.ingest",
        "limit_check.accepted",
        "limit_check.allowed",
        "sizing_events_per_core_s.machine",
    ] {
        positive(&r, key);
    }
    // a 2,000-event drain may be done at the first look, leaving no steady state: present, maybe null
    for key in [
        "processor_eps",
        "processor_ratio_vs_copy",
        "processor_untraced_eps",
    ] {
        assert!(r.get(key).is_some(), "{key} is missing");
    }
    assert_eq!(
        r["e2e_reconciled"], true,
        "an accepted event was not committed exactly once"
    );
    let e2e = &r["runs"]["e2e_runs"][0];
    assert_eq!(
        e2e["accepted"], e2e["committed"],
        "every accepted event's commit is seen"
    );
    assert_eq!(e2e["rows_found"], e2e["accepted"]);
    // the load tester's own reconciling run: it accepted events and found every one in place
    positive(&r, "goose_e2e.accepted_eps");
    positive(&r, "goose_e2e.accepted");
    assert_eq!(r["goose_e2e"]["problems"], 0, "{}", r["goose_e2e"]);
    assert_eq!(r["goose_e2e"]["reconciled"], true, "{}", r["goose_e2e"]);

    // every scenario has CPU per event, with the processes that ran in it measured
    for (scenario, processes) in [
        ("single", &["ingest", "processor", "kafka", "machine"][..]),
        (
            "single_untraced",
            &["ingest", "processor", "kafka", "machine"],
        ),
        ("single_bare", &["bare", "machine"]),
        ("batch", &["ingest", "kafka", "machine"]),
        ("drain", &["processor", "postgres", "machine"]),
        ("drain_untraced", &["processor", "postgres", "machine"]),
        ("copy", &["postgres"]),
        (
            "e2e",
            &["ingest", "processor", "postgres", "generator", "machine"],
        ),
        ("scale_out_1", &["ingest", "processor", "machine"]),
        ("scale_out_2", &["ingest", "processor", "machine"]),
    ] {
        for p in processes {
            positive(&r, &format!("cpu_us_per_event.{scenario}.{p}"));
        }
    }

    // the batch figure counts the events the answers accepted: 100 per answered request here
    let batch = &r["runs"]["batch_runs"][0];
    let requests = positive(batch, "requests");
    assert_eq!(
        batch["accepted"].as_f64(),
        Some(requests * 100.0),
        "{batch}"
    );
    for run in r["runs"]["single_runs"].as_array().expect("single runs") {
        assert_eq!(run["processor_caught_up"], true, "{run}");
    }

    let seed_skipped = r["notes"].as_array().is_some_and(|n| {
        n.iter().any(|n| {
            n.as_str()
                .is_some_and(|s| s.contains("seed Go ingest skipped"))
        })
    });
    if seed_skipped {
        eprintln!("the seed Go ingest was skipped (no Go here): its figures are not checked");
    } else {
        for key in [
            "seed_single_eps",
            "vs_seed.single_eps_ratio",
            "vs_seed.cpu_per_event_ratio",
            "vs_seed.kafka_cpu_per_event_ratio",
            "vs_seed.redis_cpu_per_event_ratio",
            "cpu_us_per_event.single_seed.seed",
            "cpu_us_per_event.single_seed.kafka",
        ] {
            positive(&r, key);
        }
    }

    let page = std::fs::read_to_string(out.join("BENCHMARKS.md")).expect("BENCHMARKS.md written");
    let commit = r["git_commit"].as_str().expect("git_commit");
    assert!(page.contains(commit), "the page names the run's commit");
    assert!(page.contains(r["started_at"].as_str().expect("started_at")));
    assert!(page.contains("## CPU per event in every scenario"));
    for line in page_before
        .lines()
        .filter(|l| l.starts_with("## ") && l.contains("quoted"))
    {
        assert!(page.contains(line), "quoted section {line:?} carried over");
    }
    assert_eq!(
        std::fs::read_to_string(repo.join("BENCHMARKS.md")).unwrap_or_default(),
        page_before,
        "a smoke run leaves the repository's BENCHMARKS.md alone"
    );
    let _ = std::fs::remove_dir_all(&out);
}
