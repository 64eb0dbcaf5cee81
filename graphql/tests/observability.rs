//! The API's own telemetry: RED metrics per operation on `/metrics` and one SERVER span per
//! operation in Jaeger, named after it, without the document or the variables. Its own test
//! binary, so telemetry is installed before any instrument is created.

mod api_support;

use std::time::Duration;

use api_support::{Api, As};
use pulse_core::testkit;
use serde_json::{Value, json};

#[tokio::test]
async fn operations_get_a_named_server_span_and_red_metrics() {
    testkit::telemetry();
    let api = Api::start().await;
    let secret_marker = testkit::unique("var-");
    api.ok(
        &As::Admin,
        "query PulseVersion($x: String!) { version eventsByIdempotencyKey(key: $x) { eventId } }",
        json!({ "x": secret_marker }),
    )
    .await;
    let code = api
        .error_code(&As::Nobody, "query Forbidden { tenants { id } }", json!({}))
        .await;
    assert_eq!(code, "UNAUTHENTICATED");

    let metrics = testkit::get_text(&api.url("/metrics")).await;
    let counter = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with("pulse_graphql_operations") && l.contains(name))
            .unwrap_or_else(|| panic!("no counter for {name} in\n{metrics}"))
            .to_owned()
    };
    let ok = counter("PulseVersion");
    assert!(ok.contains("graphql_operation_type=\"query\""), "{ok}");
    assert!(ok.contains("pulse_outcome=\"ok\""), "{ok}");
    assert!(counter("Forbidden").contains("pulse_outcome=\"UNAUTHENTICATED\""));
    assert!(metrics.contains("pulse_graphql_operation_duration_seconds_bucket"));

    // the span reaches Jaeger with the operation's name and type, never its variables
    testkit::telemetry().flush();
    let jaeger = "http://127.0.0.1:16686/api/traces?service=pulse-test&operation=query%20PulseVersion&limit=20&lookback=1h";
    let span = testkit::eventually(
        "the operation span in Jaeger",
        Duration::from_secs(30),
        || async {
            testkit::telemetry().flush();
            let body: Value = reqwest::get(jaeger).await.ok()?.json().await.ok()?;
            body["data"]
                .as_array()?
                .iter()
                .flat_map(|t| t["spans"].as_array().cloned().unwrap_or_default())
                .find(|s| s["operationName"] == "query PulseVersion")
        },
    )
    .await;
    let tags = span["tags"].as_array().unwrap();
    let tag = |key: &str| {
        tags.iter()
            .find(|t| t["key"] == key)
            .map(|t| t["value"].clone())
    };
    assert_eq!(tag("graphql.operation.type"), Some(json!("query")));
    assert_eq!(tag("graphql.operation.name"), Some(json!("PulseVersion")));
    assert_eq!(tag("span.kind"), Some(json!("server")));
    assert!(
        !span.to_string().contains(&secret_marker),
        "variables leaked into the span"
    );
    assert!(
        !span.to_string().contains("eventsByIdempotencyKey"),
        "the document leaked into the span"
    );
    api.stop().await;
}
