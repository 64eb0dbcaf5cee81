//! `version`, `health` and `me`: the fields open to everyone.

use async_graphql::{Context, Object, SimpleObject};
use uuid::Uuid;

use crate::{
    auth::{Scope, scope},
    health::Health,
    model::Role,
    services::Services,
};

/// The caller's identity.
#[derive(SimpleObject, Clone, Debug)]
pub struct Viewer {
    pub role: Role,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
}

#[derive(Default)]
pub struct MetaQuery;

#[Object]
impl MetaQuery {
    /// The running Pulse version.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    /// Each component's readiness. Open to everyone.
    async fn health(&self, ctx: &Context<'_>) -> Health {
        Services::of(ctx).health.check().await
    }

    /// The caller's identity (ANONYMOUS, TENANT with its tenant, ADMIN).
    async fn me(&self, ctx: &Context<'_>) -> Viewer {
        match scope(ctx) {
            Scope::Anonymous => Viewer {
                role: Role::Anonymous,
                tenant_id: None,
                tenant_name: None,
            },
            Scope::Tenant { id, name } => Viewer {
                role: Role::Tenant,
                tenant_id: Some(*id),
                tenant_name: Some(name.clone()),
            },
            Scope::Admin => Viewer {
                role: Role::Admin,
                tenant_id: None,
                tenant_name: None,
            },
        }
    }
}
