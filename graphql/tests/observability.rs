//! The API's own telemetry: RED metrics per operation on `/metrics` and one SERVER span per
//! operation in Jaeger, named after it, without the document or the variables. Its own test
//! binary, so telemetry is installed before any instrument is created.

mod api_support;
mod live_support;

use std::time::Duration;

use api_support::{ADMIN_TOKEN, Api, As};
use live_support::{LEGACY_WS, TRANSPORT_WS, Ws};
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

    // Event.trace reads that trace back from Jaeger: the operation and its database CLIENT span
    let trace_id = span["traceID"].as_str().unwrap().to_owned();
    let (tenant, _) = api.tenant().await;
    let event_id = api
        .insert_event(tenant.id, "order.created", chrono::Utc::now(), None)
        .await;
    sqlx::query("update events set trace_id = $1 where event_id = $2")
        .bind(&trace_id)
        .bind(event_id)
        .execute(&api.db.pool)
        .await
        .unwrap();
    let query = "query($e: UUID!) { event(eventId: $e) { trace { traceId url spans { name service kind parentSpanId } } } }";
    let trace = api.ok(&As::Admin, query, json!({ "e": event_id })).await["event"]["trace"].clone();
    assert_eq!(trace["traceId"], trace_id);
    let spans = trace["spans"].as_array().unwrap();
    let find = |name: &str| spans.iter().find(|s| s["name"] == name).cloned();
    let operation = find("query PulseVersion").expect("the operation span");
    assert_eq!(operation["kind"], "server");
    let select = find("SELECT events").expect("a CLIENT span for the query");
    assert_eq!(select["kind"], "client");
    assert_eq!(select["service"], "pulse-test");

    // a replay started here publishes with the operation's trace context
    let dead = api
        .insert_dead_letter(
            tenant.id,
            "missing_field",
            "/event_type",
            json!({"payload": {}}),
        )
        .await;
    let replay = "mutation($ids: [UUID!]) { replayDeadLetters(ids: $ids) { replayed } }";
    api.ok(&As::Admin, replay, json!({ "ids": [dead] })).await;
    let audit_trace: String =
        sqlx::query_scalar("select trace_id from audit_log where action = 'replayDeadLetters'")
            .fetch_one(&api.db.pool)
            .await
            .unwrap();
    let records = testkit::read_topic(&api.raw_topic).await;
    let traceparent = {
        use rdkafka::message::{Headers as _, Message as _};
        let headers = records[0].headers().unwrap();
        let header = headers.iter().find(|h| h.key == "traceparent").unwrap();
        String::from_utf8(header.value.unwrap().to_vec()).unwrap()
    };
    assert_eq!(traceparent.split('-').nth(1), Some(audit_trace.as_str()));
    api.stop().await;
}

/// Queries over a WebSocket (both subprotocols) are observed like HTTP ones: counted under their
/// name and outcome, and their errors carry a code.
#[tokio::test]
async fn websocket_operations_are_counted_and_their_errors_coded() {
    testkit::telemetry();
    let api = Api::start().await;
    let mut names = Vec::new();
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let tag = if protocol == LEGACY_WS {
            "Legacy"
        } else {
            "Transport"
        };
        let mut ws = Ws::connect(api.addr(), protocol).await;
        ws.init_ok(json!({ "Authorization": format!("Bearer {ADMIN_TOKEN}") }))
            .await;
        let (ok_name, bad_name) = (format!("WsVersion{tag}"), format!("WsBadWindow{tag}"));
        ws.subscribe("ok", &format!("query {ok_name} {{ version }}"), json!({}))
            .await;
        let ok = ws.next_result("ok").await;
        assert!(ok["data"]["version"].is_string(), "{protocol}: {ok}");
        let bad_query = format!("query {bad_name} {{ stats(window: 5) {{ received }} }}");
        ws.subscribe("bad", &bad_query, json!({})).await;
        let bad = ws.next_result("bad").await;
        assert_eq!(
            bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{protocol}: {bad}"
        );
        names.push((ok_name, "ok"));
        names.push((bad_name, "BAD_USER_INPUT"));
    }
    // an operation is counted when its stream ends, just after its last answer was sent
    for (name, outcome) in names {
        let line = testkit::eventually(
            "the WebSocket operation's counter",
            Duration::from_secs(10),
            || async {
                let metrics = testkit::get_text(&api.url("/metrics")).await;
                metrics
                    .lines()
                    .find(|l| {
                        l.starts_with("pulse_graphql_operations")
                            && l.contains(&format!("graphql_operation_name=\"{name}\""))
                    })
                    .map(str::to_owned)
            },
        )
        .await;
        assert!(
            line.contains(&format!("pulse_outcome=\"{outcome}\"")),
            "{line}"
        );
        assert!(line.ends_with(" 1"), "counted once: {line}");
    }
    api.stop().await;
}
