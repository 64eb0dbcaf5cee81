//! Steady load for fault injection: clients that behave like careful real ones. Each logical
//! request carries an `Idempotency-Key` (most of them) and is retried with the same key and body
//! on 503, 409, 429, a timeout or a refused connection, moving to the next ingest instance, until
//! it gets an answer or its retry window passes. Some completed keys are sent once more later, as
//! a client does when an answer was lost, and must come back as duplicates of the same event.
//!
//! Accepted ids go into the load tester's [`Ledger`] (reconciled afterwards by
//! [`crate::reconcile`]); every answer is kept with its time so a fault's window can be read back.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use rand::Rng as _;
use serde_json::Value;
use tokio::{sync::Semaphore, task::JoinSet};
use uuid::Uuid;

use crate::ledger::{Kind, Ledger};

/// A pseudo status for a request that got no HTTP answer: connection refused or reset.
pub const NO_CONNECTION: u16 = 0;
/// A pseudo status for a request that timed out.
pub const TIMED_OUT: u16 = 1;

/// How the clients behave.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Ingest base URLs (`http://127.0.0.1:port`); requests go round-robin, failing over.
    pub targets: Vec<String>,
    /// (tenant id, API key) pairs; the ledger's tenant index is the position here.
    pub tenants: Vec<(Uuid, String)>,
    /// New logical requests per second over all clients; 0 = as fast as the clients go.
    pub rate: u32,
    /// Clients (concurrent requests at most).
    pub clients: usize,
    /// Percent of requests that carry an `Idempotency-Key`.
    pub keyed_pct: f64,
    /// Percent of completed keyed requests that are sent once more (a lost answer's retry).
    pub resend_pct: f64,
    /// How long a client keeps retrying one request.
    pub retry_window: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

/// One answer (or failure) with its time since the load started.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub at: Duration,
    pub status: u16,
    /// Latency of the attempt.
    pub took: Duration,
}

/// What the clients saw, shared by all of them.
pub struct Record {
    pub ledger: Ledger,
    pub started: Instant,
    answers: Mutex<Vec<Answer>>,
    /// Idempotency key -> every distinct event id answered for it.
    keys: Mutex<HashMap<String, Vec<Uuid>>>,
    /// Logical requests that never got a final answer within their retry window.
    pub gave_up: AtomicU64,
    /// Logical requests not started because every client was busy (open-loop overflow).
    pub skipped: AtomicU64,
}

impl Record {
    fn new(tenants: usize) -> Self {
        Self {
            ledger: Ledger::new(tenants),
            started: Instant::now(),
            answers: Mutex::new(Vec::new()),
            keys: Mutex::new(HashMap::new()),
            gave_up: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    fn answered(&self, status: u16, took: Duration) {
        let at = self.started.elapsed();
        self.answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Answer { at, status, took });
    }

    fn key_answered(&self, key: &str, id: Uuid) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let ids = keys.entry(key.to_owned()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    pub fn answers(&self) -> Vec<Answer> {
        self.answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Keys that were answered with more than one event id: one client request, two events.
    pub fn keys_with_two_events(&self) -> u64 {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|ids| ids.len() > 1)
            .count() as u64
    }
}

/// A running load; [`Load::stop`] ends it and returns what it saw.
pub struct Load {
    record: Arc<Record>,
    stop: StopFlag,
    tasks: JoinSet<()>,
    /// For requests sent outside the steady flow ([`Load::retry_completed`]).
    prototype: Arc<Client>,
}

/// Tells the clients to stop taking new requests.
#[derive(Clone, Default)]
struct StopFlag(Arc<std::sync::atomic::AtomicBool>);

impl StopFlag {
    fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Load {
    pub fn start(config: LoadConfig) -> Self {
        let record = Arc::new(Record::new(config.tenants.len()));
        let stop = StopFlag::default();
        let mut tasks = JoinSet::new();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .pool_max_idle_per_host(config.clients)
            .build()
            .unwrap_or_default();
        let config = Arc::new(config);
        let permits = Arc::new(Semaphore::new(0));
        if config.rate > 0 {
            tasks.spawn(pace(
                config.clone(),
                permits.clone(),
                record.clone(),
                stop.clone(),
            ));
        }
        let next_target = Arc::new(AtomicUsize::new(0));
        let resend: Arc<Mutex<Vec<Pending>>> = Arc::default();
        for client in 0..config.clients {
            let c = Client {
                config: config.clone(),
                http: http.clone(),
                record: record.clone(),
                next_target: next_target.clone(),
                resend: resend.clone(),
                client,
            };
            let permits = permits.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                while !stop.is_cancelled() {
                    if c.config.rate > 0 {
                        match tokio::time::timeout(Duration::from_millis(200), permits.acquire())
                            .await
                        {
                            Ok(Ok(p)) => p.forget(),
                            _ => continue,
                        }
                    }
                    c.one().await;
                }
            });
        }
        let prototype = Arc::new(Client {
            config,
            http,
            record: record.clone(),
            next_target,
            resend,
            client: usize::MAX,
        });
        Self {
            record,
            stop,
            tasks,
            prototype,
        }
    }

    pub fn record(&self) -> &Arc<Record> {
        &self.record
    }

    /// The `n` most recently completed keyed requests (to be sent again after a fault).
    pub fn completed(&self, n: usize) -> Vec<Pending> {
        let pool = self
            .prototype
            .resend
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pool[pool.len().saturating_sub(n)..].to_vec()
    }

    /// Sends each of `requests` once more, as clients do that lost their answers; each must come
    /// back as a duplicate of its first event.
    pub fn retry_completed(&mut self, requests: Vec<Pending>) {
        for p in requests {
            let c = self.prototype.clone();
            self.tasks
                .spawn(async move { c.send(p.tenant, Some(p.key), p.body, true).await });
        }
    }

    /// Stops new requests, lets the ones in flight finish (their retries included) and returns
    /// the record.
    pub async fn stop(mut self) -> Arc<Record> {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
        self.record
    }
}

/// Adds `rate` permits per second, in 10 ms steps; permits nobody takes are counted as skipped.
async fn pace(
    config: Arc<LoadConfig>,
    permits: Arc<Semaphore>,
    record: Arc<Record>,
    stop: StopFlag,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let mut issued: u64 = 0;
    while !stop.is_cancelled() {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * f64::from(config.rate)) as u64;
        let new = due.saturating_sub(issued);
        issued = due;
        // at most one second of backlog waits for a free client; the rest is open-loop overflow
        let room = (config.rate as usize).saturating_sub(permits.available_permits());
        let add = (new as usize).min(room);
        record
            .skipped
            .fetch_add(new - add as u64, Ordering::Relaxed);
        permits.add_permits(add);
    }
}

/// A completed keyed request to send once more later.
#[derive(Debug, Clone)]
pub struct Pending {
    tenant: u16,
    key: String,
    body: String,
}

struct Client {
    config: Arc<LoadConfig>,
    http: reqwest::Client,
    record: Arc<Record>,
    next_target: Arc<AtomicUsize>,
    resend: Arc<Mutex<Vec<Pending>>>,
    client: usize,
}

/// How one attempt ended.
enum Attempt {
    Accepted(Uuid),
    Duplicate(Uuid),
    /// Worth retrying after the delay.
    Retry(Duration),
    /// A final answer that is not a success.
    Refused,
}

impl Client {
    /// One logical request: a re-send of a completed key, or a new event; retried until final.
    async fn one(&self) {
        let (tenant, key, body, is_resend) = self.next_request();
        self.send(tenant, key, body, is_resend).await;
    }

    /// Sends one logical request until it gets a final answer or its retry window passes.
    async fn send(&self, tenant: u16, key: Option<String>, body: String, is_resend: bool) {
        let kind = if is_resend {
            Kind::Duplicate
        } else {
            Kind::Valid
        };
        self.record.ledger.sent(kind, tenant, 1);
        let deadline = Instant::now() + self.config.retry_window;
        loop {
            match self.attempt(tenant, key.as_deref(), &body).await {
                Attempt::Accepted(id) => {
                    // a re-sent key accepted again is a second event for one client request
                    self.record.ledger.accepted(id, tenant, Kind::Valid);
                    self.record.ledger.as_expected(kind, 1);
                    self.completed(tenant, key, body, id, is_resend);
                    return;
                }
                Attempt::Duplicate(id) => {
                    self.record.ledger.duplicate(id);
                    self.record.ledger.as_expected(kind, 1);
                    self.completed(tenant, key, body, id, true);
                    return;
                }
                Attempt::Refused => {
                    self.record.ledger.unexpected(kind, 1);
                    return;
                }
                Attempt::Retry(delay) => {
                    if Instant::now() + delay > deadline {
                        self.record.gave_up.fetch_add(1, Ordering::Relaxed);
                        self.record.ledger.unexpected(kind, 1);
                        return;
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// The next logical request: a completed key sent once more, or a new event.
    fn next_request(&self) -> (u16, Option<String>, String, bool) {
        let mut rng = rand::rng();
        let resend = if rng.random_bool((self.config.resend_pct / 100.0).clamp(0.0, 1.0)) {
            self.resend.lock().unwrap_or_else(|e| e.into_inner()).pop()
        } else {
            None
        };
        match resend {
            Some(p) => (p.tenant, Some(p.key), p.body, true),
            None => {
                let tenant = rng.random_range(0..self.config.tenants.len()) as u16;
                let keyed = rng.random_bool((self.config.keyed_pct / 100.0).clamp(0.0, 1.0));
                let key = keyed.then(|| format!("chaos-{}", Uuid::now_v7().simple()));
                let body = format!(
                    r#"{{"event_type":"chaos.test","payload":{{"client":{},"n":{}}}}}"#,
                    self.client,
                    rng.random::<u32>()
                );
                (tenant, key, body, false)
            }
        }
    }

    fn completed(
        &self,
        tenant: u16,
        key: Option<String>,
        body: String,
        id: Uuid,
        was_resend: bool,
    ) {
        let Some(key) = key else { return };
        self.record.key_answered(&key, id);
        if !was_resend {
            let mut pool = self.resend.lock().unwrap_or_else(|e| e.into_inner());
            // keep the pool bounded: the newest keys are the interesting ones
            if pool.len() >= 10_000 {
                pool.remove(0);
            }
            pool.push(Pending { tenant, key, body });
        }
    }

    async fn attempt(&self, tenant: u16, key: Option<&str>, body: &str) -> Attempt {
        let targets = &self.config.targets;
        let target = &targets[self.next_target.fetch_add(1, Ordering::Relaxed) % targets.len()];
        let (_, api_key) = &self.config.tenants[usize::from(tenant)];
        let mut request = self
            .http
            .post(format!("{target}/events"))
            .header("x-api-key", api_key)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(k) = key {
            request = request.header("idempotency-key", k);
        }
        let started = Instant::now();
        let response = request.send().await;
        let took = started.elapsed();
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                let status = if e.is_timeout() {
                    TIMED_OUT
                } else {
                    NO_CONNECTION
                };
                self.record.answered(status, took);
                return Attempt::Retry(Duration::from_millis(100));
            }
        };
        let status = response.status().as_u16();
        self.record.answered(status, took);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Duration::from_millis(250), |s| {
                Duration::from_millis(s * 1000).min(Duration::from_secs(2))
            });
        match status {
            200 | 202 => {
                let id = response
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|v| v["event_id"].as_str().and_then(|s| Uuid::parse_str(s).ok()));
                match (status, id) {
                    (202, Some(id)) => Attempt::Accepted(id),
                    (200, Some(id)) => Attempt::Duplicate(id),
                    _ => Attempt::Refused,
                }
            }
            409 | 429 | 503 => Attempt::Retry(retry_after),
            _ => Attempt::Refused,
        }
    }
}
