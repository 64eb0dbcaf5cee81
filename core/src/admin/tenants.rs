//! Tenant administration: create, list, look up, rotate a key, change limits, disable / enable.
//! The key-hash lookup that authenticates requests stays in [`crate::tenant`]; this is the
//! operator's half of the same [`TenantStore`].

use crate::admin::Traced as _;
use uuid::Uuid;

use super::{AdminError, Result};
use crate::{
    Secret,
    tenant::{Tenant, TenantStore, generate_api_key, hash_api_key, key_prefix, tenant_columns},
};

/// Default limits of a new tenant (the columns' defaults in the schema).
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i32 = 300;
pub const DEFAULT_IDEMPOTENCY_TTL_SECONDS: i32 = 1800;

/// How an operator names a tenant: the CLI by name, the API by id.
#[derive(Debug, Clone, Copy)]
pub enum TenantRef<'a> {
    Id(Uuid),
    Name(&'a str),
}

impl<'a> From<&'a str> for TenantRef<'a> {
    fn from(name: &'a str) -> Self {
        Self::Name(name)
    }
}

impl<'a> From<&'a String> for TenantRef<'a> {
    fn from(name: &'a String) -> Self {
        Self::Name(name)
    }
}

impl From<Uuid> for TenantRef<'_> {
    fn from(id: Uuid) -> Self {
        Self::Id(id)
    }
}

impl TenantRef<'_> {
    /// `(id, name)` query parameters: exactly one is set.
    fn parts(&self) -> (Option<Uuid>, Option<&str>) {
        match *self {
            Self::Id(id) => (Some(id), None),
            Self::Name(name) => (None, Some(name)),
        }
    }

    fn not_found(&self) -> AdminError {
        match self {
            Self::Id(id) => AdminError::not_found(format!("no tenant with id {id}")),
            Self::Name(name) => AdminError::not_found(format!("no tenant named {name:?}")),
        }
    }
}

fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AdminError::bad_input(
            "tenant name must be 1..64 characters of [A-Za-z0-9_.-]",
        ))
    }
}

fn positive(name: &str, value: Option<i32>) -> Result<()> {
    match value {
        Some(v) if v <= 0 => Err(AdminError::bad_input(format!("{name} must be positive"))),
        _ => Ok(()),
    }
}

/// Matches one tenant by `$1` (id) or `$2` (name).
macro_rules! by_ref {
    () => {
        " where (id = $1::uuid or ($1::uuid is null and name = $2::text)) "
    };
}

impl TenantStore {
    /// Creates a tenant and returns it with its API key, the only time the key is seen.
    pub async fn create(
        &self,
        name: &str,
        rate_limit_per_minute: Option<i32>,
    ) -> Result<(Tenant, Secret)> {
        self.create_with_limits(name, rate_limit_per_minute, None)
            .await
    }

    /// [`TenantStore::create`] with both limits.
    pub async fn create_with_limits(
        &self,
        name: &str,
        rate_limit_per_minute: Option<i32>,
        idempotency_ttl_seconds: Option<i32>,
    ) -> Result<(Tenant, Secret)> {
        validate_name(name)?;
        positive("rate_limit_per_minute", rate_limit_per_minute)?;
        positive("idempotency_ttl_seconds", idempotency_ttl_seconds)?;
        let key = generate_api_key();
        let sql = concat!(
            "insert into tenants (id, name, api_key_hash, api_key_prefix, rate_limit_per_minute, \
             idempotency_ttl_seconds) values ($1, $2, $3, $4, $5, $6) returning ",
            tenant_columns!()
        );
        let tenant = sqlx::query_as::<_, Tenant>(sql)
            .bind(Uuid::now_v7())
            .bind(name)
            .bind(hash_api_key(key.expose()))
            .bind(key_prefix(key.expose()))
            .bind(rate_limit_per_minute.unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE))
            .bind(idempotency_ttl_seconds.unwrap_or(DEFAULT_IDEMPOTENCY_TTL_SECONDS))
            .fetch_one(&self.pool)
            .traced("INSERT", "tenants")
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    AdminError::Conflict(format!("a tenant named {name:?} already exists"))
                }
                _ => e.into(),
            })?;
        Ok((tenant, key))
    }

    /// Every tenant, by name.
    pub async fn list(&self) -> Result<Vec<Tenant>> {
        let sql = concat!("select ", tenant_columns!(), " from tenants order by name");
        Ok(sqlx::query_as::<_, Tenant>(sql)
            .fetch_all(&self.pool)
            .traced("SELECT", "tenants")
            .await?)
    }

    /// One tenant, disabled or not.
    pub async fn get<'a>(&self, tenant: impl Into<TenantRef<'a>>) -> Result<Tenant> {
        let tenant = tenant.into();
        let (id, name) = tenant.parts();
        let sql = concat!("select ", tenant_columns!(), " from tenants", by_ref!());
        sqlx::query_as::<_, Tenant>(sql)
            .bind(id)
            .bind(name)
            .fetch_optional(&self.pool)
            .traced("SELECT", "tenants")
            .await?
            .ok_or_else(|| tenant.not_found())
    }

    /// Replaces a tenant's key; the old one stops working at once in PostgreSQL and within the
    /// services' auth-cache lifetime.
    pub async fn rotate_key<'a>(
        &self,
        tenant: impl Into<TenantRef<'a>>,
    ) -> Result<(Tenant, Secret)> {
        let tenant = tenant.into();
        let (id, name) = tenant.parts();
        let key = generate_api_key();
        let sql = concat!(
            "update tenants set api_key_hash = $3, api_key_prefix = $4",
            by_ref!(),
            "returning ",
            tenant_columns!()
        );
        let row = sqlx::query_as::<_, Tenant>(sql)
            .bind(id)
            .bind(name)
            .bind(hash_api_key(key.expose()))
            .bind(key_prefix(key.expose()))
            .fetch_optional(&self.pool)
            .traced("UPDATE", "tenants")
            .await?
            .ok_or_else(|| tenant.not_found())?;
        Ok((row, key))
    }

    /// Changes a tenant's rate limit and/or idempotency window; `None` keeps the current value.
    pub async fn set_limits<'a>(
        &self,
        tenant: impl Into<TenantRef<'a>>,
        rate_limit_per_minute: Option<i32>,
        idempotency_ttl_seconds: Option<i32>,
    ) -> Result<Tenant> {
        let tenant = tenant.into();
        positive("rate_limit_per_minute", rate_limit_per_minute)?;
        positive("idempotency_ttl_seconds", idempotency_ttl_seconds)?;
        let (id, name) = tenant.parts();
        let sql = concat!(
            "update tenants set rate_limit_per_minute = coalesce($3, rate_limit_per_minute), \
             idempotency_ttl_seconds = coalesce($4, idempotency_ttl_seconds)",
            by_ref!(),
            "returning ",
            tenant_columns!()
        );
        sqlx::query_as::<_, Tenant>(sql)
            .bind(id)
            .bind(name)
            .bind(rate_limit_per_minute)
            .bind(idempotency_ttl_seconds)
            .fetch_optional(&self.pool)
            .traced("UPDATE", "tenants")
            .await?
            .ok_or_else(|| tenant.not_found())
    }

    /// Disables (or re-enables) a tenant: its key stops (or starts) working.
    pub async fn set_disabled<'a>(
        &self,
        tenant: impl Into<TenantRef<'a>>,
        disabled: bool,
    ) -> Result<Tenant> {
        let tenant = tenant.into();
        let (id, name) = tenant.parts();
        let sql = concat!(
            "update tenants set disabled_at = case when $3 then coalesce(disabled_at, now()) end",
            by_ref!(),
            "returning ",
            tenant_columns!()
        );
        sqlx::query_as::<_, Tenant>(sql)
            .bind(id)
            .bind(name)
            .bind(disabled)
            .fetch_optional(&self.pool)
            .traced("UPDATE", "tenants")
            .await?
            .ok_or_else(|| tenant.not_found())
    }

    /// The tenant's id, for use cases that take a [`TenantRef`] but store ids.
    pub async fn resolve<'a>(&self, tenant: impl Into<TenantRef<'a>>) -> Result<Uuid> {
        match tenant.into() {
            TenantRef::Id(id) => Ok(id),
            by_name => Ok(self.get(by_name).await?.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(validate_name("team-a.prod_1").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("has space").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
    }
}
