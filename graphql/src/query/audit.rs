//! `auditLog`: the operator actions, newest first (admin only).

use async_graphql::{Context, Object};
use pulse_core::admin::{Page, audit};

use crate::{
    auth::require_admin,
    errors::ApiError,
    model::{AuditConnection, AuditEdge, PageInfo},
    services::Services,
};

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Admin: operator actions, newest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 500) as usize * child_complexity")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AuditConnection> {
        require_admin(ctx)?;
        let page =
            Page::new(first.unwrap_or(50).into(), after.as_deref()).map_err(ApiError::from)?;
        let paged = audit::list(&Services::of(ctx).pool, &page)
            .await
            .map_err(ApiError::from)?;
        let page_info = PageInfo::of(&paged, after.as_deref());
        let edges: Vec<AuditEdge> = paged
            .items
            .into_iter()
            .map(|(cursor, a)| AuditEdge {
                cursor: cursor.encode(),
                node: a.into(),
            })
            .collect();
        Ok(AuditConnection {
            nodes: edges.iter().map(|e| e.node.clone()).collect(),
            edges,
            page_info,
        })
    }
}
