//! CLIENT spans around database calls that are not on a hot path (the admin API's queries): one
//! span per call, named `{operation} {collection}` (e.g. `SELECT events`) with the semantic
//! conventions' `db.*` attributes and `error.type` on failure, a child of the current context.
//! The statement text is not recorded (it could carry a tenant's values).

use std::future::Future;

use opentelemetry::{
    Context, KeyValue,
    context::FutureExt as _,
    trace::{SpanKind, Status, TraceContextExt, Tracer},
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
    let span = tracer
        .span_builder(format!("{operation} {collection}"))
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new(attr::DB_SYSTEM_NAME, "postgresql"),
            KeyValue::new(attr::DB_OPERATION_NAME, operation),
            KeyValue::new(attr::DB_COLLECTION_NAME, collection),
        ])
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
