//! Every HTTP request gets a SERVER span named `{method} {route}` (continuing the caller's
//! `traceparent`, if any), an `http.server.request.duration` measurement, and a `traceparent`
//! response header so a client can find its own trace in Jaeger.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderMap, HeaderValue},
    middleware::Next,
    response::Response,
};
use opentelemetry::{
    Context, KeyValue, StringValue,
    context::FutureExt as _,
    global,
    metrics::Histogram,
    propagation::Extractor,
    trace::{SpanKind, Status, TraceContextExt, Tracer},
};
use pulse_otel::names::{attr, metric};

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

fn duration_histogram() -> &'static Histogram<f64> {
    static H: OnceLock<Histogram<f64>> = OnceLock::new();
    H.get_or_init(|| {
        pulse_otel::meter()
            .f64_histogram(metric::HTTP_SERVER_REQUEST_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP server requests")
            .with_boundaries(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0, 10.0,
            ])
            .build()
    })
}

/// Axum middleware (`axum::middleware::from_fn(track)`), applied with `Router::layer`.
///
/// The SERVER span is built with the OpenTelemetry SDK and made the current OpenTelemetry context
/// while the request runs (handlers add to it with `Context::current()`), not through a `tracing`
/// span: the `tracing` layer's bookkeeping (registry slot, field visitors, an enter and exit on
/// every poll) was about 6 % of ingest's CPU per single event.
pub async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    // each copied once, shared by the span and the duration measurement
    let route = StringValue::from(Arc::<str>::from(
        request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", |m| m.as_str()),
    ));
    let method = StringValue::from(Arc::<str>::from(request.method().as_str()));
    let cx = match pulse_otel::service_tracer() {
        Some(tracer) => {
            let parent =
                global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
            let span = tracer
                .span_builder(format!("{method} {route}"))
                .with_kind(SpanKind::Server)
                .with_attributes([
                    KeyValue::new(attr::HTTP_REQUEST_METHOD, method.clone()),
                    KeyValue::new(attr::HTTP_ROUTE, route.clone()),
                ])
                .start_with_context(tracer, &parent);
            parent.with_span(span)
        }
        None => Context::new(),
    };

    let mut response = next.run(request).with_context(cx.clone()).await;

    let status = response.status().as_u16();
    let span = cx.span();
    span.set_attribute(KeyValue::new(
        attr::HTTP_RESPONSE_STATUS_CODE,
        i64::from(status),
    ));
    if status >= 500 {
        span.set_status(Status::error(""));
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, status.to_string()));
    }
    let sc = span.span_context();
    if sc.is_valid() {
        let flags = if sc.is_sampled() { "01" } else { "00" };
        let value = format!("00-{}-{}-{flags}", sc.trace_id(), sc.span_id());
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert("traceparent", v);
        }
    }
    span.end();
    duration_histogram().record(
        start.elapsed().as_secs_f64(),
        &[
            KeyValue::new(attr::HTTP_REQUEST_METHOD, method),
            KeyValue::new(attr::HTTP_ROUTE, route),
            KeyValue::new(attr::HTTP_RESPONSE_STATUS_CODE, i64::from(status)),
        ],
    );
    response
}
