//! Pulse's load tester: goose traffic against ingest, then proof that nothing was lost.
//!
//! A run provisions tenants ([`tenants`]), sends a weighted mix of request kinds through goose
//! ([`scenario`], bodies from [`bodies`], answers checked by [`answers`]) while recording every
//! event id the server accepted ([`ledger`]) and every request's latency ([`timeline`], kept in a
//! [`histogram`] per second), waits for the processor to drain and checks each accepted event
//! against PostgreSQL ([`reconcile`], rows read by [`lookup`]), and writes an offline summary
//! next to goose's own reports ([`report`], charts drawn by [`charts`]). [`options`] holds the
//! command line and [`run`] ties the steps together for `main` and the end-to-end test.
//! [`chaos`] reuses the ledger and the reconciliation for fault injection (`pulse-chaos`).
//! [`bench`] is `make bench`'s driver (`pulse-bench run`: scenarios, CPU accounting, report).

pub mod answers;
pub mod bench;
pub mod bodies;
pub mod chaos;
pub mod charts;
pub mod graphql_bench;
pub mod histogram;
pub mod ledger;
pub mod lookup;
pub mod options;
pub mod reconcile;
pub mod report;
pub mod run;
pub mod scenario;
pub mod tenants;
pub mod timeline;

pub use ledger::Kind;
pub use options::{Cli, PulseOptions};
pub use run::{RunOutcome, run};
