//! Admission: the one protocol every request follows between its shape checks and its answer.
//!
//! [`Admission::admit`] asks the gate about all of a request's events at once (rate limit and
//! idempotency reservations, one Redis round trip) and turns its answer into one [`Verdict`] per
//! event; the handler publishes the events told to [`Verdict::Publish`], then
//! [`Admission::settle`] completes the reservations of those the broker acknowledged and releases
//! the rest, so a client's retry after a failed publish is not mistaken for a duplicate.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use pulse_core::Tenant;
use uuid::Uuid;

use crate::{
    error::IngestError,
    gate::{Decision, Gate, IdemOutcome, KeyedItem},
};

/// An event that passed its shape checks and asks to be admitted.
pub struct Candidate {
    /// The id the event gets if it is admitted.
    pub event_id: Uuid,
    /// Its idempotency key and the fingerprint of its body, if it carries a key.
    pub key: Option<(String, String)>,
}

/// What happens to one candidate.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Admitted: publish it under its event id.
    Publish,
    /// Its key was completed earlier with the same body: answer with the original event id.
    Duplicate(Uuid),
    /// Refused (rate limit, key in flight, key reused with another body).
    Refused(IngestError),
}

/// A request's admission, from the gate's answer until its reservations are settled.
pub struct Admission {
    tenant: Uuid,
    idempotency_ttl: Duration,
    /// `None` when the request had no candidates (nothing was asked of the gate).
    decision: Option<Decision>,
    /// The candidates that carried keys, in candidate order (`KeyedItem::index` is the candidate's
    /// position).
    keyed: Vec<KeyedItem>,
    verdicts: Vec<Verdict>,
}

impl Admission {
    /// Asks the gate about `candidates` (in order: the rate limit admits a prefix of them).
    /// Fails only when the gate cannot answer for keyed events (503 `idempotency_unavailable`).
    pub async fn admit(
        gate: &Gate,
        tenant: &Tenant,
        candidates: Vec<Candidate>,
    ) -> Result<Self, IngestError> {
        let count = candidates.len();
        // the keys move into the reservations: they are not copied again
        let keyed: Vec<KeyedItem> = candidates
            .into_iter()
            .enumerate()
            .filter_map(|(index, c)| {
                c.key.map(|(key, fingerprint)| KeyedItem {
                    index,
                    key,
                    fingerprint,
                    event_id: c.event_id,
                })
            })
            .collect();
        let decision = if count == 0 {
            None
        } else {
            let cost = u32::try_from(count).unwrap_or(u32::MAX);
            Some(
                gate.check(tenant.id, limit_of(tenant), cost, &keyed)
                    .await?,
            )
        };
        let verdicts = decision
            .as_ref()
            .map(|d| verdicts(d, count, &keyed))
            .unwrap_or_default();
        Ok(Self {
            tenant: tenant.id,
            idempotency_ttl: ttl_of(tenant),
            decision,
            keyed,
            verdicts,
        })
    }

    /// One verdict per candidate, in order.
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    /// The whole request's refusal when the limit admitted none of its events (429).
    pub fn refused_by_limit(&self) -> Option<IngestError> {
        self.decision
            .as_ref()
            .filter(|d| d.allowed == 0)
            .map(|d| IngestError::RateLimited {
                retry_after: d.retry_after,
            })
    }

    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` for every answer the gate saw.
    pub fn rate_limit_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let Some(d) = &self.decision else {
            return Vec::new();
        };
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

    /// Settles the reservations this request made: completed (one pipelined round trip) for the
    /// candidates `published` says the broker acknowledged, released for the others.
    pub async fn settle(self, gate: &Gate, published: impl Fn(usize) -> bool) {
        let Some(d) = &self.decision else { return };
        let mut completed = Vec::new();
        for (item, outcome) in self.keyed.iter().zip(&d.idempotency) {
            if *outcome != IdemOutcome::New {
                continue;
            }
            if published(item.index) {
                completed.push(item);
            } else {
                gate.release(self.tenant, item).await;
            }
        }
        gate.complete_all(self.tenant, &completed, self.idempotency_ttl)
            .await;
    }
}

/// The gate's answer as one verdict per candidate: beyond the admitted prefix rate-limited, keyed
/// candidates as their reservation says, the rest published.
fn verdicts(d: &Decision, candidates: usize, keyed: &[KeyedItem]) -> Vec<Verdict> {
    let limited = || {
        Verdict::Refused(IngestError::RateLimited {
            retry_after: d.retry_after,
        })
    };
    let mut verdicts: Vec<Verdict> = (0..candidates)
        .map(|i| {
            if i as u64 >= u64::from(d.allowed) {
                limited()
            } else {
                Verdict::Publish
            }
        })
        .collect();
    for (item, outcome) in keyed.iter().zip(&d.idempotency) {
        verdicts[item.index] = match outcome {
            IdemOutcome::New => Verdict::Publish,
            IdemOutcome::Duplicate(id) => Verdict::Duplicate(*id),
            IdemOutcome::InFlight => Verdict::Refused(IngestError::IdempotencyKeyInFlight),
            IdemOutcome::Mismatch => Verdict::Refused(IngestError::IdempotencyKeyReused),
            IdemOutcome::Limited => limited(),
        };
    }
    verdicts
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(allowed: u32, idempotency: Vec<IdemOutcome>) -> Decision {
        Decision {
            allowed,
            limit: 10,
            remaining: 0,
            reset_secs: 6,
            retry_after: Duration::from_secs(1),
            idempotency,
        }
    }

    fn keyed(index: usize) -> KeyedItem {
        KeyedItem {
            index,
            key: format!("k{index}"),
            fingerprint: "f".into(),
            event_id: Uuid::nil(),
        }
    }

    #[test]
    fn events_beyond_the_admitted_prefix_are_rate_limited() {
        let v = verdicts(&decision(2, vec![]), 3, &[]);
        assert!(matches!(v[0], Verdict::Publish));
        assert!(matches!(v[1], Verdict::Publish));
        assert!(matches!(
            v[2],
            Verdict::Refused(IngestError::RateLimited { .. })
        ));
    }

    #[test]
    fn keyed_candidates_follow_their_reservation() {
        let original = Uuid::now_v7();
        let items = [keyed(0), keyed(1), keyed(2), keyed(3)];
        let outcomes = vec![
            IdemOutcome::Duplicate(original),
            IdemOutcome::InFlight,
            IdemOutcome::Mismatch,
            IdemOutcome::Limited,
        ];
        let v = verdicts(&decision(3, outcomes), 5, &items);
        assert!(matches!(v[0], Verdict::Duplicate(id) if id == original));
        assert!(matches!(
            v[1],
            Verdict::Refused(IngestError::IdempotencyKeyInFlight)
        ));
        assert!(matches!(
            v[2],
            Verdict::Refused(IngestError::IdempotencyKeyReused)
        ));
        assert!(matches!(
            v[3],
            Verdict::Refused(IngestError::RateLimited { .. })
        ));
        // unkeyed and beyond the limit
        assert!(matches!(
            v[4],
            Verdict::Refused(IngestError::RateLimited { .. })
        ));
    }
}
