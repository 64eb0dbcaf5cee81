//! The request bodies each kind sends: valid orders of a chosen size, events missing
//! `event_type`, bodies that are not JSON, and batches.

use std::fmt::Write as _;

use rand::Rng;

/// The `event_type` of every valid load-test event.
pub const EVENT_TYPE: &str = "loadtest.order";
/// The `source` of every load-test event.
pub const SOURCE: &str = "loadtest";
/// A body that starts like an event and stops mid-object: not JSON, so ingest answers 400.
pub const MALFORMED: &str = r#"{"event_type":"loadtest.order","payload":{"order_id":"#;

/// A plausible order payload padded to about `bytes` bytes of JSON, appended to `out`.
///
/// Written as JSON text directly rather than built as a `serde_json::Value` and serialized
/// (twice, to measure it before padding): that was a sixth of the generator's CPU per request in
/// `perf`, time it could not spend sending. Every value written is a number or an ASCII string
/// with nothing to escape.
pub fn write_order_payload(out: &mut String, bytes: usize) {
    let mut rng = rand::rng();
    let start = out.len();
    let _ = write!(
        out,
        r#"{{"currency":"EUR","customer_id":"cus-{:06}","items":["#,
        rng.random_range(0..1_000_000)
    );
    for line in 0..rng.random_range(1..=4) {
        if line > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"line":{line},"quantity":{},"sku":"sku-{:05}","unit_price_cents":{}}}"#,
            rng.random_range(1..=5),
            rng.random_range(0..100_000),
            rng.random_range(99..=19_999),
        );
    }
    let _ = write!(
        out,
        r#"],"order_id":"ord-{:012x}","total_cents":{}"#,
        rng.random::<u64>() >> 16,
        rng.random_range(100..=500_000),
    );
    // the closing brace, then `,"note":""` cost 11 bytes before the padding itself
    let pad = bytes.saturating_sub(out.len() - start + 11);
    if pad > 0 {
        out.push_str(r#","note":""#);
        out.extend(std::iter::repeat_n('x', pad));
        out.push('"');
    }
    out.push('}');
}

/// [`write_order_payload`] as a string of its own.
pub fn order_payload(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 64);
    write_order_payload(&mut out, bytes);
    out
}

/// `{"event_type"?,"payload","source","idempotency_key"?}`, appended to `out`.
fn write_event(out: &mut String, event_type: bool, key: Option<&str>, payload_bytes: usize) {
    out.push('{');
    if event_type {
        let _ = write!(out, r#""event_type":"{EVENT_TYPE}","#);
    }
    out.push_str(r#""payload":"#);
    write_order_payload(out, payload_bytes);
    let _ = write!(out, r#","source":"{SOURCE}""#);
    if let Some(key) = key {
        // keys come from `idempotency_key`: ASCII letters, digits and dashes
        let _ = write!(out, r#","idempotency_key":"{key}""#);
    }
    out.push('}');
}

/// A valid event: `{"event_type","payload","source"}`.
pub fn valid_event(payload_bytes: usize) -> String {
    let mut out = String::with_capacity(payload_bytes + 128);
    write_event(&mut out, true, None, payload_bytes);
    out
}

/// A JSON object without `event_type`: accepted by ingest, dead-lettered as `missing_field`.
pub fn invalid_event(payload_bytes: usize) -> String {
    let mut out = String::with_capacity(payload_bytes + 128);
    write_event(&mut out, false, None, payload_bytes);
    out
}

/// `{"events":[...]}` of `count` valid events, each with its own `idempotency_key`.
pub fn batch(keys: &[String], payload_bytes: usize) -> String {
    let mut out = String::with_capacity(keys.len() * (payload_bytes + 192) + 16);
    out.push_str(r#"{"events":["#);
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_event(&mut out, true, Some(key), payload_bytes);
    }
    out.push_str("]}");
    out
}

/// A fresh Idempotency-Key, unique across runs so a reused tenant never sees an old key.
pub fn idempotency_key() -> String {
    format!("lt-{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn payload_is_json_of_about_the_asked_size() {
        for bytes in [512, 1024, 4096] {
            let text = order_payload(bytes);
            let payload: Value = serde_json::from_str(&text).unwrap();
            assert!(
                text.len().abs_diff(bytes) <= 2,
                "{} for {bytes}",
                text.len()
            );
            assert!(payload["note"].is_string());
            assert!(payload["items"].as_array().is_some_and(|i| !i.is_empty()));
            assert!(
                payload["order_id"]
                    .as_str()
                    .is_some_and(|o| o.starts_with("ord-"))
            );
        }
        // too small to pad: the order itself, no note
        let small: Value = serde_json::from_str(&order_payload(10)).unwrap();
        assert!(small.get("note").is_none());
        assert!(small["total_cents"].is_u64());
    }

    #[test]
    fn valid_and_invalid_differ_only_in_event_type() {
        let valid: Value = serde_json::from_str(&valid_event(1024)).unwrap();
        assert_eq!(valid["event_type"], EVENT_TYPE);
        assert_eq!(valid["source"], SOURCE);
        assert!(valid["payload"].is_object());
        let invalid: Value = serde_json::from_str(&invalid_event(300)).unwrap();
        assert!(invalid.get("event_type").is_none());
        assert!(invalid["payload"].is_object());
    }

    #[test]
    fn malformed_is_not_json() {
        assert!(serde_json::from_str::<Value>(MALFORMED).is_err());
    }

    #[test]
    fn batch_carries_one_key_per_event() {
        let keys: Vec<String> = (0..3).map(|_| idempotency_key()).collect();
        let body: Value = serde_json::from_str(&batch(&keys, 200)).unwrap();
        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 3);
        for (event, key) in events.iter().zip(&keys) {
            assert_eq!(event["idempotency_key"], key.as_str());
            assert_eq!(event["event_type"], EVENT_TYPE);
        }
        assert_ne!(keys[0], keys[1]);
        assert!(keys[0].len() <= 255 && keys[0].is_ascii());
    }
}
