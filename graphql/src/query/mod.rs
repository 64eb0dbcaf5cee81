//! Query root fields, one object per area; `schema::Query` merges them.

mod audit;
mod dead_letters;
mod events;
mod meta;
mod stats;
mod tenants;

pub use self::{
    audit::AuditQuery, dead_letters::DeadLetterQuery, events::EventQuery, meta::MetaQuery,
    stats::StatsQuery, tenants::TenantQuery,
};
