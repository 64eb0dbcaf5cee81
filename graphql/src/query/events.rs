//! `events` (a Relay connection, newest first), `event` and `eventsByIdempotencyKey`.

use async_graphql::{Context, Object};
use pulse_core::admin::{Page, events};
use uuid::Uuid;

use crate::{
    auth::tenant_filter,
    errors::ApiError,
    model::{Event, EventConnection, EventEdge, EventFilter, PageInfo},
    services::Services,
};

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// Newest first (received_at desc, event_id desc). Cursors are opaque and stable.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 500) as usize * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilter>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<EventConnection> {
        let filter = filter.unwrap_or_default();
        let tenant = tenant_filter(ctx, filter.tenant_id)?;
        let page =
            Page::new(first.unwrap_or(50).into(), after.as_deref()).map_err(ApiError::from)?;
        let paged = events::list(&Services::of(ctx).pool, &filter.to_core(tenant), &page)
            .await
            .map_err(ApiError::from)?;
        let page_info = PageInfo::of(&paged, after.as_deref());
        let edges: Vec<EventEdge> = paged
            .items
            .into_iter()
            .map(|(cursor, e)| EventEdge {
                cursor: cursor.encode(),
                node: Event::from_record(events::EventRecord {
                    stored: Some(e),
                    dead_letter: None,
                }),
            })
            .collect();
        Ok(EventConnection {
            nodes: edges.iter().map(|e| e.node.clone()).collect(),
            edges,
            page_info,
        })
    }

    /// tenantId may be omitted with a tenant key (its own tenant) or by the admin (any tenant).
    async fn event(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<Uuid>,
        event_id: Uuid,
    ) -> async_graphql::Result<Option<Event>> {
        let tenant = tenant_filter(ctx, tenant_id)?;
        let found = events::lookup(&Services::of(ctx).pool, tenant, event_id)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(Event::from_record))
    }

    /// Every event (stored or dead-lettered) sent with this Idempotency-Key, newest first.
    async fn events_by_idempotency_key(
        &self,
        ctx: &Context<'_>,
        key: String,
        tenant_id: Option<Uuid>,
    ) -> async_graphql::Result<Vec<Event>> {
        let tenant = tenant_filter(ctx, tenant_id)?;
        let found = events::by_idempotency_key(&Services::of(ctx).pool, tenant, &key)
            .await
            .map_err(ApiError::from)?;
        Ok(found.into_iter().map(Event::from_record).collect())
    }
}
