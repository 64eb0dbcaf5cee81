//! `Event.trace` / `DeadLetter.trace`: the trace fetched from Jaeger's query API
//! (`GET {JAEGER_QUERY_URL}/api/traces/<id>`) and mapped to [`Trace`]. A trace Jaeger does not
//! have (sampled out, expired, not flushed yet) is null, not an error.

use std::{collections::HashMap, time::Duration};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    errors::{ApiError, Code},
    model::{Links, Trace, TraceSpan},
};

/// A client of Jaeger's query API.
#[derive(Clone)]
pub struct TraceClient {
    http: reqwest::Client,
    base: String,
}

impl TraceClient {
    /// `base` is Jaeger's query URL, e.g. `http://127.0.0.1:16686`.
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The trace `trace_id`, or `None` when Jaeger does not have it.
    pub async fn get(&self, trace_id: &str, links: &Links) -> Result<Option<Trace>, ApiError> {
        if trace_id.is_empty() || !trace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let unavailable = |e: reqwest::Error| {
            tracing::warn!(error = %e, "jaeger query failed");
            ApiError::new(Code::Internal, "the trace store (Jaeger) is unavailable")
        };
        let response = self
            .http
            .get(format!("{}/api/traces/{trace_id}", self.base))
            .send()
            .await
            .map_err(unavailable)?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body: JaegerResponse = response
            .error_for_status()
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        Ok(body
            .data
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|t| map_trace(t, trace_id, links)))
    }
}

#[derive(Deserialize)]
struct JaegerResponse {
    data: Option<Vec<JaegerTrace>>,
}

#[derive(Deserialize)]
struct JaegerTrace {
    #[serde(default)]
    spans: Vec<JaegerSpan>,
    #[serde(default)]
    processes: HashMap<String, JaegerProcess>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerSpan {
    #[serde(rename = "spanID")]
    span_id: String,
    operation_name: String,
    #[serde(default)]
    references: Vec<JaegerReference>,
    start_time: f64,
    duration: f64,
    #[serde(default)]
    tags: Vec<JaegerTag>,
    #[serde(default)]
    logs: Vec<JaegerLog>,
    #[serde(rename = "processID", default)]
    process_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerReference {
    ref_type: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Deserialize)]
struct JaegerTag {
    key: String,
    value: Value,
}

#[derive(Deserialize)]
struct JaegerLog {
    timestamp: f64,
    #[serde(default)]
    fields: Vec<JaegerTag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerProcess {
    service_name: String,
}

fn tags_object(tags: &[JaegerTag]) -> Map<String, Value> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

fn map_trace(trace: JaegerTrace, trace_id: &str, links: &Links) -> Trace {
    let mut spans: Vec<TraceSpan> = trace
        .spans
        .into_iter()
        .map(|s| {
            let mut attributes = tags_object(&s.tags);
            let kind = attributes
                .remove("span.kind")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "internal".to_owned());
            let error = attributes.get("error").is_some_and(|v| v == &json!(true))
                || attributes
                    .get("otel.status_code")
                    .is_some_and(|v| v == "ERROR");
            let events: Vec<Value> = s
                .logs
                .iter()
                .map(
                    |l| json!({ "timestampMicros": l.timestamp, "fields": tags_object(&l.fields) }),
                )
                .collect();
            TraceSpan {
                parent_span_id: s
                    .references
                    .iter()
                    .find(|r| r.ref_type == "CHILD_OF")
                    .map(|r| r.span_id.clone()),
                service: trace
                    .processes
                    .get(&s.process_id)
                    .map_or_else(String::new, |p| p.service_name.clone()),
                span_id: s.span_id,
                name: s.operation_name,
                kind,
                start_micros: s.start_time,
                duration_micros: s.duration,
                error,
                attributes: Value::Object(attributes),
                events: Value::Array(events),
            }
        })
        .collect();
    spans.sort_by(|a, b| a.start_micros.total_cmp(&b.start_micros));
    Trace {
        trace_id: trace_id.to_owned(),
        url: links.trace_url(Some(trace_id)),
        spans,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaeger_traces_are_flattened() {
        let body = json!({"data": [{"traceID": "ab", "spans": [
            {"traceID": "ab", "spanID": "2", "operationName": "process events.raw",
             "references": [{"refType": "CHILD_OF", "traceID": "ab", "spanID": "1"}],
             "startTime": 20.0, "duration": 5.0, "processID": "p2",
             "tags": [{"key": "span.kind", "type": "string", "value": "consumer"},
                      {"key": "otel.status_code", "type": "string", "value": "ERROR"}],
             "logs": []},
            {"traceID": "ab", "spanID": "1", "operationName": "POST /events", "references": [],
             "startTime": 10.0, "duration": 30.0, "processID": "p1",
             "tags": [{"key": "span.kind", "type": "string", "value": "server"},
                      {"key": "http.route", "type": "string", "value": "/events"}]}],
            "processes": {"p1": {"serviceName": "pulse-ingest", "tags": []},
                          "p2": {"serviceName": "pulse-processor", "tags": []}}}]});
        let parsed: JaegerResponse = serde_json::from_value(body).unwrap();
        let links = Links {
            jaeger_ui: "http://j:16686".into(),
        };
        let trace = map_trace(parsed.data.unwrap().remove(0), "ab", &links);
        assert_eq!(trace.url.as_deref(), Some("http://j:16686/trace/ab"));
        assert_eq!(trace.spans[0].name, "POST /events");
        assert_eq!(trace.spans[0].service, "pulse-ingest");
        assert_eq!(trace.spans[0].kind, "server");
        assert_eq!(trace.spans[0].attributes["http.route"], "/events");
        assert_eq!(trace.spans[1].parent_span_id.as_deref(), Some("1"));
        assert!(trace.spans[1].error && !trace.spans[0].error);
    }
}
