//! Observability of the API itself: one SERVER span per operation, named `{type}` or
//! `{type} {name}` with `graphql.operation.type` / `graphql.operation.name` (never the document
//! or the variables: async-graphql's built-in OpenTelemetry extension records both, so it is not
//! used), made the current OpenTelemetry context while the operation runs (so database spans
//! and a replay's Kafka records join it), and RED metrics: operations by type, name and outcome,
//! and their duration.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, OnceLock},
    time::Instant,
};

use async_graphql::{
    Request, Response, ServerResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
        NextRequest,
    },
    parser::types::{ExecutableDocument, OperationType},
};
use opentelemetry::{
    Context, KeyValue,
    context::FutureExt as _,
    metrics::{Counter, Histogram},
    trace::{SpanKind, Status, TraceContextExt, Tracer},
};
use pulse_otel::names::{attr, metric};

/// The extension factory installed on the schema.
pub struct Observe;

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveRequest::default())
    }
}

/// What one request learned about its operation.
#[derive(Default)]
struct ObserveRequest {
    operation_name: Mutex<Option<String>>,
    operation: Mutex<Option<(&'static str, Option<String>)>>,
}

fn type_name(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// Operation names are chosen by clients: a metric label takes the first 200 distinct ones and
/// calls the rest `other`, so a client cannot grow the metric without bound.
fn bounded_name(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else {
        return String::new();
    };
    let Ok(mut seen) = SEEN.get_or_init(Default::default).lock() else {
        return "other".into();
    };
    if seen.contains(name) || (seen.len() < 200 && name.len() <= 64) {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".into()
    }
}

struct Instruments {
    operations: Counter<u64>,
    duration: Histogram<f64>,
}

fn instruments() -> &'static Instruments {
    static I: OnceLock<Instruments> = OnceLock::new();
    I.get_or_init(|| {
        let meter = pulse_otel::meter();
        Instruments {
            operations: meter
                .u64_counter(metric::GRAPHQL_OPERATIONS)
                .with_description("GraphQL operations by type, name and outcome")
                .build(),
            duration: meter
                .f64_histogram(metric::GRAPHQL_OPERATION_DURATION)
                .with_unit("s")
                .with_description("Duration of GraphQL operations")
                .with_boundaries(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ])
                .build(),
        }
    })
}

#[async_trait::async_trait]
impl Extension for ObserveRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let start = Instant::now();
        let parent = Context::current();
        let cx = match pulse_otel::service_tracer() {
            Some(tracer) => {
                // renamed once the document says what the operation is
                let span = tracer
                    .span_builder("GraphQL Operation")
                    .with_kind(SpanKind::Server)
                    .start_with_context(tracer, &parent);
                parent.with_span(span)
            }
            None => parent,
        };
        let mut response = next.run(ctx).with_context(cx.clone()).await;
        crate::errors::normalize(&mut response);
        let (ty, name) = self
            .operation
            .lock()
            .ok()
            .and_then(|o| o.clone())
            .unwrap_or(("unknown", None));
        let outcome = match response.errors.first() {
            None => "ok".to_owned(),
            Some(e) => e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .map_or_else(
                    || "GRAPHQL_ERROR".to_owned(),
                    |c| c.to_string().replace('"', ""),
                ),
        };
        let span = cx.span();
        if outcome != "ok" {
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, outcome.clone()));
            span.set_status(Status::error(""));
        }
        span.end();
        let labels = [
            KeyValue::new(attr::GRAPHQL_OPERATION_TYPE, ty),
            KeyValue::new(attr::GRAPHQL_OPERATION_NAME, bounded_name(name.as_deref())),
            KeyValue::new(attr::PULSE_OUTCOME, outcome),
        ];
        let instruments = instruments();
        instruments.operations.add(1, &labels);
        instruments
            .duration
            .record(start.elapsed().as_secs_f64(), &labels);
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut name) = self.operation_name.lock() {
            name.clone_from(&request.operation_name);
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let wanted = self.operation_name.lock().ok().and_then(|n| n.clone());
        let found = document.operations.iter().find(|(name, _)| match &wanted {
            Some(w) => name.is_some_and(|n| n.as_str() == w),
            None => true,
        });
        if let Some((name, op)) = found {
            let ty = type_name(op.node.ty);
            let name = name.map(|n| n.to_string());
            let span_name = match &name {
                Some(n) => format!("{ty} {n}"),
                None => ty.to_owned(),
            };
            let cx = Context::current();
            let span = cx.span();
            span.update_name(span_name);
            span.set_attribute(KeyValue::new(attr::GRAPHQL_OPERATION_TYPE, ty));
            if let Some(n) = &name {
                span.set_attribute(KeyValue::new(attr::GRAPHQL_OPERATION_NAME, n.clone()));
            }
            if let Ok(mut op) = self.operation.lock() {
                *op = Some((ty, name));
            }
        }
        Ok(document)
    }
}
