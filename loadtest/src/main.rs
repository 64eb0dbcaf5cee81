//! `pulse-loadtest`: parses the command line and calls into the library.

use std::process::ExitCode;

use clap::Parser as _;
use pulse_loadtest::Cli;

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
