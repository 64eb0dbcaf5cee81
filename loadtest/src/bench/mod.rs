//! `pulse-bench run`: Pulse's benchmark driver (`make bench`), loopback only, about 15 minutes.
//!
//! [`context`] makes the benchmark database, tenant and names and starts services through
//! [`procs`]; [`cpu`] reads `/proc` around every measured window; [`wrk`] runs the load with its
//! Lua scripts. The scenarios, in order: [`single`] (Pulse traced / untraced / the [`seed`] Go
//! ingest / the [`bare`] handler, alternating, then goose against wrk), [`batch`], [`drain`]
//! (after [`fill`], each drain against the fair [`copy`] ceiling), [`e2e`] (commit seen event by
//! event), [`goose_e2e`] (the load tester's reconciling run), [`scale`] (one instance against
//! two) and [`graphql`] (another binary's figures).
//! [`results`] derives bench-results.json, [`report`] writes BENCHMARKS.md.

pub mod bare;
pub mod batch;
pub mod context;
pub mod copy;
pub mod cpu;
pub mod drain;
pub mod e2e;
pub mod fill;
pub mod goose_e2e;
pub mod graphql;
pub mod procs;
pub mod report;
pub mod results;
pub mod sampling;
pub mod scale;
pub mod seed;
pub mod single;
pub mod wrk;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use clap::Args;

use context::{Bins, Ctx, Plan};
use results::Results;

/// `pulse-bench run`'s options.
#[derive(Debug, Clone, Args)]
pub struct RunOptions {
    /// One short run of every scenario (~2 s each, a 2,000-event drain) into a temporary folder
    /// (or --out-dir), leaving BENCHMARKS.md alone: the check that the driver still works
    #[arg(long)]
    pub smoke: bool,
    /// Runs per scenario (medians are reported)
    #[arg(long, env = "BENCH_RUNS")]
    pub runs: Option<usize>,
    /// Seconds of load per run
    #[arg(long, env = "BENCH_SECONDS")]
    pub seconds: Option<u64>,
    /// Events in the processor drain
    #[arg(long, env = "BENCH_DRAIN_EVENTS")]
    pub drain_events: Option<u64>,
    /// Seconds of the end-to-end run (default 20)
    #[arg(long, env = "BENCH_E2E_SECONDS")]
    pub e2e_seconds: Option<u64>,
    /// Where BENCHMARKS.md and bench-results.json go (default: the repository, or a temporary
    /// folder with --smoke)
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Folder holding `pulse`, `pulse-loadtest` and `pulse-graphql-bench` (default: this
    /// binary's folder)
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// PostgreSQL server (its database is replaced by --db-name)
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://pulse:pulse@127.0.0.1:5432/pulse",
        hide_env_values = true
    )]
    pub database_url: String,
    /// The benchmark database, dropped and created fresh (default `pulse_bench`; with --smoke a
    /// unique `pulse_test_bench_*`, dropped at the end)
    #[arg(long)]
    pub db_name: Option<String>,
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// The seed Go ingest's sources (default: ../shared/peers/seed-go-ingest beside the repo)
    #[arg(long)]
    pub seed_src: Option<PathBuf>,
    /// Leave the seed out
    #[arg(long)]
    pub no_seed: bool,
    /// Leave out the GraphQL figures (`pulse-graphql-bench`, run with --smoke in a smoke run)
    #[arg(long)]
    pub no_graphql: bool,
}

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A progress line with the seconds since the driver started.
pub fn say(msg: &str) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let t = START.get_or_init(Instant::now).elapsed().as_secs();
    eprintln!("==> bench [{:02}:{:02}]: {msg}", t / 60, t % 60);
}

fn plan(o: &RunOptions) -> Plan {
    let smoke = o.smoke;
    Plan {
        smoke,
        runs: o.runs.unwrap_or(if smoke { 1 } else { 3 }).max(1),
        seconds: o.seconds.unwrap_or(if smoke { 2 } else { 10 }).max(1),
        drain_events: o
            .drain_events
            .unwrap_or(if smoke { 2_000 } else { 500_000 })
            .max(1),
        e2e_seconds: o.e2e_seconds.unwrap_or(if smoke { 2 } else { 20 }).max(1),
        e2e_rate: if smoke { 1_000 } else { 5_000 },
        // a smoke run checks the driver, not the figures: no resting
        rest_limit: Duration::from_secs(if smoke { 0 } else { 20 }),
        catch_up_limit: Duration::from_secs(if smoke { 30 } else { 60 }),
        single_connections: 128,
        batch_connections: 16,
    }
}

fn git_commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(repo_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head}+uncommitted")
    } else {
        head
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|x| x.1.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb / (1024 * 1024));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} × {model}, {mem_gib} GiB, Linux {}", kernel.trim())
}

fn now_utc() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// True when `.run/pids/ingest.pid` names a running process (`make up`'s services are up).
fn services_up() -> bool {
    let pidfile = repo_root().join(".run/pids/ingest.pid");
    std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

fn services(action: &str) {
    let script = repo_root().join("scripts/services.sh");
    let _ = std::process::Command::new(script).arg(action).status();
}

/// Runs every scenario and writes bench-results.json and BENCHMARKS.md into the output folder.
pub async fn run(o: RunOptions) -> anyhow::Result<PathBuf> {
    let plan = plan(&o);
    let out = match &o.out_dir {
        Some(d) => d.clone(),
        None if plan.smoke => std::env::temp_dir().join(format!(
            "pulse-bench-smoke-{}",
            chrono::Utc::now().format("%Y%m%d%H%M%S%f")
        )),
        None => repo_root(),
    };
    std::fs::create_dir_all(&out)?;
    let out = std::path::absolute(&out)?;
    let work = repo_root()
        .join(".run/bench")
        .join(if plan.smoke { "smoke" } else { "run" });
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    wrk::write_scripts(&work)?;
    let bin_dir = match &o.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this binary's folder")?
            .to_path_buf(),
    };
    let mut notes = Vec::new();
    let seed = if o.no_seed {
        Err("seed Go ingest skipped (--no-seed)".to_owned())
    } else {
        let src = o.seed_src.clone().unwrap_or_else(seed::default_source);
        seed::binary(&src, &repo_root().join(".run/bench")).await?
    };
    if let Err(why) = &seed {
        say(why);
        notes.push(format!("{why}; the side-by-side figures are missing."));
    }
    let bins = Bins {
        pulse: bin_dir.join("pulse"),
        loadtest: bin_dir.join("pulse-loadtest"),
        graphql_bench: bin_dir.join("pulse-graphql-bench"),
        seed,
    };
    for b in [&bins.pulse, &bins.loadtest] {
        anyhow::ensure!(
            b.is_file(),
            "{} is missing: build it first (`cargo build --release -p pulse -p pulse-loadtest`)",
            b.display()
        );
    }
    // only the real run (writing the repository's page) pauses `make up`'s services: a run into
    // another folder may share the machine with someone using them
    let paused = !plan.smoke && o.out_dir.is_none() && services_up();
    if paused {
        say("stopping the make-up services for the run");
        services("stop");
    }
    let started = Instant::now();
    let started_at = now_utc();
    let result = scenarios(&o, plan.clone(), bins, work).await;
    if paused {
        say("restarting the make-up services");
        services("start");
    }
    let (mut results, graphql) = result?;
    results.notes.splice(0..0, notes);
    results.started_at = started_at;
    results.finished_at = now_utc();
    results.duration_s = started.elapsed().as_secs();
    let json = serde_json::to_string_pretty(&results)? + "\n";
    std::fs::write(out.join("bench-results.json"), json)?;
    let previous = std::fs::read_to_string(repo_root().join("BENCHMARKS.md")).unwrap_or_default();
    let quoted = report::quoted_sections(&previous);
    let md = report::render(
        &results,
        graphql.as_deref().map_err(String::as_str),
        &quoted,
    );
    // the figures with their targets, on the terminal too (the page up to its method)
    let figures = md.split("\n## How this run measures").next().unwrap_or(&md);
    println!("{figures}");
    std::fs::write(out.join("BENCHMARKS.md"), &md)?;
    say(&format!(
        "done in {} s: {} and {}",
        results.duration_s,
        out.join("BENCHMARKS.md").display(),
        out.join("bench-results.json").display()
    ));
    Ok(out)
}

async fn scenarios(
    o: &RunOptions,
    plan: Plan,
    bins: Bins,
    work: PathBuf,
) -> anyhow::Result<(Results, Result<String, String>)> {
    let smoke = plan.smoke;
    let db_name = o.db_name.clone().unwrap_or_else(|| {
        if smoke {
            format!(
                "pulse_test_bench_{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            )
        } else {
            "pulse_bench".into()
        }
    });
    let ctx = Ctx::new(
        plan,
        bins,
        work,
        o.database_url.clone(),
        &db_name,
        o.brokers.clone(),
        o.redis_url.clone(),
    )
    .await?;
    let mut r = Results {
        git_commit: git_commit(),
        machine: machine(),
        smoke,
        runs_per_scenario: ctx.plan.runs,
        seconds_per_run: ctx.plan.seconds,
        rest_limit_s: ctx.plan.rest_limit.as_secs(),
        ..Results::default()
    };
    let single = single::run(&ctx).await.context("single-event scenario")?;
    let batch = batch::run(&ctx).await.context("batch scenario")?;
    let drain = drain::run(&ctx).await.context("drain scenario")?;
    let e2e = e2e::run(&ctx).await.context("end-to-end scenario")?;
    let goose_e2e = goose_e2e::run(&ctx)
        .await
        .context("goose end-to-end scenario")?;
    let scale = scale::run(&ctx).await.context("scale-out scenario")?;
    let limit = scale::limit_check(&ctx).await.context("limit check")?;
    results::derive(&mut r, single, batch, Some(drain), e2e, scale);
    r.limit_check = Some(limit);
    r.goose_e2e = Some(goose_e2e);
    let graphql = if o.no_graphql {
        let why = "not measured in this run (`--no-graphql`)".to_owned();
        say(&format!("GraphQL figures {why}"));
        Err(why)
    } else {
        // its JSON and markdown are working files; what they say goes into the page and results
        graphql::run(&ctx, &ctx.work).await
    };
    match &graphql {
        Ok(g) => r.graphql = g.json.clone(),
        Err(why) => {
            r.graphql = serde_json::json!({ "skipped": why });
        }
    }
    let graphql = graphql.map(|g| g.markdown);
    if smoke {
        // the smoke run's database goes; a full run's stays for a look
        ctx.pool.close().await;
        if let Ok(admin) = pulse_core::db::connect(&o.database_url, 1).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "drop database if exists \"{db_name}\" with (force)"
            )))
            .execute(&admin)
            .await;
        }
    }
    Ok((r, graphql))
}
