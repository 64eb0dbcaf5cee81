//! Pulse's shared contract: what every service agrees on.
//!
//! - [`admin`]: operator use cases (tenants, dead letters, schemas, events, audit, stats) that the
//!   CLI and the GraphQL API both call
//! - [`config`]: reading typed settings from environment variables, secrets that never print
//! - [`db`]: the PostgreSQL pool and the embedded migrations
//! - [`tenant`]: tenants and their API keys (random, shown once, stored hashed)
//! - [`envelope`]: the Kafka record written by ingest and the DLQ record written by the processor
//! - [`kafka`]: topic names and idempotent topic creation
//! - [`health`]: `/healthz`, `/readyz` and `/metrics` shared by every service
//! - [`json_limits`]: how deep a body may nest, checked without a parse
//! - [`http_telemetry`]: a SERVER span and `http.server.request.duration` for every request
//! - [`server`]: serving a router with graceful shutdown (readiness first, bounded drain)
//! - `testkit` (feature `testkit`): a database per test, unique topic and key names, waiting
//! - [`shutdown`]: SIGTERM/SIGINT into a cancellation token

pub mod admin;
pub mod config;
pub mod db;
pub mod envelope;
pub mod health;
pub mod http_telemetry;
pub mod json_limits;
pub mod kafka;
pub mod server;
pub mod shutdown;
pub mod tenant;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{ConfigError, Secret};
pub use tenant::{Tenant, TenantStore};
