//! The OTLP/HTTP span exporter: each batch is written straight from the SDK's `SpanData` into
//! the protobuf bytes of an `ExportTraceServiceRequest` and posted to `<endpoint>/v1/traces`.
//!
//! `opentelemetry-otlp` first converts every span into `opentelemetry-proto`'s message structs
//! (an owned `String` for every attribute key and string value, a `Vec` for every id) and then
//! encodes those. With every event traced that conversion was most of the export thread, and
//! the export thread about a quarter of the processor's CPU per event (BENCHMARKS.md). The wire
//! format is the same; `tests` decode what this writes with `opentelemetry-proto` and compare it
//! with that crate's own conversion.
//!
//! (Its size: the encoder is kept in one file with the SDK fields it reads, so the protobuf field
//! numbers can be checked side by side; a third of it is its tests, which decode the bytes with the
//! reference `opentelemetry-proto` types.)
//!

use std::{
    fmt,
    sync::Mutex,
    time::{Duration, SystemTime},
};

use opentelemetry::{
    Array, InstrumentationScope, KeyValue, Value,
    trace::{SpanKind, Status, TraceState},
};
use opentelemetry_sdk::{
    Resource,
    error::{OTelSdkError, OTelSdkResult},
    trace::{SpanData, SpanExporter},
};

/// Posts span batches as OTLP protobuf over HTTP.
pub struct OtlpHttpSpanExporter {
    client: reqwest::blocking::Client,
    url: String,
    headers: reqwest::header::HeaderMap,
    /// The resource, encoded once.
    resource: EncodedResource,
    /// The size of the last request, to size the next one's buffer.
    last_len: Mutex<usize>,
}

impl fmt::Debug for OtlpHttpSpanExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // the headers may carry credentials
        f.debug_struct("OtlpHttpSpanExporter")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl OtlpHttpSpanExporter {
    /// An exporter posting to `url` (the full `…/v1/traces` address) with `headers` added to
    /// every request.
    pub fn new(
        url: String,
        headers: Vec<(String, String)>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid OTLP header name {name:?}"))?;
            // the value is not echoed: it is usually a credential
            let value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|_| format!("invalid value for OTLP header {name}"))?;
            map.insert(name, value);
        }
        map.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/x-protobuf"),
        );
        // the blocking client owns a runtime of its own, which may not be created (or dropped)
        // on a thread that runs async code: build it on a thread of its own
        let client = std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
        })
        .join()
        .map_err(|_| "building the OTLP HTTP client panicked".to_owned())?
        .map_err(|e| format!("building the OTLP HTTP client failed: {e}"))?;
        Ok(Self {
            client,
            url,
            headers: map,
            resource: encode_resource(&Resource::builder_empty().build()),
            last_len: Mutex::new(64 * 1024),
        })
    }

    /// The request body for `batch`.
    fn body(&self, batch: &[SpanData]) -> Vec<u8> {
        let capacity = self.last_len.lock().map_or(64 * 1024, |n| *n + *n / 8);
        let mut body = Vec::with_capacity(capacity);
        encode_request(&mut body, &self.resource, batch);
        if let Ok(mut n) = self.last_len.lock() {
            *n = body.len();
        }
        body
    }
}

impl SpanExporter for OtlpHttpSpanExporter {
    /// Runs on the batch span processor's own thread, which waits for it: the request is sent
    /// with the blocking client.
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let body = self.body(&batch);
        drop(batch);
        let result = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .body(body)
            .send()
            .map_err(|e| {
                // reqwest's error names the URL, never the headers
                OTelSdkError::InternalFailure(format!("OTLP span export failed: {e}"))
            })
            .and_then(|response| {
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(OTelSdkError::InternalFailure(format!(
                        "OTLP span export failed with HTTP status {status}"
                    )))
                }
            });
        std::future::ready(result)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = encode_resource(resource);
    }
}

/// The `OTEL_EXPORTER_OTLP_TRACES_HEADERS` or else `OTEL_EXPORTER_OTLP_HEADERS` list,
/// `name=value` pairs separated by commas (values are taken verbatim, not percent-decoded).
pub fn headers_from_env() -> Vec<(String, String)> {
    let list = [
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ]
    .into_iter()
    .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    .unwrap_or_default();
    parse_headers(&list)
}

fn parse_headers(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

// Field numbers of the OTLP messages written here (opentelemetry-proto's trace/v1, common/v1,
// resource/v1 and collector/trace/v1 `.proto` files).
mod field {
    pub const REQUEST_RESOURCE_SPANS: u32 = 1;

    pub const RESOURCE_SPANS_RESOURCE: u32 = 1;
    pub const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
    pub const RESOURCE_SPANS_SCHEMA_URL: u32 = 3;
    pub const RESOURCE_ATTRIBUTES: u32 = 1;

    pub const SCOPE_SPANS_SCOPE: u32 = 1;
    pub const SCOPE_SPANS_SPANS: u32 = 2;
    pub const SCOPE_SPANS_SCHEMA_URL: u32 = 3;
    pub const SCOPE_NAME: u32 = 1;
    pub const SCOPE_VERSION: u32 = 2;
    pub const SCOPE_ATTRIBUTES: u32 = 3;

    pub const SPAN_TRACE_ID: u32 = 1;
    pub const SPAN_SPAN_ID: u32 = 2;
    pub const SPAN_TRACE_STATE: u32 = 3;
    pub const SPAN_PARENT_SPAN_ID: u32 = 4;
    pub const SPAN_NAME: u32 = 5;
    pub const SPAN_KIND: u32 = 6;
    pub const SPAN_START: u32 = 7;
    pub const SPAN_END: u32 = 8;
    pub const SPAN_ATTRIBUTES: u32 = 9;
    pub const SPAN_DROPPED_ATTRIBUTES: u32 = 10;
    pub const SPAN_EVENTS: u32 = 11;
    pub const SPAN_DROPPED_EVENTS: u32 = 12;
    pub const SPAN_LINKS: u32 = 13;
    pub const SPAN_DROPPED_LINKS: u32 = 14;
    pub const SPAN_STATUS: u32 = 15;
    pub const SPAN_FLAGS: u32 = 16;

    pub const EVENT_TIME: u32 = 1;
    pub const EVENT_NAME: u32 = 2;
    pub const EVENT_ATTRIBUTES: u32 = 3;
    pub const EVENT_DROPPED_ATTRIBUTES: u32 = 4;

    pub const LINK_TRACE_ID: u32 = 1;
    pub const LINK_SPAN_ID: u32 = 2;
    pub const LINK_TRACE_STATE: u32 = 3;
    pub const LINK_ATTRIBUTES: u32 = 4;
    pub const LINK_DROPPED_ATTRIBUTES: u32 = 5;
    pub const LINK_FLAGS: u32 = 6;

    pub const STATUS_MESSAGE: u32 = 2;
    pub const STATUS_CODE: u32 = 3;

    pub const KEY_VALUE_KEY: u32 = 1;
    pub const KEY_VALUE_VALUE: u32 = 2;
    pub const ANY_STRING: u32 = 1;
    pub const ANY_BOOL: u32 = 2;
    pub const ANY_INT: u32 = 3;
    pub const ANY_DOUBLE: u32 = 4;
    pub const ANY_ARRAY: u32 = 5;
    pub const ARRAY_VALUES: u32 = 1;
}

/// `SpanFlags`: the parent's remoteness is known (bit 8) and whether it is remote (bit 9).
const FLAG_HAS_IS_REMOTE: u32 = 0x100;
const FLAG_IS_REMOTE: u32 = 0x200;

/// A `ResourceSpans`' `resource` field, encoded, and its `schema_url`: the same in every request.
struct EncodedResource {
    field: Vec<u8>,
    schema_url: String,
}

fn encode_request(buf: &mut Vec<u8>, resource: &EncodedResource, batch: &[SpanData]) {
    // spans grouped by instrumentation scope, in the order the scopes first appear (a process
    // has one or two)
    let mut scopes: Vec<(&InstrumentationScope, Vec<&SpanData>)> = Vec::new();
    for span in batch {
        match scopes
            .iter_mut()
            .find(|(scope, _)| *scope == &span.instrumentation_scope)
        {
            Some((_, spans)) => spans.push(span),
            None => scopes.push((&span.instrumentation_scope, vec![span])),
        }
    }
    message(buf, field::REQUEST_RESOURCE_SPANS, |buf| {
        buf.extend_from_slice(&resource.field);
        for (scope, spans) in &scopes {
            message(buf, field::RESOURCE_SPANS_SCOPE_SPANS, |buf| {
                message(buf, field::SCOPE_SPANS_SCOPE, |buf| {
                    string(buf, field::SCOPE_NAME, scope.name());
                    string(
                        buf,
                        field::SCOPE_VERSION,
                        scope.version().unwrap_or_default(),
                    );
                    attributes(buf, field::SCOPE_ATTRIBUTES, scope.attributes());
                });
                for span in spans {
                    message(buf, field::SCOPE_SPANS_SPANS, |buf| encode_span(buf, span));
                }
                string(
                    buf,
                    field::SCOPE_SPANS_SCHEMA_URL,
                    scope.schema_url().unwrap_or_default(),
                );
            });
        }
        string(buf, field::RESOURCE_SPANS_SCHEMA_URL, &resource.schema_url);
    });
}

fn encode_resource(resource: &Resource) -> EncodedResource {
    let mut encoded = Vec::new();
    message(&mut encoded, field::RESOURCE_SPANS_RESOURCE, |buf| {
        for (key, value) in resource.iter() {
            message(buf, field::RESOURCE_ATTRIBUTES, |buf| {
                key_value(buf, key.as_str(), value);
            });
        }
    });
    EncodedResource {
        field: encoded,
        schema_url: resource.schema_url().unwrap_or_default().to_owned(),
    }
}

fn encode_span(buf: &mut Vec<u8>, span: &SpanData) {
    let cx = &span.span_context;
    bytes(buf, field::SPAN_TRACE_ID, &cx.trace_id().to_bytes());
    bytes(buf, field::SPAN_SPAN_ID, &cx.span_id().to_bytes());
    trace_state(buf, field::SPAN_TRACE_STATE, cx.trace_state());
    if span.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        bytes(
            buf,
            field::SPAN_PARENT_SPAN_ID,
            &span.parent_span_id.to_bytes(),
        );
    }
    string(buf, field::SPAN_NAME, &span.name);
    varint_field(buf, field::SPAN_KIND, kind_number(&span.span_kind));
    fixed64(buf, field::SPAN_START, nanos(span.start_time));
    fixed64(buf, field::SPAN_END, nanos(span.end_time));
    attributes_and_dropped(
        buf,
        (field::SPAN_ATTRIBUTES, &span.attributes),
        (
            field::SPAN_DROPPED_ATTRIBUTES,
            span.dropped_attributes_count,
        ),
    );
    for event in &span.events.events {
        message(buf, field::SPAN_EVENTS, |buf| {
            fixed64(buf, field::EVENT_TIME, nanos(event.timestamp));
            string(buf, field::EVENT_NAME, &event.name);
            attributes_and_dropped(
                buf,
                (field::EVENT_ATTRIBUTES, &event.attributes),
                (
                    field::EVENT_DROPPED_ATTRIBUTES,
                    event.dropped_attributes_count,
                ),
            );
        });
    }
    varint_field(
        buf,
        field::SPAN_DROPPED_EVENTS,
        span.events.dropped_count.into(),
    );
    for link in &span.links.links {
        let lcx = &link.span_context;
        message(buf, field::SPAN_LINKS, |buf| {
            bytes(buf, field::LINK_TRACE_ID, &lcx.trace_id().to_bytes());
            bytes(buf, field::LINK_SPAN_ID, &lcx.span_id().to_bytes());
            trace_state(buf, field::LINK_TRACE_STATE, lcx.trace_state());
            attributes_and_dropped(
                buf,
                (field::LINK_ATTRIBUTES, &link.attributes),
                (
                    field::LINK_DROPPED_ATTRIBUTES,
                    link.dropped_attributes_count,
                ),
            );
            fixed32(
                buf,
                field::LINK_FLAGS,
                span_flags(lcx.trace_flags().to_u8(), lcx.is_remote()),
            );
        });
    }
    varint_field(
        buf,
        field::SPAN_DROPPED_LINKS,
        span.links.dropped_count.into(),
    );
    message(buf, field::SPAN_STATUS, |buf| {
        let (code, message) = match &span.status {
            Status::Unset => (0, ""),
            Status::Ok => (1, ""),
            Status::Error { description } => (2, description.as_ref()),
        };
        string(buf, field::STATUS_MESSAGE, message);
        varint_field(buf, field::STATUS_CODE, code);
    });
    fixed32(
        buf,
        field::SPAN_FLAGS,
        span_flags(cx.trace_flags().to_u8(), span.parent_span_is_remote),
    );
}

fn kind_number(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn span_flags(trace_flags: u8, remote: bool) -> u32 {
    let mut flags = u32::from(trace_flags) | FLAG_HAS_IS_REMOTE;
    if remote {
        flags |= FLAG_IS_REMOTE;
    }
    flags
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn trace_state(buf: &mut Vec<u8>, field: u32, state: &TraceState) {
    // nearly always empty: skip building its header text then
    if *state != TraceState::NONE {
        string(buf, field, &state.header());
    }
}

fn attributes<'a>(buf: &mut Vec<u8>, field: u32, list: impl IntoIterator<Item = &'a KeyValue>) {
    for kv in list {
        message(buf, field, |buf| key_value(buf, kv.key.as_str(), &kv.value));
    }
}

/// A span's, event's or link's attributes and the count of those the SDK dropped (adjacent
/// fields in each of the three messages).
fn attributes_and_dropped(
    buf: &mut Vec<u8>,
    (list_field, list): (u32, &[KeyValue]),
    (dropped_field, dropped): (u32, u32),
) {
    attributes(buf, list_field, list);
    varint_field(buf, dropped_field, dropped.into());
}

fn key_value(buf: &mut Vec<u8>, key: &str, value: &Value) {
    string(buf, field::KEY_VALUE_KEY, key);
    message(buf, field::KEY_VALUE_VALUE, |buf| any_value(buf, value));
}

/// An `AnyValue`'s one field. Unlike the fields above, a oneof member is written even when it
/// holds its type's default (an empty string, `false`, 0).
fn any_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Bool(b) => {
            tag(buf, field::ANY_BOOL, VARINT);
            varint(buf, u64::from(*b));
        }
        Value::I64(i) => {
            tag(buf, field::ANY_INT, VARINT);
            varint(buf, *i as u64);
        }
        Value::F64(f) => {
            tag(buf, field::ANY_DOUBLE, FIXED64);
            buf.extend_from_slice(&f.to_le_bytes());
        }
        Value::String(s) => {
            tag(buf, field::ANY_STRING, LEN);
            varint(buf, s.as_str().len() as u64);
            buf.extend_from_slice(s.as_str().as_bytes());
        }
        Value::Array(array) => message(buf, field::ANY_ARRAY, |buf| {
            let mut item = |value: Value| {
                message(buf, field::ARRAY_VALUES, |buf| any_value(buf, &value));
            };
            match array {
                Array::Bool(v) => v.iter().for_each(|b| item(Value::Bool(*b))),
                Array::I64(v) => v.iter().for_each(|i| item(Value::I64(*i))),
                Array::F64(v) => v.iter().for_each(|f| item(Value::F64(*f))),
                Array::String(v) => v.iter().for_each(|s| item(Value::String(s.clone()))),
                other => item(Value::String(other.to_string().into())),
            }
        }),
        other => any_value(buf, &Value::String(other.to_string().into())),
    }
}

// protobuf wire types
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn tag(buf: &mut Vec<u8>, field: u32, wire_type: u8) {
    varint(buf, u64::from(field << 3 | u32::from(wire_type)));
}

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

// Scalar fields holding their default value are left out, as proto3 encoders do.

fn varint_field(buf: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        tag(buf, field, VARINT);
        varint(buf, v);
    }
}

fn fixed64(buf: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        tag(buf, field, FIXED64);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

fn fixed32(buf: &mut Vec<u8>, field: u32, v: u32) {
    if v != 0 {
        tag(buf, field, FIXED32);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

fn bytes(buf: &mut Vec<u8>, field: u32, v: &[u8]) {
    if !v.is_empty() {
        tag(buf, field, LEN);
        varint(buf, v.len() as u64);
        buf.extend_from_slice(v);
    }
}

fn string(buf: &mut Vec<u8>, field: u32, v: &str) {
    bytes(buf, field, v.as_bytes());
}

/// The most bytes a message's length prefix takes here (lengths below 32 GiB).
const MAX_LEN_BYTES: usize = 5;

/// An embedded message: its tag, its length and what `write` appends. The length is only known
/// afterwards, so room for the longest prefix is left and the message moved back over what the
/// actual prefix does not use (a few dozen bytes for most messages).
fn message(buf: &mut Vec<u8>, field: u32, write: impl FnOnce(&mut Vec<u8>)) {
    tag(buf, field, LEN);
    let at = buf.len();
    buf.extend_from_slice(&[0; MAX_LEN_BYTES]);
    write(buf);
    let len = buf.len() - at - MAX_LEN_BYTES;
    let used = varint_len(len as u64);
    let mut rest = len as u64;
    for (i, byte) in buf[at..at + used].iter_mut().enumerate() {
        let low = (rest & 0x7f) as u8;
        rest >>= 7;
        *byte = if i + 1 < used { low | 0x80 } else { low };
    }
    if used < MAX_LEN_BYTES {
        buf.copy_within(at + MAX_LEN_BYTES.., at + used);
        buf.truncate(buf.len() - (MAX_LEN_BYTES - used));
    }
}

fn varint_len(v: u64) -> usize {
    // 7 bits per byte, at least one byte
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use std::{
        io::{BufRead, BufReader, Read, Write},
        net::TcpListener,
        time::UNIX_EPOCH,
    };

    use opentelemetry::trace::{Event, Link, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_proto::{
        tonic::collector::trace::v1::ExportTraceServiceRequest,
        transform::{
            common::tonic::ResourceAttributesWithSchema,
            trace::tonic::group_spans_by_resource_and_scope,
        },
    };
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use prost::Message;

    use super::*;

    fn at(nanos: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }

    fn context(trace: u128, span: u64, state: TraceState, remote: bool) -> SpanContext {
        SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            remote,
            state,
        )
    }

    fn span(name: &'static str, scope: InstrumentationScope) -> SpanData {
        SpanData {
            span_context: context(1, 2, TraceState::NONE, false),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.into(),
            start_time: at(1_700_000_000_000_000_001),
            end_time: at(1_700_000_000_000_500_000),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: scope,
        }
    }

    /// Spans using every field and every kind of attribute value the SDK has.
    fn batch() -> Vec<SpanData> {
        let plain = InstrumentationScope::builder("pulse-test").build();
        let versioned = InstrumentationScope::builder("other")
            .with_version("1.2.3")
            .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
            .with_attributes([KeyValue::new("scope.attr", true)])
            .build();

        let mut server = span("POST /events", plain.clone());
        server.span_context = context(
            0x0af7651916cd43dd8448eb211c80319c,
            0xb7ad6b7169203331,
            "vendor=value,other=x".parse().unwrap(),
            false,
        );
        server.parent_span_id = SpanId::from(0x00f067aa0ba902b7);
        server.parent_span_is_remote = true;
        server.span_kind = SpanKind::Server;
        server.attributes = vec![
            KeyValue::new("http.route", "/events"),
            KeyValue::new("empty", ""),
            KeyValue::new("http.response.status_code", 202_i64),
            KeyValue::new("negative", -7_i64),
            KeyValue::new("zero", 0_i64),
            KeyValue::new("ratio", 0.25_f64),
            KeyValue::new("flag", false),
            KeyValue::new(
                "texts",
                Value::Array(Array::String(vec!["a".into(), "".into()])),
            ),
            KeyValue::new("numbers", Value::Array(vec![1_i64, -2].into())),
            KeyValue::new("floats", Value::Array(vec![1.5_f64].into())),
            KeyValue::new("bools", Value::Array(vec![true, false].into())),
            KeyValue::new("é ünïcode", "ßtring ✓"),
        ];
        server.dropped_attributes_count = 3;
        server.events.events = vec![Event::new(
            "exception",
            at(1_700_000_000_000_100_000),
            vec![KeyValue::new("exception.message", "boom")],
            1,
        )];
        server.events.dropped_count = 2;
        server.links.links = vec![Link::new(
            context(9, 8, "k=v".parse().unwrap(), true),
            vec![KeyValue::new("link.attr", 5_i64)],
            0,
        )];
        server.links.dropped_count = 4;
        server.status = Status::error("database write failed");

        let mut producer = span("send events.raw", versioned);
        producer.span_kind = SpanKind::Producer;
        producer.parent_span_id = SpanId::from(0xb7ad6b7169203331);
        producer.status = Status::Ok;

        let mut consumer = span("process events.raw", plain);
        consumer.span_kind = SpanKind::Consumer;
        consumer.span_context = context(3, 4, TraceState::NONE, false);
        consumer.attributes = vec![KeyValue::new("messaging.kafka.offset", 1_i64 << 40)];

        let mut client = span("INSERT events", consumer.instrumentation_scope.clone());
        client.span_kind = SpanKind::Client;
        vec![server, producer, consumer, client]
    }

    fn resource() -> Resource {
        Resource::builder()
            .with_service_name("pulse-test")
            .with_attribute(KeyValue::new("service.version", "0.1.0"))
            .with_schema_url([], "https://opentelemetry.io/schemas/1.30.0")
            .build()
    }

    #[test]
    fn writes_the_request_opentelemetry_proto_would() {
        let (resource, spans) = (resource(), batch());
        let mut body = Vec::new();
        encode_request(&mut body, &encode_resource(&resource), &spans);

        let ours = ExportTraceServiceRequest::decode(body.as_slice()).expect("valid protobuf");
        let theirs = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                spans,
                &ResourceAttributesWithSchema::from(&resource),
            ),
        };
        assert_eq!(ours, theirs);
        // and byte for byte what prost writes for it
        assert_eq!(body, theirs.encode_to_vec());
    }

    #[test]
    fn message_lengths_take_as_many_bytes_as_they_need() {
        for len in [0_usize, 1, 127, 128, 16_383, 16_384, 2_097_152] {
            let mut buf = Vec::new();
            message(&mut buf, 1, |buf| buf.resize(buf.len() + len, 7));
            let mut want = vec![0x0a];
            varint(&mut want, len as u64);
            want.resize(want.len() + len, 7);
            assert_eq!(buf, want, "a message of {len} bytes");
        }
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(u64::MAX), 10);
    }

    #[test]
    fn headers_are_name_value_pairs() {
        assert_eq!(
            parse_headers(" api-key = secret ,x-tenant=a=b,,broken"),
            vec![
                ("api-key".to_owned(), "secret".to_owned()),
                ("x-tenant".to_owned(), "a=b".to_owned()),
            ]
        );
        assert!(parse_headers("").is_empty());
    }

    /// A one-request HTTP server answering `status`; returns its URL and what it received.
    fn serve_once(status: &'static str) -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap();
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            write!(
                reader.get_mut(),
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
            (head, body)
        });
        (url, server)
    }

    fn exporter(url: String) -> OtlpHttpSpanExporter {
        let mut exporter = OtlpHttpSpanExporter::new(
            url,
            vec![("x-api-key".to_owned(), "secret".to_owned())],
            Duration::from_secs(5),
        )
        .unwrap();
        exporter.set_resource(&resource());
        exporter
    }

    #[test]
    fn posts_the_batch_as_protobuf_with_the_configured_headers() {
        let (url, server) = serve_once("200 OK");
        let exporter = exporter(url.clone());
        let result = futures_executor_block_on(exporter.export(batch()));
        let (head, body) = server.join().unwrap();
        assert!(result.is_ok(), "{result:?}");
        assert!(head.starts_with("post /v1/traces "), "{head}");
        assert!(
            head.contains("content-type: application/x-protobuf"),
            "{head}"
        );
        assert!(head.contains("x-api-key: secret"), "{head}");
        let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans[0].name, "POST /events");
        assert_eq!(request.resource_spans[0].scope_spans[1].spans.len(), 1);
        // the exporter's Debug output names where it sends, never its headers
        let debug = format!("{exporter:?}");
        assert!(debug.contains(&url) && !debug.contains("secret"), "{debug}");
    }

    #[test]
    fn a_refused_batch_is_an_error() {
        let (url, server) = serve_once("404 Not Found");
        let result = futures_executor_block_on(exporter(url).export(batch()));
        server.join().unwrap();
        let error = result.unwrap_err().to_string();
        assert!(error.contains("404"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }

    /// `export` finishes its work before returning its future, which is then already ready.
    fn futures_executor_block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the export future was not ready"),
        }
    }
}
