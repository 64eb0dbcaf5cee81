//! `pulse-chaos`: starts a private Pulse (its own Redis, PostgreSQL, Kafka, two ingests and a
//! processor under `.run/chaos/`), then injects each fault in turn under steady load and prints a
//! verdict table; optionally offers several times the measured capacity. The shared servers of
//! `make up` are never touched. `make chaos` runs it; see RELIABILITY.md.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use pulse_loadtest::chaos::{
    faults::{self, Fault, Plan},
    overload,
    stack::{Backing, Stack, StackConfig},
};

#[derive(Debug, Parser)]
#[command(
    name = "pulse-chaos",
    about = "Fault injection under load, with reconciliation"
)]
struct Args {
    /// Faults to run, comma-separated (default: all): processor-kill, kafka-kill, postgres-stop,
    /// redis-stop, redis-kill, redis-flushall, redis-wipe-aof, ingest-kill,
    /// processor-kill-in-rebalance; redis-loss = redis-flushall and redis-wipe-aof; none (with
    /// --overload: the overload phase alone)
    #[arg(long, value_delimiter = ',')]
    faults: Vec<String>,
    /// Seconds PostgreSQL and Redis stay stopped
    #[arg(long, default_value_t = 30)]
    hold: u64,
    /// Seconds of load before each fault
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Seconds of load after each heal
    #[arg(long, default_value_t = 15)]
    tail: u64,
    /// New requests per second during the faults
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Concurrent clients
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Then offer --factor times the measured capacity for --overload-secs
    #[arg(long)]
    overload: bool,
    #[arg(long, default_value_t = 60)]
    overload_secs: u64,
    #[arg(long, default_value_t = 3.0)]
    factor: f64,
    /// Folder for the private servers' data and every log (emptied first)
    #[arg(long, default_value = ".run/chaos")]
    root: PathBuf,
    /// The pulse binary to run
    #[arg(long, default_value = "target/release/pulse")]
    bin: PathBuf,
    /// Write the verdict table here as well
    #[arg(long)]
    report: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("pulse-chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let faults: Vec<Fault> = if args.faults.is_empty() {
        Fault::ALL.to_vec()
    } else {
        args.faults
            .iter()
            .filter(|f| f.as_str() != "none")
            .map(|f| Fault::parse_group(f).ok_or_else(|| anyhow::anyhow!("unknown fault {f:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?
            .concat()
    };
    if args.root.exists() {
        std::fs::remove_dir_all(&args.root)?;
    }
    let started = chrono::Utc::now();
    println!(
        "pulse-chaos: starting a private stack in {} ({})",
        args.root.display(),
        started.format("%Y-%m-%d %H:%M UTC")
    );
    let mut stack = Stack::start(StackConfig {
        root: args.root.clone(),
        bin: args.bin.clone(),
        backing: Backing::Private,
        ingests: 2,
        processors: 1,
        tenants: 10,
        tenant_rate_limit: 6_000_000,
        env: vec![
            ("PULSE_AUTH_CACHE_TTL_MS".into(), "30000".into()),
            (
                "PULSE_MAX_IN_FLIGHT".into(),
                overload::MAX_IN_FLIGHT.to_string(),
            ),
        ],
    })
    .await?;
    println!(
        "stack up: redis {}, postgres {}, kafka {}, ingests {:?}",
        stack.redis.url(),
        stack.database_url,
        stack.brokers,
        stack.targets()
    );
    let plan = Plan {
        warmup: Duration::from_secs(args.warmup),
        hold: Duration::from_secs(args.hold),
        tail: Duration::from_secs(args.tail),
        rate: args.rate,
        clients: args.clients,
        keyed_pct: 80.0,
        resend_pct: 10.0,
        retry_window: Duration::from_secs(60),
        drain_patience: Duration::from_secs(60),
        processor_kills: 3,
    };
    let mut verdicts = Vec::new();
    for fault in faults {
        println!("== {} ...", fault.name());
        let v = faults::run(&mut stack, fault, &plan).await?;
        println!("{}", faults::table(std::slice::from_ref(&v)));
        verdicts.push(v);
    }
    let mut text = format!(
        "pulse-chaos run of {} ({} req/s, {} clients, hold {}s)\n{}",
        started.format("%Y-%m-%d %H:%M UTC"),
        args.rate,
        args.clients,
        args.hold,
        faults::table(&verdicts)
    );
    let mut passed = verdicts.iter().all(faults::Verdict::passed);
    if args.overload {
        println!("== overload ...");
        let report = overload::run(
            &mut stack,
            Duration::from_secs(10),
            Duration::from_secs(args.overload_secs),
            args.factor,
        )
        .await?;
        passed &= report.passed();
        text.push_str(&report.describe());
        text.push('\n');
    }
    println!("\n{text}");
    if let Some(path) = &args.report {
        std::fs::write(path, &text)?;
    }
    Ok(passed)
}
