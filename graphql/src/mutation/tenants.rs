//! Tenant mutations: create, rotate the key, change limits, disable, enable. API keys appear in
//! the answer of `createTenant` / `rotateApiKey` only, never in the audit log.

use async_graphql::{Context, Object};
use serde_json::json;
use uuid::Uuid;

use super::audited;
use crate::{
    errors::ApiError,
    model::{CreatedTenant, Tenant},
    services::Services,
};

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// The API key is returned once, here, and never again.
    async fn create_tenant(
        &self,
        ctx: &Context<'_>,
        name: String,
        rate_limit_per_minute: Option<i32>,
        idempotency_ttl_seconds: Option<i32>,
    ) -> async_graphql::Result<CreatedTenant> {
        let args = json!({ "name": name, "rateLimitPerMinute": rate_limit_per_minute,
            "idempotencyTtlSeconds": idempotency_ttl_seconds });
        let store = &Services::of(ctx).tenants;
        let ((tenant, key), _) = audited(ctx, "createTenant", args, || async {
            store
                .create_with_limits(&name, rate_limit_per_minute, idempotency_ttl_seconds)
                .await
                .map_err(ApiError::from)
        })
        .await?;
        Ok(CreatedTenant {
            tenant: tenant.into(),
            api_key: key.expose().to_owned(),
        })
    }

    /// A new API key for the tenant; the old one stops working.
    async fn rotate_api_key(
        &self,
        ctx: &Context<'_>,
        tenant_id: Uuid,
    ) -> async_graphql::Result<CreatedTenant> {
        let store = &Services::of(ctx).tenants;
        let ((tenant, key), _) = audited(
            ctx,
            "rotateApiKey",
            json!({ "tenantId": tenant_id }),
            || async { store.rotate_key(tenant_id).await.map_err(ApiError::from) },
        )
        .await?;
        Ok(CreatedTenant {
            tenant: tenant.into(),
            api_key: key.expose().to_owned(),
        })
    }

    /// Changes the rate limit and/or idempotency window; an omitted value is kept.
    async fn update_tenant_limits(
        &self,
        ctx: &Context<'_>,
        tenant_id: Uuid,
        rate_limit_per_minute: Option<i32>,
        idempotency_ttl_seconds: Option<i32>,
    ) -> async_graphql::Result<Tenant> {
        let args = json!({ "tenantId": tenant_id, "rateLimitPerMinute": rate_limit_per_minute,
            "idempotencyTtlSeconds": idempotency_ttl_seconds });
        let store = &Services::of(ctx).tenants;
        let (tenant, _) = audited(ctx, "updateTenantLimits", args, || async {
            store
                .set_limits(tenant_id, rate_limit_per_minute, idempotency_ttl_seconds)
                .await
                .map_err(ApiError::from)
        })
        .await?;
        Ok(tenant.into())
    }

    /// Its key stops working (ingest within its auth-cache lifetime).
    async fn disable_tenant(
        &self,
        ctx: &Context<'_>,
        tenant_id: Uuid,
    ) -> async_graphql::Result<Tenant> {
        set_disabled(ctx, "disableTenant", tenant_id, true).await
    }

    async fn enable_tenant(
        &self,
        ctx: &Context<'_>,
        tenant_id: Uuid,
    ) -> async_graphql::Result<Tenant> {
        set_disabled(ctx, "enableTenant", tenant_id, false).await
    }
}

async fn set_disabled(
    ctx: &Context<'_>,
    name: &str,
    tenant_id: Uuid,
    disabled: bool,
) -> async_graphql::Result<Tenant> {
    let store = &Services::of(ctx).tenants;
    let (tenant, _) = audited(ctx, name, json!({ "tenantId": tenant_id }), || async {
        store
            .set_disabled(tenant_id, disabled)
            .await
            .map_err(ApiError::from)
    })
    .await?;
    Ok(tenant.into())
}
