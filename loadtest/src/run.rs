//! One whole run: tenants, goose load, drain and reconciliation, then the reports. Used by
//! `main` and the end-to-end test; prints progress and the reports' paths as it goes.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use goose::{
    config::GooseConfiguration,
    prelude::{GooseAttack, GooseScheduler},
};
use pulse_core::TenantStore;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    ledger::LedgerSnapshot,
    options::{self, Mix, PulseOptions},
    reconcile::{self, Reconciliation},
    report::{self, Summary, TenantLine},
    scenario::{self, Traffic},
    tenants::{self, LoadTenant, TenantLimits, TenantWeights},
    timeline::TimelineData,
};

/// Idempotency window of the load-test tenants: longer than any run, so duplicates stay
/// duplicates.
const IDEMPOTENCY_TTL_SECONDS: i32 = 6 * 3600;
/// How often the drain wait reports progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// The run folder; `None` when goose only printed information (`--list`...).
    pub run_dir: Option<PathBuf>,
    /// Every report written, goose's and Pulse's.
    pub reports: Vec<PathBuf>,
    pub reconciliation: Option<Reconciliation>,
    pub ledger: LedgerSnapshot,
    pub timeline: TimelineData,
    /// The share of requests with an unexpected answer, 0..1.
    pub unexpected_share: f64,
    /// `--max-error-pct`.
    pub max_error_pct: f64,
}

impl RunOutcome {
    /// Reconciliation clean and unexpected answers within `--max-error-pct`.
    pub fn passed(&self) -> bool {
        self.errors_within_limit()
            && self
                .reconciliation
                .as_ref()
                .is_none_or(Reconciliation::is_clean)
    }

    fn errors_within_limit(&self) -> bool {
        self.unexpected_share * 100.0 <= self.max_error_pct + 1e-9
    }

    /// One line: PASS, or FAIL and why.
    pub fn verdict(&self) -> String {
        let mut why = Vec::new();
        if self.reconciliation.as_ref().is_some_and(|r| !r.is_clean()) {
            why.push("the reconciliation found lost, doubled or misplaced events".to_owned());
        }
        if !self.errors_within_limit() {
            why.push(format!(
                "{:.2} % of requests got an unexpected answer (--max-error-pct {})",
                self.unexpected_share * 100.0,
                self.max_error_pct
            ));
        }
        if why.is_empty() {
            "PASS".to_owned()
        } else {
            format!("FAIL: {}", why.join("; "))
        }
    }
}

/// Runs the load test described by `pulse` and `goose`, reconciles and writes the reports.
pub async fn run(pulse: PulseOptions, goose: GooseConfiguration) -> anyhow::Result<RunOutcome> {
    pulse.validate()?;
    let mix = Mix::from_options(&pulse)?;
    if options::goose_is_informational(&goose) {
        inform(goose, &mix).await?;
        return Ok(RunOutcome::default());
    }

    let started = chrono::Local::now();
    let run_dir = create_run_dir(
        &pulse.report_dir,
        &started.format("%Y%m%d-%H%M%S").to_string(),
    )?;
    let pool = pulse_core::db::connect(&pulse.database_url, 4)
        .await
        .context("connecting to PostgreSQL (DATABASE_URL / --database-url)")?;
    let tenants = provision(&pool, &pulse).await?;
    let config = options::goose_config(&pulse, goose, &run_dir);
    println!(
        "pulse-loadtest: {} tenants, {}, against {}; run folder {}",
        tenants.len(),
        describe_rate(&config),
        config.host.as_deref().unwrap_or(options::DEFAULT_HOST),
        run_dir.display()
    );
    let facts = facts(&pulse, &config, &started);
    let mut reports: Vec<PathBuf> = config.report_file.iter().map(PathBuf::from).collect();

    let (snapshot, timeline) = send_load(config, &pulse, &mix, tenants.clone()).await?;
    let reconciliation = check(&pool, &pulse, &snapshot, &tenants).await?;
    let lines = tenant_lines(&tenants, pulse.tenant_skew, &snapshot);
    let mut outcome = RunOutcome {
        run_dir: Some(run_dir.clone()),
        reports: Vec::new(),
        reconciliation: Some(reconciliation),
        unexpected_share: snapshot.unexpected_share(),
        ledger: snapshot,
        timeline,
        max_error_pct: pulse.max_error_pct,
    };
    reports.extend(write_reports(&run_dir, &outcome, facts, lines)?);
    println!("reports:");
    for path in &reports {
        println!("  {}", path.display());
    }
    outcome.reports = reports;
    println!("{}", outcome.verdict());
    Ok(outcome)
}

/// The load-test tenants, with the limits of `pulse`.
async fn provision(pool: &PgPool, pulse: &PulseOptions) -> anyhow::Result<Vec<LoadTenant>> {
    let limits = TenantLimits {
        rate_limit_per_minute: i32::try_from(pulse.tenant_rate_limit)?,
        idempotency_ttl_seconds: IDEMPOTENCY_TTL_SECONDS,
    };
    let store = TenantStore::new(pool.clone());
    tenants::provision(&store, usize::from(pulse.tenants), limits)
        .await
        .context("creating or reusing the load-test tenants")
}

/// Runs goose; returns what the run recorded.
async fn send_load(
    config: GooseConfiguration,
    pulse: &PulseOptions,
    mix: &Mix,
    tenants: Vec<LoadTenant>,
) -> anyhow::Result<(LedgerSnapshot, TimelineData)> {
    let weights = TenantWeights::zipf(tenants.len(), pulse.tenant_skew);
    let traffic = Arc::new(Traffic::new(
        tenants,
        weights,
        pulse.payload_bytes,
        usize::from(pulse.batch_size),
    ));
    GooseAttack::initialize_with_config(config)?
        .set_scheduler(GooseScheduler::Random)
        .register_scenario(scenario::scenario(traffic.clone(), mix)?)
        .execute()
        .await
        .context("running the goose load test")?;
    Ok((traffic.ledger.snapshot(), traffic.timeline.snapshot()))
}

/// Waits for the processor and reconciles; prints the table.
async fn check(
    pool: &PgPool,
    pulse: &PulseOptions,
    snapshot: &LedgerSnapshot,
    tenants: &[LoadTenant],
) -> anyhow::Result<Reconciliation> {
    // goose's Ctrl-C handler stays installed: re-arm it so a Ctrl-C now ends the drain wait
    goose::reset_killswitch();
    println!(
        "load done: {} events accepted; waiting for the processor \
         (gives up after {}s without progress)",
        snapshot.accepted.len(),
        pulse.drain_timeout
    );
    let tenant_ids: Vec<Uuid> = tenants.iter().map(|t| t.id).collect();
    let reconciliation = reconcile::reconcile(
        pool,
        snapshot,
        &tenant_ids,
        Duration::from_secs(pulse.drain_timeout),
        progress_printer(),
    )
    .await
    .context("reconciling with PostgreSQL")?;
    println!("\n{}", reconciliation.table());
    Ok(reconciliation)
}

/// Lets goose print what it was asked (`--list`, `--version`...) without touching the database.
async fn inform(goose: GooseConfiguration, mix: &Mix) -> anyhow::Result<()> {
    let traffic = Arc::new(Traffic::new(Vec::new(), TenantWeights::zipf(1, 0.0), 0, 0));
    GooseAttack::initialize_with_config(goose)?
        .register_scenario(scenario::scenario(traffic, mix)?)
        .execute()
        .await?;
    Ok(())
}

/// `<parent>/<name>`, or `<name>-2`, `-3`... if taken, created.
fn create_run_dir(parent: &Path, name: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(parent)
        .with_context(|| format!("creating the report folder {}", parent.display()))?;
    for n in 1.. {
        let candidate = match n {
            1 => parent.join(name),
            n => parent.join(format!("{name}-{n}")),
        };
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("creating {}", candidate.display()));
            }
        }
    }
    unreachable!("some run folder name is free")
}

fn describe_rate(config: &GooseConfiguration) -> String {
    let rate = match config.throttle_requests {
        Some(r) if r > 0 => format!("target {r} req/s"),
        _ => "no rate cap".to_owned(),
    };
    match (&config.users, &config.run_time) {
        (Some(users), Some(time)) => format!("{rate} with {users} users for {time}"),
        _ => rate,
    }
}

fn facts(
    pulse: &PulseOptions,
    config: &GooseConfiguration,
    started: &chrono::DateTime<chrono::Local>,
) -> Vec<(String, String)> {
    let mix = format!(
        "duplicate {} %, malformed {} %, invalid {} %, batch {} % (of {} events)",
        pulse.dup_pct, pulse.bad_pct, pulse.invalid_pct, pulse.batch_pct, pulse.batch_size
    );
    vec![
        ("started".into(), started.to_rfc3339()),
        (
            "host".into(),
            config
                .host
                .clone()
                .unwrap_or_else(|| options::DEFAULT_HOST.into()),
        ),
        ("load".into(), describe_rate(config)),
        (
            "tenants".into(),
            format!("{} (Zipf exponent {})", pulse.tenants, pulse.tenant_skew),
        ),
        ("request mix".into(), mix),
        (
            "payload".into(),
            format!("about {} bytes", pulse.payload_bytes),
        ),
    ]
}

fn tenant_lines(tenants: &[LoadTenant], skew: f64, snapshot: &LedgerSnapshot) -> Vec<TenantLine> {
    tenants
        .iter()
        .zip(TenantWeights::zipf(tenants.len(), skew).shares())
        .zip(&snapshot.per_tenant)
        .map(|((t, share), requests)| TenantLine {
            name: t.name.clone(),
            share,
            requests: *requests,
        })
        .collect()
}

/// `summary.html`, `reconciliation.txt` and `reconciliation.json` in the run folder.
fn write_reports(
    run_dir: &Path,
    outcome: &RunOutcome,
    mut facts: Vec<(String, String)>,
    tenants: Vec<TenantLine>,
) -> anyhow::Result<Vec<PathBuf>> {
    let reconciliation = outcome
        .reconciliation
        .as_ref()
        .context("no reconciliation")?;
    let timeline = &outcome.timeline;
    let (requests, seconds) = timeline.totals();
    facts.push((
        "achieved".into(),
        format!(
            "{requests} requests in {seconds} s, {:.1} req/s",
            requests as f64 / seconds.max(1) as f64
        ),
    ));
    let summary = Summary {
        title: format!(
            "Pulse load test, {}",
            run_dir.file_name().unwrap_or_default().to_string_lossy()
        ),
        verdict: outcome.verdict(),
        facts,
        timeline,
        reconciliation,
        tenants,
        links: vec![
            ("goose report".into(), "report.html".into()),
            ("goose JSON".into(), "report.json".into()),
            ("reconciliation".into(), "reconciliation.json".into()),
        ],
    };
    let html = run_dir.join("summary.html");
    report::write_summary(&html, &summary)?;
    let text = run_dir.join("reconciliation.txt");
    std::fs::write(&text, reconciliation.table())
        .with_context(|| format!("writing {}", text.display()))?;
    let json = run_dir.join("reconciliation.json");
    std::fs::write(&json, serde_json::to_vec_pretty(reconciliation)?)
        .with_context(|| format!("writing {}", json.display()))?;
    Ok(vec![html, text, json])
}

/// Prints how many events are still missing, at most every [`PROGRESS_EVERY`]; stops the wait
/// on Ctrl-C.
fn progress_printer() -> impl FnMut(usize, usize) -> bool {
    let mut last = Instant::now();
    move |pending, total| {
        if pending > 0 && last.elapsed() >= PROGRESS_EVERY {
            println!("  {pending} of {total} events not in PostgreSQL yet");
            last = Instant::now();
        }
        if goose::is_killswitch_triggered() {
            println!("  interrupted: reconciling what is there");
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::Row;

    #[test]
    fn verdict_names_every_reason() {
        let mut outcome = RunOutcome {
            reconciliation: Some(Reconciliation::default()),
            ..RunOutcome::default()
        };
        assert!(outcome.passed());
        assert_eq!(outcome.verdict(), "PASS");
        outcome.unexpected_share = 0.5;
        assert!(!outcome.passed());
        assert!(outcome.verdict().contains("50.00 % of requests"));
        outcome.max_error_pct = 50.0;
        assert!(outcome.passed());
        outcome.reconciliation = Some(Reconciliation {
            rows: vec![(
                crate::Kind::Valid,
                Row {
                    missing: 1,
                    ..Row::default()
                },
            )],
            ..Reconciliation::default()
        });
        assert!(!outcome.passed());
        assert!(outcome.verdict().starts_with("FAIL: the reconciliation"));
    }

    #[test]
    fn run_folders_are_never_reused() {
        let parent = std::env::temp_dir().join(format!("lt-dirs-{}", Uuid::new_v4().simple()));
        let first = create_run_dir(&parent, "20260101-000000").unwrap();
        let second = create_run_dir(&parent, "20260101-000000").unwrap();
        assert_eq!(first.file_name().unwrap(), "20260101-000000");
        assert_eq!(second.file_name().unwrap(), "20260101-000000-2");
        std::fs::remove_dir_all(parent).unwrap();
    }
}
