//! Per-tenant JSON Schemas per event type (`event_schemas`). Compiled validators are cached per
//! tenant for a few seconds, so a changed schema takes effect quickly without a query per event.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use jsonschema::Validator;
use moka::future::Cache;
use pulse_core::envelope::{DlqReason, FieldError};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::validate::Invalid;

/// A tenant's compiled schemas by event type.
type TenantSchemas = Arc<HashMap<String, Arc<Validator>>>;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("not a valid JSON Schema: {0}")]
    Invalid(String),
    #[error("no tenant named {0:?}")]
    UnknownTenant(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A stored schema, for listing.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SchemaRow {
    pub tenant: String,
    pub event_type: String,
    pub schema: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// Stores (or replaces) the schema of `event_type` for tenant `tenant_name`, after checking that
/// it compiles.
pub async fn set(
    pool: &PgPool,
    tenant_name: &str,
    event_type: &str,
    schema: &serde_json::Value,
) -> Result<(), SchemaError> {
    jsonschema::validator_for(schema).map_err(|e| SchemaError::Invalid(e.to_string()))?;
    let updated = sqlx::query(
        "insert into event_schemas (tenant_id, event_type, schema) \
         select id, $2, $3 from tenants where name = $1 \
         on conflict (tenant_id, event_type) do update set schema = excluded.schema, updated_at = now()",
    )
    .bind(tenant_name)
    .bind(event_type)
    .bind(schema)
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(SchemaError::UnknownTenant(tenant_name.to_owned()));
    }
    Ok(())
}

/// Every stored schema, optionally of one tenant.
pub async fn list(pool: &PgPool, tenant_name: Option<&str>) -> Result<Vec<SchemaRow>, SchemaError> {
    Ok(sqlx::query_as::<_, SchemaRow>(
        "select t.name as tenant, s.event_type, s.schema, s.updated_at from event_schemas s \
         join tenants t on t.id = s.tenant_id where $1::text is null or t.name = $1 \
         order by t.name, s.event_type",
    )
    .bind(tenant_name)
    .fetch_all(pool)
    .await?)
}

/// Cached, compiled schemas.
#[derive(Clone)]
pub struct SchemaCache {
    pool: PgPool,
    cache: Cache<Uuid, TenantSchemas>,
}

impl SchemaCache {
    pub fn new(pool: PgPool, ttl: Duration) -> Self {
        Self {
            pool,
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The tenant's schemas (one query per tenant per TTL; concurrent misses share it, and its
    /// error).
    pub async fn for_tenant(&self, tenant: Uuid) -> Result<TenantSchemas, Arc<sqlx::Error>> {
        let pool = &self.pool;
        self.cache
            .try_get_with(tenant, async move {
                let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
                    "select event_type, schema from event_schemas where tenant_id = $1",
                )
                .bind(tenant)
                .fetch_all(pool)
                .await?;
                let mut map = HashMap::with_capacity(rows.len());
                for (event_type, schema) in rows {
                    match jsonschema::validator_for(&schema) {
                        Ok(v) => {
                            map.insert(event_type, Arc::new(v));
                        }
                        // stored schemas were checked when set; a broken one validates nothing
                        Err(e) => {
                            tracing::error!(error = %e, %tenant, "stored schema does not compile")
                        }
                    }
                }
                Ok::<_, sqlx::Error>(Arc::new(map))
            })
            .await
    }
}

/// Checks `payload` against `validator`; failures point into the body (`/payload/...`).
pub fn check(validator: &Validator, payload: &serde_json::Value) -> Result<(), Invalid> {
    let errors: Vec<(DlqReason, FieldError)> = validator
        .iter_errors(payload)
        .map(|e| {
            (
                DlqReason::SchemaViolation,
                FieldError {
                    path: format!("/payload{}", e.instance_path()),
                    message: e.masked().to_string(),
                },
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Invalid { errors })
    }
}
