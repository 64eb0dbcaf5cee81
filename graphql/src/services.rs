//! What resolvers share, reached through the request context: the database, the tenant store,
//! Kafka (replays), Jaeger (traces), the health checks, and caches of tenant names and of the last
//! second's `stats` answers.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_graphql::Context;
use pulse_core::{
    TenantStore,
    admin::{
        dead_letters::Replayer,
        stats::{self, Window},
    },
};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::{
    health::HealthChecker,
    model::{Links, Stats},
    trace::TraceClient,
};

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
    pub stats: StatsCache,
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
            stats: StatsCache::default(),
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

/// How long one computation of a window's stats is served.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Entries kept before the stale ones are dropped (windows x tenants asked for recently).
const MAX_ENTRIES: usize = 1024;

type Key = (Window, Option<Uuid>);

/// The last second's `stats` answers per window and tenant. A dashboard polled by many clients
/// (or one client polling fast) costs one rollup read per window, tenant and second: concurrent
/// callers of an expired entry wait for the same single read instead of each starting one.
#[derive(Default)]
pub struct StatsCache {
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
}

struct Entry {
    started: Instant,
    stats: OnceCell<Arc<Stats>>,
}

impl StatsCache {
    /// The stats of `window` for `tenant` (all tenants when `None`), computed at most
    /// [`FRESH_FOR`] ago.
    pub async fn get(
        &self,
        pool: &PgPool,
        window: Window,
        tenant: Option<Uuid>,
    ) -> Result<Arc<Stats>, pulse_core::admin::AdminError> {
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get(&(window, tenant)) {
                Some(entry) if entry.started.elapsed() < FRESH_FOR => entry.clone(),
                _ => {
                    if entries.len() >= MAX_ENTRIES {
                        entries.retain(|_, e| e.started.elapsed() < FRESH_FOR);
                    }
                    let entry = Arc::new(Entry {
                        started: Instant::now(),
                        stats: OnceCell::new(),
                    });
                    entries.insert((window, tenant), entry.clone());
                    entry
                }
            }
        };
        // a failed read is not kept: the next caller of this entry tries again
        entry
            .stats
            .get_or_try_init(|| async {
                let stats = stats::stats(pool, window, tenant).await?;
                Ok(Arc::new(Stats::from_core(stats)))
            })
            .await
            .cloned()
    }
}
