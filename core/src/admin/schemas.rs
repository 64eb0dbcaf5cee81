//! Per-tenant JSON Schemas per event type (`event_schemas`): set (checked as a JSON Schema before
//! it is stored), list, delete. The processor reads the same table through its own cache.

use crate::admin::Traced as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{AdminError, Result, TenantRef};
use crate::TenantStore;

/// A stored schema.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventSchema {
    pub tenant_id: Uuid,
    pub tenant: String,
    pub event_type: String,
    pub schema: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// The event type rule of the ingest contract: 1..128 of `[A-Za-z0-9_.:-]`.
fn check_event_type(event_type: &str) -> Result<()> {
    let ok = (1..=128).contains(&event_type.len())
        && event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AdminError::bad_input(
            "event type must be 1..128 characters of [A-Za-z0-9_.:-]",
        ))
    }
}

/// Checks that `schema` is a JSON Schema the processor can compile (which includes validating it
/// against its draft's meta-schema).
pub fn check_schema(schema: &serde_json::Value) -> Result<()> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err(AdminError::bad_input(
            "not a valid JSON Schema: must be an object or a boolean",
        ));
    }
    jsonschema::validator_for(schema)
        .map(drop)
        .map_err(|e| AdminError::bad_input(format!("not a valid JSON Schema: {e}")))
}

/// Stores (or replaces) the schema of `event_type` for `tenant`.
pub async fn set<'a>(
    pool: &PgPool,
    tenant: impl Into<TenantRef<'a>>,
    event_type: &str,
    schema: &serde_json::Value,
) -> Result<EventSchema> {
    check_event_type(event_type)?;
    check_schema(schema)?;
    let tenant = TenantStore::new(pool.clone()).get(tenant).await?;
    Ok(sqlx::query_as::<_, EventSchema>(
        "insert into event_schemas (tenant_id, event_type, schema) values ($1, $2, $3) \
         on conflict (tenant_id, event_type) do update set schema = excluded.schema, updated_at = now() \
         returning tenant_id, $4::text as tenant, event_type, schema, updated_at",
    )
    .bind(tenant.id)
    .bind(event_type)
    .bind(schema)
    .bind(&tenant.name)
    .fetch_one(pool)
    .traced("INSERT", "event_schemas")
    .await?)
}

/// Every stored schema (optionally of one tenant), by tenant name and event type.
pub async fn list(pool: &PgPool, tenant: Option<TenantRef<'_>>) -> Result<Vec<EventSchema>> {
    let (id, name) = match tenant {
        Some(TenantRef::Id(id)) => (Some(id), None),
        Some(TenantRef::Name(name)) => (None, Some(name)),
        None => (None, None),
    };
    Ok(sqlx::query_as::<_, EventSchema>(
        "select s.tenant_id, t.name as tenant, s.event_type, s.schema, s.updated_at \
         from event_schemas s join tenants t on t.id = s.tenant_id \
         where ($1::uuid is null or t.id = $1) and ($2::text is null or t.name = $2) \
         order by t.name, s.event_type",
    )
    .bind(id)
    .bind(name)
    .fetch_all(pool)
    .traced("SELECT", "event_schemas")
    .await?)
}

/// Removes the schema of `event_type` for `tenant`; `false` when there was none.
pub async fn delete<'a>(
    pool: &PgPool,
    tenant: impl Into<TenantRef<'a>>,
    event_type: &str,
) -> Result<bool> {
    let tenant = TenantStore::new(pool.clone()).get(tenant).await?;
    let deleted = sqlx::query("delete from event_schemas where tenant_id = $1 and event_type = $2")
        .bind(tenant.id)
        .bind(event_type)
        .execute(pool)
        .traced("DELETE", "event_schemas")
        .await?;
    Ok(deleted.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schemas_are_checked() {
        assert!(check_schema(&json!({"type": "object", "required": ["a"]})).is_ok());
        assert!(check_schema(&json!(true)).is_ok());
        assert!(check_schema(&json!({"type": "not-a-type"})).is_err());
        assert!(check_schema(&json!({"minLength": -1})).is_err());
        assert!(check_schema(&json!("string")).is_err());
        assert!(check_event_type("order.paid:v2").is_ok());
        assert!(check_event_type("has space").is_err());
    }
}
