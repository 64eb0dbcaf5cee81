//! `Tenant`, `CreatedTenant` (the only place an API key is ever returned) and `EventSchema`.

use async_graphql::{ComplexObject, Context, SimpleObject};
use chrono::{DateTime, Utc};
use pulse_core::admin::schemas;
use uuid::Uuid;

use crate::{errors::ApiError, services::Services};

/// A tenant (never with its key; the prefix identifies it).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub api_key_prefix: String,
    pub rate_limit_per_minute: i32,
    pub idempotency_ttl_seconds: i32,
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<pulse_core::Tenant> for Tenant {
    fn from(t: pulse_core::Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name,
            api_key_prefix: t.api_key_prefix,
            rate_limit_per_minute: t.rate_limit_per_minute,
            idempotency_ttl_seconds: t.idempotency_ttl_seconds,
            disabled: t.disabled_at.is_some(),
            disabled_at: t.disabled_at,
            created_at: t.created_at,
        }
    }
}

#[ComplexObject]
impl Tenant {
    /// The tenant's JSON Schemas, by event type.
    async fn schemas(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EventSchema>> {
        let rows = schemas::list(&Services::of(ctx).pool, Some(self.id.into()))
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

/// A new (or rotated) tenant with its API key: shown here once, stored only as a hash.
#[derive(SimpleObject, Clone, Debug)]
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub api_key: String,
}

/// A JSON Schema that payloads of one event type must satisfy.
#[derive(SimpleObject, Clone, Debug)]
pub struct EventSchema {
    pub tenant_id: Uuid,
    pub event_type: String,
    pub schema: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

impl From<schemas::EventSchema> for EventSchema {
    fn from(s: schemas::EventSchema) -> Self {
        Self {
            tenant_id: s.tenant_id,
            event_type: s.event_type,
            schema: s.schema,
            updated_at: s.updated_at,
        }
    }
}
