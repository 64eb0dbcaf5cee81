//! Property tests on the envelope decoder and the validator, thousands of cases in a few seconds:
//! generated bodies whose validity a small model of the README's rules predicts (the validator
//! must agree, with the right first reason and exactly the failing paths), arbitrary bytes that
//! must never panic the decoder, and dead-letter bodies that PostgreSQL can always store.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use pulse_core::envelope::{DlqReason, EventEnvelope};
use pulse_processor::validate::{self, body_for_dlq, has_nul_escape};
use serde_json::{Value, value::RawValue};
use uuid::Uuid;

/// One generated top-level field: its JSON text and, if the rules reject it, why.
#[derive(Debug, Clone)]
struct Field {
    json: String,
    error: Option<DlqReason>,
}

fn ok(json: String) -> Field {
    Field { json, error: None }
}

fn bad(json: String, reason: DlqReason) -> Field {
    Field {
        json,
        error: Some(reason),
    }
}

fn text(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Any JSON value without a NUL character in it.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[ -~\u{e9}\u{2713}\u{1F600}]{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = String> {
    prop::collection::btree_map("[a-z_]{1,8}", json_value(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()).to_string())
}

fn event_type() -> impl Strategy<Value = Option<Field>> {
    use DlqReason::*;
    prop_oneof![
        4 => "[A-Za-z0-9_.:-]{1,128}".prop_map(|s| Some(ok(text(&s)))),
        1 => Just(Some(bad(text(""), InvalidValue))),
        1 => "[A-Za-z0-9]{129,160}".prop_map(|s| Some(bad(text(&s), InvalidValue))),
        1 => "[a-z]{0,4}[ !#$%/\u{e9}\u{2713}\\x00][a-z]{0,4}"
            .prop_map(|s| Some(bad(text(&s), InvalidValue))),
        1 => prop_oneof![Just("7"), Just("null"), Just("true"), Just("{}"), Just("[\"a\"]")]
            .prop_map(|j| Some(bad(j.to_owned(), InvalidType))),
        1 => Just(None),
    ]
}

fn payload() -> impl Strategy<Value = Option<Field>> {
    use DlqReason::*;
    prop_oneof![
        5 => object().prop_map(|o| Some(ok(o))),
        1 => "[a-z]{0,5}".prop_map(|s| Some(bad(format!(r#"{{"s":"{s}\u0000{s}"}}"#), InvalidValue))),
        1 => prop_oneof![Just("[]"), Just("\"x\""), Just("1.5"), Just("null"), Just("false")]
            .prop_map(|j| Some(bad(j.to_owned(), InvalidType))),
        1 => Just(None),
    ]
}

fn timestamp(year: i32, secs: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(i64::from(secs))
}

fn occurred_at() -> impl Strategy<Value = Option<Field>> {
    use DlqReason::*;
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(ok("null".to_owned()))),
        3 => (1970i32..2026, 0u32..31_000_000)
            .prop_map(|(y, s)| Some(ok(text(&timestamp(y, s).to_rfc3339())))),
        1 => (2100i32..9999, 0u32..31_000_000)
            .prop_map(|(y, s)| Some(bad(text(&timestamp(y, s).to_rfc3339()), InvalidValue))),
        1 => "[a-z0-9 :-]{0,24}".prop_map(|s| Some(bad(text(&s), InvalidValue))),
        1 => prop_oneof![Just("1700000000"), Just("{}"), Just("true")]
            .prop_map(|j| Some(bad(j.to_owned(), InvalidType))),
    ]
}

fn source() -> impl Strategy<Value = Option<Field>> {
    use DlqReason::*;
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(ok("null".to_owned()))),
        3 => "[ -~\u{e9}\u{2713}\u{1F600}]{0,128}".prop_map(|s| Some(ok(text(&s)))),
        1 => "[a-z\u{e9}]{129,150}".prop_map(|s| Some(bad(text(&s), InvalidValue))),
        1 => "[a-z]{0,5}".prop_map(|s| Some(bad(text(&format!("{s}\0{s}")), InvalidValue))),
        1 => Just(Some(bad("42".to_owned(), InvalidType))),
    ]
}

fn partition_key() -> impl Strategy<Value = Option<Field>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(ok("null".to_owned()))),
        2 => "[ -~]{0,40}".prop_map(|s| Some(ok(text(&s)))),
        1 => prop_oneof![Just("1"), Just("{}"), Just("[]")]
            .prop_map(|j| Some(bad(j.to_owned(), DlqReason::InvalidType))),
    ]
}

/// A generated body and what the rules say about it.
#[derive(Debug, Clone)]
struct Body {
    json: String,
    /// (path, reason) of every failing field, in the validator's check order.
    errors: Vec<(&'static str, DlqReason)>,
    /// A top-level key appears twice: the body cannot be read as one event.
    duplicated: bool,
}

fn body() -> impl Strategy<Value = Body> {
    (
        event_type(),
        payload(),
        occurred_at(),
        source(),
        partition_key(),
        prop::collection::btree_map("x_[a-z]{1,6}", json_value(), 0..3),
        any::<bool>(),
        prop::sample::select(vec![false, false, false, true]),
    )
        .prop_map(|(et, pl, oa, src, pk, extra, reverse, duplicated)| {
            let named = [
                ("event_type", "/event_type", et, DlqReason::MissingField),
                ("payload", "/payload", pl, DlqReason::MissingField),
                ("occurred_at", "/occurred_at", oa, DlqReason::InvalidValue),
                ("source", "/source", src, DlqReason::InvalidValue),
                (
                    "partition_key",
                    "/partition_key",
                    pk,
                    DlqReason::InvalidValue,
                ),
            ];
            let mut members = Vec::new();
            let mut errors = Vec::new();
            for (name, path, field, missing) in named {
                match field {
                    Some(f) => {
                        members.push(format!("{}:{}", text(name), f.json));
                        if let Some(reason) = f.error {
                            errors.push((path, reason));
                        }
                    }
                    // only event_type and payload are required
                    None if missing == DlqReason::MissingField => errors.push((path, missing)),
                    None => {}
                }
            }
            for (k, v) in extra {
                members.push(format!("{}:{v}", text(&k)));
            }
            if reverse {
                members.reverse();
            }
            let duplicated = duplicated && !members.is_empty();
            if duplicated {
                let first = members[0].clone();
                let is_named = [
                    "event_type",
                    "payload",
                    "occurred_at",
                    "source",
                    "partition_key",
                ]
                .iter()
                .any(|n| first.starts_with(&text(n)));
                if is_named {
                    members.push(first);
                } else {
                    // a repeated unknown key is harmless; say so by not calling it duplicated
                    return Body {
                        json: format!("{{{}}}", members.join(",")),
                        errors,
                        duplicated: false,
                    };
                }
            }
            Body {
                json: format!("{{{}}}", members.join(",")),
                errors,
                duplicated,
            }
        })
}

/// An envelope around `body` as ingest writes it, with a NUL byte in the middle if `nul`.
fn envelope_bytes(body: &str, nul: bool) -> Vec<u8> {
    let env = format!(
        r#"{{"event_id":"{}","tenant_id":"{}","received_at":"2026-11-27T08:00:00Z","idempotency_key":null,"body":{body}}}"#,
        Uuid::now_v7(),
        Uuid::now_v7()
    );
    let mut bytes = env.into_bytes();
    if nul {
        bytes.insert(bytes.len() / 2, 0);
    }
    bytes
}

fn received() -> DateTime<Utc> {
    "2026-11-27T08:00:00Z".parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The validator agrees with the model: valid exactly when no rule fails, the first reason
    /// is the first failing field's, and the paths are exactly the failing fields'.
    #[test]
    fn the_validator_agrees_with_the_rules(b in body()) {
        let raw: &RawValue = serde_json::from_str(&b.json).expect("generated bodies are JSON");
        let result = validate::validate(raw, received());
        if b.duplicated {
            let err = result.expect_err("a duplicated field is refused");
            prop_assert_eq!(err.errors.len(), 1);
            prop_assert_eq!(err.errors[0].1.path.as_str(), "");
            return Ok(());
        }
        match result {
            Ok(v) => {
                prop_assert!(b.errors.is_empty(), "accepted but expected {:?}: {}", b.errors, b.json);
                prop_assert!((1..=128).contains(&v.event_type.len()));
                prop_assert!(v.payload.get().starts_with('{'), "payload {}", v.payload.get());
                prop_assert!(!has_nul_escape(v.payload.get()), "payload {}", v.payload.get());
                prop_assert!(v.occurred_at <= received() + validate::MAX_FUTURE);
                prop_assert!(
                    v.source.as_ref().is_none_or(|s| s.chars().count() <= 128 && !s.contains('\0')),
                    "source {:?}",
                    v.source
                );
            }
            Err(invalid) => {
                let got: Vec<(&str, DlqReason)> = invalid
                    .errors
                    .iter()
                    .map(|(r, e)| (e.path.as_str(), *r))
                    .collect();
                prop_assert_eq!(&got, &b.errors, "body {}", b.json);
                prop_assert_eq!(invalid.reason(), b.errors[0].1);
                prop_assert!(invalid.errors.iter().all(|(_, e)| !e.message.is_empty()));
            }
        }
    }

    /// Whatever bytes a record holds, decoding it as an envelope and validating what decodes
    /// never panics, and every error names a JSON pointer.
    #[test]
    fn any_bytes_decode_or_fail_cleanly(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        "[ -~]{0,300}".prop_map(String::into_bytes),
        (body(), any::<bool>()).prop_map(|(b, nul)| envelope_bytes(&b.json, nul)),
    ]) {
        if let Ok(env) = serde_json::from_slice::<EventEnvelope<&RawValue>>(&bytes) {
            match validate::validate(env.body, env.received_at) {
                Ok(_) => {}
                Err(invalid) => {
                    prop_assert!(!invalid.errors.is_empty());
                    for (_, e) in &invalid.errors {
                        prop_assert!(e.path.is_empty() || e.path.starts_with('/'), "{}", e.path);
                    }
                }
            }
        }
        // a dead letter's body can always be stored: JSON PostgreSQL accepts (no NUL anywhere)
        let stored = body_for_dlq(&bytes).to_string();
        prop_assert!(!stored.contains('\0'), "{}", stored);
        prop_assert!(!has_nul_escape(&stored), "{}", stored);
    }

    /// What ingest writes, the processor reads back unchanged.
    #[test]
    fn envelopes_round_trip(b in body(), key in proptest::option::of("[!-~]{1,255}")) {
        let raw: &RawValue = serde_json::from_str(&b.json).unwrap();
        let written = EventEnvelope {
            event_id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            received_at: Utc::now(),
            idempotency_key: key.clone(),
            body: raw,
        };
        let bytes = serde_json::to_vec(&written).unwrap();
        let read: EventEnvelope<&RawValue> = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(read.event_id, written.event_id);
        prop_assert_eq!(read.tenant_id, written.tenant_id);
        prop_assert_eq!(read.received_at, written.received_at);
        prop_assert_eq!(read.idempotency_key, key);
        prop_assert_eq!(read.body.get(), b.json.as_str());
    }
}
