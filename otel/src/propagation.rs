//! W3C trace context (`traceparent`, `tracestate`) carried in Kafka record headers, so the
//! processor's span continues the trace that ingest's request started.

use opentelemetry::{
    Context, global,
    propagation::{Extractor, Injector},
    trace::TraceContextExt as _,
};
use rdkafka::message::{Header, Headers, OwnedHeaders};

/// Collects the propagator's fields so they can be appended to [`OwnedHeaders`].
#[derive(Default)]
struct FieldCollector(Vec<(String, String)>);

impl Injector for FieldCollector {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

/// The trace context new work continues: the current `tracing` span's when it belongs to a trace,
/// else the current OpenTelemetry context (an HTTP request's SERVER span is only the latter).
pub fn current_context() -> Context {
    or_current(tracing_opentelemetry::OpenTelemetrySpanExt::context(
        &tracing::Span::current(),
    ))
}

/// `cx` when it belongs to a trace, else the current OpenTelemetry context.
pub fn or_current(cx: Context) -> Context {
    if cx.span().span_context().is_valid() {
        cx
    } else {
        Context::current()
    }
}

/// Appends the trace context of `cx` to `headers`.
pub fn inject(cx: &Context, mut headers: OwnedHeaders) -> OwnedHeaders {
    let mut fields = FieldCollector::default();
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut fields));
    for (key, value) in &fields.0 {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    headers
}

struct HeaderExtractor<'a, H>(&'a H);

impl<H: Headers> Extractor for HeaderExtractor<'_, H> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.key.eq_ignore_ascii_case(key))
            .and_then(|h| h.value)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|h| h.key).collect()
    }
}

/// The trace context a record carries (an empty context when it has none).
pub fn extract<H: Headers>(headers: Option<&H>) -> Context {
    match headers {
        Some(h) => global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(h))),
        None => Context::new(),
    }
}

/// The value of header `key` as UTF-8, if present.
pub fn header_str<'a, H: Headers>(headers: Option<&'a H>, key: &str) -> Option<&'a str> {
    headers?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    #[test]
    fn outside_a_tracing_span_the_current_opentelemetry_context_is_continued() {
        assert!(!current_context().span().span_context().is_valid());
        let sc = SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            SpanId::from_hex("b7ad6b7169203331").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let _attached = Context::new().with_remote_span_context(sc.clone()).attach();
        assert_eq!(current_context().span().span_context(), &sc);
    }
}
