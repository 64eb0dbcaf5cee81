//! The subscription root: `events` and `deadLetters` (live tails of Kafka, per-subscriber
//! filters, `missedBefore` when a subscriber falls behind) and `throughput` and `consumerLag` (the
//! sampler's latest snapshot at the subscriber's interval). A tenant key only ever gets its own
//! tenant's items; naming another tenant is FORBIDDEN.

use std::time::Duration;

use async_graphql::{Context, InputObject, Subscription as SubscriptionRoot};
use futures::{Stream, StreamExt as _, stream};
use uuid::Uuid;

use super::{
    feed::Feed,
    pipeline::{ConsumerLag, live},
    record::LiveRecord,
    sampler::{Rates, Snapshot},
    ws::{Slot, SubscriptionSlots},
};
use crate::{
    auth::{require_reader, tenant_filter},
    errors::ApiError,
    model::{DeadLetter, DlqReason, Event},
};

/// Shortest `intervalMs` of `throughput` and `consumerLag`; shorter asks are served at this one.
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);
/// Longest `intervalMs`.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Most event types or reasons one filter may name.
const MAX_FILTER_VALUES: usize = 100;

/// Which accepted events a live subscriber wants.
#[derive(InputObject, Clone, Debug, Default)]
pub struct LiveEventFilter {
    pub tenant_id: Option<Uuid>,
    pub event_types: Option<Vec<String>>,
}

/// Which new dead letters a live subscriber wants.
#[derive(InputObject, Clone, Debug, Default)]
pub struct LiveDeadLetterFilter {
    pub tenant_id: Option<Uuid>,
    pub reasons: Option<Vec<DlqReason>>,
}

/// The subscription root.
#[derive(Default)]
pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// Live tail of accepted events (read from events.raw).
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<LiveEventFilter>,
    ) -> async_graphql::Result<impl Stream<Item = Event> + use<>> {
        let filter = filter.unwrap_or_default();
        let tenant = tenant_filter(ctx, filter.tenant_id)?;
        let types = non_empty(filter.event_types, "eventTypes")?;
        let slot = slot(ctx)?;
        let feed = live(ctx)?.events(tenant, types);
        Ok(items(feed, slot, |item, missed| {
            let mut event = Event::from_envelope(
                &item.envelope,
                &item.topic,
                item.partition,
                item.offset,
                item.trace_id.clone(),
            );
            event.missed_before = missed;
            event
        }))
    }

    /// Live tail of new dead letters (read from events.dlq).
    async fn dead_letters(
        &self,
        ctx: &Context<'_>,
        filter: Option<LiveDeadLetterFilter>,
    ) -> async_graphql::Result<impl Stream<Item = DeadLetter> + use<>> {
        let filter = filter.unwrap_or_default();
        let tenant = tenant_filter(ctx, filter.tenant_id)?;
        let reasons =
            non_empty(filter.reasons, "reasons")?.map(|r| r.into_iter().map(Into::into).collect());
        let slot = slot(ctx)?;
        let feed = live(ctx)?.dead_letters(tenant, reasons);
        Ok(items(feed, slot, |item, missed| {
            let mut dead_letter = DeadLetter::from_record(&item.record);
            dead_letter.missed_before = missed;
            dead_letter
        }))
    }

    /// Ingest, process and dead-letter rates every `intervalMs` (at least 250).
    async fn throughput(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 1000)] interval_ms: i32,
    ) -> async_graphql::Result<impl Stream<Item = Rates> + use<>> {
        let snapshots = snapshots(ctx, interval_ms)?;
        Ok(snapshots.map(|s| s.rates))
    }

    /// The processor group's lag every `intervalMs` (at least 250).
    async fn consumer_lag(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 1000)] interval_ms: i32,
    ) -> async_graphql::Result<impl Stream<Item = ConsumerLag> + use<>> {
        let snapshots = snapshots(ctx, interval_ms)?;
        Ok(snapshots.map(|s| ConsumerLag::from(&*s)))
    }
}

/// `None` for an absent or empty list (no filter), an error for an over-long one.
fn non_empty<T>(values: Option<Vec<T>>, name: &str) -> Result<Option<Vec<T>>, ApiError> {
    match values {
        Some(v) if v.len() > MAX_FILTER_VALUES => Err(ApiError::bad_input(format!(
            "{name} may name at most {MAX_FILTER_VALUES} values"
        ))),
        Some(v) if v.is_empty() => Ok(None),
        v => Ok(v),
    }
}

/// A slot among the connection's subscriptions (WebSocket connections are capped; other
/// transports have no connection to cap).
fn slot(ctx: &Context<'_>) -> Result<Option<Slot>, ApiError> {
    match ctx.data_opt::<SubscriptionSlots>() {
        None => Ok(None),
        Some(slots) => slots.acquire().map(Some).ok_or_else(|| {
            ApiError::bad_input(format!(
                "at most {} subscriptions per connection",
                slots.max()
            ))
        }),
    }
}

/// The feed's items as GraphQL objects; the slot is held for as long as the stream lives.
fn items<T, O, B>(
    feed: Feed<T>,
    slot: Option<Slot>,
    build: B,
) -> impl Stream<Item = O> + use<T, O, B>
where
    T: LiveRecord,
    O: Send + 'static,
    B: Fn(&T, i32) -> O + Send + 'static,
{
    stream::unfold((feed, slot, build), |(mut feed, slot, build)| async move {
        let (stamped, missed) = feed.next().await?;
        let item = build(&stamped.item, i32::try_from(missed).unwrap_or(i32::MAX));
        Some((item, (feed, slot, build)))
    })
}

/// The latest snapshot every `interval_ms` (the first as soon as there is one).
fn snapshots(
    ctx: &Context<'_>,
    interval_ms: i32,
) -> async_graphql::Result<impl Stream<Item = std::sync::Arc<Snapshot>> + use<>> {
    require_reader(ctx)?;
    let slot = slot(ctx)?;
    let live = live(ctx)?;
    let receiver = live.snapshots();
    let stopped = live.stopped().clone();
    let interval = Duration::from_millis(u64::try_from(interval_ms).unwrap_or(0))
        .clamp(MIN_INTERVAL, MAX_INTERVAL);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Ok(stream::unfold(
        (receiver, ticks, slot, stopped),
        |(mut receiver, mut ticks, slot, stopped)| async move {
            // before the sampler's first snapshot (start-up) this waits for it; at shutdown the
            // stream ends
            let latest = tokio::select! {
                () = stopped.cancelled() => return None,
                latest = async {
                    ticks.tick().await;
                    receiver.wait_for(Option::is_some).await.ok()?.clone()
                } => latest?,
            };
            Some((latest, (receiver, ticks, slot, stopped)))
        },
    ))
}
