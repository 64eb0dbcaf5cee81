//! `pulse-graphql-bench --smoke` end to end against the real PostgreSQL and Kafka: it seeds its
//! own database, starts `pulse graphql`, drives every query kind and the live subscribers, and
//! must write every figure (JSON and markdown) with real values.
//!
//! The `pulse` binary it runs is the one cargo built next to the bench (`cargo test --workspace`
//! builds it; alone: `cargo build -p pulse` first), or `PULSE_BIN`.

use std::path::PathBuf;

use serde_json::Value;

fn pulse_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("PULSE_BIN") {
        return bin.into();
    }
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_pulse-graphql-bench"));
    let bin = bench.with_file_name("pulse");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p pulse` (or set PULSE_BIN)",
        bin.display()
    );
    bin
}

fn number(v: &Value, what: &str) -> f64 {
    let n = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is a number, got {v}"));
    assert!(n.is_finite(), "{what} is finite, got {n}");
    n
}

#[test]
fn smoke_run_reports_every_figure() {
    let dir = std::env::temp_dir().join(pulse_core::testkit::unique("pulse-graphql-bench-"));
    std::fs::create_dir_all(&dir).unwrap();
    let (json_path, md_path) = (dir.join("graphql.json"), dir.join("graphql.md"));
    let database = pulse_core::testkit::unique("pulse_test_gqlbench_");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pulse-graphql-bench"))
        .arg("--smoke")
        .arg("--database")
        .arg(&database)
        .arg("--pulse-bin")
        .arg(pulse_bin())
        .arg("--log")
        .arg(dir.join("graphql.log"))
        .arg("--out-json")
        .arg(&json_path)
        .arg("--out-md")
        .arg(&md_path)
        .output()
        .expect("the bench runs");
    assert!(
        out.status.success(),
        "the smoke run succeeds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();

    assert_eq!(report["smoke"], true);
    assert_eq!(report["dataset"]["events"], 20_000);
    assert_eq!(report["dataset"]["dead_letters"], 1_000);
    assert!(number(&report["dataset"]["rollup_rows"], "rollup rows") > 0.0);
    assert!(!report["git_commit"].as_str().unwrap().is_empty());

    let kinds: Vec<&str> = report["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "event",
            "eventsByIdempotencyKey",
            "events",
            "deadLetters",
            "stats(24h)"
        ]
    );
    for kind in report["queries"].as_array().unwrap() {
        let name = kind["kind"].as_str().unwrap();
        assert!(number(&kind["target_p99_ms"], "target") > 0.0);
        assert!(kind["met"].is_boolean());
        for latency in std::iter::once(&kind["all"]).chain(kind["variants"].as_array().unwrap()) {
            let what = format!("{name} / {}", latency["name"]);
            assert!(number(&latency["requests"], &what) > 0.0, "{what} ran");
            assert_eq!(latency["errors"], 0, "{what} answered without errors");
            let (p50, p99, max) = (
                number(&latency["p50_ms"], &what),
                number(&latency["p99_ms"], &what),
                number(&latency["max_ms"], &what),
            );
            assert!(
                0.0 < p50 && p50 <= p99 && p99 <= max,
                "{what}: {p50} {p99} {max}"
            );
        }
    }

    let live = &report["live"];
    assert!(number(&live["events_written"], "events written") > 0.0);
    assert_eq!(live["write_errors"], 0);
    let expected = number(&live["expected"], "expected");
    let received = number(&live["received"], "received");
    let missed = number(&live["missed_reported"], "missed");
    assert!(expected > 0.0 && received > 0.0);
    assert_eq!(
        live["unaccounted"], 0,
        "every delivery was received or reported missed"
    );
    assert_eq!(received + missed, expected);
    assert_eq!(live["failed_subscribers"], 0);
    assert!(number(&live["delivered_percent"], "delivered %") > 0.0);
    for figure in ["delay_p50_ms", "delay_p99_ms", "delay_max_ms", "cpu_cores"] {
        assert!(number(&live[figure], figure) >= 0.0);
    }
    for figure in [
        "rss_mb_idle",
        "rss_mb_subscribed",
        "rss_mb_median",
        "rss_mb_peak",
    ] {
        assert!(
            number(&live[figure], figure) > 1.0,
            "{figure} is a real RSS"
        );
    }
    assert_eq!(
        number(&report["live_targets"]["rss_mb"], "rss target"),
        300.0
    );
    assert!(report["live_met"].is_boolean());

    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(md.starts_with("## GraphQL admin API"));
    assert!(md.contains(report["git_commit"].as_str().unwrap()));
    for kind in kinds {
        assert!(
            md.contains(&format!("**{kind}**")),
            "{kind} in the markdown"
        );
    }
    assert!(md.contains("graphql RSS"));
    let _ = std::fs::remove_dir_all(&dir);
}
