//! W3C trace context (`traceparent`, `tracestate`) carried in Kafka record headers, so the
//! processor's span continues the trace that ingest's request started.

use opentelemetry::{
    Context, global,
    propagation::{Extractor, Injector},
    trace::TraceContextExt as _,
};
use rdkafka::message::{Header, OwnedHeaders};

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

/// The trace context fields among a record's headers, gathered in the one pass over them that
/// also reads the record's other headers (each header lookup of rdkafka's walks them through FFI
/// calls).
#[derive(Debug, Default, Clone, Copy)]
pub struct TraceHeaders<'a> {
    traceparent: Option<&'a str>,
    tracestate: Option<&'a str>,
}

impl<'a> TraceHeaders<'a> {
    /// Keeps `value` when `key` names a trace context field; says whether it did.
    pub fn offer(&mut self, key: &str, value: &'a str) -> bool {
        if key.eq_ignore_ascii_case("traceparent") {
            self.traceparent = Some(value);
        } else if key.eq_ignore_ascii_case("tracestate") {
            self.tracestate = Some(value);
        } else {
            return false;
        }
        true
    }

    /// The trace context they carry: an empty context without a (valid) `traceparent`.
    pub fn extract(&self) -> Context {
        if self.traceparent.is_none() {
            return Context::new();
        }
        global::get_text_map_propagator(|p| p.extract(self))
    }
}

impl Extractor for TraceHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent,
            "tracestate" => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        let mut keys = Vec::with_capacity(2);
        if self.traceparent.is_some() {
            keys.push("traceparent");
        }
        if self.tracestate.is_some() {
            keys.push("tracestate");
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    #[test]
    fn trace_headers_continue_the_trace_they_carry() {
        global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let mut headers = TraceHeaders::default();
        assert!(!headers.extract().span().span_context().is_valid());
        assert!(!headers.offer("pulse-tenant-id", "x"));
        assert!(headers.offer(
            "Traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        ));
        assert!(headers.offer("tracestate", "vendor=value"));
        let cx = headers.extract();
        let sc = cx.span().span_context().clone();
        assert!(sc.is_valid() && sc.is_remote() && sc.is_sampled());
        assert_eq!(
            sc.trace_id(),
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
        );
        assert_eq!(sc.span_id(), SpanId::from_hex("b7ad6b7169203331").unwrap());
        assert_eq!(sc.trace_state().get("vendor"), Some("value"));

        let mut broken = TraceHeaders::default();
        broken.offer("traceparent", "00-not-a-trace-01");
        assert!(!broken.extract().span().span_context().is_valid());
    }

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
