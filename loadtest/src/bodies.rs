//! The request bodies each kind sends: valid orders of a chosen size, events missing
//! `event_type`, bodies that are not JSON, and batches.

use rand::Rng;
use serde_json::{Value, json};

/// The `event_type` of every valid load-test event.
pub const EVENT_TYPE: &str = "loadtest.order";
/// The `source` of every load-test event.
pub const SOURCE: &str = "loadtest";
/// A body that starts like an event and stops mid-object: not JSON, so ingest answers 400.
pub const MALFORMED: &str = r#"{"event_type":"loadtest.order","payload":{"order_id":"#;

/// A plausible order payload padded to about `bytes` bytes of JSON.
pub fn order_payload(bytes: usize) -> Value {
    let mut rng = rand::rng();
    let items: Vec<Value> = (0..rng.random_range(1..=4))
        .map(|i| {
            json!({
                "sku": format!("sku-{:05}", rng.random_range(0..100_000)),
                "quantity": rng.random_range(1..=5),
                "unit_price_cents": rng.random_range(99..=19_999),
                "line": i,
            })
        })
        .collect();
    let mut payload = json!({
        "order_id": format!("ord-{:012x}", rng.random::<u64>() >> 16),
        "customer_id": format!("cus-{:06}", rng.random_range(0..1_000_000)),
        "currency": "EUR",
        "total_cents": rng.random_range(100..=500_000),
        "items": items,
    });
    let size = payload.to_string().len();
    // `,"note":""` costs 10 bytes before the padding itself
    let pad = bytes.saturating_sub(size + 10);
    if pad > 0 {
        payload["note"] = Value::String("x".repeat(pad));
    }
    payload
}

/// A valid event: `{"event_type","payload","source"}`.
pub fn valid_event(payload_bytes: usize) -> String {
    json!({
        "event_type": EVENT_TYPE,
        "payload": order_payload(payload_bytes),
        "source": SOURCE,
    })
    .to_string()
}

/// A JSON object without `event_type`: accepted by ingest, dead-lettered as `missing_field`.
pub fn invalid_event(payload_bytes: usize) -> String {
    json!({
        "payload": order_payload(payload_bytes),
        "source": SOURCE,
    })
    .to_string()
}

/// `{"events":[...]}` of `count` valid events, each with its own `idempotency_key`.
pub fn batch(keys: &[String], payload_bytes: usize) -> String {
    let events: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({
                "event_type": EVENT_TYPE,
                "payload": order_payload(payload_bytes),
                "source": SOURCE,
                "idempotency_key": key,
            })
        })
        .collect();
    json!({ "events": events }).to_string()
}

/// A fresh Idempotency-Key, unique across runs so a reused tenant never sees an old key.
pub fn idempotency_key() -> String {
    format!("lt-{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_about_the_asked_size() {
        for bytes in [512, 1024, 4096] {
            let len = order_payload(bytes).to_string().len();
            assert!(len.abs_diff(bytes) <= 2, "{len} for {bytes}");
        }
        // too small to pad: the order itself, no note
        assert!(order_payload(10).get("note").is_none());
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
