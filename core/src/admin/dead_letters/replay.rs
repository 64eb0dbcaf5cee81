//! Replaying dead letters: each `pending` letter is republished to `events.raw` with its original
//! event id, tenant, receipt time and idempotency key (and the Pulse headers plus the *current*
//! trace context, so a replay started from a request joins that request's trace), then marked
//! `replayed`. Running it twice is harmless: the second run finds nothing pending, and the
//! processor's `(tenant_id, event_id)` key would absorb a repeat anyway.
//!
//! A replay may change what is sent: `body` replaces the body of exactly one letter, `patch` is an
//! RFC 7396 JSON merge patch applied to every selected body.

use crate::admin::Traced as _;
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{DeadLetter, DeadLetterFilter, bulk_filter, select_all};
use crate::admin::{AdminError, Result};

/// The most letters one bulk action touches (run it again for more).
pub const MAX_BULK: i64 = 100_000;

/// Publishes replays: a producer with the shared reliable settings and the raw topic.
#[derive(Clone)]
pub struct Replayer {
    producer: FutureProducer,
    topic: String,
}

impl Replayer {
    pub fn new(brokers: &str, raw_topic: &str) -> Result<Self> {
        Ok(Self {
            producer: crate::kafka::producer(brokers, Duration::from_secs(10))?,
            topic: raw_topic.to_owned(),
        })
    }
}

/// How to change the letters' bodies before sending them.
#[derive(Debug, Clone, Default)]
pub struct ReplayEdit {
    /// A replacement body (an object), only when exactly one letter is selected by id.
    pub body: Option<serde_json::Value>,
    /// An RFC 7396 merge patch (an object) applied to each body.
    pub patch: Option<serde_json::Value>,
}

/// What a replay did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub dry_run: bool,
    pub selected: usize,
    pub replayed: usize,
    pub event_ids: Vec<Uuid>,
}

/// Republishes the `pending` dead letters matching `filter`, then marks them `replayed`.
pub async fn replay(
    pool: &PgPool,
    replayer: &Replayer,
    filter: &DeadLetterFilter,
    edit: &ReplayEdit,
    dry_run: bool,
) -> Result<ReplayReport> {
    check_edit(filter, edit)?;
    let filter = bulk_filter(filter)?;
    let letters = select_all(pool, &filter, MAX_BULK).await?;
    // every body is prepared before anything is sent: a patch that breaks one body fails the
    // whole request instead of replaying half of it
    let bodies = letters
        .iter()
        .map(|l| body_text(l, edit))
        .collect::<Result<Vec<_>>>()?;
    let mut report = ReplayReport {
        dry_run,
        selected: letters.len(),
        replayed: 0,
        event_ids: letters.iter().map(|l| l.event_id).collect(),
    };
    if dry_run {
        return Ok(report);
    }
    let cx = pulse_otel::propagation::current_context();
    for (letter, body) in letters.iter().zip(bodies) {
        let value = envelope_json(letter, &body)?;
        let key = partition_key(&body).unwrap_or_else(|| letter.event_id.to_string());
        let headers = pulse_otel::propagation::inject(
            &cx,
            crate::envelope::record_headers(
                &letter.tenant_id.to_string(),
                &letter.event_id.to_string(),
            ),
        );
        let delivery = replayer
            .producer
            .send_result(
                FutureRecord::to(&replayer.topic)
                    .key(key.as_bytes())
                    .payload(&value)
                    .headers(headers),
            )
            .map_err(|(e, _)| e)?;
        delivery
            .await
            .map_err(|_| rdkafka::error::KafkaError::Canceled)?
            .map_err(|(e, _)| e)?;
        // only if nothing touched the letter meanwhile (a failed re-processing counts an attempt)
        sqlx::query(
            "update dead_letters set status = 'replayed', replayed_at = now(), updated_at = now() \
             where tenant_id = $1 and event_id = $2 and status = 'pending' and attempts = $3",
        )
        .bind(letter.tenant_id)
        .bind(letter.event_id)
        .bind(letter.attempts)
        .execute(pool)
        .traced("UPDATE", "dead_letters")
        .await?;
        report.replayed += 1;
    }
    Ok(report)
}

fn check_edit(filter: &DeadLetterFilter, edit: &ReplayEdit) -> Result<()> {
    if edit.body.is_some() && edit.patch.is_some() {
        return Err(AdminError::bad_input("give either body or patch, not both"));
    }
    if let Some(body) = &edit.body {
        if filter.event_ids.as_ref().is_none_or(|ids| ids.len() != 1) {
            return Err(AdminError::bad_input(
                "a replacement body needs exactly one dead letter, named by its id",
            ));
        }
        if !body.is_object() {
            return Err(AdminError::bad_input(
                "a replacement body must be a JSON object",
            ));
        }
    }
    if edit.patch.as_ref().is_some_and(|p| !p.is_object()) {
        return Err(AdminError::bad_input("a merge patch must be a JSON object"));
    }
    Ok(())
}

/// The JSON text of the body to send for `letter`. A body jsonb refused is sent as the exact text
/// that was received, unless it is patched.
fn body_text(letter: &DeadLetter, edit: &ReplayEdit) -> Result<String> {
    if let Some(body) = &edit.body {
        return Ok(body.to_string());
    }
    let Some(patch) = &edit.patch else {
        return Ok(match (&letter.body, &letter.body_text) {
            (Some(body), _) if !letter.body_stored_as_text => body.to_string(),
            (_, Some(text)) => text.clone(),
            (Some(body), None) => body.to_string(),
            (None, None) => "null".to_owned(),
        });
    };
    let mut body = match (&letter.body, &letter.body_text) {
        (Some(body), _) if !letter.body_stored_as_text => body.clone(),
        (_, Some(text)) => serde_json::from_str(text).map_err(|_| {
            AdminError::bad_input(format!(
                "the body of {} is not parseable JSON; replace it with body instead of a patch",
                letter.event_id
            ))
        })?,
        (Some(body), None) => body.clone(),
        (None, None) => serde_json::Value::Null,
    };
    merge_patch(&mut body, patch);
    if !body.is_object() {
        return Err(AdminError::bad_input(format!(
            "the patched body of {} is not a JSON object",
            letter.event_id
        )));
    }
    Ok(body.to_string())
}

/// The `events.raw` value: the envelope's fields in their contract order, then the body's text
/// spliced in verbatim (so a body serde cannot re-read, e.g. nested past its recursion limit, is
/// still sent byte for byte).
fn envelope_json(letter: &DeadLetter, body: &str) -> Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Head<'a> {
        event_id: Uuid,
        tenant_id: Uuid,
        received_at: chrono::DateTime<chrono::Utc>,
        idempotency_key: Option<&'a str>,
    }
    let head = serde_json::to_string(&Head {
        event_id: letter.event_id,
        tenant_id: letter.tenant_id,
        received_at: letter.received_at.unwrap_or(letter.failed_at),
        idempotency_key: letter.idempotency_key.as_deref(),
    })
    .map_err(|e| AdminError::Internal(Box::new(e)))?;
    let mut out = Vec::with_capacity(head.len() + body.len() + 10);
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"body\":");
    out.extend_from_slice(body.as_bytes());
    out.push(b'}');
    Ok(out)
}

/// The body's `partition_key`, so a replayed event keeps its ordering key.
fn partition_key(body: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Keyed {
        partition_key: Option<String>,
    }
    serde_json::from_str::<Keyed>(body).ok()?.partition_key
}

/// Applies an RFC 7396 JSON merge patch to `target`.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(
                    map.entry(key.clone()).or_insert(serde_json::Value::Null),
                    value,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // the RFC's own example (section 3)
        let mut doc = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"], "content": "This will be unchanged"});
        merge_patch(
            &mut doc,
            &json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890",
                "author": {"familyName": null}, "tags": ["example"]}),
        );
        assert_eq!(
            doc,
            json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
                "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})
        );
        let mut scalar = json!("x");
        merge_patch(&mut scalar, &json!({"a": {"b": 1}}));
        assert_eq!(scalar, json!({"a": {"b": 1}}));
    }

    #[test]
    fn partition_key_is_read_from_the_body() {
        assert_eq!(
            partition_key(r#"{"partition_key":"o-1","x":1}"#).as_deref(),
            Some("o-1")
        );
        assert_eq!(partition_key(r#"{"x":1}"#), None);
        assert_eq!(partition_key("not json"), None);
    }
}
