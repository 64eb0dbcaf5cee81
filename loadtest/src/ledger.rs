//! What a run sent and what the server promised: every accepted event id with its kind and
//! tenant, every id a duplicate answer pointed at, and per-kind and per-tenant counters. Shared
//! by all goose users; entries are a few bytes each and the locks are sharded and never held
//! across an await.

use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A request kind, also its goose transaction and request name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Valid,
    Duplicate,
    Malformed,
    Invalid,
    Batch,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Valid,
        Kind::Duplicate,
        Kind::Malformed,
        Kind::Invalid,
        Kind::Batch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Duplicate => "duplicate",
            Kind::Malformed => "malformed",
            Kind::Invalid => "invalid",
            Kind::Batch => "batch",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether an accepted event of this kind belongs in `dead_letters` rather than `events`.
    pub fn expects_dead_letter(self) -> bool {
        self == Kind::Invalid
    }
}

/// An event the server answered 202 for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub event_id: Uuid,
    /// Index into the run's tenant list.
    pub tenant: u16,
    pub kind: Kind,
}

/// Per-kind counts of what was sent and how the server answered. Batches count events, not
/// requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub sent: u64,
    /// 202 (200 duplicate for duplicates): the answer the kind expects; for malformed, 400.
    pub answered_as_expected: u64,
    /// Any other answer, or no answer.
    pub unexpected: u64,
}

#[derive(Default)]
struct KindCounters {
    sent: AtomicU64,
    expected: AtomicU64,
    unexpected: AtomicU64,
}

#[derive(Default)]
struct Shard {
    accepted: Vec<Accepted>,
    duplicates: Vec<Uuid>,
}

const SHARDS: usize = 16;

/// The run's shared record.
pub struct Ledger {
    shards: Vec<Mutex<Shard>>,
    kinds: [KindCounters; 5],
    per_tenant: Vec<AtomicU64>,
}

/// A copy of the ledger at the end of the run.
#[derive(Debug, Clone, Default)]
pub struct LedgerSnapshot {
    pub accepted: Vec<Accepted>,
    /// For every duplicate answer, the event id of the original request.
    pub duplicates: Vec<Uuid>,
    /// Indexed by [`Kind::index`].
    pub counts: [KindCounts; 5],
    /// Requests sent per tenant index.
    pub per_tenant: Vec<u64>,
}

impl Ledger {
    pub fn new(tenants: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            kinds: Default::default(),
            per_tenant: (0..tenants).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn shard(&self, id: Uuid) -> std::sync::MutexGuard<'_, Shard> {
        // the low bits of a v7 id are random, so they spread evenly
        let i = (id.as_u128() % SHARDS as u128) as usize;
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `events` were sent in one request to `tenant`.
    pub fn sent(&self, kind: Kind, tenant: u16, events: u64) {
        self.kinds[kind.index()]
            .sent
            .fetch_add(events, Ordering::Relaxed);
        if let Some(t) = self.per_tenant.get(usize::from(tenant)) {
            t.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `events` got the answer their kind expects.
    pub fn as_expected(&self, kind: Kind, events: u64) {
        self.kinds[kind.index()]
            .expected
            .fetch_add(events, Ordering::Relaxed);
    }

    /// `events` got another answer.
    pub fn unexpected(&self, kind: Kind, events: u64) {
        self.kinds[kind.index()]
            .unexpected
            .fetch_add(events, Ordering::Relaxed);
    }

    /// The server accepted an event (202) and now owes a row for it.
    pub fn accepted(&self, event_id: Uuid, tenant: u16, kind: Kind) {
        self.shard(event_id).accepted.push(Accepted {
            event_id,
            tenant,
            kind,
        });
    }

    /// A duplicate answer named `original`, which must still have exactly one row.
    pub fn duplicate(&self, original: Uuid) {
        self.shard(original).duplicates.push(original);
    }

    pub fn snapshot(&self) -> LedgerSnapshot {
        let mut snapshot = LedgerSnapshot::default();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            snapshot.accepted.extend_from_slice(&shard.accepted);
            snapshot.duplicates.extend_from_slice(&shard.duplicates);
        }
        for (counts, counters) in snapshot.counts.iter_mut().zip(&self.kinds) {
            *counts = KindCounts {
                sent: counters.sent.load(Ordering::Relaxed),
                answered_as_expected: counters.expected.load(Ordering::Relaxed),
                unexpected: counters.unexpected.load(Ordering::Relaxed),
            };
        }
        snapshot.per_tenant = self
            .per_tenant
            .iter()
            .map(|t| t.load(Ordering::Relaxed))
            .collect();
        snapshot
    }
}

impl LedgerSnapshot {
    pub fn counts(&self, kind: Kind) -> KindCounts {
        self.counts[kind.index()]
    }

    /// Requests (batch events count one each) that got an unexpected answer, over all sent.
    pub fn unexpected_share(&self) -> f64 {
        let sent: u64 = self.counts.iter().map(|c| c.sent).sum();
        let unexpected: u64 = self.counts.iter().map(|c| c.unexpected).sum();
        if sent == 0 {
            0.0
        } else {
            unexpected as f64 / sent as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_collects_every_shard_and_counter() {
        let ledger = Ledger::new(2);
        let ids: Vec<Uuid> = (0..100).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            ledger.sent(Kind::Valid, 1, 1);
            ledger.accepted(*id, 1, Kind::Valid);
            ledger.as_expected(Kind::Valid, 1);
        }
        ledger.sent(Kind::Batch, 0, 20);
        ledger.as_expected(Kind::Batch, 19);
        ledger.unexpected(Kind::Batch, 1);
        ledger.duplicate(ids[0]);
        ledger.sent(Kind::Valid, 7, 1); // an unknown tenant index is ignored, not a panic

        let s = ledger.snapshot();
        let mut got: Vec<Uuid> = s.accepted.iter().map(|a| a.event_id).collect();
        got.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(s.duplicates, vec![ids[0]]);
        assert_eq!(
            s.counts(Kind::Valid),
            KindCounts {
                sent: 101,
                answered_as_expected: 100,
                unexpected: 0
            }
        );
        assert_eq!(s.counts(Kind::Batch).sent, 20);
        assert_eq!(s.per_tenant, vec![1, 100]);
        assert!((s.unexpected_share() - 1.0 / 121.0).abs() < 1e-12);
    }

    #[test]
    fn kinds_know_their_names_and_homes() {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            ["valid", "duplicate", "malformed", "invalid", "batch"]
        );
        assert!(Kind::ALL.iter().enumerate().all(|(i, k)| k.index() == i));
        assert!(Kind::Invalid.expects_dead_letter());
        assert!(!Kind::Valid.expects_dead_letter());
    }
}
