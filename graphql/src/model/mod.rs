//! The API's object types. [`Event`] and [`DeadLetter`] are shared by the queries and the live
//! subscriptions (which build them from Kafka records), so both answer with the same shape.

mod audit;
mod dead_letter;
mod event;
mod inputs;
mod stats;
mod tenant;
mod trace;

use async_graphql::{Enum, SimpleObject};
use pulse_core::admin::{self, page::Paged};

pub use self::{
    audit::{AuditConnection, AuditEdge, AuditEntry},
    dead_letter::{
        DeadLetter, DeadLetterConnection, DeadLetterEdge, DeadLetterGroup, DiscardResult,
        FieldError, ReplayResult,
    },
    event::{Event, EventConnection, EventEdge, LifecycleStep},
    inputs::{DeadLetterFilter, EventFilter},
    stats::{Counts, EventTypeCount, Stats, StatsColumns, StatsPoint, StatsWindow},
    tenant::{CreatedTenant, EventSchema, Tenant},
    trace::{Trace, TraceSpan},
};

/// Why an event was dead-lettered.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum DlqReason {
    MissingField,
    InvalidType,
    InvalidValue,
    SchemaViolation,
    MalformedEnvelope,
}

impl From<pulse_core::envelope::DlqReason> for DlqReason {
    fn from(r: pulse_core::envelope::DlqReason) -> Self {
        use pulse_core::envelope::DlqReason as R;
        match r {
            R::MissingField => Self::MissingField,
            R::InvalidType => Self::InvalidType,
            R::InvalidValue => Self::InvalidValue,
            R::SchemaViolation => Self::SchemaViolation,
            R::MalformedEnvelope => Self::MalformedEnvelope,
        }
    }
}

impl From<DlqReason> for pulse_core::envelope::DlqReason {
    fn from(r: DlqReason) -> Self {
        match r {
            DlqReason::MissingField => Self::MissingField,
            DlqReason::InvalidType => Self::InvalidType,
            DlqReason::InvalidValue => Self::InvalidValue,
            DlqReason::SchemaViolation => Self::SchemaViolation,
            DlqReason::MalformedEnvelope => Self::MalformedEnvelope,
        }
    }
}

/// Where a dead letter stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeadLetterStatus {
    Pending,
    Replayed,
    Discarded,
}

impl From<admin::dead_letters::DeadLetterStatus> for DeadLetterStatus {
    fn from(s: admin::dead_letters::DeadLetterStatus) -> Self {
        use admin::dead_letters::DeadLetterStatus as S;
        match s {
            S::Pending => Self::Pending,
            S::Replayed => Self::Replayed,
            S::Discarded => Self::Discarded,
        }
    }
}

impl From<DeadLetterStatus> for admin::dead_letters::DeadLetterStatus {
    fn from(s: DeadLetterStatus) -> Self {
        match s {
            DeadLetterStatus::Pending => Self::Pending,
            DeadLetterStatus::Replayed => Self::Replayed,
            DeadLetterStatus::Discarded => Self::Discarded,
        }
    }
}

/// What became of an event. `ACCEPTED`: on `events.raw`, not processed yet (live feeds).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum EventStatus {
    Accepted,
    Stored,
    DeadLettered,
    Replayed,
    Discarded,
}

impl From<admin::events::EventStatus> for EventStatus {
    fn from(s: admin::events::EventStatus) -> Self {
        use admin::events::EventStatus as S;
        match s {
            S::Stored => Self::Stored,
            S::DeadLettered => Self::DeadLettered,
            S::Replayed => Self::Replayed,
            S::Discarded => Self::Discarded,
        }
    }
}

/// A stage of an event's lifecycle.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum LifecycleStage {
    Received,
    Published,
    Stored,
    DeadLettered,
    Replayed,
    Discarded,
}

impl From<admin::events::Stage> for LifecycleStage {
    fn from(s: admin::events::Stage) -> Self {
        use admin::events::Stage as S;
        match s {
            S::Received => Self::Received,
            S::Published => Self::Published,
            S::Stored => Self::Stored,
            S::DeadLettered => Self::DeadLettered,
            S::Replayed => Self::Replayed,
            S::Discarded => Self::Discarded,
        }
    }
}

/// A component's (or the platform's) health.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum HealthStatus {
    Up,
    Degraded,
    Down,
}

/// Who the caller is.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Admin,
    Tenant,
    Anonymous,
}

/// Relay page information.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// The page info of `paged`, fetched after `after` (a previous page exists then).
    pub fn of<T>(paged: &Paged<T>, after: Option<&str>) -> Self {
        Self {
            has_next_page: paged.has_next_page,
            has_previous_page: after.is_some(),
            start_cursor: paged.items.first().map(|(c, _)| c.encode()),
            end_cursor: paged.items.last().map(|(c, _)| c.encode()),
        }
    }
}

/// Links into other tools (Jaeger's UI).
#[derive(Clone, Debug)]
pub struct Links {
    /// `PULSE_JAEGER_UI_URL` (default `http://localhost:16686`).
    pub jaeger_ui: String,
}

impl Links {
    pub fn trace_url(&self, trace_id: Option<&str>) -> Option<String> {
        trace_id.map(|id| format!("{}/trace/{id}", self.jaeger_ui.trim_end_matches('/')))
    }
}
