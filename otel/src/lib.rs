//! Pulse's observability in one place: tracing and logs, OpenTelemetry traces and metrics exported
//! over OTLP, Prometheus text for `/metrics`, W3C trace context in Kafka headers, and the names of
//! every span, attribute and metric.
//!
//! - [`init`] sets everything up once per process and returns a guard that flushes on drop
//! - [`export`] posts span batches to the OTLP/HTTP endpoint, encoded straight from the SDK's spans
//!   (the default; `PULSE_OTLP_SPAN_EXPORTER=sdk` selects `opentelemetry-otlp`'s exporter instead)
//! - [`db`] CLIENT spans around database calls off the hot path (the admin API's queries)
//! - [`propagation`] injects/extracts `traceparent` into/from Kafka record headers
//! - [`names`] holds span, attribute and metric names as constants
//! - [`logs`] formats log lines with the current `trace_id` / `span_id`

pub mod db;
pub mod export;
pub mod logs;
pub mod messaging;
pub mod names;
pub mod propagation;

use std::{sync::OnceLock, time::Duration};

use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    Resource,
    metrics::{PeriodicReader, SdkMeterProvider},
    propagation::TraceContextPropagator,
    trace::{BatchConfig, BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider},
};
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

/// How the process reports itself. Read from the standard OpenTelemetry variables.
#[derive(Debug, Clone)]
pub struct OtelConfig {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, the OTLP/HTTP base URL (default `http://127.0.0.1:4318`).
    pub otlp_endpoint: String,
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is), else `{otlp_endpoint}/v1/traces`.
    pub traces_endpoint: String,
    /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, in milliseconds
    /// (default 5000): how long one span export may take.
    pub export_timeout: Duration,
    /// `PULSE_OTLP_SPAN_EXPORTER`: which span exporter posts the batches.
    pub span_exporter: SpanExporterKind,
    /// `OTEL_SDK_DISABLED=true` turns off span recording and OTLP export (logs and `/metrics` still
    /// work; trace context is still propagated).
    pub export: bool,
    /// `OTEL_TRACES_SAMPLER_ARG`: share of new traces sampled, 0.0..=1.0 (default 1.0). Child spans
    /// follow their parent's decision.
    pub sample_ratio: f64,
    /// `OTEL_METRIC_EXPORT_INTERVAL` in milliseconds (default 10000).
    pub metric_export_interval: Duration,
    /// `OTEL_METRICS_EXPORTER`: `otlp` pushes metrics over OTLP as well (default); `prometheus` or
    /// `none` keeps them on `/metrics` only (Jaeger, the bundled collector, takes no metrics).
    pub export_metrics: bool,
    /// `PULSE_LOG_FORMAT`: `pretty` (default) or `json`.
    pub json_logs: bool,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: spans waiting for export; when it is full new spans are dropped
    /// (never waited for). `None` takes the service's own default
    /// ([`OtelConfig::with_default_span_queue`]), else 8 Ki.
    pub span_queue: Option<usize>,
}

/// The span exporter, chosen by `PULSE_OTLP_SPAN_EXPORTER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanExporterKind {
    /// `pulse` (default): [`export::OtlpHttpSpanExporter`], which encodes the protobuf straight
    /// from the SDK's spans (measured cheaper; BENCHMARKS.md).
    Pulse,
    /// `sdk`: `opentelemetry-otlp`'s HTTP/protobuf exporter, the fallback should the SDK's span
    /// internals change under the own exporter. It also honours `OTEL_EXPORTER_OTLP_*` variables
    /// the own exporter does not read.
    Sdk,
}

impl OtelConfig {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration from `lookup` (a variable's value by name); blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let otlp_endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT")
            .unwrap_or_else(|| "http://127.0.0.1:4318".to_owned());
        Self {
            traces_endpoint: get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                .unwrap_or_else(|| format!("{}/v1/traces", otlp_endpoint.trim_end_matches('/'))),
            export_timeout: Duration::from_millis(
                get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
                    .or_else(|| get("OTEL_EXPORTER_OTLP_TIMEOUT"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(5_000),
            ),
            span_exporter: match get("PULSE_OTLP_SPAN_EXPORTER").as_deref().map(str::trim) {
                Some(v) if v.eq_ignore_ascii_case("sdk") => SpanExporterKind::Sdk,
                _ => SpanExporterKind::Pulse,
            },
            otlp_endpoint,
            export: !get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            sample_ratio: get("OTEL_TRACES_SAMPLER_ARG")
                .and_then(|v| v.parse::<f64>().ok())
                .map_or(1.0, |r| r.clamp(0.0, 1.0)),
            metric_export_interval: Duration::from_millis(
                get("OTEL_METRIC_EXPORT_INTERVAL")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(10_000),
            ),
            export_metrics: get("OTEL_METRICS_EXPORTER")
                .is_none_or(|v| v.split(',').any(|e| e.trim() == "otlp")),
            json_logs: get("PULSE_LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json")),
            span_queue: get("OTEL_BSP_MAX_QUEUE_SIZE").and_then(|v| v.parse().ok()),
        }
    }

    /// Sets the span queue's size unless `OTEL_BSP_MAX_QUEUE_SIZE` did. A queued span takes a few
    /// KiB, so the queue bounds memory as much as it absorbs bursts: at 64 Ki ingest's RSS under
    /// batch load reached 174 MiB, at 8 Ki 86 MiB; the processor makes two spans for each of up to
    /// 5,000 events of a batch at once and needs room for several batches (it asks for 128 Ki).
    pub fn with_default_span_queue(mut self, spans: usize) -> Self {
        self.span_queue.get_or_insert(spans);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OtelError {
    #[error("building the OTLP exporter failed: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("building the OTLP span exporter failed: {0}")]
    SpanExporter(String),
    #[error("building the Prometheus exporter failed: {0}")]
    Prometheus(String),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialised,
}

/// Flushes and shuts down the exporters when dropped; keep it alive for the life of the process.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct OtelGuard {
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
}

impl OtelGuard {
    /// Exports every finished span now (tests use it before asking Jaeger).
    pub fn flush(&self) {
        let _ = self.tracer_provider.force_flush();
        let _ = self.meter_provider.force_flush();
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        let _ = self.tracer_provider.shutdown();
        let _ = self.meter_provider.shutdown();
    }
}

static REGISTRY: OnceLock<prometheus::Registry> = OnceLock::new();

/// The Prometheus text exposition of every metric recorded in this process.
pub fn render_metrics() -> String {
    let Some(registry) = REGISTRY.get() else {
        return String::new();
    };
    let mut out = Vec::with_capacity(16 * 1024);
    let encoder = prometheus::TextEncoder::new();
    if let Err(e) = prometheus::Encoder::encode(&encoder, &registry.gather(), &mut out) {
        tracing::warn!(error = %e, "encoding metrics failed");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Installs the global tracing subscriber (filtered by `RUST_LOG`, default `info`), the
/// OpenTelemetry tracer and meter providers and the W3C propagator. Call once per process.
pub fn init(service_name: &'static str, config: &OtelConfig) -> Result<OtelGuard, OtelError> {
    let resource = Resource::builder()
        .with_service_name(service_name)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();

    let mut tracer_builder = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(if config.export {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sample_ratio)))
        } else {
            // OTEL_SDK_DISABLED: spans are not recorded at all (trace ids still propagate)
            Sampler::AlwaysOff
        });
    let mut meter_builder = SdkMeterProvider::builder().with_resource(resource);

    if config.export {
        let batch = batch_config(config.span_queue);
        tracer_builder = match config.span_exporter {
            SpanExporterKind::Pulse => {
                let spans = export::OtlpHttpSpanExporter::new(
                    config.traces_endpoint.clone(),
                    export::headers_from_env(),
                    config.export_timeout,
                )
                .map_err(OtelError::SpanExporter)?;
                tracer_builder.with_span_processor(
                    BatchSpanProcessor::builder(spans)
                        .with_batch_config(batch)
                        .build(),
                )
            }
            SpanExporterKind::Sdk => {
                let spans = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(config.traces_endpoint.clone())
                    .with_timeout(config.export_timeout)
                    .with_headers(export::headers_from_env().into_iter().collect())
                    .build()?;
                tracer_builder.with_span_processor(
                    BatchSpanProcessor::builder(spans)
                        .with_batch_config(batch)
                        .build(),
                )
            }
        };
    }
    if config.export && config.export_metrics {
        let base = config.otlp_endpoint.trim_end_matches('/');
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_endpoint(format!("{base}/v1/metrics"))
            .with_timeout(Duration::from_secs(5))
            .build()?;
        meter_builder = meter_builder.with_reader(
            PeriodicReader::builder(metrics)
                .with_interval(config.metric_export_interval)
                .build(),
        );
    }

    let registry = REGISTRY.get_or_init(prometheus::Registry::new).clone();
    let prometheus = opentelemetry_prometheus::exporter()
        .with_registry(registry)
        .build()
        .map_err(|e| OtelError::Prometheus(e.to_string()))?;
    let meter_provider = meter_builder.with_reader(prometheus).build();
    let tracer_provider = tracer_builder.build();

    let tracer = tracer_provider.tracer(service_name);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,opentelemetry=warn,opentelemetry_sdk=warn,rdkafka=warn")
    });
    // no code location, thread or busy/idle-time attributes on every span: seven extra
    // attributes per span that nobody queries, encoded, exported and stored for every request
    // (and the busy/idle bookkeeping takes a clock reading and a lock on every poll)
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false);
    let log_layer = logs::layer(config.json_logs);
    tracing_subscriber::registry()
        .with(filter)
        .with(otel_layer)
        .with(log_layer)
        .try_init()
        .map_err(|_| OtelError::AlreadyInitialised)?;

    global::set_text_map_propagator(TraceContextPropagator::new());
    global::set_tracer_provider(tracer_provider.clone());
    let _ = SERVICE_TRACER.set(global::tracer(service_name));
    global::set_meter_provider(meter_provider.clone());

    Ok(OtelGuard {
        tracer_provider,
        meter_provider,
    })
}

/// Span batching sized for a busy service (every event makes 2–4 spans): the configured queue
/// (8 Ki by default) exported every second or whenever 2 Ki spans are waiting. The standard
/// `OTEL_BSP_*` variables still win. When the collector cannot keep up, spans are dropped (and the
/// count logged at shutdown) rather than requests slowed.
fn batch_config(span_queue: Option<usize>) -> BatchConfig {
    let set = |name: &str| std::env::var_os(name).is_some();
    let mut b = BatchConfigBuilder::default().with_max_queue_size(span_queue.unwrap_or(8_192));
    if !set("OTEL_BSP_SCHEDULE_DELAY") {
        b = b.with_scheduled_delay(Duration::from_secs(1));
    }
    if !set("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
        b = b.with_max_export_batch_size(2048);
    }
    b.build()
}

/// The tracer for spans built with the OpenTelemetry SDK directly (the per-event hot paths, where
/// the `tracing` layer's bookkeeping costs too much); a no-op until [`init`] ran.
pub fn tracer(service_name: &'static str) -> global::BoxedTracer {
    global::tracer(service_name)
}

static SERVICE_TRACER: OnceLock<global::BoxedTracer> = OnceLock::new();

/// The tracer named after this process's service, once [`init`] ran (per-request spans use it
/// without looking it up each time); `None` before, when nothing would be recorded anyway.
pub fn service_tracer() -> Option<&'static global::BoxedTracer> {
    SERVICE_TRACER.get()
}

/// The meter every Pulse instrument is created from.
pub fn meter() -> opentelemetry::metrics::Meter {
    global::meter("pulse")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> OtelConfig {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OtelConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn traces_go_to_the_base_endpoint_unless_a_traces_endpoint_is_given() {
        let c = config(&[]);
        assert_eq!(c.traces_endpoint, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(c.export_timeout, Duration::from_secs(5));
        assert_eq!(c.span_exporter, SpanExporterKind::Pulse);
        let c = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]);
        assert_eq!(c.traces_endpoint, "http://collector:4318/v1/traces");
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:9999/custom",
            ),
        ]);
        assert_eq!(
            c.traces_endpoint, "http://traces:9999/custom",
            "used as it is"
        );
    }

    #[test]
    fn the_traces_timeout_wins_over_the_general_one() {
        let c = config(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")]);
        assert_eq!(c.export_timeout, Duration::from_secs(2));
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "750"),
        ]);
        assert_eq!(c.export_timeout, Duration::from_millis(750));
    }

    #[test]
    fn the_sdk_exporter_is_selectable() {
        assert_eq!(
            config(&[("PULSE_OTLP_SPAN_EXPORTER", "sdk")]).span_exporter,
            SpanExporterKind::Sdk
        );
        assert_eq!(
            config(&[("PULSE_OTLP_SPAN_EXPORTER", "pulse")]).span_exporter,
            SpanExporterKind::Pulse
        );
    }
}
