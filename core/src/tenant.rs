//! Tenants and their API keys. A key is 32 random bytes, shown once when created or rotated, and
//! stored only as its SHA-256 hash (a fast hash is right for high-entropy random keys, as for
//! GitHub or Stripe tokens: there is nothing to brute-force); the prefix identifies it to humans.
//!
//! This module holds what authenticating a request needs (the key hash lookup); the operator's
//! use cases on the same store are in [`crate::admin::tenants`].

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

/// The part of a key shown to humans (enough to recognise it, useless to authenticate).
pub(crate) fn key_prefix(key: &str) -> String {
    key.chars().take(PREFIX_LEN).collect()
}

/// The columns of [`Tenant`], as a literal so queries stay static SQL.
macro_rules! tenant_columns {
    () => {
        "id, name, api_key_prefix, rate_limit_per_minute, idempotency_ttl_seconds, created_at, disabled_at"
    };
}
pub(crate) use tenant_columns;

/// Tenant persistence in PostgreSQL.
#[derive(Clone)]
pub struct TenantStore {
    pub(crate) pool: PgPool,
}

impl TenantStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
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
}
