//! GraphQL over HTTP as the specification asks (methods, media types, status codes, limits) and
//! the console's static files (cache headers, SPA fallback, the offline GraphiQL page).

mod api_support;

use api_support::{ADMIN_TOKEN, Api};
use serde_json::{Value, json};

const GQL_RESPONSE: &str = "application/graphql-response+json";

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn graphql_over_http_status_codes_and_media_types() {
    let api = Api::start().await;
    let url = api.url("/graphql");
    let post = |accept: Option<&str>, body: String| {
        let mut r = api
            .http
            .post(&url)
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(body);
        if let Some(a) = accept {
            r = r.header("accept", a);
        }
        r.send()
    };
    let query = json!({ "query": "{ version }" }).to_string();

    // no Accept, */*, application/json: application/json
    for accept in [None, Some("*/*"), Some("application/json")] {
        let r = post(accept, query.clone()).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            content_type(&r).starts_with("application/json"),
            "{accept:?}"
        );
    }
    // graphql-response+json when preferred
    let r = post(
        Some("application/graphql-response+json, application/json;q=0.9"),
        query.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert!(content_type(&r).starts_with(GQL_RESPONSE));
    // nothing acceptable: 406
    let r = post(Some("text/plain"), query.clone()).await.unwrap();
    assert_eq!(r.status(), 406);

    // a document that does not parse or validate: 400 under graphql-response+json (no data),
    // 200 under application/json
    for bad in ["{ version", "{ noSuchField }"] {
        let body = json!({ "query": bad }).to_string();
        let r = post(Some(GQL_RESPONSE), body.clone()).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert!(v.get("data").is_none(), "{v}");
        assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        let r = post(Some("application/json"), body).await.unwrap();
        assert_eq!(r.status(), 200, "{bad}");
    }
    // a field error is still 200 with graphql-response+json (the response has data)
    let r = post(
        Some(GQL_RESPONSE),
        json!({ "query": "{ version event(eventId: \"0199a3b0-0000-7000-8000-000000000000\") { eventId } }" }).to_string(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // not JSON, a batch, an unsupported content type, a body over 64 KiB
    assert_eq!(post(None, "{nope".into()).await.unwrap().status(), 400);
    let batch = json!([{ "query": "{ version }" }, { "query": "{ version }" }]).to_string();
    assert_eq!(post(None, batch).await.unwrap().status(), 400);
    let r = api
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body(query.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let huge = json!({ "query": format!("{{ version }} #{}", "x".repeat(70 * 1024)) }).to_string();
    let r = post(None, huge).await.unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert!(v["errors"][0]["message"].is_string());

    // GET: queries only; a mutation is 405 with Allow
    let r = api
        .http
        .get(
            reqwest::Url::parse_with_params(
                &url,
                [("query", "query V { version }"), ("operationName", "V")],
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"]["version"], env!("CARGO_PKG_VERSION"));
    let r = api
        .http
        .get(
            reqwest::Url::parse_with_params(
                &url,
                [("query", "mutation { disableTenant(tenantId: \"0199a3b0-0000-7000-8000-000000000000\") { id } }")],
            )
            .unwrap(),
        )
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers()["allow"].to_str().unwrap().contains("POST"));
    let r = api.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 400, "GET without a query");
    // other methods
    assert_eq!(api.http.put(&url).send().await.unwrap().status(), 405);
    // GraphiQL's introspection (graphql-js: args → type → up to nine nested ofType) fits
    let standard = format!(
        "{{ __schema {{ types {{ fields {{ args {{ type {{ {} kind {} }} }} }} }} }} }}",
        "ofType { ".repeat(9),
        "} ".repeat(9)
    );
    let r = post(None, json!({ "query": standard }).to_string())
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(
        v.get("errors").is_none(),
        "standard introspection refused: {v:.300}"
    );
    // depth limit (16): eighteen levels of introspection
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(14),
        "} ".repeat(14)
    );
    let r = post(None, json!({ "query": deep }).to_string())
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{v}"
    );
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("deep"),
        "{v}"
    );
    // complexity: a page counts its fields once per row asked for
    let page = "events(first: 500) { nodes { eventId tenantId eventType source receivedAt occurredAt status kafkaOffset traceId payload } }";
    let one = json!({ "query": format!("{{ {page} }}") }).to_string();
    let r = post(None, one).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(v.get("errors").is_none(), "{v}");
    let five = (0..5)
        .map(|i| format!("a{i}: {page}"))
        .collect::<Vec<_>>()
        .join(" ");
    let r = post(
        None,
        json!({ "query": format!("{{ {five} }}") }).to_string(),
    )
    .await
    .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{v}"
    );
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("complex"),
        "{v}"
    );
    api.stop().await;
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let query = "{ __schema { queryType { name } } }";
    let api = Api::start().await;
    let on = api.ok(&api_support::As::Admin, query, json!({})).await;
    assert_eq!(on["__schema"]["queryType"]["name"], "Query");
    api.stop().await;
    let api = Api::start_with(|c| c.introspection = false).await;
    let (_, off) = api.call(&api_support::As::Admin, query, json!({})).await;
    assert_eq!(off["data"]["__schema"], Value::Null, "{off}");
    api.stop().await;
}

#[tokio::test]
async fn console_files_graphiql_and_spa_fallback() {
    let dir = std::env::temp_dir().join(pulse_core::testkit::unique("console-"));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><div id=root>console</div>",
    )
    .unwrap();
    std::fs::write(dir.join("graphiql.html"), "<!doctype html>offline graphiql").unwrap();
    std::fs::write(dir.join("assets/app-1234.js"), "console.log(1)").unwrap();
    let console = pulse_graphql::console::ConsoleDir(Some(dir.clone()));
    let api = Api::start_with(|c| c.console = console).await;

    let get =
        |path: &str, accept: &str| api.http.get(api.url(path)).header("accept", accept).send();
    let r = get("/", "text/html").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert!(r.text().await.unwrap().contains("console"));
    let r = get("/assets/app-1234.js", "*/*").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(content_type(&r).starts_with("text/javascript"));
    assert_eq!(
        get("/assets/missing.js", "*/*").await.unwrap().status(),
        404
    );
    // a client-side route gets the app shell
    let r = get("/dead-letters/abc", "text/html").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("console"));
    assert_eq!(
        get("/../../etc/passwd", "*/*").await.unwrap().status(),
        200,
        "traversal falls back to the shell"
    );
    // a browser on /graphql gets the offline GraphiQL build
    let r = get("/graphql", "text/html,application/xhtml+xml,*/*;q=0.8")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("offline graphiql"));
    api.stop().await;

    // not built: placeholders that say how to build, and no CDN
    let empty = std::env::temp_dir().join(pulse_core::testkit::unique("console-empty-"));
    std::fs::create_dir_all(&empty).unwrap();
    let api =
        Api::start_with(|c| c.console = pulse_graphql::console::ConsoleDir(Some(empty.clone())))
            .await;
    for path in ["/", "/graphql"] {
        let r = api
            .http
            .get(api.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains("make console"), "{page}");
        assert!(!page.contains("cdn") && !page.contains("unpkg"), "{page}");
    }
    api.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(empty).unwrap();
}
