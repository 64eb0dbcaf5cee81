//! The query load: for each query kind in turn, `clients` concurrent clients (one keep-alive
//! connection each, admin auth) each send one request per `1 / rate` seconds for the phase,
//! rotating over the kind's variants. Latency is measured from the moment a request was due, not
//! from when it was sent, so a slow answer also counts against the requests it held up
//! (no coordinated omission).

use std::{sync::Arc, time::Duration};

use anyhow::{Context as _, Result};
use chrono::Utc;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use super::seed::EVENT_TYPES;
use crate::histogram::Histogram;

/// What the clients pick their arguments from.
#[derive(Debug, Default)]
pub struct Sample {
    pub tenants: Vec<Uuid>,
    /// `(tenant, event id)` of stored events
    pub events: Vec<(Uuid, Uuid)>,
    /// `(tenant, idempotency key)` of stored events
    pub keys: Vec<(Uuid, String)>,
    /// second-page cursors of `events(filter: {tenantId})`
    pub tenant_cursors: Vec<(Uuid, String)>,
}

impl Sample {
    /// A few thousand random rows of the bench database, and second-page cursors read through
    /// the API itself.
    pub async fn load(pool: &PgPool, tenants: Vec<Uuid>, api: &Api) -> Result<Self> {
        let total: i64 = sqlx::query_scalar("select count(*) from events")
            .fetch_one(pool)
            .await?;
        let percent = (4000.0 * 100.0 / total.max(1) as f64).clamp(0.01, 100.0);
        let rows: Vec<(Uuid, Uuid, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select tenant_id, event_id, idempotency_key from events \
             tablesample bernoulli ({percent}) limit 4000"
        )))
        .fetch_all(pool)
        .await?;
        let mut sample = Self {
            tenants,
            ..Self::default()
        };
        for (tenant, event, key) in rows {
            sample.events.push((tenant, event));
            if let Some(key) = key {
                sample.keys.push((tenant, key));
            }
        }
        anyhow::ensure!(
            !sample.events.is_empty() && !sample.keys.is_empty() && !sample.tenants.is_empty(),
            "the bench database has no events to query"
        );
        for tenant in sample.tenants.iter().take(20) {
            let page = api
                .post(&json!({
                    "query": "query($t: UUID) { events(filter: {tenantId: $t}, first: 50) { pageInfo { endCursor } } }",
                    "variables": {"t": tenant},
                }))
                .await?;
            if let Some(cursor) = page["data"]["events"]["pageInfo"]["endCursor"].as_str() {
                sample.tenant_cursors.push((*tenant, cursor.to_owned()));
            }
        }
        anyhow::ensure!(!sample.tenant_cursors.is_empty(), "no cursor to page with");
        Ok(sample)
    }
}

/// The service's HTTP API as the admin sees it.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
}

impl Api {
    pub fn new(url: String, token: String, connections: usize) -> Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http, url, token })
    }

    /// One request; the answer's JSON.
    pub async fn post(&self, body: &Value) -> Result<Value> {
        let answer = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?
            .error_for_status()?;
        answer.json().await.context("a JSON answer")
    }

    /// One request; whether it was answered with data and no errors.
    async fn ok(&self, body: String) -> bool {
        #[derive(serde::Deserialize)]
        struct Answer {
            data: Option<serde::de::IgnoredAny>,
            errors: Option<serde::de::IgnoredAny>,
        }
        let answer = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let Ok(answer) = answer else { return false };
        if !answer.status().is_success() {
            return false;
        }
        let Ok(bytes) = answer.bytes().await else {
            return false;
        };
        serde_json::from_slice::<Answer>(&bytes)
            .is_ok_and(|a| a.data.is_some() && a.errors.is_none())
    }
}

/// A query kind with its target and the variants that share it.
pub struct Kind {
    pub name: &'static str,
    pub target_p99_ms: f64,
    pub variants: Vec<Variant>,
}

/// One shape of request of a kind.
pub struct Variant {
    pub name: &'static str,
    build: fn(&Sample, &mut StdRng) -> Value,
}

fn pick<'a, T>(items: &'a [T], rng: &mut StdRng) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn event_type(rng: &mut StdRng) -> &'static str {
    EVENT_TYPES[rng.random_range(0..EVENT_TYPES.len())]
}

const EVENT_FIELDS: &str = "eventId tenantId eventType receivedAt status traceId \
                            lifecycle { stage at partition offset }";
const EVENT_PAGE: &str = "edges { cursor node { eventId tenantId tenantName eventType source \
                          receivedAt traceId } } pageInfo { hasNextPage endCursor }";
const DEAD_LETTER_PAGE: &str = "edges { cursor node { eventId tenantId tenantName reason \
                                errors { path message } failedAt status attempts } } \
                                pageInfo { hasNextPage endCursor }";
// the day's series in its columns form (what the console asks for; the 1,440-object `series`
// costs the service ~4 ms of CPU per answer to render, the columns ~0.2 ms)
const STATS_FIELDS: &str = "received stored deadLettered dlqRate columns { start stepSeconds \
                            received stored deadLettered } topEventTypes { eventType count }";

/// The five kinds of the targets.
pub fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            name: "event",
            target_p99_ms: 5.0,
            variants: vec![
                Variant {
                    name: "event(tenantId, eventId)",
                    build: |s, rng| {
                        let (t, e) = pick(&s.events, rng);
                        json!({"query": format!("query($t: UUID, $e: UUID!) {{ event(tenantId: $t, eventId: $e) {{ {EVENT_FIELDS} }} }}"), "variables": {"t": t, "e": e}})
                    },
                },
                Variant {
                    name: "event(eventId)",
                    build: |s, rng| {
                        let (_, e) = pick(&s.events, rng);
                        json!({"query": format!("query($e: UUID!) {{ event(eventId: $e) {{ {EVENT_FIELDS} }} }}"), "variables": {"e": e}})
                    },
                },
            ],
        },
        Kind {
            name: "eventsByIdempotencyKey",
            target_p99_ms: 5.0,
            variants: vec![
                Variant {
                    name: "eventsByIdempotencyKey(key, tenantId)",
                    build: |s, rng| {
                        let (t, k) = pick(&s.keys, rng);
                        json!({"query": format!("query($k: String!, $t: UUID) {{ eventsByIdempotencyKey(key: $k, tenantId: $t) {{ {EVENT_FIELDS} }} }}"), "variables": {"k": k, "t": t}})
                    },
                },
                Variant {
                    name: "eventsByIdempotencyKey(key)",
                    build: |s, rng| {
                        let (_, k) = pick(&s.keys, rng);
                        json!({"query": format!("query($k: String!) {{ eventsByIdempotencyKey(key: $k) {{ {EVENT_FIELDS} }} }}"), "variables": {"k": k}})
                    },
                },
            ],
        },
        Kind {
            name: "events",
            target_p99_ms: 20.0,
            variants: vec![
                Variant {
                    name: "events(tenantId)",
                    build: |s, rng| events_page(json!({"tenantId": pick(&s.tenants, rng)}), None),
                },
                Variant {
                    name: "events(tenantId, eventTypes)",
                    build: |s, rng| {
                        events_page(
                            json!({"tenantId": pick(&s.tenants, rng), "eventTypes": [event_type(rng)]}),
                            None,
                        )
                    },
                },
                Variant {
                    name: "events(all tenants)",
                    build: |_, _| events_page(json!({}), None),
                },
                Variant {
                    name: "events(eventTypes, last hour)",
                    build: |_, rng| {
                        let from = Utc::now() - chrono::Duration::hours(1);
                        events_page(json!({"eventTypes": [event_type(rng)], "from": from}), None)
                    },
                },
                Variant {
                    name: "events(tenantId) page 2",
                    build: |s, rng| {
                        let (t, cursor) = pick(&s.tenant_cursors, rng);
                        events_page(json!({"tenantId": t}), Some(cursor))
                    },
                },
            ],
        },
        Kind {
            name: "deadLetters",
            target_p99_ms: 20.0,
            variants: vec![
                Variant {
                    name: "deadLetters(tenantId)",
                    build: |s, rng| dead_letters_page(json!({"tenantId": pick(&s.tenants, rng)})),
                },
                Variant {
                    name: "deadLetters(all tenants)",
                    build: |_, _| dead_letters_page(json!({})),
                },
                Variant {
                    name: "deadLetters(status: PENDING)",
                    build: |_, _| dead_letters_page(json!({"status": "PENDING"})),
                },
                Variant {
                    name: "deadLetters(reasons)",
                    build: |_, _| dead_letters_page(json!({"reasons": ["INVALID_TYPE"]})),
                },
            ],
        },
        Kind {
            name: "stats(24h)",
            target_p99_ms: 50.0,
            variants: vec![
                Variant {
                    name: "stats(24h, all tenants)",
                    build: |_, _| json!({"query": format!("{{ stats(window: \"24h\") {{ {STATS_FIELDS} }} }}")}),
                },
                Variant {
                    name: "stats(24h, tenantId)",
                    build: |s, rng| json!({"query": format!("query($t: UUID) {{ stats(window: \"24h\", tenantId: $t) {{ {STATS_FIELDS} }} }}"), "variables": {"t": pick(&s.tenants, rng)}}),
                },
            ],
        },
    ]
}

fn events_page(filter: Value, after: Option<&String>) -> Value {
    json!({
        "query": format!("query($f: EventFilter, $a: String) {{ events(filter: $f, first: 50, after: $a) {{ {EVENT_PAGE} }} }}"),
        "variables": {"f": filter, "a": after},
    })
}

fn dead_letters_page(filter: Value) -> Value {
    json!({
        "query": format!("query($f: DeadLetterFilter) {{ deadLetters(filter: $f, first: 50) {{ {DEAD_LETTER_PAGE} }} }}"),
        "variables": {"f": filter},
    })
}

/// How hard and how long each kind is driven.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadConfig {
    pub clients: usize,
    /// Requests per second each client sends
    pub rate_per_client: f64,
    pub seconds: f64,
    /// Seconds at the start of each phase that are not recorded
    pub warmup_seconds: f64,
    /// Megabytes of tables and indexes read into memory before the first kind (`None`: not
    /// warmed, pg_prewarm missing)
    pub prewarmed_mb: Option<f64>,
}

/// The latency of one variant (or of a whole kind).
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(name: &str, h: &Histogram, errors: u64, seconds: f64) -> Self {
        let ms = |v: Option<u64>| v.map_or(f64::NAN, |us| us as f64 / 1000.0);
        Self {
            name: name.to_owned(),
            requests: h.count(),
            errors,
            requests_per_second: h.count() as f64 / seconds,
            p50_ms: ms(h.quantile(0.5)),
            p99_ms: ms(h.quantile(0.99)),
            max_ms: h.max() as f64 / 1000.0,
        }
    }
}

/// A kind's figures: all its requests, then each variant.
#[derive(Debug, Clone, Serialize)]
pub struct KindResult {
    pub kind: String,
    pub target_p99_ms: f64,
    pub met: bool,
    /// Seconds the machine rested before this kind (see `settle`)
    pub rested_seconds: f64,
    /// How late the clients sent their requests (p99, ms): the generator's own punctuality
    /// (a client still waiting for its previous answer sends late too)
    pub sent_late_p99_ms: f64,
    pub all: Latency,
    pub variants: Vec<Latency>,
}

/// How long after a phase its overdue requests are still sent.
const GRACE: Duration = Duration::from_secs(5);

/// Sends each client the moment its next request is due, from a thread of its own: tokio's
/// timer rounds every deadline up to its next millisecond tick, which woke the clients 1.3 ms
/// (p50) after their due time — lateness of the load generator that "latency from when a request
/// was due" would have charged to the service. A thread's `sleep` wakes within tens of
/// microseconds; a client still busy with its previous request finds the slot waiting, so a slow
/// answer still counts against the requests it held up.
fn schedule(
    begin: std::time::Instant,
    end: std::time::Instant,
    interval: Duration,
    clients: Vec<tokio::sync::mpsc::UnboundedSender<Instant>>,
) {
    let n = clients.len() as u32;
    for slot in 0u32.. {
        // the clients' slots interleave evenly, so they do not fire in lockstep
        let due = begin + interval * slot / n;
        if due >= end {
            break;
        }
        std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        let _ = clients[(slot % n) as usize].send(Instant::from_std(due));
    }
}

/// Drives `kind` with `config`; its latencies.
pub async fn run_kind(
    api: &Api,
    sample: &Arc<Sample>,
    kind: &Kind,
    config: LoadConfig,
) -> KindResult {
    let interval = Duration::from_secs_f64(1.0 / config.rate_per_client);
    let begin = std::time::Instant::now() + Duration::from_millis(200);
    let record_from = Instant::from_std(begin) + Duration::from_secs_f64(config.warmup_seconds);
    let end = record_from + Duration::from_secs_f64(config.seconds);
    let builds: Vec<fn(&Sample, &mut StdRng) -> Value> =
        kind.variants.iter().map(|v| v.build).collect();
    let mut clients = Vec::with_capacity(config.clients);
    let mut slots = Vec::with_capacity(config.clients);
    for c in 0..config.clients {
        let (api, sample, builds) = (api.clone(), sample.clone(), builds.clone());
        let (slot, mut due_at) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        slots.push(slot);
        clients.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(c as u64);
            let mut hists = vec![Histogram::new(); builds.len()];
            let mut errors = vec![0u64; builds.len()];
            let mut sent_late = Histogram::new();
            let mut n = c;
            // a slow service is not let off: every slot due in the window is sent (late if
            // need be) until a grace period after the phase; slots still unsent then count as
            // errors with the time they had waited
            let give_up = end + GRACE;
            while let Some(due) = due_at.recv().await {
                let v = n % builds.len();
                n += 1;
                let recorded = due >= record_from;
                if Instant::now() >= give_up {
                    if recorded {
                        hists[v].record(due.elapsed().as_micros() as u64);
                        errors[v] += 1;
                    }
                    continue;
                }
                if recorded {
                    sent_late.record(due.elapsed().as_micros() as u64);
                }
                let body = (builds[v])(&sample, &mut rng).to_string();
                let ok = api.ok(body).await;
                if recorded {
                    hists[v].record(due.elapsed().as_micros() as u64);
                    errors[v] += u64::from(!ok);
                }
            }
            (hists, errors, sent_late)
        }));
    }
    let end_std = end.into_std();
    let scheduler = std::thread::spawn(move || schedule(begin, end_std, interval, slots));
    let mut hists = vec![Histogram::new(); builds.len()];
    let mut errors = vec![0u64; builds.len()];
    let mut sent_late = Histogram::new();
    for client in clients {
        if let Ok((h, e, late)) = client.await {
            for (i, h) in h.iter().enumerate() {
                hists[i].merge(h);
                errors[i] += e[i];
            }
            sent_late.merge(&late);
        }
    }
    let _ = scheduler.join();
    let mut all = Histogram::new();
    for h in &hists {
        all.merge(h);
    }
    let all = Latency::of(kind.name, &all, errors.iter().sum(), config.seconds);
    KindResult {
        kind: kind.name.to_owned(),
        target_p99_ms: kind.target_p99_ms,
        met: all.p99_ms < kind.target_p99_ms && all.errors == 0,
        rested_seconds: 0.0,
        sent_late_p99_ms: sent_late
            .quantile(0.99)
            .map_or(f64::NAN, |us| us as f64 / 1000.0),
        all,
        variants: kind
            .variants
            .iter()
            .zip(&hists)
            .zip(&errors)
            .map(|((v, h), e)| Latency::of(v.name, h, *e, config.seconds))
            .collect(),
    }
}
