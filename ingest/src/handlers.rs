//! `POST /events` and `POST /events/batch`.
//!
//! Both follow one path: check the request's shape, admit it through the gate (rate limit and
//! idempotency in one Redis round trip), publish what was admitted, wait for the broker's
//! acknowledgement, then complete (or release) the idempotency keys and answer. A batch answers
//! per item, in order, with the same codes a single request would get.

use std::{
    borrow::Cow,
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use opentelemetry::{
    Context, KeyValue, StringValue,
    global::BoxedTracer,
    trace::{Link, SpanContext, SpanKind, Status, TraceContextExt, Tracer as _},
};
use pulse_core::{
    Tenant,
    envelope::{EventEnvelope, id_text, record_headers},
    json_limits::MAX_JSON_DEPTH,
};
use pulse_otel::names::{attr, service};
use serde::{Deserialize, Serialize};
use serde_json::{json, value::RawValue};
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthedTenant,
    body::{self, Routing},
    error::IngestError,
    gate::{Decision, IdemOutcome, KeyedItem},
    publish::{self, PublishError},
};

/// `POST /events`: one event.
pub async fn post_event(
    State(state): State<AppState>,
    AuthedTenant(tenant): AuthedTenant,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(&state, single(&state, &tenant, &headers, body).await)
}

/// The response, or the error's response with the rejection counted.
fn answer(state: &AppState, result: Result<Response, IngestError>) -> Response {
    result.unwrap_or_else(|e| {
        state.metrics.rejected(e.code(), 1);
        e.into_response()
    })
}

async fn single(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, IngestError> {
    body::require_json(headers)?;
    let idempotency_key = body::idempotency_header(headers)?;
    let bytes = body::read_limited(headers, body, state.limits.max_body_bytes).await?;
    let raw = body::json_object(&bytes, MAX_JSON_DEPTH)?;

    let keyed: Vec<KeyedItem> = idempotency_key
        .iter()
        .map(|key| KeyedItem {
            index: 0,
            key: key.clone(),
            fingerprint: body::fingerprint(&bytes),
            event_id: Uuid::now_v7(),
        })
        .collect();
    let decision = state
        .gate
        .check(tenant.id, limit_of(tenant), 1, &keyed)
        .await?;
    let admitted = admitted(
        state,
        tenant,
        &decision,
        keyed.first(),
        idempotency_key.as_deref(),
        raw,
    )
    .await;
    Ok(with_headers(
        answer(state, admitted),
        &rate_limit_headers(&decision),
    ))
}

/// A single event after the gate: answer from the idempotency store, or publish it.
async fn admitted(
    state: &AppState,
    tenant: &Tenant,
    decision: &Decision,
    keyed: Option<&KeyedItem>,
    idempotency_key: Option<&str>,
    raw: &RawValue,
) -> Result<Response, IngestError> {
    let rate_limited = || IngestError::RateLimited {
        retry_after: decision.retry_after,
    };
    if decision.allowed == 0 {
        return Err(rate_limited());
    }
    match decision.idempotency.first() {
        Some(IdemOutcome::Duplicate(original)) => {
            state.metrics.deduplicated(1);
            let mut response = (
                StatusCode::OK,
                Json(Answer {
                    event_id: *original,
                    status: "duplicate",
                }),
            )
                .into_response();
            response.headers_mut().insert(
                HeaderName::from_static("idempotent-replayed"),
                HeaderValue::from_static("true"),
            );
            return Ok(response);
        }
        Some(IdemOutcome::InFlight) => return Err(IngestError::IdempotencyKeyInFlight),
        Some(IdemOutcome::Mismatch) => return Err(IngestError::IdempotencyKeyReused),
        Some(IdemOutcome::Limited) => return Err(rate_limited()),
        Some(IdemOutcome::New) | None => {}
    }

    let event_id = keyed.map_or_else(Uuid::now_v7, |k| k.event_id);
    let published = publish_one(
        state,
        tenant,
        &id_text(tenant.id),
        Outgoing {
            event_id,
            idempotency_key,
            raw,
            partition_key: Routing::of(raw).partition_key.as_deref(),
        },
        None,
    )
    .await;
    if let Some(item) = keyed {
        match &published {
            Ok(()) => state.gate.complete(tenant.id, item, ttl_of(tenant)).await,
            Err(_) => state.gate.release(tenant.id, item).await,
        }
    }
    published?;
    state.metrics.ingested(1);
    Ok((
        StatusCode::ACCEPTED,
        Json(Answer {
            event_id,
            status: "accepted",
        }),
    )
        .into_response())
}

/// The body of a single event's 202 (or a duplicate's 200).
#[derive(Serialize)]
struct Answer {
    event_id: Uuid,
    status: &'static str,
}

/// A batch's answer: totals, then one result per item in order.
#[derive(Serialize)]
struct BatchAnswer {
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    results: Vec<ItemAnswer>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ItemAnswer {
    Ok {
        code: u16,
        event_id: Uuid,
        status: &'static str,
    },
    /// The error's JSON body with its `code`.
    Err(serde_json::Value),
}

/// The tracer for the per-event PRODUCER spans, looked up once.
fn tracer() -> &'static BoxedTracer {
    static UNINITIALISED: OnceLock<BoxedTracer> = OnceLock::new();
    pulse_otel::service_tracer()
        .unwrap_or_else(|| UNINITIALISED.get_or_init(|| pulse_otel::tracer(service::INGEST)))
}

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// One batch item on its way through.
struct Item<'a> {
    raw: &'a RawValue,
    event_id: Uuid,
    idempotency_key: Option<String>,
    partition_key: Option<Cow<'a, str>>,
    result: Option<Result<ItemOk, IngestError>>,
}

enum ItemOk {
    Accepted,
    Duplicate(Uuid),
}

/// `POST /events/batch`: `{"events": [...]}`, one result per item, in order.
pub async fn post_batch(
    State(state): State<AppState>,
    AuthedTenant(tenant): AuthedTenant,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(&state, batch(&state, &tenant, &headers, body).await)
}

async fn batch(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, IngestError> {
    body::require_json(headers)?;
    let bytes = body::read_limited(headers, body, state.limits.max_batch_bytes).await?;
    // `{"events":[…]}` adds two levels around each item
    body::json_object(&bytes, MAX_JSON_DEPTH + 2)?;
    let parsed: BatchBody<'_> =
        serde_json::from_slice(&bytes).map_err(|_| IngestError::InvalidBatch)?;
    if parsed.events.is_empty() {
        return Err(IngestError::InvalidBatch);
    }
    if parsed.events.len() > state.limits.max_batch_events {
        return Err(IngestError::TooManyEvents {
            limit: state.limits.max_batch_events,
        });
    }

    // shape checks per item; the well-formed ones queue up for the gate in order
    let mut items: Vec<Item<'_>> = Vec::with_capacity(parsed.events.len());
    let mut keyed = Vec::new();
    let mut admitted_positions = Vec::new();
    for raw in parsed.events {
        let mut item = Item {
            raw,
            event_id: Uuid::now_v7(),
            idempotency_key: None,
            partition_key: None,
            result: None,
        };
        if !raw.get().starts_with('{') {
            item.result = Some(Err(IngestError::NotAnObject));
        } else {
            let routing = Routing::of(raw);
            item.partition_key = routing.partition_key;
            match routing.idempotency_key {
                Some(k) if !body::valid_idempotency_key(&k) => {
                    item.result = Some(Err(IngestError::InvalidIdempotencyKey))
                }
                Some(k) => {
                    keyed.push(KeyedItem {
                        index: admitted_positions.len(),
                        key: k.into_owned(),
                        fingerprint: body::fingerprint(raw.get().as_bytes()),
                        event_id: item.event_id,
                    });
                    item.idempotency_key = keyed.last().map(|k| k.key.clone());
                }
                None => {}
            }
        }
        if item.result.is_none() {
            admitted_positions.push(items.len());
        }
        items.push(item);
    }

    let cost = admitted_positions.len() as u32;
    let decision = if cost > 0 {
        Some(
            state
                .gate
                .check(tenant.id, limit_of(tenant), cost, &keyed)
                .await?,
        )
    } else {
        None
    };
    let rl = decision
        .as_ref()
        .map(rate_limit_headers)
        .unwrap_or_default();
    if let Some(d) = &decision
        && d.allowed == 0
    {
        return Ok(with_headers(
            IngestError::RateLimited {
                retry_after: d.retry_after,
            }
            .into_response(),
            &rl,
        ));
    }

    // apply the gate's verdicts
    if let Some(d) = &decision {
        for (position, &index) in admitted_positions.iter().enumerate() {
            if position as u32 >= d.allowed {
                items[index].result = Some(Err(IngestError::RateLimited {
                    retry_after: d.retry_after,
                }));
            }
        }
        for (k, outcome) in keyed.iter().zip(&d.idempotency) {
            let index = admitted_positions[k.index];
            items[index].result = match outcome {
                IdemOutcome::New => None,
                IdemOutcome::Duplicate(id) => Some(Ok(ItemOk::Duplicate(*id))),
                IdemOutcome::InFlight => Some(Err(IngestError::IdempotencyKeyInFlight)),
                IdemOutcome::Mismatch => Some(Err(IngestError::IdempotencyKeyReused)),
                IdemOutcome::Limited => Some(Err(IngestError::RateLimited {
                    retry_after: d.retry_after,
                })),
            };
        }
    }

    // publish every item still pending, concurrently, then wait for all acknowledgements
    let batch_span = Context::current().span().span_context().clone();
    let tenant_text = id_text(tenant.id);
    let publishes = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.result.is_none())
        .map(|(i, it)| {
            let (link, tenant_text) = (&batch_span, &tenant_text);
            async move {
                let outgoing = Outgoing {
                    event_id: it.event_id,
                    idempotency_key: it.idempotency_key.as_deref(),
                    raw: it.raw,
                    partition_key: it.partition_key.as_deref(),
                };
                let r = publish_one(state, tenant, tenant_text, outgoing, Some(link)).await;
                (i, r)
            }
        });
    let outcomes = futures::future::join_all(publishes).await;
    for (i, outcome) in outcomes {
        items[i].result = Some(outcome.map(|()| ItemOk::Accepted));
    }
    // settle the reservations this request made: completed if published (one pipelined round
    // trip for all of them), released otherwise
    if let Some(d) = &decision {
        let mut completed = Vec::new();
        for (k, outcome) in keyed.iter().zip(&d.idempotency) {
            if *outcome != IdemOutcome::New {
                continue;
            }
            match items[admitted_positions[k.index]].result {
                Some(Ok(ItemOk::Accepted)) => completed.push(k),
                _ => state.gate.release(tenant.id, k).await,
            }
        }
        state
            .gate
            .complete_all(tenant.id, &completed, ttl_of(tenant))
            .await;
    }

    let (mut accepted, mut duplicates, mut rejected) = (0u64, 0u64, 0u64);
    let results: Vec<ItemAnswer> = items
        .iter()
        .map(|it| match it.result.as_ref() {
            Some(Ok(ItemOk::Accepted)) => {
                accepted += 1;
                ItemAnswer::Ok {
                    code: 202,
                    event_id: it.event_id,
                    status: "accepted",
                }
            }
            Some(Ok(ItemOk::Duplicate(id))) => {
                duplicates += 1;
                ItemAnswer::Ok {
                    code: 200,
                    event_id: *id,
                    status: "duplicate",
                }
            }
            Some(Err(e)) => {
                rejected += 1;
                state.metrics.rejected(e.code(), 1);
                let mut v = e.body();
                v["code"] = e.status().as_u16().into();
                ItemAnswer::Err(v)
            }
            None => ItemAnswer::Err(
                json!({ "code": 500, "error": "internal", "message": "item was not processed" }),
            ),
        })
        .collect();
    state.metrics.ingested(accepted);
    state.metrics.deduplicated(duplicates);
    let body = BatchAnswer {
        accepted,
        duplicates,
        rejected,
        results,
    };
    Ok(with_headers(
        (StatusCode::OK, Json(body)).into_response(),
        &rl,
    ))
}

/// One event on its way to Kafka.
struct Outgoing<'a> {
    event_id: Uuid,
    idempotency_key: Option<&'a str>,
    raw: &'a RawValue,
    /// The body's `partition_key`, read once by the caller.
    partition_key: Option<&'a str>,
}

/// Publishes one event under its own PRODUCER span (a root span linked to the batch request for
/// batch items, so every event has its own trace) and waits for the broker's acknowledgement.
///
/// The span is built with the OpenTelemetry SDK directly: the `tracing` layer's per-span
/// bookkeeping was a large share of a batch's CPU time, and nothing logs inside this span.
async fn publish_one(
    state: &AppState,
    tenant: &Tenant,
    tenant_text: &Arc<str>,
    outgoing: Outgoing<'_>,
    batch_link: Option<&SpanContext>,
) -> Result<(), IngestError> {
    let Outgoing {
        event_id,
        idempotency_key,
        raw,
        partition_key,
    } = outgoing;
    let publisher = &state.publisher;
    let tracer = tracer();
    let event_id_text = id_text(event_id);
    let id_value = StringValue::from(event_id_text.clone());
    let mut builder = tracer
        .span_builder(publisher.span_name().to_owned())
        .with_kind(SpanKind::Producer)
        .with_attributes([
            KeyValue::new(attr::MESSAGING_SYSTEM, "kafka"),
            KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "send"),
            KeyValue::new(attr::MESSAGING_OPERATION_NAME, "send"),
            KeyValue::new(attr::MESSAGING_DESTINATION_NAME, publisher.topic_value()),
            KeyValue::new(attr::MESSAGING_MESSAGE_ID, id_value.clone()),
            KeyValue::new(
                attr::PULSE_TENANT_ID,
                StringValue::from(tenant_text.clone()),
            ),
            KeyValue::new(attr::PULSE_EVENT_ID, id_value),
        ]);
    // a batch item starts its own trace (linked to the batch request); a single event continues
    // the request's
    let parent = match batch_link {
        Some(link) => {
            builder = builder.with_links(vec![Link::with_context(link.clone())]);
            Context::new()
        }
        None => Context::current(),
    };
    let cx = parent.with_span(builder.start_with_context(tracer, &parent));

    let envelope = EventEnvelope {
        event_id,
        tenant_id: tenant.id,
        received_at: Utc::now(),
        idempotency_key: idempotency_key.map(str::to_owned),
        body: raw,
    };
    let value = serde_json::to_vec(&envelope).map_err(|_| IngestError::NotAnObject)?;
    let key = partition_key.unwrap_or(&event_id_text);
    let headers = pulse_otel::propagation::inject(&cx, record_headers(tenant_text, &event_id_text));
    let result = match publisher.enqueue(key.as_bytes(), &value, headers) {
        Ok(delivery) => publish::delivered(delivery).await,
        Err(e) => Err(e),
    };
    let span = cx.span();
    let outcome = match result {
        Ok((partition, offset)) => {
            span.set_attributes([
                KeyValue::new(
                    attr::MESSAGING_DESTINATION_PARTITION_ID,
                    i64::from(partition),
                ),
                KeyValue::new(attr::MESSAGING_KAFKA_OFFSET, offset),
            ]);
            state.metrics.sent(None);
            Ok(())
        }
        Err(e) => {
            let kind = match e {
                PublishError::QueueFull => "queue_full",
                PublishError::BrokersDown => "brokers_down",
                PublishError::Delivery(_) => "delivery_failed",
            };
            span.set_status(Status::error(kind));
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, kind));
            tracing::warn!(error = %e, "publishing event failed");
            state.metrics.sent(Some(kind));
            Err(IngestError::BrokerUnavailable)
        }
    };
    span.end();
    outcome
}

fn limit_of(tenant: &Tenant) -> u32 {
    u32::try_from(tenant.rate_limit_per_minute)
        .unwrap_or(1)
        .max(1)
}

fn ttl_of(tenant: &Tenant) -> Duration {
    Duration::from_secs(
        u64::try_from(tenant.idempotency_ttl_seconds)
            .unwrap_or(1800)
            .max(1),
    )
}

/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, sent on every gated answer.
fn rate_limit_headers(d: &Decision) -> Vec<(HeaderName, HeaderValue)> {
    vec![
        (
            HeaderName::from_static("ratelimit-limit"),
            HeaderValue::from(d.limit),
        ),
        (
            HeaderName::from_static("ratelimit-remaining"),
            HeaderValue::from(d.remaining),
        ),
        (
            HeaderName::from_static("ratelimit-reset"),
            HeaderValue::from(d.reset_secs),
        ),
    ]
}

fn with_headers(mut response: Response, headers: &[(HeaderName, HeaderValue)]) -> Response {
    for (name, value) in headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}
