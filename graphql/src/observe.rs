//! Observability of the API itself: one SERVER span per operation, named `{type}` or
//! `{type} {name}` with `graphql.operation.type` / `graphql.operation.name` (never the document
//! or the variables: async-graphql's built-in OpenTelemetry extension records both, so it is not
//! used), made the current OpenTelemetry context while the operation runs (so database spans
//! and a replay's Kafka records join it), and RED metrics: operations by type, name and outcome,
//! and their duration. Every answer's errors get their `extensions.code` here too.
//!
//! [`Observed`] wraps the schema as an [`Executor`] rather than being a schema extension: with
//! any extension installed, async-graphql sends every field and every list item through the
//! extension chain (a boxed future each), which made a 1,440-point `stats(24h)` series cost
//! ~5 ms of CPU to render. HTTP and WebSocket operations (queries, mutations and subscriptions)
//! all run through this wrapper.

use std::{
    collections::HashSet,
    future::Future,
    sync::{Arc, Mutex, OnceLock},
    time::Instant,
};

use async_graphql::{
    Data, Executor, Request, Response,
    futures_util::stream::{BoxStream, StreamExt},
    parser::types::{ExecutableDocument, OperationType},
};
use opentelemetry::{
    Context, KeyValue,
    context::FutureExt as _,
    metrics::{Counter, Histogram},
    trace::{SpanKind, Status, TraceContextExt, Tracer},
};
use pulse_otel::names::{attr, metric};

use crate::{errors::normalize, schema::PulseSchema};

/// The schema with every operation observed; what the HTTP and WebSocket handlers execute.
#[derive(Clone)]
pub struct Observed(pub PulseSchema);

impl Executor for Observed {
    fn execute(&self, mut request: Request) -> impl Future<Output = Response> + Send {
        let mut observation = Observation::start(&mut request);
        let schema = self.0.clone();
        async move {
            let cx = observation.cx.clone();
            let mut response = schema.execute(request).with_context(cx).await;
            normalize(&mut response);
            observation.saw(&response);
            response
        }
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let mut observation = Observation::start(&mut request);
        let cx = observation.cx.clone();
        // the span ends and the metrics are recorded when the stream ends or is dropped (a
        // subscription's span lasts as long as the subscription)
        Executor::execute_stream(&self.0, request, session_data)
            .map(move |mut response| {
                normalize(&mut response);
                observation.saw(&response);
                response
            })
            .with_context(cx)
            .boxed()
    }
}

/// One operation being observed: its span (in `cx`), what it is, and how it went so far.
struct Observation {
    cx: Context,
    started: Instant,
    ty: &'static str,
    name: Option<String>,
    outcome: Option<String>,
}

impl Observation {
    /// Reads which operation `request` runs (parsing its document once; the schema reuses the
    /// parsed document) and starts its span as a child of the current context.
    fn start(request: &mut Request) -> Self {
        let wanted = request.operation_name.clone();
        let (ty, name) = request
            .parsed_query()
            .ok()
            .and_then(|document| operation(document, wanted.as_deref()))
            .map_or(("unknown", None), |(ty, name)| {
                (type_name(ty), name.map(str::to_owned))
            });
        let parent = Context::current();
        let cx = match pulse_otel::service_tracer() {
            Some(tracer) => {
                let span_name = match (&name, ty) {
                    (_, "unknown") => "GraphQL Operation".to_owned(),
                    (Some(n), _) => format!("{ty} {n}"),
                    (None, _) => ty.to_owned(),
                };
                let mut attributes = vec![KeyValue::new(attr::GRAPHQL_OPERATION_TYPE, ty)];
                if let Some(n) = &name {
                    attributes.push(KeyValue::new(attr::GRAPHQL_OPERATION_NAME, n.clone()));
                }
                let span = tracer
                    .span_builder(span_name)
                    .with_kind(SpanKind::Server)
                    .with_attributes(attributes)
                    .start_with_context(tracer, &parent);
                parent.with_span(span)
            }
            None => parent,
        };
        Self {
            cx,
            started: Instant::now(),
            ty,
            name,
            outcome: None,
        }
    }

    /// Notes an answer: the operation's outcome is its first error's code, else `ok`.
    fn saw(&mut self, response: &Response) {
        if self.outcome.as_deref().is_some_and(|o| o != "ok") {
            return;
        }
        self.outcome = Some(match response.errors.first() {
            None => "ok".to_owned(),
            Some(e) => e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .map_or_else(
                    || "GRAPHQL_ERROR".to_owned(),
                    |c| c.to_string().replace('"', ""),
                ),
        });
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or_else(|| "ok".to_owned());
        let span = self.cx.span();
        if outcome != "ok" {
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, outcome.clone()));
            span.set_status(Status::error(""));
        }
        span.end();
        let labels = [
            KeyValue::new(attr::GRAPHQL_OPERATION_TYPE, self.ty),
            KeyValue::new(
                attr::GRAPHQL_OPERATION_NAME,
                bounded_name(self.name.as_deref()),
            ),
            KeyValue::new(attr::PULSE_OUTCOME, outcome),
        ];
        let instruments = instruments();
        instruments.operations.add(1, &labels);
        instruments
            .duration
            .record(self.started.elapsed().as_secs_f64(), &labels);
    }
}

/// The operation of `document` a request runs: the one named `wanted`, or the first.
pub fn operation<'d>(
    document: &'d ExecutableDocument,
    wanted: Option<&str>,
) -> Option<(OperationType, Option<&'d str>)> {
    document
        .operations
        .iter()
        .find(|(name, _)| match wanted {
            Some(w) => name.is_some_and(|n| n.as_str() == w),
            None => true,
        })
        .map(|(name, op)| (op.node.ty, name.map(|n| n.as_str())))
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
