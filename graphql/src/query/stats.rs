//! `stats(window, tenantId)`: from the per-minute rollup only.

use async_graphql::{Context, Object};
use pulse_core::admin::stats::{self, Window};
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
    async fn stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "StatsWindow(Window::OneHour)")] window: StatsWindow,
        tenant_id: Option<Uuid>,
    ) -> async_graphql::Result<Stats> {
        let tenant = tenant_filter(ctx, tenant_id)?;
        let stats = stats::stats(&Services::of(ctx).pool, window.0, tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(stats.into())
    }
}
