//! Who is calling: the admin (the `PULSE_ADMIN_TOKEN` bearer), a tenant (its API key as
//! `X-API-Key` or as a bearer token) or nobody. HTTP requests and WebSocket `connection_init`
//! payloads both end in [`resolve_scope`], so the two transports cannot disagree.
//!
//! The admin token is compared in constant time (SHA-256 digests compared with `subtle`, so
//! neither the token's length nor its content leaks through timing); tenant keys are looked up
//! by their hash exactly as ingest does, and a disabled tenant's key authenticates nobody.

use std::sync::Arc;

use pulse_core::{Secret, TenantStore, tenant::hash_api_key};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::errors::{ApiError, Code};

/// The caller's identity; every resolver decides from it what the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Anonymous,
    /// Read-only, and only this tenant's data.
    Tenant {
        id: Uuid,
        name: String,
    },
    /// Every tenant, and mutations.
    Admin,
}

impl Scope {
    /// The audit log's `actor`: `admin`, `tenant:<id>` or `anonymous`.
    pub fn actor(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".to_owned(),
            Self::Tenant { id, .. } => format!("tenant:{id}"),
            Self::Admin => "admin".to_owned(),
        }
    }

    /// The tenant a tenant-scoped caller is confined to (`None` for the admin).
    pub fn tenant_id(&self) -> Option<Uuid> {
        match self {
            Self::Tenant { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Credentials were presented but are not valid (or could not be checked).
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("invalid credentials")]
    Invalid,
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("credentials cannot be checked right now")]
    Unavailable,
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unavailable => Self::new(Code::Internal, e.to_string()),
            _ => Self::new(Code::Unauthenticated, e.to_string()),
        }
    }
}

/// What [`resolve_scope`] needs: the admin token's digest and the tenant store. Cheap to clone.
#[derive(Clone)]
pub struct AuthState {
    admin_digest: Arc<[u8; 32]>,
    tenants: TenantStore,
}

impl AuthState {
    pub fn new(admin_token: &Secret, tenants: TenantStore) -> Self {
        Self {
            admin_digest: Arc::new(digest(admin_token.expose())),
            tenants,
        }
    }

    fn is_admin(&self, token: &str) -> bool {
        digest(token).ct_eq(&*self.admin_digest).into()
    }

    async fn tenant(&self, key: &str) -> Result<Scope, AuthError> {
        match self.tenants.find_by_key_hash(&hash_api_key(key)).await {
            Ok(Some(t)) => Ok(Scope::Tenant {
                id: t.id,
                name: t.name,
            }),
            Ok(None) => Err(AuthError::Invalid),
            Err(e) => {
                tracing::warn!(error = %e, "tenant key lookup failed");
                Err(AuthError::Unavailable)
            }
        }
    }
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Resolves the caller from an `Authorization` value and/or an `X-API-Key` value. No credentials
/// at all is [`Scope::Anonymous`]; credentials that do not check out are an error, never a
/// silent downgrade to anonymous.
pub async fn resolve_scope(
    state: &AuthState,
    authorization: Option<&str>,
    api_key: Option<&str>,
) -> Result<Scope, AuthError> {
    if let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) {
        let token = bearer(value).ok_or(AuthError::Malformed)?;
        if state.is_admin(token) {
            return Ok(Scope::Admin);
        }
        return state.tenant(token).await;
    }
    match api_key.map(str::trim).filter(|k| !k.is_empty()) {
        Some(key) => state.tenant(key).await,
        None => Ok(Scope::Anonymous),
    }
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 7235).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller of the current operation (put into the request's data by the HTTP and WebSocket
/// handlers; absent means anonymous).
pub fn scope<'a>(ctx: &async_graphql::Context<'a>) -> &'a Scope {
    static ANONYMOUS: Scope = Scope::Anonymous;
    ctx.data_opt::<Scope>().unwrap_or(&ANONYMOUS)
}

/// Any signed-in caller (admin or tenant key): everything but `version`, `health` and `me`.
pub fn require_reader<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a Scope, ApiError> {
    match scope(ctx) {
        Scope::Anonymous => Err(ApiError::unauthenticated()),
        s => Ok(s),
    }
}

/// The admin only: every mutation, and the audit log.
pub fn require_admin(ctx: &async_graphql::Context<'_>) -> Result<(), ApiError> {
    match require_reader(ctx)? {
        Scope::Admin => Ok(()),
        _ => Err(ApiError::admin_only()),
    }
}

/// The tenant a read is confined to: the admin reads `requested` (or every tenant), a tenant key
/// reads its own tenant, and naming another tenant is FORBIDDEN.
pub fn tenant_filter(
    ctx: &async_graphql::Context<'_>,
    requested: Option<Uuid>,
) -> Result<Option<Uuid>, ApiError> {
    match require_reader(ctx)? {
        Scope::Admin => Ok(requested),
        Scope::Tenant { id, .. } => match requested {
            Some(other) if other != *id => Err(ApiError::other_tenant()),
            _ => Ok(Some(*id)),
        },
        Scope::Anonymous => Err(ApiError::unauthenticated()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn actors_name_the_caller_without_secrets() {
        let id = Uuid::nil();
        assert_eq!(
            Scope::Tenant {
                id,
                name: "a".into()
            }
            .actor(),
            format!("tenant:{id}")
        );
        assert_eq!(Scope::Admin.actor(), "admin");
    }
}
