//! The schema's assembly: the root objects, the services resolvers reach through the context
//! ([`crate::services`]), and the limits every request runs under.

use async_graphql::{MergedObject, Schema};

use crate::{
    live,
    mutation::{DeadLetterMutation, SchemaMutation, TenantMutation},
    query::{AuditQuery, DeadLetterQuery, EventQuery, MetaQuery, StatsQuery, TenantQuery},
    services::Services,
};

/// Every query root field.
#[derive(MergedObject, Default)]
pub struct Query(
    MetaQuery,
    TenantQuery,
    EventQuery,
    DeadLetterQuery,
    StatsQuery,
    live::PipelineQuery,
    AuditQuery,
);

/// The subscription root: the live feeds.
type Subscription = live::Subscription;

/// Every mutation (admin only, each recorded in the audit log).
#[derive(MergedObject, Default)]
pub struct Mutation(TenantMutation, SchemaMutation, DeadLetterMutation);

pub type PulseSchema = Schema<Query, Mutation, Subscription>;

/// Limits of one request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        // a page's fields count once per row asked for (`first`): a full page of 500 with a
        // few dozen fields fits, five of them in one request do not
        // depth 16: graphql-js's standard introspection query (GraphiQL's docs and completion)
        // reaches 13 levels through its seven nested `ofType`s; deeper than that is an abuse
        Self {
            depth: 16,
            complexity: 25_000,
            introspection: true,
        }
    }
}

/// Builds the schema with its services, the live machinery and the request limits.
pub fn build(
    services: Services,
    live: Option<std::sync::Arc<live::Live>>,
    limits: Limits,
) -> PulseSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .data(services)
    .limit_depth(limits.depth)
    .limit_complexity(limits.complexity)
    .limit_recursive_depth(32)
    .limit_directives(16);
    if let Some(live) = live {
        builder = builder.data(live);
    }
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The schema without services, for printing the SDL.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}
