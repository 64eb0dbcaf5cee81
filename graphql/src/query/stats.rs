//! `stats(window, tenantId)`: from the rollups only, each answer shared for a second.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_graphql::{Context, Object};
use pulse_core::admin::stats::{self, Window};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::{
    auth::tenant_filter,
    errors::ApiError,
    model::{Stats, StatsWindow},
    schema::Services,
};

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Totals, a zero-filled per-minute series and the busiest event types of the window.
    // (each window and tenant's answer is computed at most once a second: see `StatsCache`)
    async fn stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "StatsWindow(Window::OneHour)")] window: StatsWindow,
        tenant_id: Option<Uuid>,
    ) -> async_graphql::Result<Stats> {
        let tenant = tenant_filter(ctx, tenant_id)?;
        let services = Services::of(ctx);
        let stats = services
            .stats
            .get(&services.pool, window.0, tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(stats.as_ref().clone().into())
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
    stats: OnceCell<Arc<stats::Stats>>,
}

impl StatsCache {
    /// The stats of `window` for `tenant` (all tenants when `None`), computed at most
    /// [`FRESH_FOR`] ago.
    pub async fn get(
        &self,
        pool: &PgPool,
        window: Window,
        tenant: Option<Uuid>,
    ) -> Result<Arc<stats::Stats>, pulse_core::admin::AdminError> {
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
            .get_or_try_init(|| async { stats::stats(pool, window, tenant).await.map(Arc::new) })
            .await
            .cloned()
    }
}
