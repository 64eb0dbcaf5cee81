//! Reading and checking request bodies: the content type, a size limit enforced while reading
//! (a declared oversize body is refused before a byte of it is read), JSON syntax and objectness,
//! and the `Idempotency-Key` header. Bodies are never parsed into a tree: the raw JSON is
//! forwarded to Kafka verbatim.

use std::borrow::Cow;

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, header},
};
use pulse_core::json_limits::{self, MAX_JSON_DEPTH};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::error::IngestError;

/// Refuses anything but `application/json` (parameters such as `charset` are fine).
pub fn require_json(headers: &HeaderMap) -> Result<(), IngestError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        Ok(())
    } else {
        Err(IngestError::UnsupportedMediaType)
    }
}

/// Reads the whole body, failing with 413 as soon as it passes `limit` bytes.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, IngestError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(IngestError::PayloadTooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // to_bytes reports both "too long" and transport errors; only the former is the client's size
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit")
        {
            IngestError::PayloadTooLarge { limit }
        } else {
            IngestError::InvalidJson("the request body could not be read".to_owned())
        }
    })
}

/// Checks that `bytes` is one JSON object nesting at most `max_depth` levels, and returns it
/// unparsed.
pub fn json_object(bytes: &[u8], max_depth: usize) -> Result<&RawValue, IngestError> {
    let raw: &RawValue =
        serde_json::from_slice(bytes).map_err(|e| IngestError::InvalidJson(describe(&e)))?;
    if !raw.get().starts_with('{') {
        return Err(IngestError::NotAnObject);
    }
    if json_limits::nesting_exceeds(bytes, max_depth) {
        return Err(IngestError::NestingTooDeep {
            limit: MAX_JSON_DEPTH,
        });
    }
    Ok(raw)
}

/// A JSON error's position and kind, without echoing any of the input.
fn describe(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected value",
        serde_json::error::Category::Io => "read error",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}

pub use pulse_core::envelope::valid_idempotency_key;

/// The `Idempotency-Key` header, if present and valid.
pub fn idempotency_header(headers: &HeaderMap) -> Result<Option<String>, IngestError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().map_err(|_| IngestError::InvalidIdempotencyKey)?;
            if valid_idempotency_key(key) {
                Ok(Some(key.to_owned()))
            } else {
                Err(IngestError::InvalidIdempotencyKey)
            }
        }
    }
}

/// The few body fields ingest itself needs; everything else is the processor's business.
#[derive(Debug, Default, Deserialize)]
pub struct Routing<'a> {
    /// Events with the same key keep their order (same Kafka partition).
    #[serde(borrow, default, deserialize_with = "string_or_ignore")]
    pub partition_key: Option<Cow<'a, str>>,
    /// Per-item key in `/events/batch`.
    #[serde(borrow, default, deserialize_with = "string_or_ignore")]
    pub idempotency_key: Option<Cow<'a, str>>,
}

/// Keeps a field only when it is a string; anything else is left for the processor to judge.
fn string_or_ignore<'de, D>(d: D) -> Result<Option<Cow<'de, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Maybe<'a> {
        Str(#[serde(borrow)] Cow<'a, str>),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Maybe::deserialize(d)? {
        Maybe::Str(s) => Some(s),
        Maybe::Other(_) => None,
    })
}

impl<'a> Routing<'a> {
    pub fn of(raw: &'a RawValue) -> Self {
        serde_json::from_str(raw.get()).unwrap_or_default()
    }
}

/// Identifies a body for idempotency: the same key with a different body is a conflict.
pub fn fingerprint(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_only() {
        assert!(json_object(br#" {"a":1} "#, MAX_JSON_DEPTH).is_ok());
        assert!(matches!(
            json_object(b"[1]", MAX_JSON_DEPTH),
            Err(IngestError::NotAnObject)
        ));
        assert!(matches!(
            json_object(b"\"x\"", MAX_JSON_DEPTH),
            Err(IngestError::NotAnObject)
        ));
        assert!(matches!(
            json_object(b"{", MAX_JSON_DEPTH),
            Err(IngestError::InvalidJson(_))
        ));
        assert!(matches!(
            json_object(b"", MAX_JSON_DEPTH),
            Err(IngestError::InvalidJson(_))
        ));
    }

    #[test]
    fn nesting_past_the_limit_is_refused() {
        let deep = format!("{}1{}", r#"{"a":"#.repeat(129), "}".repeat(129));
        assert!(matches!(
            json_object(deep.as_bytes(), MAX_JSON_DEPTH),
            Err(IngestError::NestingTooDeep { limit: 128 })
        ));
        let ok = format!("{}1{}", r#"{"a":"#.repeat(128), "}".repeat(128));
        assert!(json_object(ok.as_bytes(), MAX_JSON_DEPTH).is_ok());
    }

    #[test]
    fn json_errors_do_not_echo_input() {
        let Err(IngestError::InvalidJson(msg)) =
            json_object(b"{\"secret-token\": nope}", MAX_JSON_DEPTH)
        else {
            panic!("expected invalid json");
        };
        assert!(!msg.contains("secret"), "{msg}");
    }

    #[test]
    fn idempotency_keys() {
        assert!(valid_idempotency_key("abc-123_:/"));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key("has space"));
        assert!(!valid_idempotency_key(&"k".repeat(256)));
        assert!(valid_idempotency_key(&"k".repeat(255)));
    }

    #[test]
    fn routing_fields_are_optional_and_typed() {
        let raw: &RawValue =
            serde_json::from_str(r#"{"partition_key":"o-1","idempotency_key":7}"#).unwrap();
        let r = Routing::of(raw);
        assert_eq!(r.partition_key.as_deref(), Some("o-1"));
        assert_eq!(r.idempotency_key, None);
    }
}
