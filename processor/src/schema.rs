//! Checking payloads against per-tenant JSON Schemas per event type (`event_schemas`). Compiled
//! validators are cached per tenant for a few seconds, so a changed schema takes effect quickly
//! without a query per event. Setting and listing schemas is `pulse_core::admin::schemas`.

use std::{collections::HashMap, sync::Arc, time::Duration};

use jsonschema::Validator;
use moka::future::Cache;
use pulse_core::envelope::{DlqReason, FieldError};
use sqlx::PgPool;
use uuid::Uuid;

use crate::validate::Invalid;

/// A tenant's compiled schemas by event type.
type TenantSchemas = Arc<HashMap<String, Arc<Validator>>>;

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
