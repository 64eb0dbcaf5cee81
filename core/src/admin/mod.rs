//! Operator use cases: everything an operator does to Pulse, in one place that the `pulse` CLI and
//! the GraphQL resolvers both call, so the two can never disagree.
//!
//! - [`tenants`]: create, list, get, rotate a key, change limits, disable / enable
//! - [`dead_letters`]: list (filtered, keyset-paginated), group, replay, discard
//! - [`schemas`]: per-tenant JSON Schemas per event type (checked before they are stored)
//! - [`events`]: look an event up, list events, and build its lifecycle
//! - [`audit`]: the `audit_log` of operator actions
//! - [`stats`]: per-minute counts from the rollup the processor maintains
//!
//! Every function fails with one error type, [`AdminError`], which decides both the CLI's exit
//! code and the GraphQL error code; its messages never carry SQL or driver text.

pub mod audit;
pub mod dead_letters;
pub mod events;
pub mod page;
pub mod schemas;
pub mod stats;
pub mod tenants;

pub use page::{Cursor, Page};
pub use tenants::TenantRef;

/// Why an operator action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The thing named does not exist (or is not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong; repeating it unchanged fails again.
    #[error("{0}")]
    BadInput(String),
    /// The request clashes with the current state (e.g. a name already taken).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A dependency (PostgreSQL, Kafka) is unreachable; retrying later may work.
    #[error("{0} is unavailable, try again later")]
    Unavailable(&'static str),
    /// A bug or an unexpected failure; the cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AdminError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn bad_input(what: impl Into<String>) -> Self {
        Self::BadInput(what.into())
    }

    /// The GraphQL `extensions.code` (the fixed set of ARCHITECTURE.md): a conflict is the
    /// caller's input, an unavailable dependency is the server's problem.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput(_) | Self::Conflict(_) => "BAD_USER_INPUT",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::Unavailable(_) | Self::Internal(_) => "INTERNAL",
        }
    }

    /// The `pulse` CLI's exit code (1 stays "something unexpected"; 2 is clap's usage error).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Internal(_) => 1,
            Self::BadInput(_) => 2,
            Self::NotFound(_) => 3,
            Self::Conflict(_) => 4,
            Self::Forbidden(_) => 5,
            Self::Unavailable(_) => 6,
        }
    }
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                tracing::warn!(error = %e, "postgresql unavailable");
                Self::Unavailable("PostgreSQL")
            }
            sqlx::Error::Database(ref db) if db.code().is_some_and(|c| c.starts_with("08")) => {
                tracing::warn!(error = %e, "postgresql unavailable");
                Self::Unavailable("PostgreSQL")
            }
            other => {
                tracing::error!(error = %other, "database error");
                Self::Internal(Box::new(other))
            }
        }
    }
}

impl From<rdkafka::error::KafkaError> for AdminError {
    fn from(e: rdkafka::error::KafkaError) -> Self {
        tracing::warn!(error = %e, "kafka publish failed");
        Self::Unavailable("Kafka")
    }
}

pub type Result<T, E = AdminError> = std::result::Result<T, E>;

/// `.traced("SELECT", "events")` on a query's future: a CLIENT span around the call.
pub(crate) trait Traced<T, E>: Future<Output = std::result::Result<T, E>> + Sized {
    fn traced(
        self,
        operation: &'static str,
        collection: &'static str,
    ) -> impl Future<Output = std::result::Result<T, E>> {
        pulse_otel::db::client(operation, collection, self)
    }
}

impl<T, E, F: Future<Output = std::result::Result<T, E>>> Traced<T, E> for F {}
