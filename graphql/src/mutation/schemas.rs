//! `setEventSchema` (checked as a JSON Schema before it is stored) and `deleteEventSchema`.

use async_graphql::{Context, Object};
use pulse_core::admin::schemas;
use serde_json::json;
use uuid::Uuid;

use super::audited;
use crate::{errors::ApiError, model::EventSchema, services::Services};

#[derive(Default)]
pub struct SchemaMutation;

#[Object]
impl SchemaMutation {
    /// Validated as a JSON Schema before it is stored.
    async fn set_event_schema(
        &self,
        ctx: &Context<'_>,
        tenant_id: Uuid,
        event_type: String,
        schema: serde_json::Value,
    ) -> async_graphql::Result<EventSchema> {
        let args = json!({ "tenantId": tenant_id, "eventType": event_type, "schema": schema });
        let pool = &Services::of(ctx).pool;
        let (stored, _) = audited(ctx, "setEventSchema", args, || async {
            schemas::set(pool, tenant_id, &event_type, &schema)
                .await
                .map_err(ApiError::from)
        })
        .await?;
        Ok(stored.into())
    }

    /// True when a schema was deleted, false when there was none.
    async fn delete_event_schema(
        &self,
        ctx: &Context<'_>,
        tenant_id: Uuid,
        event_type: String,
    ) -> async_graphql::Result<bool> {
        let args = json!({ "tenantId": tenant_id, "eventType": event_type });
        let pool = &Services::of(ctx).pool;
        let (deleted, _) = audited(ctx, "deleteEventSchema", args, || async {
            schemas::delete(pool, tenant_id, &event_type)
                .await
                .map_err(ApiError::from)
        })
        .await?;
        Ok(deleted)
    }
}
