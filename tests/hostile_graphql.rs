//! Abuse of the GraphQL API, over HTTP and WebSocket, against the real service on port 0: depth
//! and alias bombs, a huge document, batched operations, fragment cycles, an introspection
//! flood, deeply nested variables; sockets that never send `connection_init` (one and two
//! hundred), thousands of subscriptions on one connection, an oversized frame. Each gets a clear
//! error (JSON with an `extensions.code`, or a WebSocket close code), never a 5xx or a hang, and
//! the service answers normally afterwards.

#[path = "../graphql/tests/live_support/mod.rs"]
mod live_support;

use std::time::{Duration, Instant};

use live_support::{ADMIN_TOKEN, Said, Service, TRANSPORT_WS, Topics};
use pulse_core::testkit::TestDb;
use serde_json::{Value, json};

async fn start(tweak: impl FnOnce(&mut pulse_graphql::Config)) -> (TestDb, Topics, Service) {
    let db = TestDb::new().await;
    let topics = Topics::new().await;
    let service = Service::start(&db, &topics, tweak).await;
    (db, topics, service)
}

/// POSTs `body` as the admin; (status, JSON body).
async fn post(service: &Service, body: String) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/graphql", service.addr))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the service answers");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: the body is not JSON ({e}): {text:.300}"));
    (status, value)
}

fn query(q: &str) -> String {
    json!({ "query": q }).to_string()
}

fn first_code(v: &Value) -> String {
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with a code: {v:.500}"))
        .to_owned()
}

/// The service still answers a plain query quickly.
async fn healthy(service: &Service) {
    let started = Instant::now();
    let (status, v) = post(service, query("{ version }")).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["data"]["version"].is_string(), "{v}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A full introspection, with type references three levels deep (graphql-js' standard
/// `getIntrospectionQuery()` goes seven deep; the depth limit, 16, admits both).
const INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } \
    mutationType { name } subscriptionType { name } types { ...FullType } directives { name \
    description locations args { ...InputValue } } } } fragment FullType on __Type { kind name \
    description fields(includeDeprecated: true) { name description args { ...InputValue } type { \
    ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { \
    ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated \
    deprecationReason } possibleTypes { ...TypeRef } } fragment InputValue on __InputValue { name \
    description type { ...TypeRef } defaultValue } fragment TypeRef on __Type { kind name ofType { \
    kind name ofType { kind name ofType { kind name } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_abuse_gets_coded_errors_and_no_5xx() {
    let (_db, _topics, service) = start(|_| {}).await;

    // a depth bomb through introspection's self-referencing types
    let mut deep = String::from("name");
    for _ in 0..30 {
        deep = format!("fields {{ type {{ {deep} }} }}");
    }
    let (status, v) = post(
        &service,
        query(&format!("{{ __schema {{ types {{ {deep} }} }} }}")),
    )
    .await;
    assert!(status < 500, "depth bomb: {status}");
    assert_eq!(first_code(&v), "BAD_USER_INPUT", "depth bomb");
    assert!(v["data"].is_null(), "nothing executed: {v:.300}");

    // an alias bomb: thousands of aliases of a list field
    let aliases: String = (0..2400)
        .map(|i| format!("a{i}: tenants {{ id name }} "))
        .collect();
    let (status, v) = post(&service, query(&format!("{{ {aliases} }}"))).await;
    assert!(status < 500, "alias bomb: {status}");
    assert_eq!(first_code(&v), "BAD_USER_INPUT", "alias bomb");

    // a huge document
    let huge = format!("{{ version {} }}", "__typename ".repeat(100_000));
    let (status, v) = post(&service, query(&huge)).await;
    assert_eq!(status, 413, "huge document");
    assert_eq!(first_code(&v), "BAD_USER_INPUT");

    // batched operations
    let batch = json!([{ "query": "{ version }" }, { "query": "{ version }" }]).to_string();
    let (status, v) = post(&service, batch).await;
    assert_eq!(status, 400, "batch");
    assert_eq!(first_code(&v), "BAD_USER_INPUT");

    // fragment cycles
    let cycle = "query { ...A } fragment A on Query { version ...B } fragment B on Query { ...A }";
    let (status, v) = post(&service, query(cycle)).await;
    assert!(status < 500, "fragment cycle: {status}");
    assert_eq!(first_code(&v), "BAD_USER_INPUT", "fragment cycle");

    // variables nested 10,000 deep
    let nested = format!(
        r#"{{"query":"query($v: JSON) {{ version }}","variables":{{"v":{}1{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (status, v) = post(&service, nested).await;
    assert_eq!(status, 400, "deep variables");
    assert_eq!(first_code(&v), "BAD_USER_INPUT");

    // bodies that are not JSON: 400; JSON that is no operation: a GraphQL error
    for body in ["{\"query\": ", "[1,2,3", "\u{0}\u{1}"] {
        let (status, v) = post(&service, body.to_owned()).await;
        assert_eq!(status, 400, "{body:?}");
        assert_eq!(first_code(&v), "BAD_USER_INPUT");
    }
    let (status, v) = post(&service, r#"{"nope": 1}"#.to_owned()).await;
    assert!(status < 500, "no operation: {status}");
    assert_eq!(first_code(&v), "BAD_USER_INPUT", "no operation");

    // an introspection flood: forty full introspections at once
    let started = Instant::now();
    let answers =
        futures::future::join_all((0..40).map(|_| post(&service, query(INTROSPECTION)))).await;
    for (status, v) in &answers {
        assert_eq!(*status, 200);
        assert!(v["data"]["__schema"]["types"].is_array(), "{v:.300}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "forty introspections took {:?}",
        started.elapsed()
    );
    healthy(&service).await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_floods_are_closed_or_refused_and_the_service_stays_healthy() {
    let (_db, _topics, service) = start(|c| {
        c.live.ws.init_timeout = Duration::from_millis(500);
        c.live.ws.max_subscriptions = 100;
    })
    .await;

    // one socket that never says connection_init
    let mut silent = service.ws(TRANSPORT_WS).await;
    assert_eq!(
        silent.close_code().await,
        Some(4408),
        "closed at the init deadline"
    );

    // two hundred of them at once
    let sockets = futures::future::join_all((0..200).map(|_| service.ws(TRANSPORT_WS))).await;
    let codes = futures::future::join_all(
        sockets
            .into_iter()
            .map(|mut ws| async move { ws.close_code().await }),
    )
    .await;
    assert!(
        codes.iter().all(|c| *c == Some(4408)),
        "every silent socket closed with 4408: {codes:?}"
    );
    healthy(&service).await;

    // three thousand subscriptions on one connection: the first hundred run, the rest are refused
    let mut ws = service.ws(TRANSPORT_WS).await;
    ws.init_ok(json!({ "Authorization": format!("Bearer {ADMIN_TOKEN}") }))
        .await;
    for i in 0..3000 {
        ws.subscribe(
            &i.to_string(),
            "subscription { events { eventId } }",
            json!({}),
        )
        .await;
    }
    let mut refused = 0;
    while refused < 2900 {
        match ws.said().await {
            Said::Json(m) => {
                let errors = match m["type"].as_str() {
                    Some("error") => m["payload"].clone(),
                    Some("next") => m["payload"]["errors"].clone(),
                    _ => continue,
                };
                assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{m}");
                refused += 1;
            }
            Said::Closed(code) => panic!("closed ({code:?}) instead of refusing subscriptions"),
        }
    }
    healthy(&service).await;

    // an oversized frame ends that connection, not the service
    let mut big = service.ws(TRANSPORT_WS).await;
    big.init_ok(json!({ "Authorization": format!("Bearer {ADMIN_TOKEN}") }))
        .await;
    big.send(json!({"type": "subscribe", "id": "x", "payload": {"query": "x".repeat(1 << 20)}}))
        .await;
    let code = big.close_code().await;
    assert!(
        code.is_none_or(|c| c == 1009 || (4400..4500).contains(&c)),
        "closed for its size: {code:?}"
    );
    healthy(&service).await;
    service.stop().await;
}
