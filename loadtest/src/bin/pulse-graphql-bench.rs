//! `pulse-graphql-bench`: the GraphQL admin API against 5 million events and 100k dead letters
//! (query latency at 200 concurrent clients, then 1,000 WebSocket subscribers at 2,000 events/s);
//! `make bench` runs it last. See `pulse_loadtest::graphql_bench`.

use std::process::ExitCode;

use clap::Parser;
use pulse_loadtest::graphql_bench::{Options, run};

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    match run(&options).await {
        Ok(report) => {
            println!("{}", report.markdown());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pulse-graphql-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
