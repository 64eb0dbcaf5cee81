//! The command line: Pulse's own options (each a flag or an environment variable) beside every
//! goose option, and how Pulse's options fill in goose's settings for a run.

use std::path::{Path, PathBuf};

use clap::{Args, Parser};
use goose::{config::GooseConfiguration, prelude::GooseCoordinatedOmissionMitigation};
use pulse_core::config::DEFAULT_DATABASE_URL;

use crate::ledger::Kind;

/// The ingest a run targets when goose's `--host` is not given.
pub const DEFAULT_HOST: &str = "http://127.0.0.1:8080";

const ABOUT: &str = "Load test for Pulse's ingest service, with end-of-run reconciliation";

const LONG_ABOUT: &str = "\
Load test for Pulse's ingest service, with end-of-run reconciliation.

Creates (or reuses, rotating their keys) tenants named loadtest-0..loadtest-N-1 with high limits,
sends a mix of request kinds to POST /events and POST /events/batch with goose, spread unevenly
over the tenants, and records every event id the server accepted. When the load ends it waits for
the processor to drain, checks every accepted event against PostgreSQL (stored exactly once,
invalid ones dead-lettered with reason missing_field, duplicates adding no rows), prints a table
and exits 1 on any mismatch (2 when the run itself failed).

Pulse's options come first below; each can also be set with the environment variable shown.
Every goose option works as usual, except that Pulse fills in: --host http://127.0.0.1:8080,
--throttle-requests from --rate, --run-time from --duration, --users and --increase-rate from
the rate, --co-mitigation average, --no-telnet, and --report-file
<report-dir>/<timestamp>/report.html and report.json. An option given explicitly always wins.

Request kinds (goose transaction and request names): valid (202), duplicate (a repeat of an
earlier valid request: 200, Idempotent-Replayed: true, same event_id), malformed (not JSON: 400),
invalid (no event_type: 202, then a dead letter with reason missing_field), batch (200 with one
202 result per event). Reports: goose's report.html (its charts need internet) and report.json,
plus summary.html (self-contained SVG charts), reconciliation.txt and reconciliation.json.";

/// `pulse-loadtest`'s whole command line.
#[derive(Debug, Parser)]
#[command(name = "pulse-loadtest", about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(flatten)]
    pub pulse: PulseOptions,
    #[command(flatten)]
    pub goose: GooseConfiguration,
}

/// Pulse's own settings for a run.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Pulse")]
pub struct PulseOptions {
    /// Tenants to spread traffic over, named loadtest-0..loadtest-N-1 (created or reused)
    #[arg(
        long,
        env = "TENANTS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u16).range(1..=1000)
    )]
    pub tenants: u16,
    /// Zipf exponent of the traffic split over tenants: 0 is even, 1 gives a few heavy tenants
    /// and a long tail
    #[arg(long, env = "TENANT_SKEW", default_value_t = 1.0, value_name = "S")]
    pub tenant_skew: f64,
    /// Target total requests per second (sets goose's --throttle-requests); 0 means as fast as
    /// the users go
    #[arg(long, env = "RATE", default_value_t = 200, value_name = "N")]
    pub rate: usize,
    /// How long to send load, such as 30s or 2m (sets goose's --run-time)
    #[arg(long, env = "DURATION", default_value = "30s", value_name = "TIME")]
    pub duration: String,
    /// Percent of requests that repeat an earlier valid request (same Idempotency-Key and body)
    #[arg(long, env = "DUP_PCT", default_value_t = 5.0, value_name = "PCT")]
    pub dup_pct: f64,
    /// Percent of requests whose body is not JSON (expects 400)
    #[arg(long, env = "BAD_PCT", default_value_t = 2.0, value_name = "PCT")]
    pub bad_pct: f64,
    /// Percent of requests that are JSON objects without event_type (expects 202, then a dead
    /// letter)
    #[arg(long, env = "INVALID_PCT", default_value_t = 3.0, value_name = "PCT")]
    pub invalid_pct: f64,
    /// Percent of requests that are POST /events/batch of --batch-size valid events
    #[arg(long, env = "BATCH_PCT", default_value_t = 0.0, value_name = "PCT")]
    pub batch_pct: f64,
    /// Events per batch request
    #[arg(
        long,
        env = "BATCH_SIZE",
        default_value_t = 20,
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(1..=10_000)
    )]
    pub batch_size: u16,
    /// Approximate size of each event's payload object, in bytes
    #[arg(
        long,
        env = "PAYLOAD_BYTES",
        default_value_t = 1024,
        value_name = "BYTES"
    )]
    pub payload_bytes: usize,
    /// PostgreSQL holding the tenants and the tables the reconciliation reads
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = DEFAULT_DATABASE_URL,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: String,
    /// Give up waiting for the processor after this many seconds without progress
    #[arg(long, env = "DRAIN_TIMEOUT", default_value_t = 60, value_name = "SECS")]
    pub drain_timeout: u64,
    /// Rate limit (requests per minute) set on the load-test tenants
    #[arg(
        long,
        env = "TENANT_RATE_LIMIT",
        default_value_t = 6_000_000,
        value_name = "N"
    )]
    pub tenant_rate_limit: u32,
    /// Folder that receives one run folder per run, named by its start time
    #[arg(
        long,
        env = "REPORT_DIR",
        default_value = "loadtest-reports",
        value_name = "DIR"
    )]
    pub report_dir: PathBuf,
    /// Largest percent of requests that may get an unexpected answer before the run fails
    #[arg(long, env = "MAX_ERROR_PCT", default_value_t = 0.0, value_name = "PCT")]
    pub max_error_pct: f64,
}

/// An option that cannot be used as given.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    #[error("--{name} must be between 0 and 100, not {value}")]
    Percent { name: &'static str, value: f64 },
    #[error("--dup-pct, --bad-pct, --invalid-pct and --batch-pct add up to {0}, more than 100")]
    MixOver100(f64),
    #[error("--tenant-skew must be a finite number >= 0")]
    Skew,
    #[error("--tenant-rate-limit must be between 1 and {max}", max = i32::MAX)]
    RateLimit,
}

impl PulseOptions {
    /// Checks the options that clap cannot check alone.
    pub fn validate(&self) -> Result<(), OptionsError> {
        Mix::from_options(self)?;
        if !(self.tenant_skew.is_finite() && self.tenant_skew >= 0.0) {
            return Err(OptionsError::Skew);
        }
        if self.tenant_rate_limit == 0 || i32::try_from(self.tenant_rate_limit).is_err() {
            return Err(OptionsError::RateLimit);
        }
        percent("max-error-pct", self.max_error_pct)?;
        Ok(())
    }
}

fn percent(name: &'static str, value: f64) -> Result<f64, OptionsError> {
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(OptionsError::Percent { name, value })
    }
}

/// The share of each request kind, in per-mille goose transaction weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    pub valid: usize,
    pub duplicate: usize,
    pub malformed: usize,
    pub invalid: usize,
    pub batch: usize,
}

impl Mix {
    /// Turns the percentages into weights; valid requests take what the others leave.
    pub fn from_options(o: &PulseOptions) -> Result<Self, OptionsError> {
        let dup = percent("dup-pct", o.dup_pct)?;
        let bad = percent("bad-pct", o.bad_pct)?;
        let invalid = percent("invalid-pct", o.invalid_pct)?;
        let batch = percent("batch-pct", o.batch_pct)?;
        let total = dup + bad + invalid + batch;
        if total > 100.0 + 1e-9 {
            return Err(OptionsError::MixOver100(total));
        }
        // a tiny non-zero share still gets weight 1 rather than vanishing in the rounding
        let weight = |pct: f64| match (pct * 10.0).round() as usize {
            0 if pct > 0.0 => 1,
            w => w,
        };
        let (duplicate, malformed, invalid, batch) =
            (weight(dup), weight(bad), weight(invalid), weight(batch));
        let others = duplicate + malformed + invalid + batch;
        Ok(Self {
            valid: 1000usize.saturating_sub(others),
            duplicate,
            malformed,
            invalid,
            batch,
        })
    }

    /// Each kind with a non-zero weight.
    pub fn weights(&self) -> Vec<(Kind, usize)> {
        [
            (Kind::Valid, self.valid),
            (Kind::Duplicate, self.duplicate),
            (Kind::Malformed, self.malformed),
            (Kind::Invalid, self.invalid),
            (Kind::Batch, self.batch),
        ]
        .into_iter()
        .filter(|(_, w)| *w > 0)
        .collect()
    }
}

/// Users that comfortably reach `rate` requests per second at a few milliseconds each, without
/// hundreds of idle tasks at low rates.
pub fn default_users(rate: usize) -> usize {
    if rate == 0 {
        8
    } else {
        rate.div_ceil(25).clamp(4, 256)
    }
}

/// Whether goose will run without sending load (`--list`, `--version`, `--render-report`...).
pub fn goose_is_informational(goose: &GooseConfiguration) -> bool {
    goose.version || goose.list || goose.scenarios_list || goose.render_report.is_some()
}

/// Goose's settings for a run: what the user gave, with Pulse's defaults filled in.
pub fn goose_config(
    pulse: &PulseOptions,
    mut goose: GooseConfiguration,
    run_dir: &Path,
) -> GooseConfiguration {
    goose.host.get_or_insert_with(|| DEFAULT_HOST.to_owned());
    // the controllers listen on fixed ports (5116/5117): two runs at once would collide
    goose.no_telnet = true;
    // ingest answers small JSON, never compressed: gzip would only put a decompression layer on
    // every response (5 % of the generator's CPU in `perf`)
    goose.no_gzip = true;
    // coordinated-omission mitigation backfills the requests a stalled schedule did not send; an
    // unthrottled run (`--rate 0`, the generator at full speed) has no schedule to stall, and the
    // mitigation's synthetic requests and its log line per late request were CPU the generator
    // needed to send
    goose.co_mitigation.get_or_insert(if pulse.rate > 0 {
        GooseCoordinatedOmissionMitigation::Average
    } else {
        GooseCoordinatedOmissionMitigation::Disabled
    });
    if pulse.rate > 0 {
        goose.throttle_requests.get_or_insert(pulse.rate);
    }
    // goose refuses reports without metrics
    if goose.report_file.is_empty() && !goose.no_metrics {
        for name in ["report.html", "report.json"] {
            goose
                .report_file
                .push(run_dir.join(name).to_string_lossy().into_owned());
        }
    }
    // a test plan sets users, ramp and duration itself, and goose refuses them beside it
    if !uses_test_plan(&goose) {
        let users = *goose
            .users
            .get_or_insert_with(|| default_users(goose.throttle_requests.unwrap_or(0)));
        if goose.increase_rate.is_none() && goose.increase_time.is_none() {
            goose.increase_rate = Some(users.to_string());
        }
        if goose.iterations.is_none() {
            goose.run_time.get_or_insert_with(|| pulse.duration.clone());
        }
    }
    goose
}

/// Whether `--test-plan` was given: goose keeps that field private, but serializes it.
fn uses_test_plan(goose: &GooseConfiguration) -> bool {
    serde_json::to_value(goose)
        .ok()
        .and_then(|v| v.get("test_plan").cloned())
        .is_some_and(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("pulse-loadtest").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn percentages_become_weights() {
        let cli = parse(&[
            "--dup-pct",
            "5",
            "--bad-pct",
            "2",
            "--invalid-pct",
            "3.5",
            "--batch-pct",
            "0.01",
        ]);
        let mix = Mix::from_options(&cli.pulse).unwrap();
        assert_eq!(
            mix,
            Mix {
                valid: 894,
                duplicate: 50,
                malformed: 20,
                invalid: 35,
                batch: 1
            }
        );
        let over = parse(&["--dup-pct", "60", "--bad-pct", "50"]);
        assert!(matches!(
            Mix::from_options(&over.pulse),
            Err(OptionsError::MixOver100(_))
        ));
        let negative = parse(&["--dup-pct=-1"]);
        assert!(negative.pulse.validate().is_err());
    }

    #[test]
    fn zero_weights_are_left_out() {
        let cli = parse(&["--dup-pct", "0", "--bad-pct", "0", "--invalid-pct", "0"]);
        let kinds: Vec<Kind> = Mix::from_options(&cli.pulse)
            .unwrap()
            .weights()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(kinds, vec![Kind::Valid]);
    }

    #[test]
    fn pulse_options_fill_goose_defaults() {
        let cli = parse(&["--rate", "500", "--duration", "12s"]);
        let g = goose_config(&cli.pulse, cli.goose, Path::new("/tmp/run"));
        assert_eq!(g.host.as_deref(), Some(DEFAULT_HOST));
        assert!(g.no_telnet);
        assert_eq!(g.throttle_requests, Some(500));
        assert_eq!(g.run_time.as_deref(), Some("12s"));
        assert_eq!(g.users, Some(20));
        assert_eq!(g.increase_rate.as_deref(), Some("20"));
        assert!(matches!(
            g.co_mitigation,
            Some(GooseCoordinatedOmissionMitigation::Average)
        ));
        assert_eq!(
            g.report_file,
            vec!["/tmp/run/report.html", "/tmp/run/report.json"]
        );
    }

    #[test]
    fn an_unthrottled_run_has_no_schedule_to_mitigate() {
        let cli = parse(&["--rate", "0"]);
        let g = goose_config(&cli.pulse, cli.goose, Path::new("/tmp/run"));
        assert_eq!(g.throttle_requests, None);
        assert!(matches!(
            g.co_mitigation,
            Some(GooseCoordinatedOmissionMitigation::Disabled)
        ));
    }

    #[test]
    fn explicit_goose_options_win() {
        let cli = parse(&[
            "--rate",
            "500",
            "-H",
            "http://ingest:9000",
            "--throttle-requests",
            "7",
            "-u",
            "3",
            "-t",
            "5s",
            "--report-file",
            "x.html",
            "--co-mitigation",
            "minimum",
        ]);
        let g = goose_config(&cli.pulse, cli.goose, Path::new("/tmp/run"));
        assert_eq!(g.host.as_deref(), Some("http://ingest:9000"));
        assert_eq!(g.throttle_requests, Some(7));
        assert_eq!(g.users, Some(3));
        assert_eq!(g.run_time.as_deref(), Some("5s"));
        assert_eq!(g.report_file, vec!["x.html"]);
        assert!(matches!(
            g.co_mitigation,
            Some(GooseCoordinatedOmissionMitigation::Minimum)
        ));
    }

    #[test]
    fn a_test_plan_keeps_goose_in_charge_of_users() {
        let cli = parse(&["--test-plan", "4,2s;4,5s;0,1s"]);
        let g = goose_config(&cli.pulse, cli.goose, Path::new("/tmp/run"));
        assert_eq!(g.users, None);
        assert_eq!(g.run_time, None);
        assert_eq!(g.increase_rate, None);
    }

    #[test]
    fn help_documents_both_option_sets() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for needle in [
            "--tenants",
            "--dup-pct",
            "DUP_PCT",
            "--drain-timeout",
            "--throttle-requests",
            "--co-mitigation",
            "--report-file",
        ] {
            assert!(help.contains(needle), "help mentions {needle}");
        }
    }
}
