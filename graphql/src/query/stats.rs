//! `stats(window, tenantId)`: from the rollups only, each answer shared for a second.

use std::sync::Arc;

use async_graphql::{Context, Object};
use pulse_core::admin::stats::Window;
use uuid::Uuid;

use crate::{
    auth::tenant_filter,
    errors::ApiError,
    model::{Stats, StatsWindow},
    services::Services,
};

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Totals, a zero-filled per-minute series and the busiest event types of the window.
    // (each window and tenant's answer is computed at most once a second: see
    // `crate::services::StatsCache`)
    async fn stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "StatsWindow(Window::OneHour)")] window: StatsWindow,
        tenant_id: Option<Uuid>,
    ) -> async_graphql::Result<Arc<Stats>> {
        let tenant = tenant_filter(ctx, tenant_id)?;
        let services = Services::of(ctx);
        // shared, not copied: a day's series is 1,440 points
        Ok(services
            .stats
            .get(&services.pool, window.0, tenant)
            .await
            .map_err(ApiError::from)?)
    }
}
