//! The goose scenario: one weighted transaction per request kind. Each picks a tenant by weight,
//! sends its request, checks the answer against the ingest contract (a wrong answer is a goose
//! failure) and records what the server promised in the ledger and the timeline.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, OnceLock},
};

use goose::{
    goose::GooseResponse,
    metrics::GooseRequestMetric,
    prelude::{
        GooseError, GooseRequest, GooseUser, Scenario, Transaction, TransactionFunction,
        TransactionResult,
    },
};
use rand::Rng;
use reqwest::Url;
use uuid::Uuid;

use crate::{
    answers::{Answer, accepted_id, batch_results, duplicate_of, status_is},
    bodies,
    ledger::{Kind, Ledger},
    options::Mix,
    tenants::{LoadTenant, TenantWeights},
    timeline::Timeline,
};

/// The goose scenario's name.
pub const SCENARIO: &str = "pulse";
/// How many completed valid requests are kept for duplicates to repeat.
const RECENT_CAPACITY: usize = 1024;

/// Everything the transactions share.
pub struct Traffic {
    pub tenants: Vec<LoadTenant>,
    pub weights: TenantWeights,
    pub ledger: Arc<Ledger>,
    pub timeline: Arc<Timeline>,
    pub recent: Recent,
    pub payload_bytes: usize,
    pub batch_size: usize,
}

impl Traffic {
    /// Shared state for a run over `tenants`, with an empty ledger and a timeline starting now.
    pub fn new(
        tenants: Vec<LoadTenant>,
        weights: TenantWeights,
        payload_bytes: usize,
        batch_size: usize,
    ) -> Self {
        Self {
            ledger: Arc::new(Ledger::new(tenants.len())),
            timeline: Arc::new(Timeline::new()),
            tenants,
            weights,
            recent: Recent::default(),
            payload_bytes,
            batch_size,
        }
    }

    fn pick_tenant(&self) -> u16 {
        self.weights.sample() as u16
    }

    fn api_key(&self, tenant: u16) -> &str {
        self.tenants[usize::from(tenant)].api_key.expose()
    }
}

/// A valid request that was accepted, kept so a duplicate can repeat it exactly.
#[derive(Debug)]
pub struct SentEvent {
    pub tenant: u16,
    pub idempotency_key: String,
    pub body: String,
    pub event_id: Uuid,
}

/// The last [`RECENT_CAPACITY`] accepted valid requests, shared by all users.
#[derive(Debug, Default)]
pub struct Recent {
    slots: Mutex<VecDeque<Arc<SentEvent>>>,
}

impl Recent {
    pub fn push(&self, sent: SentEvent) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() == RECENT_CAPACITY {
            slots.pop_front();
        }
        slots.push_back(Arc::new(sent));
    }

    /// A random one of them, if any.
    pub fn pick(&self) -> Option<Arc<SentEvent>> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.is_empty() {
            return None;
        }
        let i = rand::rng().random_range(0..slots.len());
        slots.get(i).cloned()
    }
}

/// The scenario with a transaction per kind that has a non-zero weight.
pub fn scenario(traffic: Arc<Traffic>, mix: &Mix) -> Result<Scenario, GooseError> {
    let mut scenario = Scenario::new(SCENARIO);
    for (kind, weight) in mix.weights() {
        scenario = scenario.register_transaction(transaction(&traffic, kind).set_weight(weight)?);
    }
    Ok(scenario)
}

fn transaction(traffic: &Arc<Traffic>, kind: Kind) -> Transaction {
    let traffic = traffic.clone();
    let run: TransactionFunction = Arc::new(move |user| {
        let traffic = traffic.clone();
        Box::pin(async move {
            match kind {
                Kind::Valid => valid(user, &traffic).await,
                Kind::Duplicate => duplicate(user, &traffic).await,
                Kind::Malformed => malformed(user, &traffic).await,
                Kind::Invalid => invalid(user, &traffic).await,
                Kind::Batch => batch(user, &traffic).await,
            }
        })
    });
    Transaction::new(run).set_name(kind.name())
}

/// One POST as a kind sends it.
struct Post<'a> {
    kind: Kind,
    path: &'a str,
    api_key: &'a str,
    idempotency_key: Option<&'a str>,
    body: String,
    expect: u16,
}

/// `base` joined with one of the two paths the scenario posts to, parsed once per run.
///
/// goose's `get_request_builder` parses the path, joins it, formats the URL and reqwest parses
/// that again: three URL parses per request, 6 % of the generator's CPU in `perf`.
fn endpoint(base: &Url, path: &str) -> Result<Url, Box<goose::prelude::TransactionError>> {
    static PARSED: OnceLock<(Url, Url, Url)> = OnceLock::new();
    let (parsed_base, events, batch) = PARSED.get_or_init(|| {
        let join = |p: &str| base.join(p).unwrap_or_else(|_| base.clone());
        (base.clone(), join("/events"), join("/events/batch"))
    });
    match path {
        "/events" if parsed_base == base => Ok(events.clone()),
        "/events/batch" if parsed_base == base => Ok(batch.clone()),
        _ => base.join(path).map_err(|e| Box::new(e.into())),
    }
}

/// What came back: goose's record of the request and, unless the request failed, the answer.
struct Reply {
    metric: GooseRequestMetric,
    answer: Option<Answer>,
}

async fn post(
    user: &mut GooseUser,
    p: Post<'_>,
) -> Result<Reply, Box<goose::prelude::TransactionError>> {
    let url = endpoint(&user.base_url, p.path)?;
    let mut builder = user
        .client
        .post(url)
        .header("x-api-key", p.api_key)
        .header("content-type", "application/json")
        .body(p.body);
    if let Some(key) = p.idempotency_key {
        builder = builder.header("idempotency-key", key);
    }
    let request = GooseRequest::builder()
        .set_request_builder(builder)
        .name(p.kind.name())
        .expect_status_code(p.expect)
        .build();
    let GooseResponse { request, response } = user.request(request).await?;
    let answer = match response {
        Ok(r) => {
            let status = r.status().as_u16();
            let replayed = r
                .headers()
                .get("idempotent-replayed")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
            let body = r.text().await.unwrap_or_default();
            Some(Answer {
                status,
                replayed,
                body,
            })
        }
        Err(_) => None,
    };
    Ok(Reply {
        metric: request,
        answer,
    })
}

/// Records a finished request and fails the goose request when the verdict is an error.
fn settle(
    user: &mut GooseUser,
    traffic: &Traffic,
    kind: Kind,
    mut reply: Reply,
    verdict: Result<(), String>,
) -> TransactionResult {
    traffic
        .timeline
        .record(kind, verdict.is_ok(), reply.metric.response_time_micros());
    match verdict {
        Ok(()) => {
            traffic.ledger.as_expected(kind, 1);
            Ok(())
        }
        Err(why) => {
            traffic.ledger.unexpected(kind, 1);
            let body = reply.answer.as_ref().map(|a| a.body.clone());
            // goose's error summary groups by this tag, so it names the kind but no ids
            let tag = format!("{}: {why}", kind.name());
            user.set_failure(&tag, &mut reply.metric, None, body.as_deref())
        }
    }
}

/// `valid`: a fresh event with a fresh Idempotency-Key, kept for duplicates once accepted.
async fn valid(user: &mut GooseUser, traffic: &Traffic) -> TransactionResult {
    let tenant = traffic.pick_tenant();
    let key = bodies::idempotency_key();
    let body = bodies::valid_event(traffic.payload_bytes);
    let reply = post(
        user,
        Post {
            kind: Kind::Valid,
            path: "/events",
            api_key: traffic.api_key(tenant),
            idempotency_key: Some(&key),
            body: body.clone(),
            expect: 202,
        },
    )
    .await?;
    // counted once actually sent: goose cuts off requests still waiting at the end
    traffic.ledger.sent(Kind::Valid, tenant, 1);
    let verdict = accepted_id(reply.answer.as_ref());
    if let Ok(event_id) = verdict {
        traffic.ledger.accepted(event_id, tenant, Kind::Valid);
        traffic.recent.push(SentEvent {
            tenant,
            idempotency_key: key,
            body,
            event_id,
        });
    }
    settle(user, traffic, Kind::Valid, reply, verdict.map(|_| ()))
}

/// `duplicate`: repeats an accepted valid request byte for byte.
async fn duplicate(user: &mut GooseUser, traffic: &Traffic) -> TransactionResult {
    let original = match traffic.recent.pick() {
        Some(original) => original,
        // nothing to repeat yet: send the original first
        None => {
            valid(user, traffic).await?;
            match traffic.recent.pick() {
                Some(original) => original,
                None => return Ok(()),
            }
        }
    };
    let reply = post(
        user,
        Post {
            kind: Kind::Duplicate,
            path: "/events",
            api_key: traffic.api_key(original.tenant),
            idempotency_key: Some(&original.idempotency_key),
            body: original.body.clone(),
            expect: 200,
        },
    )
    .await?;
    traffic.ledger.sent(Kind::Duplicate, original.tenant, 1);
    let verdict = duplicate_of(reply.answer.as_ref(), original.event_id);
    match &verdict {
        Ok(()) => traffic.ledger.duplicate(original.event_id),
        // deduplication failed and the server took it as a new event, which it now owes
        Err(_) => {
            if let Ok(id) = accepted_id(reply.answer.as_ref()) {
                traffic.ledger.accepted(id, original.tenant, Kind::Valid);
            }
        }
    }
    settle(user, traffic, Kind::Duplicate, reply, verdict)
}

/// `malformed`: a body that is not JSON.
async fn malformed(user: &mut GooseUser, traffic: &Traffic) -> TransactionResult {
    let tenant = traffic.pick_tenant();
    let reply = post(
        user,
        Post {
            kind: Kind::Malformed,
            path: "/events",
            api_key: traffic.api_key(tenant),
            idempotency_key: None,
            body: bodies::MALFORMED.to_owned(),
            expect: 400,
        },
    )
    .await?;
    traffic.ledger.sent(Kind::Malformed, tenant, 1);
    let verdict = status_is(reply.answer.as_ref(), 400);
    settle(user, traffic, Kind::Malformed, reply, verdict)
}

/// `invalid`: a JSON object without `event_type`, accepted and later dead-lettered.
async fn invalid(user: &mut GooseUser, traffic: &Traffic) -> TransactionResult {
    let tenant = traffic.pick_tenant();
    let reply = post(
        user,
        Post {
            kind: Kind::Invalid,
            path: "/events",
            api_key: traffic.api_key(tenant),
            idempotency_key: None,
            body: bodies::invalid_event(traffic.payload_bytes),
            expect: 202,
        },
    )
    .await?;
    traffic.ledger.sent(Kind::Invalid, tenant, 1);
    let verdict = accepted_id(reply.answer.as_ref());
    if let Ok(event_id) = verdict {
        traffic.ledger.accepted(event_id, tenant, Kind::Invalid);
    }
    settle(user, traffic, Kind::Invalid, reply, verdict.map(|_| ()))
}

/// `batch`: `--batch-size` valid events in one POST /events/batch.
async fn batch(user: &mut GooseUser, traffic: &Traffic) -> TransactionResult {
    let tenant = traffic.pick_tenant();
    let keys: Vec<String> = (0..traffic.batch_size)
        .map(|_| bodies::idempotency_key())
        .collect();
    let events = keys.len() as u64;
    let mut reply = post(
        user,
        Post {
            kind: Kind::Batch,
            path: "/events/batch",
            api_key: traffic.api_key(tenant),
            idempotency_key: None,
            body: bodies::batch(&keys, traffic.payload_bytes),
            expect: 200,
        },
    )
    .await?;
    traffic.ledger.sent(Kind::Batch, tenant, events);
    let verdict = batch_results(reply.answer.as_ref(), keys.len());
    let ids = verdict.as_ref().map(Vec::as_slice).unwrap_or_default();
    let accepted = ids.iter().flatten().count() as u64;
    for id in ids.iter().flatten() {
        traffic.ledger.accepted(*id, tenant, Kind::Batch);
    }
    traffic.ledger.as_expected(Kind::Batch, accepted);
    traffic.ledger.unexpected(Kind::Batch, events - accepted);
    let ok = accepted == events;
    traffic
        .timeline
        .record(Kind::Batch, ok, reply.metric.response_time_micros());
    if ok {
        return Ok(());
    }
    let tag = match verdict {
        Ok(_) => "batch: some events were not accepted".to_owned(),
        Err(why) => format!("batch: {why}"),
    };
    let body = reply.answer.as_ref().map(|a| a.body.clone());
    user.set_failure(&tag, &mut reply.metric, None, body.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_is_bounded() {
        let recent = Recent::default();
        assert!(recent.pick().is_none());
        for i in 0..(RECENT_CAPACITY + 10) {
            recent.push(SentEvent {
                tenant: 0,
                idempotency_key: format!("k{i}"),
                body: String::new(),
                event_id: Uuid::now_v7(),
            });
        }
        assert_eq!(recent.slots.lock().unwrap().len(), RECENT_CAPACITY);
        let picked = recent.pick().unwrap();
        let n: usize = picked.idempotency_key[1..].parse().unwrap();
        assert!(n >= 10, "the oldest were dropped");
    }
}
