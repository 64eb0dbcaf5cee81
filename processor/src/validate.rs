//! Event validation: the fixed rules every event obeys, each failure with a reason code and a
//! JSON pointer. The body is examined without being parsed into a tree: each top-level field is
//! borrowed raw and only the small ones are decoded.

use chrono::{DateTime, Utc};
use pulse_core::{
    envelope::{DlqReason, FieldError},
    json_limits::{self, MAX_JSON_DEPTH},
};
use serde::Deserialize;
use serde_json::value::RawValue;

pub const MAX_EVENT_TYPE_LEN: usize = 128;
pub const MAX_SOURCE_LEN: usize = 128;
/// `occurred_at` may be at most this far ahead of `received_at` (clock skew is fine, typos not).
pub const MAX_FUTURE: chrono::Duration = chrono::Duration::hours(24);

/// The fields of a valid event that become columns.
#[derive(Debug, Clone)]
pub struct ValidEvent<'a> {
    pub event_type: String,
    pub payload: &'a RawValue,
    pub occurred_at: DateTime<Utc>,
    pub source: Option<String>,
}

/// Every way the body failed, in check order; the first decides the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid {
    pub errors: Vec<(DlqReason, FieldError)>,
}

impl Invalid {
    fn push(&mut self, reason: DlqReason, path: &str, message: impl Into<String>) {
        self.errors.push((
            reason,
            FieldError {
                path: path.to_owned(),
                message: message.into(),
            },
        ));
    }

    pub fn reason(&self) -> DlqReason {
        self.errors
            .first()
            .map_or(DlqReason::InvalidValue, |(r, _)| *r)
    }

    pub fn field_errors(&self) -> Vec<FieldError> {
        self.errors.iter().map(|(_, e)| e.clone()).collect()
    }

    pub fn single(reason: DlqReason, path: &str, message: impl Into<String>) -> Self {
        let mut i = Self::default();
        i.push(reason, path, message);
        i
    }
}

/// The top-level fields the rules look at, borrowed raw from the body. A present `null` is kept
/// (as the raw `null`), so it can be told apart from an absent field.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    event_type: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    payload: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    occurred_at: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    source: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    partition_key: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The JSON type of a raw value, from its first character.
fn json_type(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

fn as_string(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<String>(raw.get()).ok()
}

fn valid_event_type(s: &str) -> bool {
    (1..=MAX_EVENT_TYPE_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// Checks a body against the fixed rules. `received_at` is the default and the reference for
/// `occurred_at`.
pub fn validate<'a>(
    body: &'a RawValue,
    received_at: DateTime<Utc>,
) -> Result<ValidEvent<'a>, Invalid> {
    let mut invalid = Invalid::default();
    if json_type(body) != "object" {
        // ingest only accepts objects, so this is a record written by something else
        let got = json_type(body);
        return Err(Invalid::single(
            DlqReason::InvalidType,
            "",
            format!("event body must be a JSON object, got {got}"),
        ));
    }
    let fields = serde_json::from_str::<Fields<'_>>(body.get()).map_err(|e| {
        Invalid::single(
            DlqReason::InvalidValue,
            "",
            format!("event body could not be read: {e}"),
        )
    })?;

    let event_type = match fields.event_type {
        None => {
            invalid.push(
                DlqReason::MissingField,
                "/event_type",
                "event_type is required",
            );
            None
        }
        Some(raw) => match as_string(raw) {
            None => {
                let got = json_type(raw);
                invalid.push(
                    DlqReason::InvalidType,
                    "/event_type",
                    format!("event_type must be a string, got {got}"),
                );
                None
            }
            Some(s) if !valid_event_type(&s) => {
                invalid.push(
                    DlqReason::InvalidValue,
                    "/event_type",
                    "event_type must be 1 to 128 characters of A-Z a-z 0-9 _ . : -",
                );
                None
            }
            Some(s) => Some(s),
        },
    };

    let payload = match fields.payload {
        None => {
            invalid.push(DlqReason::MissingField, "/payload", "payload is required");
            None
        }
        Some(raw) if json_type(raw) != "object" => {
            let got = json_type(raw);
            invalid.push(
                DlqReason::InvalidType,
                "/payload",
                format!("payload must be an object, got {got}"),
            );
            None
        }
        Some(raw) if json_limits::nesting_exceeds(raw.get().as_bytes(), MAX_JSON_DEPTH - 1) => {
            // ingest refuses these; an older record or a replay may still carry one
            invalid.push(
                DlqReason::InvalidValue,
                "/payload",
                format!("payload nests deeper than {} levels", MAX_JSON_DEPTH - 1),
            );
            None
        }
        Some(raw) if has_nul_escape(raw.get()) => {
            invalid.push(
                DlqReason::InvalidValue,
                "/payload",
                "payload strings may not contain the NUL character (\\u0000)",
            );
            None
        }
        Some(raw) => Some(raw),
    };

    let occurred_at = match fields.occurred_at {
        None => Some(received_at),
        Some(raw) if json_type(raw) == "null" => Some(received_at),
        Some(raw) => match as_string(raw) {
            None => {
                let got = json_type(raw);
                invalid.push(
                    DlqReason::InvalidType,
                    "/occurred_at",
                    format!("occurred_at must be a string, got {got}"),
                );
                None
            }
            Some(s) => match DateTime::parse_from_rfc3339(&s) {
                Err(_) => {
                    invalid.push(
                        DlqReason::InvalidValue,
                        "/occurred_at",
                        "occurred_at must be an RFC 3339 timestamp",
                    );
                    None
                }
                Ok(t) if t.with_timezone(&Utc) > received_at + MAX_FUTURE => {
                    invalid.push(
                        DlqReason::InvalidValue,
                        "/occurred_at",
                        "occurred_at is more than 24 hours after the event was received",
                    );
                    None
                }
                Ok(t) => Some(t.with_timezone(&Utc)),
            },
        },
    };

    let source = match fields.source {
        None => None,
        Some(raw) if json_type(raw) == "null" => None,
        Some(raw) => match as_string(raw) {
            None => {
                let got = json_type(raw);
                invalid.push(
                    DlqReason::InvalidType,
                    "/source",
                    format!("source must be a string, got {got}"),
                );
                None
            }
            Some(s) if s.contains('\0') => {
                invalid.push(
                    DlqReason::InvalidValue,
                    "/source",
                    "source may not contain the NUL character",
                );
                None
            }
            Some(s) if s.chars().count() > MAX_SOURCE_LEN => {
                invalid.push(
                    DlqReason::InvalidValue,
                    "/source",
                    "source must be at most 128 characters",
                );
                None
            }
            Some(s) => Some(s),
        },
    };

    if let Some(raw) = fields.partition_key
        && !matches!(json_type(raw), "string" | "null")
    {
        let got = json_type(raw);
        invalid.push(
            DlqReason::InvalidType,
            "/partition_key",
            format!("partition_key must be a string, got {got}"),
        );
    }

    match (event_type, payload, occurred_at) {
        (Some(event_type), Some(payload), Some(occurred_at)) if invalid.errors.is_empty() => {
            Ok(ValidEvent {
                event_type,
                payload,
                occurred_at,
                source,
            })
        }
        _ => Err(invalid),
    }
}

/// Whether raw JSON text holds an escaped NUL character (`\u0000`): valid JSON, but PostgreSQL
/// can store it neither in `jsonb` nor in `text`.
pub fn has_nul_escape(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut from = 0;
    while let Some(pos) = raw[from..].find("\\u0000") {
        let at = from + pos;
        let backslashes = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        // an even count before it means this backslash starts an escape, not ends one
        if backslashes % 2 == 0 {
            return true;
        }
        from = at + 1;
    }
    false
}

/// The body of a record for the dead-letter table: the JSON itself, or, when PostgreSQL could not
/// store it (an escaped NUL) or it is not JSON at all, its text as a JSON string.
pub fn body_for_dlq(bytes: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(bytes).replace('\0', "\u{FFFD}");
    if !has_nul_escape(&text)
        && let Ok(v) = serde_json::from_str(&text)
    {
        return v;
    }
    serde_json::Value::String(text)
}

/// The body's `event_type` when it is a string, whatever else is wrong with the body (for the
/// per-minute counts of dead letters).
pub fn event_type_hint(body: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct EventType<'a> {
        #[serde(borrow, default, deserialize_with = "present")]
        event_type: Option<&'a RawValue>,
    }
    let fields: EventType<'_> = serde_json::from_str(body.get()).ok()?;
    fields
        .event_type
        .and_then(as_string)
        .filter(|s| valid_event_type(s))
}

/// [`body_for_dlq`] for a body already known to be JSON.
pub fn raw_body_for_dlq(raw: &RawValue) -> serde_json::Value {
    body_for_dlq(raw.get().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<ValidEvent<'_>, Invalid> {
        let raw: &RawValue = serde_json::from_str(body).unwrap();
        validate(raw, "2026-11-27T08:00:00Z".parse().unwrap())
    }

    fn reasons(body: &str) -> Vec<(DlqReason, String)> {
        check(body)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|(r, e)| (r, e.path))
            .collect()
    }

    #[test]
    fn a_valid_event_keeps_its_fields() {
        let e = check(
            r#"{"event_type":"order.created","payload":{"a":1},"occurred_at":"2026-11-27T07:00:00+01:00","source":"web"}"#,
        )
        .unwrap();
        assert_eq!(e.event_type, "order.created");
        assert_eq!(e.payload.get(), r#"{"a":1}"#);
        assert_eq!(
            e.occurred_at,
            "2026-11-27T06:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(e.source.as_deref(), Some("web"));
    }

    #[test]
    fn occurred_at_defaults_to_received_at() {
        let e = check(r#"{"event_type":"a","payload":{}}"#).unwrap();
        assert_eq!(
            e.occurred_at,
            "2026-11-27T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn every_rule_has_its_reason_and_path() {
        assert_eq!(
            reasons(r#"{"payload":{}}"#),
            [(DlqReason::MissingField, "/event_type".into())]
        );
        assert_eq!(
            reasons(r#"{"event_type":"a"}"#),
            [(DlqReason::MissingField, "/payload".into())]
        );
        assert_eq!(
            reasons(r#"{"event_type":7,"payload":{}}"#),
            [(DlqReason::InvalidType, "/event_type".into())]
        );
        assert_eq!(
            reasons(r#"{"event_type":"a b","payload":{}}"#),
            [(DlqReason::InvalidValue, "/event_type".into())]
        );
        let long = "x".repeat(129);
        assert_eq!(
            reasons(&format!(r#"{{"event_type":"{long}","payload":{{}}}}"#)),
            [(DlqReason::InvalidValue, "/event_type".into())]
        );
        assert_eq!(
            reasons(r#"{"event_type":"a","payload":[1]}"#),
            [(DlqReason::InvalidType, "/payload".into())]
        );
        assert_eq!(
            reasons(r#"{"event_type":"a","payload":{},"occurred_at":"yesterday"}"#),
            [(DlqReason::InvalidValue, "/occurred_at".into())]
        );
        assert_eq!(
            reasons(r#"{"event_type":"a","payload":{},"occurred_at":"2026-11-29T08:00:00Z"}"#),
            [(DlqReason::InvalidValue, "/occurred_at".into())]
        );
        assert_eq!(
            reasons(r#"{"event_type":"a","payload":{},"occurred_at":5}"#),
            [(DlqReason::InvalidType, "/occurred_at".into())]
        );
        assert_eq!(
            reasons(&format!(
                r#"{{"event_type":"a","payload":{{}},"source":"{}"}}"#,
                "s".repeat(129)
            )),
            [(DlqReason::InvalidValue, "/source".into())]
        );
    }

    #[test]
    fn nul_characters_cannot_be_stored() {
        assert!(has_nul_escape(r#"{"a":"x\u0000y"}"#));
        assert!(
            !has_nul_escape(r#"{"a":"x\\u0000y"}"#),
            "an escaped backslash is not a NUL"
        );
        assert!(has_nul_escape(r#"{"a":"x\\\u0000y"}"#));
        assert_eq!(
            reasons(r#"{"event_type":"a","payload":{"k":"\u0000"}}"#),
            [(DlqReason::InvalidValue, "/payload".into())]
        );
        assert_eq!(
            body_for_dlq(br#"{"k":"\u0000"}"#),
            serde_json::Value::String(r#"{"k":"\u0000"}"#.into())
        );
        assert_eq!(
            body_for_dlq(b"not json"),
            serde_json::Value::String("not json".into())
        );
        assert_eq!(body_for_dlq(br#"{"k":1}"#), serde_json::json!({"k": 1}));
    }

    #[test]
    fn several_errors_are_all_listed_first_decides() {
        let errs = reasons(r#"{"event_type":"","payload":"x","source":1}"#);
        assert_eq!(
            errs,
            [
                (DlqReason::InvalidValue, "/event_type".into()),
                (DlqReason::InvalidType, "/payload".into()),
                (DlqReason::InvalidType, "/source".into()),
            ]
        );
        assert_eq!(
            check(r#"{"payload":"x"}"#).unwrap_err().reason(),
            DlqReason::MissingField
        );
    }
}
