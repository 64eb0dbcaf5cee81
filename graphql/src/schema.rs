//! The schema's assembly: the root objects, the services resolvers reach through the context,
//! and the limits every request runs under.

use std::{collections::HashMap, sync::Mutex};

use async_graphql::{Context, MergedObject, Schema};
use pulse_core::{TenantStore, admin::dead_letters::Replayer};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    health::HealthChecker,
    live,
    model::Links,
    mutation::{DeadLetterMutation, SchemaMutation, TenantMutation},
    observe::Observe,
    query::{AuditQuery, DeadLetterQuery, EventQuery, MetaQuery, StatsQuery, TenantQuery},
    trace::TraceClient,
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

/// What resolvers use: the database, Kafka (replays), Jaeger, the health checks.
pub struct Services {
    pub pool: PgPool,
    pub tenants: TenantStore,
    pub replayer: Replayer,
    pub traces: TraceClient,
    pub links: Links,
    pub health: HealthChecker,
    /// Tenant names for events that come from Kafka (ids only); tenants are never deleted and
    /// renamed never, so entries stay true.
    names: Mutex<HashMap<Uuid, String>>,
    /// `stats` answers of the last second, shared by concurrent callers.
    pub stats: crate::query::StatsCache,
}

impl Services {
    pub fn new(
        pool: PgPool,
        replayer: Replayer,
        traces: TraceClient,
        links: Links,
        health: HealthChecker,
    ) -> Self {
        Self {
            tenants: TenantStore::new(pool.clone()),
            pool,
            replayer,
            traces,
            links,
            health,
            names: Mutex::new(HashMap::new()),
            stats: crate::query::StatsCache::default(),
        }
    }

    pub fn of<'a>(ctx: &Context<'a>) -> &'a Self {
        ctx.data_unchecked::<Self>()
    }

    /// The name of tenant `id` (cached), `None` if unknown or the database is unreachable.
    pub async fn tenant_name(&self, id: Uuid) -> Option<String> {
        if let Some(name) = self.names.lock().ok()?.get(&id) {
            return Some(name.clone());
        }
        let name = self.tenants.get(id).await.ok()?.name;
        let mut names = self.names.lock().ok()?;
        if names.len() > 100_000 {
            names.clear();
        }
        names.insert(id, name.clone());
        Some(name)
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
    .extension(Observe)
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
