//! `tenants`: every tenant for the admin, only its own for a tenant key.

use async_graphql::{Context, Object};

use crate::{auth::tenant_filter, errors::ApiError, model::Tenant, services::Services};

#[derive(Default)]
pub struct TenantQuery;

#[Object]
impl TenantQuery {
    /// Admin: every tenant. Tenant key: only its own.
    // an unpaged list: its fields are counted as if 50 tenants came back, so thousands of
    // aliases of it exceed the complexity limit
    #[graphql(complexity = "50 * child_complexity")]
    async fn tenants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tenant>> {
        let store = &Services::of(ctx).tenants;
        let tenants = match tenant_filter(ctx, None)? {
            Some(own) => vec![store.get(own).await.map_err(ApiError::from)?],
            None => store.list().await.map_err(ApiError::from)?,
        };
        Ok(tenants.into_iter().map(Into::into).collect())
    }
}
