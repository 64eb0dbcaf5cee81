//! `pulse-loadtest`: parses the command line and calls into the library.

use std::process::ExitCode;

use clap::Parser as _;
use pulse_loadtest::Cli;

/// mimalloc, as the services use: glibc's malloc and free were about a sixth of the generator's
/// CPU at full speed in `perf` (every request builds its body, headers and ledger entry).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match pulse_loadtest::run(cli.pulse, cli.goose).await {
        Ok(outcome) if outcome.passed() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("pulse-loadtest: {e:#}");
            ExitCode::from(2)
        }
    }
}
