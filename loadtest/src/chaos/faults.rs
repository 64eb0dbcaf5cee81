//! The faults, one at a time under steady load, each ending in a verdict: every acknowledged event
//! reconciled (lost, stored twice), keys that became two events, the answers clients got while it
//! lasted, and how long clients and the pipeline took to recover.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    load::{Answer, Load, LoadConfig, NO_CONNECTION, Record, TIMED_OUT},
    stack::Stack,
};
use crate::reconcile;

/// One fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the processor repeatedly ([`Plan::processor_kills`]), restarting it each time.
    ProcessorKill,
    /// SIGKILL the Kafka broker, restart it.
    KafkaKill,
    /// Stop PostgreSQL for the hold time.
    PostgresStop,
    /// Stop Redis for the hold time.
    RedisStop,
    /// SIGKILL Redis and restart it (its append-only file survives).
    RedisKill,
    /// FLUSHALL: Redis loses every key, as after a failover to an empty replica.
    RedisFlush,
    /// SIGKILL Redis, delete its append-only file, restart it empty.
    RedisWipe,
    /// SIGKILL one of two ingest instances, restart it.
    IngestKill,
    /// A third processor joins (a rebalance starts) and one of the others is SIGKILLed.
    ProcessorKillInRebalance,
}

impl Fault {
    pub const ALL: [Fault; 9] = [
        Fault::ProcessorKill,
        Fault::KafkaKill,
        Fault::PostgresStop,
        Fault::RedisStop,
        Fault::RedisKill,
        Fault::RedisFlush,
        Fault::RedisWipe,
        Fault::IngestKill,
        Fault::ProcessorKillInRebalance,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::ProcessorKill => "processor-kill",
            Fault::KafkaKill => "kafka-kill",
            Fault::PostgresStop => "postgres-stop",
            Fault::RedisStop => "redis-stop",
            Fault::RedisKill => "redis-kill",
            Fault::RedisFlush => "redis-flushall",
            Fault::RedisWipe => "redis-wipe-aof",
            Fault::IngestKill => "ingest-kill",
            Fault::ProcessorKillInRebalance => "processor-kill-in-rebalance",
        }
    }

    pub fn parse(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }

    /// A fault's name, or `redis-loss`: the faults where Redis comes back without its data
    /// (`redis-flushall`, `redis-wipe-aof`).
    pub fn parse_group(name: &str) -> Option<Vec<Fault>> {
        match name {
            "redis-loss" => Some(vec![Fault::RedisFlush, Fault::RedisWipe]),
            _ => Fault::parse(name).map(|f| vec![f]),
        }
    }

    /// Whether it stops a server only a private stack has.
    pub fn needs_private_backing(self) -> bool {
        matches!(self, Fault::KafkaKill | Fault::PostgresStop)
    }

    /// Whether it stops, kills or empties Redis (where the idempotency keys live).
    pub fn touches_redis(self) -> bool {
        matches!(
            self,
            Fault::RedisStop | Fault::RedisKill | Fault::RedisFlush | Fault::RedisWipe
        )
    }
}

/// The shape of each fault's run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Load before the fault.
    pub warmup: Duration,
    /// How long stopped servers stay stopped (PostgreSQL, Redis) or killed ones down (ingest, Kafka).
    pub hold: Duration,
    /// Load after the heal.
    pub tail: Duration,
    /// New requests per second.
    pub rate: u32,
    pub clients: usize,
    pub keyed_pct: f64,
    pub resend_pct: f64,
    /// How long one client retries one request.
    pub retry_window: Duration,
    /// Reconciliation gives up after this long without progress.
    pub drain_patience: Duration,
    /// How many times [`Fault::ProcessorKill`] kills the processor.
    pub processor_kills: u32,
}

/// What one fault did.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub fault: Fault,
    pub accepted: u64,
    pub lost: u64,
    /// Acknowledged ids with more than one row.
    pub duplicated: u64,
    pub wrong_place: u64,
    /// Idempotency keys stored as two or more events.
    pub keys_stored_twice: i64,
    /// Acknowledged ids the processor recorded as the alias of an earlier event with the same
    /// key (a retry ingest answered with a new id after Redis lost the key): accounted for once.
    pub aliased: u64,
    /// Answers from the fault's start until clients recovered, by status (0 = no connection,
    /// 1 = timeout).
    pub statuses: BTreeMap<u16, u64>,
    /// 5xx answers other than 503 during the whole run.
    pub server_errors: u64,
    /// 503 answers without a Retry-After are not possible to see here; requests whose retries ran
    /// out instead.
    pub gave_up: u64,
    /// From the heal until the last failed answer (None: clients were still failing at the end).
    pub client_recovery: Option<Duration>,
    /// From the heal until the first event received after it was stored.
    pub store_recovery: Option<Duration>,
    pub drained: bool,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.wrong_place == 0
            && self.keys_stored_twice == 0
            && self.server_errors == 0
            && self.drained
            && self.client_recovery.is_some()
    }
}

/// Runs `fault` on `stack` under load; the stack is whole again afterwards.
pub async fn run(stack: &mut Stack, fault: Fault, plan: &Plan) -> anyhow::Result<Verdict> {
    if fault.needs_private_backing() && (stack.kafka.is_none() || stack.postgres.is_none()) {
        anyhow::bail!("{} needs a private PostgreSQL and Kafka", fault.name());
    }
    match fault {
        Fault::IngestKill => {
            while stack.ingests.len() < 2 {
                stack.add_ingest().await?;
            }
        }
        Fault::ProcessorKillInRebalance => {
            while stack.processors.len() < 2 {
                stack.add_processor().await?;
            }
        }
        _ => {}
    }
    let twice_before = stack.keys_stored_twice().await?;
    let mut load = Load::start(LoadConfig {
        targets: stack.targets(),
        tenants: stack.tenants.clone(),
        rate: plan.rate,
        clients: plan.clients,
        keyed_pct: plan.keyed_pct,
        resend_pct: plan.resend_pct,
        retry_window: plan.retry_window,
        timeout: Duration::from_secs(5),
    });
    tokio::time::sleep(plan.warmup).await;
    // keys completed before a Redis fault, sent again once it is healed: each must still be a
    // duplicate of its first event
    let completed = if fault.touches_redis() {
        load.completed(300)
    } else {
        Vec::new()
    };
    let fault_at = load.record().started.elapsed();
    inject(stack, fault, plan)
        .await
        .with_context(|| format!("injecting {}", fault.name()))?;
    let heal_at = load.record().started.elapsed();
    load.retry_completed(completed);
    let heal_wall = chrono::Utc::now();
    let healed = Instant::now();
    let mut store_recovery = None;
    while healed.elapsed() < plan.tail {
        if store_recovery.is_none() && stack.stored_since(heal_wall).await > 0 {
            store_recovery = Some(healed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let record = load.stop().await;
    if store_recovery.is_none() && stack.stored_since(heal_wall).await > 0 {
        store_recovery = Some(healed.elapsed());
    }

    let snapshot = record.ledger.snapshot();
    let reconciliation = reconcile::reconcile(
        &stack.pool,
        &snapshot,
        &stack.tenant_ids(),
        plan.drain_patience,
        |_, _| true,
    )
    .await?;
    let total = reconciliation.total();
    let answers = record.answers();
    let client_recovery = client_recovery(&answers, heal_at, record.started.elapsed());
    let window_end = heal_at
        + client_recovery
            .unwrap_or(plan.tail)
            .max(Duration::from_secs(1));
    Ok(Verdict {
        fault,
        accepted: snapshot.accepted.len() as u64,
        lost: total.missing,
        duplicated: total.duplicated,
        wrong_place: total.wrong_place,
        keys_stored_twice: stack.keys_stored_twice().await? - twice_before,
        aliased: total.aliased,
        statuses: statuses(&answers, fault_at, window_end),
        server_errors: answers
            .iter()
            .filter(|a| a.status >= 500 && a.status != 503)
            .count() as u64,
        gave_up: gave_up(&record),
        client_recovery,
        store_recovery,
        drained: reconciliation.drain.drained,
    })
}

fn gave_up(record: &Record) -> u64 {
    record.gave_up.load(std::sync::atomic::Ordering::Relaxed)
}

/// Does the damage and heals it.
async fn inject(stack: &mut Stack, fault: Fault, plan: &Plan) -> anyhow::Result<()> {
    let http = stack.http.clone();
    let ready = Duration::from_secs(60);
    match fault {
        Fault::ProcessorKill => {
            for _ in 0..plan.processor_kills.max(1) {
                stack.processors[0].kill();
                tokio::time::sleep(Duration::from_secs(2)).await;
                stack.processors[0].restart()?;
                stack.processors[0].ready(&http, ready).await?;
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        }
        Fault::KafkaKill => {
            let kafka = stack.kafka.as_mut().context("no private Kafka")?;
            kafka.kill();
            tokio::time::sleep(plan.hold.min(Duration::from_secs(10))).await;
            kafka.restart().await?;
        }
        Fault::PostgresStop => {
            let pg = stack.postgres.as_ref().context("no private PostgreSQL")?;
            pg.stop("fast")?;
            tokio::time::sleep(plan.hold).await;
            pg.restart()?;
        }
        Fault::RedisStop => {
            stack.redis.stop();
            tokio::time::sleep(plan.hold).await;
            stack.redis.restart().await?;
        }
        Fault::RedisKill => {
            stack.redis.kill();
            tokio::time::sleep(Duration::from_secs(1)).await;
            stack.redis.restart().await?;
        }
        Fault::RedisFlush => stack.redis.flush_all().await?,
        Fault::RedisWipe => {
            stack.redis.kill();
            stack.redis.wipe_data()?;
            stack.redis.restart().await?;
        }
        Fault::IngestKill => {
            stack.ingests[0].kill();
            tokio::time::sleep(plan.hold.min(Duration::from_secs(10))).await;
            stack.ingests[0].restart()?;
            stack.ingests[0].ready(&http, ready).await?;
        }
        Fault::ProcessorKillInRebalance => {
            // the third member's join starts a rebalance; kill a member while it runs
            stack.add_processor().await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            stack.processors[0].kill();
            tokio::time::sleep(Duration::from_secs(3)).await;
            stack.processors[0].restart()?;
            stack.processors[0].ready(&http, ready).await?;
            if let Some(mut third) = stack.processors.pop() {
                third.terminate();
            }
        }
    }
    Ok(())
}

/// From `heal_at` until the last answer that was not a success; `None` if the last answers were
/// still failures (within the final second).
fn client_recovery(answers: &[Answer], heal_at: Duration, end: Duration) -> Option<Duration> {
    let failed = |a: &&Answer| !matches!(a.status, 200 | 202);
    let last_failure = answers
        .iter()
        .filter(|a| a.at >= heal_at)
        .filter(failed)
        .map(|a| a.at)
        .max();
    match last_failure {
        None => Some(Duration::ZERO),
        Some(at) if end.saturating_sub(at) < Duration::from_secs(1) => None,
        Some(at) => Some(at - heal_at),
    }
}

fn statuses(answers: &[Answer], from: Duration, to: Duration) -> BTreeMap<u16, u64> {
    let mut out = BTreeMap::new();
    for a in answers.iter().filter(|a| a.at >= from && a.at <= to) {
        *out.entry(a.status).or_insert(0) += 1;
    }
    out
}

/// `202:1200 503:40 conn:3`.
pub fn describe_statuses(statuses: &BTreeMap<u16, u64>) -> String {
    statuses
        .iter()
        .map(|(s, n)| match *s {
            NO_CONNECTION => format!("conn:{n}"),
            TIMED_OUT => format!("timeout:{n}"),
            s => format!("{s}:{n}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(
        || "not recovered".to_owned(),
        |d| format!("{:.1}s", d.as_secs_f64()),
    )
}

/// The verdict table, one line per fault.
pub fn table(verdicts: &[Verdict]) -> String {
    let header = [
        "fault",
        "accepted",
        "lost",
        "dup rows",
        "key->2 events",
        "key->alias",
        "answers from fault to recovery",
        "5xx!=503",
        "gave up",
        "client recovery",
        "store recovery",
        "verdict",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for v in verdicts {
        let verdict = if v.passed() {
            "PASS".to_owned()
        } else if v.fault.touches_redis()
            && v.lost == 0
            && v.duplicated == 0
            && v.server_errors == 0
        {
            "FAIL (keys doubled: see RELIABILITY.md)".to_owned()
        } else {
            "FAIL".to_owned()
        };
        rows.push(vec![
            v.fault.name().to_owned(),
            v.accepted.to_string(),
            v.lost.to_string(),
            v.duplicated.to_string(),
            v.keys_stored_twice.to_string(),
            v.aliased.to_string(),
            describe_statuses(&v.statuses),
            v.server_errors.to_string(),
            v.gave_up.to_string(),
            secs(v.client_recovery),
            if v.drained {
                secs(v.store_recovery)
            } else {
                "NOT DRAINED".to_owned()
            },
            verdict,
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, status: u16) -> Answer {
        Answer {
            at: Duration::from_millis(ms),
            status,
            took: Duration::ZERO,
        }
    }

    #[test]
    fn recovery_is_the_last_failure_after_the_heal() {
        let answers = [at(100, 503), at(900, 202), at(1500, 503), at(2000, 202)];
        let heal = Duration::from_millis(1000);
        let end = Duration::from_millis(5000);
        assert_eq!(
            client_recovery(&answers, heal, end),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            client_recovery(&answers[..2], heal, end),
            Some(Duration::ZERO)
        );
        // still failing at the very end
        assert_eq!(
            client_recovery(&[at(4800, 503)], heal, end),
            None,
            "not recovered"
        );
    }

    #[test]
    fn statuses_are_counted_in_the_window_and_named() {
        let answers = [at(10, 202), at(20, 503), at(30, 0), at(40, 1), at(50, 202)];
        let s = statuses(
            &answers,
            Duration::from_millis(15),
            Duration::from_millis(45),
        );
        assert_eq!(describe_statuses(&s), "conn:1 timeout:1 503:1");
    }

    #[test]
    fn faults_round_trip_their_names() {
        for f in Fault::ALL {
            assert_eq!(Fault::parse(f.name()), Some(f));
        }
        assert_eq!(Fault::parse("nope"), None);
        assert_eq!(
            Fault::parse_group("redis-loss"),
            Some(vec![Fault::RedisFlush, Fault::RedisWipe])
        );
        assert_eq!(
            Fault::parse_group("redis-kill"),
            Some(vec![Fault::RedisKill])
        );
    }

    #[test]
    fn a_doubled_key_fails_the_verdict() {
        let v = Verdict {
            fault: Fault::RedisFlush,
            accepted: 10,
            lost: 0,
            duplicated: 0,
            wrong_place: 0,
            keys_stored_twice: 3,
            aliased: 0,
            statuses: BTreeMap::new(),
            server_errors: 0,
            gave_up: 0,
            client_recovery: Some(Duration::ZERO),
            store_recovery: Some(Duration::ZERO),
            drained: true,
        };
        assert!(!v.passed());
        assert!(table(&[v]).contains("FAIL (keys doubled"));
    }
}
