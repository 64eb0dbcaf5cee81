//! CLIENT spans around database calls, named `{operation} {collection}` (e.g. `SELECT events`)
//! with the semantic conventions' `db.*` attributes: [`span`] for the processor's hot path (it
//! starts and ends them itself), [`client`] around one call off the hot path (the admin API's
//! queries), with `error.type` on failure, a child of the current context. The statement text is
//! never recorded (it could carry a tenant's values).

use std::{borrow::Cow, future::Future};

use opentelemetry::{
    Context, KeyValue,
    context::FutureExt as _,
    trace::{SpanBuilder, SpanKind, Status, TraceContextExt},
};

use crate::names::attr;

/// Runs `call` inside a CLIENT span for `operation` on `collection` in PostgreSQL.
pub async fn client<T, E, F>(
    operation: &'static str,
    collection: &'static str,
    call: F,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let Some(tracer) = crate::service_tracer() else {
        return call.await;
    };
    let parent = Context::current();
    let span = span(
        format!("{operation} {collection}"),
        operation,
        collection,
        [],
    )
    .start_with_context(tracer, &parent);
    let cx = parent.with_span(span);
    let result = call.with_context(cx.clone()).await;
    let span = cx.span();
    if result.is_err() {
        span.set_status(Status::error(""));
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, "db_error"));
    }
    span.end();
    result
}

/// The CLIENT span of one statement, named `name` (`{operation} {collection}`, which callers on a
/// hot path keep as a constant), with `extra` attributes after the `db.*` ones.
pub fn span(
    name: impl Into<Cow<'static, str>>,
    operation: &'static str,
    collection: &'static str,
    extra: impl IntoIterator<Item = KeyValue>,
) -> SpanBuilder {
    let mut attributes = vec![
        KeyValue::new(attr::DB_SYSTEM_NAME, "postgresql"),
        KeyValue::new(attr::DB_OPERATION_NAME, operation),
        KeyValue::new(attr::DB_COLLECTION_NAME, collection),
    ];
    attributes.extend(extra);
    SpanBuilder::from_name(name)
        .with_kind(SpanKind::Client)
        .with_attributes(attributes)
}
