//! Throws random bodies, headers and keys at a real ingest: whatever comes in, the answer is never
//! a 500 and never a dropped connection, and every error is JSON.

mod common;

use std::sync::OnceLock;

use common::{Harness, Ingest};
use proptest::prelude::*;

struct World {
    runtime: tokio::runtime::Runtime,
    ingest: Ingest,
    key: String,
    http: reqwest::Client,
    _harness: Harness,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (harness, ingest, key) = runtime.block_on(async {
            let h = Harness::new().await;
            let ingest = h.start(h.config()).await;
            let (_, key) = h.tenant(1_000_000).await;
            (h, ingest, key.expose().to_owned())
        });
        World {
            http: harness.http.clone(),
            runtime,
            ingest,
            key,
            _harness: harness,
        }
    })
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,40}",
        "[a-zA-Z0-9/;=+ -]{0,20}",
        Just("application/json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        "[ -~]{0,300}".prop_map(String::into_bytes),
        Just(br#"{"event_type":"a","payload":{}}"#.to_vec()),
        Just(br#"{"events":[{"event_type":"a","payload":{}},1,null,"x"]}"#.to_vec()),
        "\\{\"[a-z_]{1,12}\":[0-9a-z\"\\[\\]{},:]{0,80}\\}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_input_causes_a_server_error(
        path in prop_oneof![Just("/events"), Just("/events/batch"), Just("/events/x"), Just("/")],
        content_type in header_value(),
        idempotency_key in proptest::option::of("[\\x00-\\x7f]{0,300}"),
        api_key in prop_oneof![Just(None), Just(Some(String::new())), Just(Some("valid".to_owned())), "[ -~]{0,80}".prop_map(Some)],
        body in body(),
    ) {
        let w = world();
        let mut req = w.http.post(w.ingest.url(path)).header("content-type", content_type).body(body);
        if let Some(k) = api_key {
            let k = if k == "valid" { w.key.clone() } else { k };
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&k) {
                req = req.header("x-api-key", v);
            }
        }
        if let Some(k) = idempotency_key
            && let Ok(v) = reqwest::header::HeaderValue::from_str(&k)
        {
            req = req.header("idempotency-key", v);
        }
        let (status, text) = w.runtime.block_on(async {
            let r = req.send().await.expect("the server answers");
            let s = r.status().as_u16();
            (s, r.text().await.unwrap_or_default())
        });
        prop_assert!(status < 500 || status == 503, "status {} body {}", status, text);
        if status >= 400 {
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
            prop_assert!(v["error"].is_string(), "{}", text);
        }
    }
}
