//! A span exported by the `otel` crate reaches the real Jaeger and can be read back through its
//! query API.

use std::time::Duration;

use opentelemetry::trace::TraceContextExt;
use pulse_core::testkit;
use tracing_opentelemetry::OpenTelemetrySpanExt;

fn jaeger_query() -> String {
    std::env::var("PULSE_JAEGER_QUERY_URL").unwrap_or_else(|_| "http://127.0.0.1:16686".to_owned())
}

#[tokio::test]
async fn exported_span_is_found_in_jaeger() {
    let guard = testkit::telemetry();
    let marker = testkit::unique("foundation-check-");
    let trace_id = {
        let span =
            tracing::info_span!("foundation check", otel.name = %marker, pulse.check = "jaeger");
        let _entered = span.enter();
        tracing::info!("inside the span");
        span.context().span().span_context().trace_id().to_string()
    };
    guard.flush();

    let http = reqwest::Client::new();
    let url = format!("{}/api/traces/{trace_id}", jaeger_query());
    let trace: serde_json::Value =
        testkit::eventually("the span in Jaeger", Duration::from_secs(30), || async {
            let r = http.get(&url).send().await.ok()?;
            if r.status() != 200 {
                return None;
            }
            r.json().await.ok()
        })
        .await;
    let spans = &trace["data"][0]["spans"];
    let names: Vec<&str> = spans
        .as_array()
        .expect("spans")
        .iter()
        .filter_map(|s| s["operationName"].as_str())
        .collect();
    assert_eq!(names, [marker.as_str()]);
    let processes = trace["data"][0]["processes"].to_string();
    assert!(
        processes.contains("pulse-test"),
        "service name missing: {processes}"
    );
}
