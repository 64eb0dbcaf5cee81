//! `X-API-Key` → tenant, through a bounded in-process cache in front of PostgreSQL. Known keys are
//! cached for `auth_cache_ttl` (so a disabled or rotated key stops working within it), unknown
//! keys for `auth_negative_ttl` (so a flood of bad keys does not reach the database). Concurrent
//! misses for one key share a single query.

use std::{sync::Arc, time::Duration};

use axum::{extract::FromRequestParts, http::request::Parts};
use moka::{Expiry, future::Cache};
use opentelemetry::trace::TraceContextExt as _;
use pulse_core::{Tenant, TenantStore, tenant::hash_api_key};

use crate::{AppState, error::IngestError};

/// The request's authenticated tenant. A handler that takes one cannot run unauthenticated.
#[derive(Debug, Clone)]
pub struct AuthedTenant(pub Arc<Tenant>);

type Entry = Option<Arc<Tenant>>;

struct TtlByOutcome {
    found: Duration,
    missing: Duration,
}

impl Expiry<String, Entry> for TtlByOutcome {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Entry,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(if value.is_some() {
            self.found
        } else {
            self.missing
        })
    }
}

/// The tenant cache.
#[derive(Clone)]
pub struct Authenticator {
    store: TenantStore,
    cache: Cache<String, Entry>,
}

impl Authenticator {
    pub fn new(store: TenantStore, ttl: Duration, negative_ttl: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(100_000)
            .expire_after(TtlByOutcome {
                found: ttl,
                missing: negative_ttl,
            })
            .build();
        Self { store, cache }
    }

    /// The active tenant owning `api_key`.
    pub async fn authenticate(&self, api_key: &str) -> Result<Arc<Tenant>, IngestError> {
        // cache by hash: raw keys never sit in memory longer than the request
        let hash = hash_api_key(api_key);
        let store = &self.store;
        let entry = self
            .cache
            .try_get_with_by_ref(&hash, async {
                store.find_by_key_hash(&hash).await.map(|t| t.map(Arc::new))
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "tenant lookup failed");
                IngestError::AuthUnavailable
            })?;
        entry.ok_or(IngestError::InvalidApiKey)
    }
}

impl FromRequestParts<AppState> for AuthedTenant {
    type Rejection = IngestError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or(IngestError::MissingApiKey)?;
        let tenant = state.auth.authenticate(key).await?;
        opentelemetry::Context::current()
            .span()
            .set_attribute(opentelemetry::KeyValue::new(
                pulse_otel::names::attr::PULSE_TENANT_ID,
                tenant.id.to_string(),
            ));
        Ok(Self(tenant))
    }
}
