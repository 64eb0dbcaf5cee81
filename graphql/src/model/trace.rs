//! `Trace` and `TraceSpan`: a trace as Jaeger's query API returns it, flattened for the console.

use async_graphql::SimpleObject;

/// A trace from Jaeger.
#[derive(SimpleObject, Clone, Debug)]
pub struct Trace {
    pub trace_id: String,
    pub url: Option<String>,
    pub spans: Vec<TraceSpan>,
}

/// One span of a trace.
#[derive(SimpleObject, Clone, Debug)]
pub struct TraceSpan {
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub service: String,
    pub name: String,
    /// server, client, producer, consumer or internal
    pub kind: String,
    /// Microseconds since the Unix epoch
    pub start_micros: f64,
    pub duration_micros: f64,
    pub error: bool,
    /// The span's attributes as a JSON object
    pub attributes: serde_json::Value,
    /// The span's events (logs) as a JSON array
    pub events: serde_json::Value,
}
