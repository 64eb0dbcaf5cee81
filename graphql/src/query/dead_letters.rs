//! `deadLetters` (a Relay connection, newest failure first) and `deadLetterGroups`.

use async_graphql::{Context, Object};
use pulse_core::admin::{Page, dead_letters};

use crate::{
    auth::tenant_filter,
    errors::ApiError,
    model::{
        DeadLetter, DeadLetterConnection, DeadLetterEdge, DeadLetterFilter, DeadLetterGroup,
        PageInfo,
    },
    services::Services,
};

#[derive(Default)]
pub struct DeadLetterQuery;

#[Object]
impl DeadLetterQuery {
    /// Newest failure first (failed_at desc, event_id desc). Cursors are opaque and stable.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 500) as usize * child_complexity")]
    async fn dead_letters(
        &self,
        ctx: &Context<'_>,
        filter: Option<DeadLetterFilter>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<DeadLetterConnection> {
        let filter = filter.unwrap_or_default();
        let tenant = tenant_filter(ctx, filter.tenant_id)?;
        let page =
            Page::new(first.unwrap_or(50).into(), after.as_deref()).map_err(ApiError::from)?;
        let paged = dead_letters::list(&Services::of(ctx).pool, &filter.to_core(tenant), &page)
            .await
            .map_err(ApiError::from)?;
        let page_info = PageInfo::of(&paged, after.as_deref());
        let edges: Vec<DeadLetterEdge> = paged
            .items
            .into_iter()
            .map(|(cursor, d)| DeadLetterEdge {
                cursor: cursor.encode(),
                node: DeadLetter::from_row(d),
            })
            .collect();
        Ok(DeadLetterConnection {
            nodes: edges.iter().map(|e| e.node.clone()).collect(),
            edges,
            page_info,
        })
    }

    /// Grouped by reason and first failing path.
    async fn dead_letter_groups(
        &self,
        ctx: &Context<'_>,
        filter: Option<DeadLetterFilter>,
    ) -> async_graphql::Result<Vec<DeadLetterGroup>> {
        let filter = filter.unwrap_or_default();
        let tenant = tenant_filter(ctx, filter.tenant_id)?;
        let groups = dead_letters::groups(&Services::of(ctx).pool, &filter.to_core(tenant))
            .await
            .map_err(ApiError::from)?;
        Ok(groups.into_iter().map(Into::into).collect())
    }
}
