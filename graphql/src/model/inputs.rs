//! Input filters of the listing queries and the bulk mutations.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use pulse_core::admin::{dead_letters, events};
use uuid::Uuid;

use super::{DeadLetterStatus, DlqReason};

/// Which events to list; every given field must match.
#[derive(InputObject, Clone, Debug, Default)]
pub struct EventFilter {
    pub tenant_id: Option<Uuid>,
    pub event_types: Option<Vec<String>>,
    pub source: Option<String>,
    /// Received at or after
    pub from: Option<DateTime<Utc>>,
    /// Received before
    pub to: Option<DateTime<Utc>>,
}

impl EventFilter {
    /// The core filter, confined to `tenant_id` (decided by the caller's scope).
    pub fn to_core(&self, tenant_id: Option<Uuid>) -> events::EventFilter {
        events::EventFilter {
            tenant_id,
            event_types: self.event_types.clone(),
            source: self.source.clone(),
            from: self.from,
            to: self.to,
        }
    }
}

/// Which dead letters; every given field must match.
#[derive(InputObject, Clone, Debug, Default)]
pub struct DeadLetterFilter {
    pub tenant_id: Option<Uuid>,
    pub reasons: Option<Vec<DlqReason>>,
    pub status: Option<DeadLetterStatus>,
    /// First failing JSON pointer, e.g. /event_type
    pub path: Option<String>,
    /// Failed at or after
    pub from: Option<DateTime<Utc>>,
    /// Failed before
    pub to: Option<DateTime<Utc>>,
}

impl DeadLetterFilter {
    /// The core filter, confined to `tenant_id` (decided by the caller's scope).
    pub fn to_core(&self, tenant_id: Option<Uuid>) -> dead_letters::DeadLetterFilter {
        dead_letters::DeadLetterFilter {
            event_ids: None,
            tenant_id,
            tenant_name: None,
            reasons: self
                .reasons
                .as_ref()
                .map(|r| r.iter().map(|&r| r.into()).collect()),
            status: self.status.map(Into::into),
            path: self.path.clone(),
            from: self.from,
            to: self.to,
        }
    }
}
