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
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

/// The logging layer for [`crate::init`]: writes each event as one line to standard error.
pub fn layer(json: bool) -> LogLayer {
    LogLayer { json }
}

pub struct LogLayer {
    json: bool,
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

impl<S> Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = ctx.event_span(event);
        let ids = span.as_ref().and_then(|s| {
            let cx = tracing::dispatcher::get_default(|d| {
                tracing_opentelemetry::get_otel_context(&s.id(), d)
            })?;
            let sc = cx.span().span_context().clone();
            sc.is_valid()
                .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
        });
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
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}
