//! Log lines that carry the current OpenTelemetry `trace_id` and `span_id`, so a log line leads to
//! its trace in Jaeger. `pretty` for people, `json` (one object per line) for log pipelines.
//!
//! This is a small layer of its own rather than `tracing_subscriber::fmt`: the fmt layer renders
//! every span's fields into a string when the span is created, logged or not, which costs
//! microseconds on every request; here only events are rendered.

use std::{
    fmt::{self, Write as _},
    io::Write as _,
};

use opentelemetry::trace::TraceContextExt;
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{Layer, fmt::MakeWriter, layer::Context, registry::LookupSpan};

/// The logging layer for [`crate::init`]: writes each event as one line to standard error.
pub fn layer(json: bool) -> LogLayer<fn() -> std::io::Stderr> {
    LogLayer {
        json,
        writer: std::io::stderr,
    }
}

pub struct LogLayer<W> {
    json: bool,
    writer: W,
}

/// Collects an event's fields: `message` apart, the rest as `key=value` or JSON members.
#[derive(Default)]
struct Fields {
    message: String,
    rest: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.rest
                .insert(field.name().to_owned(), format!("{value:?}").into());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.rest.insert(field.name().to_owned(), value.into());
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.rest.insert(field.name().to_owned(), value.into());
    }
}

impl<S, W> Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = ctx.event_span(event);
        // the event's `tracing` span's trace, else the current OpenTelemetry context's (an HTTP
        // request's SERVER span is only the latter)
        let cx = crate::propagation::or_current(
            span.as_ref()
                .and_then(|s| {
                    tracing::dispatcher::get_default(|d| {
                        tracing_opentelemetry::get_otel_context(&s.id(), d)
                    })
                })
                .unwrap_or_default(),
        );
        let sc = cx.span().span_context().clone();
        let ids = sc
            .is_valid()
            .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()));
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let line = if self.json {
            let mut obj = serde_json::Map::with_capacity(fields.rest.len() + 7);
            obj.insert("timestamp".into(), now.into());
            obj.insert("level".into(), meta.level().as_str().into());
            obj.insert("target".into(), meta.target().into());
            obj.insert("message".into(), fields.message.into());
            if let Some(s) = &span {
                obj.insert("span".into(), s.name().into());
            }
            if let Some((trace_id, span_id)) = ids {
                obj.insert("trace_id".into(), trace_id.into());
                obj.insert("span_id".into(), span_id.into());
            }
            obj.extend(fields.rest);
            let mut line = serde_json::Value::Object(obj).to_string();
            line.push('\n');
            line
        } else {
            let mut line = format!("{now} {:>5} {}", meta.level(), meta.target());
            if let Some(s) = &span {
                let _ = write!(line, " [{}]", s.name());
            }
            if let Some((trace_id, span_id)) = ids {
                let _ = write!(line, " trace_id={trace_id} span_id={span_id}");
            }
            let _ = write!(line, ": {}", fields.message);
            for (k, v) in &fields.rest {
                match v {
                    serde_json::Value::String(s) => {
                        let _ = write!(line, " {k}={s}");
                    }
                    other => {
                        let _ = write!(line, " {k}={other}");
                    }
                }
            }
            line.push('\n');
            line
        };
        // one write per line, so lines from several threads do not interleave
        let _ = self.writer.make_writer().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::{
        Context as OtelContext,
        trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState},
    };
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Captured {
            self.clone()
        }
    }

    fn log_once(json: bool, context: Option<OtelContext>) -> String {
        let captured = Captured::default();
        let layer = LogLayer {
            json,
            writer: captured.clone(),
        };
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let _attached = context.map(|cx| cx.attach());
            tracing::warn!(keys = 3, "something failed");
        });
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_line_written_under_an_opentelemetry_context_names_its_trace() {
        // an HTTP request's SERVER span is the current OpenTelemetry context, not a tracing span
        let line = log_once(false, Some(traced()));
        assert!(
            line.contains(
                " trace_id=0af7651916cd43dd8448eb211c80319c span_id=b7ad6b7169203331: something failed keys=3"
            ),
            "{line}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&log_once(true, Some(traced()))).unwrap();
        assert_eq!(json["trace_id"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(json["message"], "something failed");
        assert_eq!(json["keys"], 3);
    }

    fn traced() -> OtelContext {
        OtelContext::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            SpanId::from_hex("b7ad6b7169203331").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    }

    #[test]
    fn a_line_outside_any_trace_has_no_ids() {
        let line = log_once(false, None);
        assert!(line.contains("WARN"), "{line}");
        assert!(!line.contains("trace_id"), "{line}");
    }
}
