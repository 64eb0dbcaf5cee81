//! Fault injection under load (`pulse-chaos`, `make chaos`, and the bounded run in `make test`).
//!
//! [`infra`] starts private Redis, PostgreSQL, Kafka and `pulse` processes that may be killed,
//! frozen and emptied; [`stack`] puts a whole Pulse together on them; [`load`] is a steady,
//! retrying, mostly keyed client load recorded in the load tester's ledger; [`faults`] injects one
//! fault at a time and reconciles every acknowledged event afterwards; [`overload`] offers several
//! times the measured capacity.

pub mod faults;
pub mod infra;
pub mod load;
pub mod overload;
pub mod stack;
