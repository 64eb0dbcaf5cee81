//! `POST /events` and `POST /events/batch`, as HTTP: check the request's shape, admit its events
//! ([`Admission`]: rate limit and idempotency in one Redis round trip), publish what was admitted
//! and wait for the broker's acknowledgements ([`Publisher::publish`]), settle the admission, and
//! answer. A batch answers per item, in order, with the same codes a single request would get.

use std::borrow::Cow;

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use opentelemetry::{Context, trace::TraceContextExt};
use pulse_core::{Tenant, envelope::id_text, json_limits::MAX_JSON_DEPTH};
use serde::{Deserialize, Serialize};
use serde_json::{json, value::RawValue};
use uuid::Uuid;

use crate::{
    AppState,
    admission::{Admission, Candidate, Verdict},
    auth::AuthedTenant,
    body::{self, Routing},
    error::IngestError,
    publish::Outgoing,
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

    let event_id = Uuid::now_v7();
    let candidate = Candidate {
        event_id,
        key: idempotency_key
            .clone()
            .map(|key| (key, body::fingerprint(&bytes))),
    };
    let admission = Admission::admit(&state.gate, tenant, vec![candidate]).await?;
    let rate_limit = admission.rate_limit_headers();
    let outcome = match admission.verdicts().first().cloned() {
        Some(Verdict::Publish) => {
            let tenant_text = id_text(tenant.id);
            let routing = Routing::of(raw);
            let event = Outgoing {
                event_id,
                tenant_id: tenant.id,
                tenant_text: &tenant_text,
                idempotency_key: idempotency_key.as_deref(),
                raw,
                partition_key: routing.partition_key.as_deref(),
            };
            let published = state.publisher.publish(&state.metrics, event, None).await;
            let acknowledged = published.is_ok();
            admission.settle(&state.gate, |_| acknowledged).await;
            published.map(|()| {
                state.metrics.ingested(1);
                (
                    StatusCode::ACCEPTED,
                    Json(Answer {
                        event_id,
                        status: "accepted",
                    }),
                )
                    .into_response()
            })
        }
        Some(Verdict::Duplicate(original)) => {
            state.metrics.deduplicated(1);
            let mut response = (
                StatusCode::OK,
                Json(Answer {
                    event_id: original,
                    status: "duplicate",
                }),
            )
                .into_response();
            response.headers_mut().insert(
                HeaderName::from_static("idempotent-replayed"),
                HeaderValue::from_static("true"),
            );
            Ok(response)
        }
        Some(Verdict::Refused(e)) => Err(e),
        None => Err(IngestError::IdempotencyUnavailable),
    };
    Ok(with_headers(answer(state, outcome), &rate_limit))
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

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// One batch item on its way through; `result` stays `None` until it is decided.
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

/// A batch item with its shape checked: refused if it is not an object or its key is invalid.
fn shape_checked(raw: &RawValue) -> Item<'_> {
    let mut item = Item {
        raw,
        event_id: Uuid::now_v7(),
        idempotency_key: None,
        partition_key: None,
        result: None,
    };
    if !raw.get().starts_with('{') {
        item.result = Some(Err(IngestError::NotAnObject));
        return item;
    }
    let routing = Routing::of(raw);
    item.partition_key = routing.partition_key;
    match routing.idempotency_key {
        Some(k) if !body::valid_idempotency_key(&k) => {
            item.result = Some(Err(IngestError::InvalidIdempotencyKey))
        }
        Some(k) => item.idempotency_key = Some(k.into_owned()),
        None => {}
    }
    item
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

    // shape checks per item; the well-formed ones are the admission's candidates, in order
    let mut items: Vec<Item<'_>> = parsed.events.into_iter().map(shape_checked).collect();
    let positions: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].result.is_none())
        .collect();
    let candidates: Vec<Candidate> = positions
        .iter()
        .map(|&i| Candidate {
            event_id: items[i].event_id,
            key: items[i]
                .idempotency_key
                .clone()
                .map(|key| (key, body::fingerprint(items[i].raw.get().as_bytes()))),
        })
        .collect();
    let admission = Admission::admit(&state.gate, tenant, candidates).await?;
    let rate_limit = admission.rate_limit_headers();
    if let Some(limited) = admission.refused_by_limit() {
        return Ok(with_headers(limited.into_response(), &rate_limit));
    }
    for (&i, verdict) in positions.iter().zip(admission.verdicts()) {
        items[i].result = match verdict {
            Verdict::Publish => None,
            Verdict::Duplicate(id) => Some(Ok(ItemOk::Duplicate(*id))),
            Verdict::Refused(e) => Some(Err(e.clone())),
        };
    }

    // publish every admitted item concurrently, then wait for all acknowledgements
    let batch_span = Context::current().span().span_context().clone();
    let tenant_text = id_text(tenant.id);
    let publishes = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.result.is_none())
        .map(|(i, it)| {
            let event = Outgoing {
                event_id: it.event_id,
                tenant_id: tenant.id,
                tenant_text: &tenant_text,
                idempotency_key: it.idempotency_key.as_deref(),
                raw: it.raw,
                partition_key: it.partition_key.as_deref(),
            };
            let published = state
                .publisher
                .publish(&state.metrics, event, Some(&batch_span));
            async move { (i, published.await) }
        });
    for (i, outcome) in futures::future::join_all(publishes).await {
        items[i].result = Some(outcome.map(|()| ItemOk::Accepted));
    }
    admission
        .settle(&state.gate, |candidate| {
            matches!(
                items[positions[candidate]].result,
                Some(Ok(ItemOk::Accepted))
            )
        })
        .await;

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
        &rate_limit,
    ))
}

fn with_headers(mut response: Response, headers: &[(HeaderName, HeaderValue)]) -> Response {
    for (name, value) in headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}
