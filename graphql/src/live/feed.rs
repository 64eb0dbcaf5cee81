//! One subscriber's view of a live feed: its filter, and how many items it missed.
//!
//! The broadcast channel keeps the last `buffer` items; a subscriber that falls further behind
//! (its client does not read, or reads slowly) skips ahead instead of slowing the reader or the
//! other subscribers, and the next item it gets says how many it missed (`missedBefore`):
//! - restricted to one tenant (a tenant key, or a `tenantId` filter): exactly that tenant's
//!   items it never got, from the tenant sequence numbers (other tenants' traffic is not counted,
//!   nor revealed); with an `eventTypes` filter too, an upper bound (items of other types count);
//! - all tenants: the number of items the channel skipped for it (an upper bound when it filters
//!   by event type or reason).

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    record::LiveRecord,
    tail::{Stamped, Tail},
};

/// Which items of a feed a subscriber wants, besides its tenant.
pub type Predicate<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// A subscriber's position in one feed.
pub struct Feed<T> {
    receiver: broadcast::Receiver<Arc<Stamped<T>>>,
    tenant: Option<Uuid>,
    matches: Predicate<T>,
    last_tenant_seq: u64,
    missed: u64,
    stopped: CancellationToken,
}

impl<T: LiveRecord> Feed<T> {
    /// Joins `tail` from now on: items of `tenant` only (all tenants when `None`) for which
    /// `matches` holds.
    pub(crate) fn new(tail: &Tail<T>, tenant: Option<Uuid>, matches: Predicate<T>) -> Self {
        // subscribe first, then read the counter: every item numbered after the counter was read
        // is sent after this receiver exists, so it arrives (or is counted as missed)
        let receiver = tail.subscribe();
        let last_tenant_seq = tenant.map_or(0, |t| tail.counters.current(t));
        Self {
            receiver,
            tenant,
            matches,
            last_tenant_seq,
            missed: 0,
            stopped: tail.stopped.clone(),
        }
    }

    /// The next matching item and how many this subscriber missed just before it; `None` once the
    /// process is shutting down.
    pub async fn next(&mut self) -> Option<(Arc<Stamped<T>>, u64)> {
        loop {
            let received = tokio::select! {
                () = self.stopped.cancelled() => return None,
                received = self.receiver.recv() => received,
            };
            match received {
                Ok(stamped) => {
                    if let Some(tenant) = self.tenant {
                        if stamped.item.tenant_id() != tenant {
                            continue;
                        }
                        let gap = stamped
                            .tenant_seq
                            .saturating_sub(self.last_tenant_seq.saturating_add(1));
                        self.missed += gap;
                        self.last_tenant_seq = self.last_tenant_seq.max(stamped.tenant_seq);
                    }
                    if !(self.matches)(&stamped.item) {
                        continue;
                    }
                    return Some((stamped, std::mem::take(&mut self.missed)));
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "live subscriber fell behind");
                    // a one-tenant feed counts its gap exactly from the sequence numbers instead
                    if self.tenant.is_none() {
                        self.missed += skipped;
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
