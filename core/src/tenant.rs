//! Tenants and their API keys. A key is 32 random bytes, shown once when created or rotated, and
//! stored only as its SHA-256 hash (a fast hash is right for high-entropy random keys, as for
//! GitHub or Stripe tokens: there is nothing to brute-force); the prefix identifies it to humans.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::Secret;

/// Every API key starts with this, so leaked keys are easy to grep for.
pub const API_KEY_PREFIX: &str = "pk_";
const PREFIX_LEN: usize = 11;

/// A tenant as the services see it (never with its key).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub api_key_prefix: String,
    pub rate_limit_per_minute: i32,
    pub idempotency_ttl_seconds: i32,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("tenant name must be 1..64 characters of [A-Za-z0-9_.-]")]
    InvalidName,
    #[error("{0} must be positive")]
    InvalidLimit(&'static str),
    #[error("a tenant named {0:?} already exists")]
    NameTaken(String),
    #[error("no tenant named {0:?}")]
    NotFound(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Generates a new random API key (`pk_` + 64 hex characters).
pub fn generate_api_key() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(format!("{API_KEY_PREFIX}{}", hex::encode(bytes)))
}

/// The stored form of an API key.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn key_prefix(key: &str) -> String {
    key.chars().take(PREFIX_LEN).collect()
}

fn validate_name(name: &str) -> Result<(), TenantError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(TenantError::InvalidName)
    }
}

/// The columns of [`Tenant`], as a literal so queries stay static SQL.
macro_rules! tenant_columns {
    () => {
        "id, name, api_key_prefix, rate_limit_per_minute, idempotency_ttl_seconds, created_at, disabled_at"
    };
}

/// Tenant persistence in PostgreSQL.
#[derive(Clone)]
pub struct TenantStore {
    pool: PgPool,
}

impl TenantStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Creates a tenant and returns it with its API key, the only time the key is seen.
    pub async fn create(
        &self,
        name: &str,
        rate_limit_per_minute: Option<i32>,
    ) -> Result<(Tenant, Secret), TenantError> {
        validate_name(name)?;
        let rate = rate_limit_per_minute.unwrap_or(300);
        if rate <= 0 {
            return Err(TenantError::InvalidLimit("rate_limit_per_minute"));
        }
        let key = generate_api_key();
        let sql = concat!(
            "insert into tenants (id, name, api_key_hash, api_key_prefix, rate_limit_per_minute) \
             values ($1, $2, $3, $4, $5) returning ",
            tenant_columns!()
        );
        let tenant = sqlx::query_as::<_, Tenant>(sql)
            .bind(Uuid::now_v7())
            .bind(name)
            .bind(hash_api_key(key.expose()))
            .bind(key_prefix(key.expose()))
            .bind(rate)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    TenantError::NameTaken(name.to_owned())
                }
                _ => TenantError::Database(e),
            })?;
        Ok((tenant, key))
    }

    pub async fn list(&self) -> Result<Vec<Tenant>, TenantError> {
        let sql = concat!("select ", tenant_columns!(), " from tenants order by name");
        Ok(sqlx::query_as::<_, Tenant>(sql)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn by_name(&self, name: &str) -> Result<Tenant, TenantError> {
        let sql = concat!(
            "select ",
            tenant_columns!(),
            " from tenants where name = $1"
        );
        sqlx::query_as::<_, Tenant>(sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| TenantError::NotFound(name.to_owned()))
    }

    /// Replaces a tenant's key; the old one stops working at once in PostgreSQL and within the
    /// services' auth-cache lifetime.
    pub async fn rotate_key(&self, name: &str) -> Result<(Tenant, Secret), TenantError> {
        let key = generate_api_key();
        let sql = concat!(
            "update tenants set api_key_hash = $2, api_key_prefix = $3 where name = $1 \
             returning ",
            tenant_columns!()
        );
        let tenant = sqlx::query_as::<_, Tenant>(sql)
            .bind(name)
            .bind(hash_api_key(key.expose()))
            .bind(key_prefix(key.expose()))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| TenantError::NotFound(name.to_owned()))?;
        Ok((tenant, key))
    }

    /// Changes a tenant's rate limit and/or idempotency window; `None` keeps the current value.
    pub async fn set_limits(
        &self,
        name: &str,
        rate_limit_per_minute: Option<i32>,
        idempotency_ttl_seconds: Option<i32>,
    ) -> Result<Tenant, TenantError> {
        if rate_limit_per_minute.is_some_and(|r| r <= 0) {
            return Err(TenantError::InvalidLimit("rate_limit_per_minute"));
        }
        if idempotency_ttl_seconds.is_some_and(|t| t <= 0) {
            return Err(TenantError::InvalidLimit("idempotency_ttl_seconds"));
        }
        let sql = concat!(
            "update tenants set rate_limit_per_minute = coalesce($2, rate_limit_per_minute), \
             idempotency_ttl_seconds = coalesce($3, idempotency_ttl_seconds) where name = $1 \
             returning ",
            tenant_columns!()
        );
        sqlx::query_as::<_, Tenant>(sql)
            .bind(name)
            .bind(rate_limit_per_minute)
            .bind(idempotency_ttl_seconds)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| TenantError::NotFound(name.to_owned()))
    }

    /// Disables (or re-enables) a tenant: its key stops (or starts) working.
    pub async fn set_disabled(&self, name: &str, disabled: bool) -> Result<Tenant, TenantError> {
        let sql = concat!(
            "update tenants set disabled_at = case when $2 then coalesce(disabled_at, now()) end \
             where name = $1 returning ",
            tenant_columns!()
        );
        sqlx::query_as::<_, Tenant>(sql)
            .bind(name)
            .bind(disabled)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| TenantError::NotFound(name.to_owned()))
    }

    /// The active tenant that owns `api_key`, if any.
    pub async fn find_by_api_key(&self, api_key: &str) -> Result<Option<Tenant>, sqlx::Error> {
        self.find_by_key_hash(&hash_api_key(api_key)).await
    }

    /// The active tenant whose key hashes to `key_hash` (see [`hash_api_key`]), if any.
    pub async fn find_by_key_hash(&self, key_hash: &str) -> Result<Option<Tenant>, sqlx::Error> {
        let sql = concat!(
            "select ",
            tenant_columns!(),
            " from tenants where api_key_hash = $1 and disabled_at is null"
        );
        sqlx::query_as::<_, Tenant>(sql)
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hash_is_stable() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(API_KEY_PREFIX));
        assert_eq!(a.expose().len(), API_KEY_PREFIX.len() + 64);
        assert_eq!(hash_api_key(a.expose()), hash_api_key(a.expose()));
        assert_ne!(hash_api_key(a.expose()), hash_api_key(b.expose()));
        assert!(!hash_api_key(a.expose()).contains(&a.expose()[3..]));
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_name("team-a.prod_1").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("has space").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
    }
}
