//! `pulse-graphql-bench`: the GraphQL admin API's performance targets, measured.
//!
//! A run prepares a dedicated, migrated database holding millions of events and dead letters
//! ([`seed`]), starts the `pulse graphql` under test against it on a free port with its own token
//! and topics ([`service`]), drives each query kind with many concurrent clients ([`queries`]),
//! then a thousand WebSocket subscribers while events flow ([`live`], over [`ws`]), and writes
//! the figures as JSON and as a BENCHMARKS.md section ([`report`]).

pub mod live;
pub mod queries;
pub mod report;
pub mod seed;
pub mod service;
pub mod ws;

use std::{path::PathBuf, sync::Arc};

use anyhow::{Context as _, Result};
use chrono::Utc;
use clap::Parser;

use report::{Dataset, LiveTargets, Report};

/// The command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "pulse-graphql-bench",
    about = "The GraphQL admin API under query and live load, against millions of seeded rows"
)]
pub struct Options {
    /// Write the figures (with their targets) as JSON here
    #[arg(long)]
    pub out_json: Option<PathBuf>,
    /// Write the BENCHMARKS.md section here
    #[arg(long)]
    pub out_md: Option<PathBuf>,
    /// Seconds each query kind is measured (after a 5 s warm-up, 1 s in a smoke run)
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Seconds events flow to the subscribers
    #[arg(long)]
    pub live_seconds: Option<f64>,
    /// A tiny run (20k events, 20 clients, 50 subscribers, 2 s phases) for tests
    #[arg(long)]
    pub smoke: bool,
    /// The pulse binary to migrate with and run
    #[arg(long, default_value = "target/release/pulse")]
    pub pulse_bin: PathBuf,
    /// Server to create the bench database on
    #[arg(long, env = "DATABASE_URL", default_value = pulse_core::config::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    #[arg(long, env = "KAFKA_BROKERS", default_value = pulse_core::config::DEFAULT_KAFKA_BROKERS)]
    pub kafka_brokers: String,
    /// The bench database (default pulse_bench_graphql, or pulse_bench_graphql_smoke)
    #[arg(long)]
    pub database: Option<String>,
    /// Seed again even when the database already holds the data set
    #[arg(long)]
    pub reseed: bool,
    /// A seed older than this many hours is replaced (stats(24h) should see a full day)
    #[arg(long, default_value_t = 6)]
    pub max_seed_age_hours: i64,
    /// Concurrent clients per query kind
    #[arg(long)]
    pub clients: Option<usize>,
    /// Requests per second each client sends
    #[arg(long)]
    pub rate_per_client: Option<f64>,
    /// WebSocket subscribers
    #[arg(long)]
    pub subscribers: Option<usize>,
    /// Events per second written during the live part
    #[arg(long)]
    pub live_rate: Option<u64>,
    /// The service's log
    #[arg(long, default_value = "target/pulse-graphql-bench.log")]
    pub log: PathBuf,
    /// Measure only these parts (a query kind by name, e.g. `stats(24h)`, or `live`; repeatable):
    /// for looking into one figure, not for BENCHMARKS.md
    #[arg(long)]
    pub only: Vec<String>,
}

/// The sizes of a run.
struct Scale {
    events: u64,
    dead_letters: u64,
    tenants: usize,
    clients: usize,
    rate_per_client: f64,
    seconds: f64,
    subscribers: usize,
    live_tenants: usize,
    live_rate: u64,
    live_seconds: f64,
}

impl Scale {
    fn of(o: &Options) -> Self {
        let base = if o.smoke {
            Self {
                events: 20_000,
                dead_letters: 1_000,
                tenants: 10,
                clients: 20,
                rate_per_client: 1.0,
                seconds: 2.0,
                subscribers: 50,
                live_tenants: 10,
                live_rate: 200,
                live_seconds: 2.0,
            }
        } else {
            Self {
                events: 5_000_000,
                dead_letters: 100_000,
                tenants: 100,
                clients: 200,
                rate_per_client: 1.0,
                seconds: 10.0,
                subscribers: 1_000,
                live_tenants: 100,
                live_rate: 2_000,
                live_seconds: 20.0,
            }
        };
        Self {
            clients: o.clients.unwrap_or(base.clients),
            rate_per_client: o.rate_per_client.unwrap_or(base.rate_per_client),
            seconds: o.seconds.unwrap_or(base.seconds),
            subscribers: o.subscribers.unwrap_or(base.subscribers),
            live_rate: o.live_rate.unwrap_or(base.live_rate),
            live_seconds: o.live_seconds.unwrap_or(base.live_seconds),
            ..base
        }
    }
}

/// One whole run; the report (also written where `options` say).
pub async fn run(options: &Options) -> Result<Report> {
    let started_at = Utc::now();
    let scale = Scale::of(options);
    let database = options.database.clone().unwrap_or_else(|| {
        if options.smoke {
            "pulse_bench_graphql_smoke".to_owned()
        } else {
            "pulse_bench_graphql".to_owned()
        }
    });
    eprintln!("graphql bench: preparing database {database}");
    let seeded = seed::prepare(
        &options.database_url,
        &database,
        &options.pulse_bin,
        &seed::SeedSize {
            events: scale.events,
            dead_letters: scale.dead_letters,
            tenants: scale.tenants,
        },
        chrono::Duration::hours(options.max_seed_age_hours),
        options.reseed,
    )
    .await?;
    eprintln!(
        "graphql bench: {} events, {} dead letters ({}, {:.0} s)",
        seeded.events,
        seeded.dead_letters,
        if seeded.reused { "reused" } else { "seeded" },
        seeded.seed_seconds
    );

    // the service's own topics, so the live part's events reach only it
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let raw_topic = format!("bench.graphql-raw-{suffix}");
    let dlq_topic = format!("bench.graphql-dlq-{suffix}");
    let group = format!("bench.graphql-group-{suffix}");
    pulse_core::kafka::ensure_topics(&options.kafka_brokers, &[(&raw_topic, 6), (&dlq_topic, 1)])
        .await
        .context("creating the bench topics")?;
    let service = service::Service::start(&service::ServiceConfig {
        pulse_bin: &options.pulse_bin,
        database_url: &seeded.url,
        kafka_brokers: &options.kafka_brokers,
        raw_topic: &raw_topic,
        dlq_topic: &dlq_topic,
        group: &group,
        log: &options.log,
    })
    .await;
    let outcome = match service {
        Ok(service) => {
            let outcome = measure(options, &scale, &seeded, &service, &raw_topic).await;
            service.stop().await;
            outcome
        }
        Err(e) => Err(e),
    };
    delete_topics(&options.kafka_brokers, &[&raw_topic, &dlq_topic]).await;
    let (load, queries, live) = outcome?;
    let live_targets = LiveTargets {
        delay_p99_ms: 1000.0,
        rss_mb: 300.0,
        every_event_accounted: true,
    };
    let report = Report {
        started_at,
        git_commit: git_commit(),
        pulse_bin: options.pulse_bin.display().to_string(),
        smoke: options.smoke,
        dataset: Dataset {
            database,
            events: seeded.events,
            dead_letters: seeded.dead_letters,
            tenants: seeded.tenants.len(),
            rollup_rows: seeded.rollup_rows,
            seeded_at: seeded.seeded_at,
            reused: seeded.reused,
            prepare_seconds: seeded.seed_seconds,
        },
        load,
        queries,
        live_met: Report::live_verdict(&live, &live_targets),
        live,
        live_targets,
    };
    if let Some(path) = &options.out_json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &options.out_md {
        std::fs::write(path, report.markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

type Measured = (
    queries::LoadConfig,
    Vec<queries::KindResult>,
    live::LiveResult,
);

async fn measure(
    options: &Options,
    scale: &Scale,
    seeded: &seed::Seeded,
    service: &service::Service,
    raw_topic: &str,
) -> Result<Measured> {
    let api = queries::Api::new(service.url(), service.admin_token.clone(), scale.clients)?;
    let pool = pulse_core::db::connect(&seeded.url, 2).await?;
    let warmed = warm(&pool).await;
    let sample = Arc::new(queries::Sample::load(&pool, seeded.tenants.clone(), &api).await?);
    let load = queries::LoadConfig {
        clients: scale.clients,
        rate_per_client: scale.rate_per_client,
        seconds: scale.seconds,
        // unrecorded: the service opens its database connections (each a new PostgreSQL
        // backend) and first runs the kind's code; with 1 s, the first kind of a `make bench`
        // run caught stalls of 100-300 ms that the same kind alone never shows
        warmup_seconds: if options.smoke { 1.0 } else { 5.0 },
        prewarmed_mb: warmed.map(|(mb, _)| mb.round()),
    };
    let mut results = Vec::new();
    let wanted = |kind: &queries::Kind| {
        options.only.is_empty() || options.only.iter().any(|o| o == kind.name)
    };
    for kind in queries::kinds().into_iter().filter(wanted) {
        let rested = settle(&pool, service.pid).await;
        eprintln!(
            "graphql bench: {} (after {rested:.0} s of rest) ...",
            kind.name
        );
        let mut result = queries::run_kind(&api, &sample, &kind, load).await;
        result.rested_seconds = crate::bench::cpu::round1(rested);
        eprintln!(
            "graphql bench: {}: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, {} errors",
            result.kind,
            result.all.requests_per_second,
            result.all.p50_ms,
            result.all.p99_ms,
            result.all.errors
        );
        results.push(result);
    }
    pool.close().await;
    if !options.only.is_empty() && !options.only.iter().any(|o| o == "live") {
        return Ok((load, results, live::LiveResult::default()));
    }
    eprintln!(
        "graphql bench: live, {} subscribers at {} events/s ...",
        scale.subscribers, scale.live_rate
    );
    let live = live::run(
        &live::LiveTarget {
            addr: service.addr,
            pid: service.pid,
            api: &api,
            brokers: &options.kafka_brokers,
            raw_topic,
            tenants: &seeded.tenants,
        },
        live::LiveConfig {
            subscribers: scale.subscribers,
            tenants: scale.live_tenants,
            rate: scale.live_rate,
            seconds: scale.live_seconds,
        },
    )
    .await?;
    eprintln!(
        "graphql bench: live: {:.2} % delivered, {} reported missed, {} unaccounted, p99 {:.0} ms, RSS peak {:.0} MB",
        live.delivered_percent,
        live.missed_reported,
        live.unaccounted,
        live.delay_p99_ms,
        live.rss_mb_peak
    );
    Ok((load, results, live))
}

/// Reads the bench database's tables and indexes once (`pg_prewarm`, into the OS page cache),
/// so the queries are measured against a working set in memory, as on a running system, and not
/// against a disk cold since PostgreSQL or the machine restarted (cold, the first random key
/// lookups each waited on the disk: `eventsByIdempotencyKey` p99 160 ms instead of 5 ms). The
/// megabytes read and the seconds it took; `None` where pg_prewarm is not installed.
async fn warm(pool: &sqlx::PgPool) -> Option<(f64, f64)> {
    let started = std::time::Instant::now();
    // make up installs pg_prewarm in template1 (so in every bench database) and lets this pass
    let _ = sqlx::query("create extension if not exists pg_prewarm")
        .execute(pool)
        .await;
    let blocks: Result<Option<i64>, _> = sqlx::query_scalar(
        "select sum(pg_prewarm(c.oid, 'read'))::bigint from pg_class c \
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'i')",
    )
    .fetch_one(pool)
    .await;
    match blocks {
        Ok(blocks) => {
            let mb = blocks.unwrap_or(0) as f64 * 8192.0 / 1e6;
            let seconds = started.elapsed().as_secs_f64();
            eprintln!("graphql bench: read {mb:.0} MB of tables and indexes in {seconds:.1} s");
            Some((mb, seconds))
        }
        Err(e) => {
            eprintln!("graphql bench: not warmed, pg_prewarm is missing ({e}); run make infra");
            None
        }
    }
}

/// Lets the machine settle before a query kind is measured, so it measures the query and not the
/// tail of what ran before (in `make bench`: half a million rows just drained into PostgreSQL,
/// Jaeger storing their spans): a `CHECKPOINT` writes PostgreSQL's dirty pages now instead of
/// mid-measurement, then waits (at most two minutes) until PostgreSQL, Jaeger and the service each
/// use under 5 % of a core and the whole machine under 0.3 cores for five seconds. Every kind rests
/// the same way; returns the seconds it waited.
async fn settle(pool: &sqlx::PgPool, service_pid: u32) -> f64 {
    let started = std::time::Instant::now();
    if let Err(e) = sqlx::query("CHECKPOINT").execute(pool).await {
        // only a superuser (or pg_checkpoint) may; resting still helps
        eprintln!("graphql bench: CHECKPOINT refused ({e}); resting only");
    }
    crate::bench::cpu::rest(
        &[("graphql", service_pid)],
        std::time::Duration::from_secs(60),
    )
    .await;
    // then the whole machine, under 0.3 cores for five seconds in a row: in `make bench` what ran
    // before (Kafka cleaning its logs, autovacuum, Jaeger's collector) woke again after one quiet
    // second and put 60 ms stalls into a kind measured at 4 ms alone
    let mut quiet = 0;
    while quiet < 5 && started.elapsed() < std::time::Duration::from_secs(120) {
        let before = crate::bench::cpu::snapshot(&[]);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let used = before.until(&crate::bench::cpu::snapshot(&[]));
        quiet = if used.cores("machine") < 0.3 {
            quiet + 1
        } else {
            0
        };
    }
    started.elapsed().as_secs_f64()
}

/// Removes the run's topics (best effort: a leftover topic is only clutter).
async fn delete_topics(brokers: &str, topics: &[&str]) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    let Ok(admin) = pulse_core::kafka::client_config(brokers)
        .create::<AdminClient<rdkafka::client::DefaultClientContext>>()
    else {
        return;
    };
    let _ = admin.delete_topics(topics, &AdminOptions::new()).await;
}

/// The checked-out commit (with `-dirty` when the tree has changes).
fn git_commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(commit) = run(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown".to_owned();
    };
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    }
}
