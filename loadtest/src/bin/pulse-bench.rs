//! `pulse-bench`: Pulse's benchmark tool (`make bench`). The driver and its scenarios live in
//! `pulse_loadtest::bench`; this binary only parses the command line.
//!
//! - `run`: every scenario, then BENCHMARKS.md and bench-results.json (`--smoke`: a quick check)
//! - `bare`: an axum server that reads the body and answers 202, the baseline ingest is compared
//!   with (the driver starts it)
//! - `fill`: writes N envelopes (like ingest's) to a topic, as the processor drain's input
//! - `copy`: the fair COPY ceiling of what `events` and `dead_letters` hold

use std::{net::SocketAddr, process::ExitCode};

use clap::{Parser, Subcommand};
use pulse_loadtest::bench::{self, RunOptions, drain};

/// The same allocator as `pulse`, so the bare handler differs from ingest only in what it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pulse-bench",
    about = "Pulse's benchmark driver (`make bench`)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the benchmark suite and write BENCHMARKS.md and bench-results.json.
    Run(Box<RunOptions>),
    /// Serve `POST /events` (202) and `POST /events/batch` (200), reading each body.
    Bare {
        #[arg(long, default_value = "127.0.0.1:18090")]
        addr: SocketAddr,
    },
    /// Fill a topic with event envelopes: `--invalid-pct` of them miss their event_type.
    Fill {
        #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
        brokers: String,
        #[arg(long)]
        topic: String,
        #[arg(long, default_value_t = 500_000)]
        events: u64,
        #[arg(long, default_value_t = 10)]
        tenants: usize,
        #[arg(long, default_value_t = 5.0)]
        invalid_pct: f64,
        #[arg(long, default_value_t = 1000)]
        payload_bytes: usize,
    },
    /// Re-write what `events` and `dead_letters` hold with COPY, in the processor's batches and
    /// parallelism, and report rows per second.
    Copy {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = drain::PROCESSOR_BATCH)]
        batch: usize,
        #[arg(long, default_value_t = drain::PROCESSOR_WRITERS)]
        writers: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pulse-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(options) => bench::run(*options).await.map(|_| ()),
            Command::Bare { addr } => bench::bare::serve(addr).await,
            Command::Fill {
                brokers,
                topic,
                events,
                tenants,
                invalid_pct,
                payload_bytes,
            } => {
                let filled = bench::fill::fill(
                    &brokers,
                    &topic,
                    events,
                    tenants,
                    invalid_pct,
                    payload_bytes,
                )
                .await?;
                println!("{}", serde_json::to_string(&filled)?);
                Ok(())
            }
            Command::Copy {
                database_url,
                batch,
                writers,
            } => {
                let run = bench::copy::fair_copy(&database_url, batch, writers).await?;
                println!("{}", serde_json::to_string(&run)?);
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pulse-bench: {e:#}");
            ExitCode::from(1)
        }
    }
}
