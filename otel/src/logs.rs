//! Log lines that carry the current OpenTelemetry `trace_id` and `span_id`, so a log line leads to
//! its trace in Jaeger. `pretty` for people, `json` (one object per line) for log pipelines.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use serde_json_lite::JsonObject;
use tracing::{Event, Subscriber};
use tracing_subscriber::{
    Layer,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    registry::LookupSpan,
};

/// The formatting layer for [`crate::init`].
pub fn layer<S>(json: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    if json {
        tracing_subscriber::fmt::layer()
            .event_format(TraceFormat { json: true })
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .event_format(TraceFormat { json: false })
            .boxed()
    }
}

struct TraceFormat {
    json: bool,
}

/// The (trace_id, span_id) of the innermost span that has an OpenTelemetry context.
fn current_ids<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<(String, String)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let span = ctx.lookup_current()?;
    let cx = tracing::dispatcher::get_default(|d| {
        tracing_opentelemetry::get_otel_context(&span.id(), d)
    })?;
    let sc = cx.span().span_context().clone();
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

impl<S, N> FormatEvent<S, N> for TraceFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let ids = current_ids(ctx);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        if self.json {
            let mut obj = JsonObject::default();
            obj.push_str("timestamp", &now);
            obj.push_str("level", meta.level().as_str());
            obj.push_str("target", meta.target());
            if let Some(span) = ctx.lookup_current() {
                obj.push_str("span", span.name());
            }
            if let Some((trace_id, span_id)) = &ids {
                obj.push_str("trace_id", trace_id);
                obj.push_str("span_id", span_id);
            }
            event.record(&mut obj);
            writeln!(writer, "{}", obj.finish())
        } else {
            write!(writer, "{now} {:>5} {}", meta.level(), meta.target())?;
            if let Some(span) = ctx.lookup_current() {
                write!(writer, " [{}]", span.name())?;
            }
            if let Some((trace_id, span_id)) = &ids {
                write!(writer, " trace_id={trace_id} span_id={span_id}")?;
            }
            write!(writer, ": ")?;
            ctx.field_format().format_fields(writer.by_ref(), event)?;
            writeln!(writer)
        }
    }
}

/// A tiny JSON object writer for log lines (field values are escaped by serde_json).
mod serde_json_lite {
    use std::fmt;

    use tracing::field::{Field, Visit};

    #[derive(Default)]
    pub struct JsonObject(serde_json::Map<String, serde_json::Value>);

    impl JsonObject {
        pub fn push_str(&mut self, key: &str, value: &str) {
            self.0.insert(key.to_owned(), value.into());
        }

        pub fn finish(self) -> String {
            serde_json::Value::Object(self.0).to_string()
        }
    }

    impl Visit for JsonObject {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0
                .insert(field.name().to_owned(), format!("{value:?}").into());
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.into());
        }
        fn record_i64(&mut self, field: &Field, value: i64) {
            self.0.insert(field.name().to_owned(), value.into());
        }
        fn record_u64(&mut self, field: &Field, value: u64) {
            self.0.insert(field.name().to_owned(), value.into());
        }
        fn record_bool(&mut self, field: &Field, value: bool) {
            self.0.insert(field.name().to_owned(), value.into());
        }
        fn record_f64(&mut self, field: &Field, value: f64) {
            self.0.insert(field.name().to_owned(), value.into());
        }
    }
}
