//! The admin API against real PostgreSQL and Kafka: every query and mutation, who may see and
//! change what, the audit log, and the API's own observability.
//!
//! (Its size: one file is one test binary, and every binary is another link of the whole
//! dependency tree on CI's two cores; the tests share one harness and read best together.)

mod api_support;

use api_support::{Api, As};
use chrono::{Duration as Span, DurationRound, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn anonymous_callers_get_version_health_and_me_only() {
    let api = Api::start().await;
    let data = api
        .ok(&As::Nobody, "{ version me { role tenantId } health { status components { name status latencyMs } } }", json!({}))
        .await;
    assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(data["me"]["role"], "ANONYMOUS");
    let names: Vec<&str> = data["health"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ingest",
            "processor",
            "graphql",
            "kafka",
            "postgres",
            "redis",
            "jaeger"
        ]
    );
    let component = |name: &str| {
        data["health"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["status"]
            .clone()
    };
    // the test's own database, Redis and Kafka are up
    for up in ["graphql", "postgres", "redis", "kafka"] {
        assert_eq!(component(up), "UP", "{up}: {data}");
    }
    for query in [
        "{ tenants { id } }",
        "{ events { nodes { eventId } } }",
        "{ deadLetters { nodes { eventId } } }",
        "{ deadLetterGroups { count } }",
        "{ stats { received } }",
        "{ auditLog { nodes { id } } }",
        "{ event(eventId: \"0199a3b0-0000-7000-8000-000000000000\") { eventId } }",
        "{ eventsByIdempotencyKey(key: \"k\") { eventId } }",
    ] {
        assert_eq!(
            api.error_code(&As::Nobody, query, json!({})).await,
            "UNAUTHENTICATED",
            "{query}"
        );
    }
    assert_eq!(
        api.error_code(
            &As::Nobody,
            "mutation { createTenant(name: \"x\") { apiKey } }",
            json!({})
        )
        .await,
        "UNAUTHENTICATED"
    );
    // credentials that do not check out are refused outright, not downgraded to anonymous
    let response = api
        .http
        .post(api.url("/graphql"))
        .bearer_auth("not-the-token")
        .json(&json!({ "query": "{ version }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    api.stop().await;
}

#[tokio::test]
async fn tenant_admin_mutations_are_audited_and_keys_never_logged() {
    let api = Api::start().await;
    let admin = As::Admin;
    let created = api
        .ok(
            &admin,
            "mutation($n: String!) { createTenant(name: $n, rateLimitPerMinute: 120, idempotencyTtlSeconds: 60) { apiKey tenant { id name rateLimitPerMinute idempotencyTtlSeconds disabled apiKeyPrefix } } }",
            json!({ "n": "team-gql" }),
        )
        .await["createTenant"]
        .clone();
    let key = created["apiKey"].as_str().unwrap().to_owned();
    let id = created["tenant"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("pk_"));
    assert_eq!(created["tenant"]["rateLimitPerMinute"], 120);
    assert_eq!(created["tenant"]["idempotencyTtlSeconds"], 60);
    assert!(key.starts_with(created["tenant"]["apiKeyPrefix"].as_str().unwrap()));

    // the new key works, sees itself
    let me = api
        .ok(
            &As::Tenant(key.clone()),
            "{ me { role tenantId tenantName } tenants { id } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["role"], "TENANT");
    assert_eq!(me["me"]["tenantName"], "team-gql");
    // the same key as a bearer token
    let bearer = api
        .http
        .post(api.url("/graphql"))
        .bearer_auth(&key)
        .json(&json!({ "query": "{ me { role tenantId } }" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        bearer["data"]["me"],
        json!({ "role": "TENANT", "tenantId": id })
    );
    assert_eq!(me["tenants"], json!([{ "id": id }]));

    let rotated = api
        .ok(
            &admin,
            "mutation($id: UUID!) { rotateApiKey(tenantId: $id) { apiKey } }",
            json!({ "id": id }),
        )
        .await["rotateApiKey"]["apiKey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, key);
    let (status, _) = api
        .call(&As::Tenant(key.clone()), "{ me { role } }", json!({}))
        .await;
    assert_eq!(status, 401, "the rotated-out key stops working");

    let limits = api
        .ok(&admin, "mutation($id: UUID!) { updateTenantLimits(tenantId: $id, rateLimitPerMinute: 5) { rateLimitPerMinute idempotencyTtlSeconds } }", json!({ "id": id }))
        .await;
    assert_eq!(
        limits["updateTenantLimits"],
        json!({ "rateLimitPerMinute": 5, "idempotencyTtlSeconds": 60 })
    );
    let disabled = api
        .ok(
            &admin,
            "mutation($id: UUID!) { disableTenant(tenantId: $id) { disabled disabledAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(disabled["disableTenant"]["disabled"], true);
    let (status, _) = api
        .call(&As::Tenant(rotated.clone()), "{ me { role } }", json!({}))
        .await;
    assert_eq!(status, 401, "a disabled tenant's key authenticates nobody");
    let enabled = api
        .ok(
            &admin,
            "mutation($id: UUID!) { enableTenant(tenantId: $id) { disabled } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(enabled["enableTenant"]["disabled"], false);

    // refusals: bad input, unknown tenant, a duplicate name
    assert_eq!(
        api.error_code(
            &admin,
            "mutation { createTenant(name: \"has space\") { apiKey } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        api.error_code(
            &admin,
            "mutation { createTenant(name: \"team-gql\") { apiKey } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        api.error_code(
            &admin,
            "mutation($id: UUID!) { disableTenant(tenantId: $id) { id } }",
            json!({ "id": Uuid::now_v7() })
        )
        .await,
        "NOT_FOUND"
    );
    // a tenant key cannot mutate, not even itself
    assert_eq!(
        api.error_code(
            &As::Tenant(rotated.clone()),
            "mutation($id: UUID!) { rotateApiKey(tenantId: $id) { apiKey } }",
            json!({ "id": id })
        )
        .await,
        "FORBIDDEN"
    );

    let created_rows = api.audit_rows("createTenant").await;
    assert_eq!(
        created_rows
            .iter()
            .map(|r| r.1.as_str())
            .collect::<Vec<_>>(),
        ["ok", "BAD_USER_INPUT", "BAD_USER_INPUT"]
    );
    assert!(created_rows.iter().all(|r| r.0 == "admin"));
    assert_eq!(created_rows[0].2["name"], "team-gql");
    let rotations = api.audit_rows("rotateApiKey").await;
    assert_eq!(rotations.len(), 2);
    assert_eq!(rotations[1].0, format!("tenant:{id}"));
    assert_eq!(rotations[1].1, "FORBIDDEN");
    for action in ["updateTenantLimits", "disableTenant", "enableTenant"] {
        assert!(!api.audit_rows(action).await.is_empty(), "{action} audited");
    }
    // no key, hash or token anywhere in the audit log
    let dump: String =
        sqlx::query_scalar("select coalesce(string_agg(a::text, ' '), '') from audit_log a")
            .fetch_one(&api.db.pool)
            .await
            .unwrap();
    for secret in [&key, &rotated, &api_support::ADMIN_TOKEN.to_owned()] {
        assert!(!dump.contains(&secret[4..]), "a secret in the audit log");
    }
    // the admin reads the audit log, newest first, with its trace ids
    let log = api
        .ok(&admin, "{ auditLog(first: 3) { nodes { action actor result traceId } pageInfo { hasNextPage endCursor } } }", json!({}))
        .await;
    assert_eq!(log["auditLog"]["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(log["auditLog"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        api.error_code(
            &As::Tenant(rotated),
            "{ auditLog { nodes { id } } }",
            json!({})
        )
        .await,
        "FORBIDDEN"
    );
    api.stop().await;
}

#[tokio::test]
async fn schemas_are_validated_set_listed_and_deleted() {
    let api = Api::start().await;
    let (tenant, key) = api.tenant().await;
    let set = "mutation($t: UUID!, $e: String!, $s: JSON!) { setEventSchema(tenantId: $t, eventType: $e, schema: $s) { tenantId eventType schema updatedAt } }";
    let schema = json!({ "type": "object", "required": ["amount"] });
    let stored = api
        .ok(
            &As::Admin,
            set,
            json!({ "t": tenant.id, "e": "order.paid", "s": schema }),
        )
        .await;
    assert_eq!(stored["setEventSchema"]["schema"], schema);
    assert_eq!(
        api.error_code(
            &As::Admin,
            set,
            json!({ "t": tenant.id, "e": "order.paid", "s": { "type": "nope" } })
        )
        .await,
        "BAD_USER_INPUT"
    );
    // the tenant sees its schemas on its tenant
    let seen = api
        .ok(
            &As::Tenant(key.clone()),
            "{ tenants { schemas { eventType schema } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        seen["tenants"][0]["schemas"],
        json!([{ "eventType": "order.paid", "schema": schema }])
    );
    let delete =
        "mutation($t: UUID!, $e: String!) { deleteEventSchema(tenantId: $t, eventType: $e) }";
    assert_eq!(
        api.ok(
            &As::Admin,
            delete,
            json!({ "t": tenant.id, "e": "order.paid" })
        )
        .await["deleteEventSchema"],
        true
    );
    assert_eq!(
        api.ok(
            &As::Admin,
            delete,
            json!({ "t": tenant.id, "e": "order.paid" })
        )
        .await["deleteEventSchema"],
        false
    );
    assert_eq!(
        api.error_code(
            &As::Tenant(key),
            delete,
            json!({ "t": tenant.id, "e": "x" })
        )
        .await,
        "FORBIDDEN"
    );
    let results: Vec<String> = api
        .audit_rows("setEventSchema")
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(results, ["ok", "BAD_USER_INPUT"]);
    assert_eq!(api.audit_rows("deleteEventSchema").await.len(), 3);
    api.stop().await;
}

#[tokio::test]
async fn events_page_newest_first_and_stay_stable_under_concurrent_inserts() {
    let api = Api::start().await;
    let (tenant, key) = api.tenant().await;
    let (other, _) = api.tenant().await;
    let base = Utc::now() - Span::minutes(30);
    let mut ids = Vec::new();
    for i in 0..25 {
        let ty = if i % 2 == 0 {
            "order.created"
        } else {
            "order.paid"
        };
        ids.push(
            api.insert_event(tenant.id, ty, base + Span::seconds(i), None)
                .await,
        );
    }
    api.insert_event(other.id, "order.created", base, None)
        .await;
    ids.reverse(); // newest first

    let page = "query($after: String, $f: EventFilter) { events(first: 10, after: $after, filter: $f) { edges { cursor node { eventId tenantId status } } nodes { eventId } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let filter = json!({ "tenantId": tenant.id });
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = api
            .ok(&As::Admin, page, json!({ "after": after, "f": filter }))
            .await;
        let conn = &data["events"];
        // rows arriving meanwhile (newer ones) must neither repeat nor shift the pages
        api.insert_event(tenant.id, "order.created", Utc::now(), None)
            .await;
        for node in conn["nodes"].as_array().unwrap() {
            seen.push(node["eventId"].as_str().unwrap().parse::<Uuid>().unwrap());
        }
        assert!(
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["node"]["status"] == "STORED")
        );
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ids, "every event once, newest first");

    // filters: event types and a time range
    let paid = api
        .ok(&As::Admin, page, json!({ "f": { "tenantId": tenant.id, "eventTypes": ["order.paid"], "to": (base + Span::seconds(10)).to_rfc3339() } }))
        .await;
    assert_eq!(paid["events"]["nodes"].as_array().unwrap().len(), 5);
    // a tenant key lists its own events without naming its tenant, and may not name another
    let own = api
        .ok(
            &As::Tenant(key.clone()),
            "{ events(first: 500) { nodes { tenantId } } }",
            json!({}),
        )
        .await;
    assert!(
        own["events"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["tenantId"] == tenant.id.to_string())
    );
    assert_eq!(
        api.error_code(
            &As::Tenant(key),
            page,
            json!({ "f": { "tenantId": other.id } })
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(
        api.error_code(
            &As::Admin,
            "{ events(first: 501) { nodes { eventId } } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        api.error_code(
            &As::Admin,
            "{ events(after: \"zz\") { nodes { eventId } } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
    api.stop().await;
}

#[tokio::test]
async fn an_event_is_found_by_id_and_idempotency_key_with_its_lifecycle() {
    let api = Api::start().await;
    let (tenant, key) = api.tenant().await;
    let (other, other_key) = api.tenant().await;
    let stored = api
        .insert_event(tenant.id, "order.created", Utc::now(), Some("idem-1"))
        .await;
    let dead = api
        .insert_dead_letter(
            tenant.id,
            "missing_field",
            "/payload",
            json!({"event_type": "order.paid"}),
        )
        .await;
    let query = "query($t: UUID, $e: UUID!) { event(tenantId: $t, eventId: $e) { eventId tenantName eventType status kafkaPartition kafkaOffset traceId traceUrl lifecycle { stage at partition offset detail } deadLetter { reason status } } }";
    let data = api.ok(&As::Admin, query, json!({ "e": stored })).await;
    let event = &data["event"];
    assert_eq!(event["status"], "STORED");
    assert_eq!(event["tenantName"], tenant.name);
    assert_eq!(
        event["traceUrl"],
        "http://localhost:16686/trace/0af7651916cd43dd8448eb211c80319c"
    );
    let stages: Vec<&str> = event["lifecycle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["RECEIVED", "PUBLISHED", "STORED"]);
    assert_eq!(event["lifecycle"][1]["offset"], 42);
    assert_eq!(event["deadLetter"], Value::Null);

    let data = api
        .ok(&As::Tenant(key.clone()), query, json!({ "e": dead }))
        .await;
    assert_eq!(data["event"]["status"], "DEAD_LETTERED");
    assert_eq!(data["event"]["eventType"], "order.paid");
    assert_eq!(data["event"]["deadLetter"]["reason"], "MISSING_FIELD");
    let stages: Vec<&str> = data["event"]["lifecycle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["RECEIVED", "PUBLISHED", "DEAD_LETTERED"]);

    // another tenant's key sees nothing of it, whether it names the tenant or not
    assert_eq!(
        api.ok(
            &As::Tenant(other_key.clone()),
            query,
            json!({ "e": stored })
        )
        .await["event"],
        Value::Null
    );
    assert_eq!(
        api.error_code(
            &As::Tenant(other_key.clone()),
            query,
            json!({ "t": tenant.id, "e": stored })
        )
        .await,
        "FORBIDDEN"
    );
    let by_key = "query($k: String!) { eventsByIdempotencyKey(key: $k) { eventId status } }";
    assert_eq!(
        api.ok(&As::Tenant(other_key), by_key, json!({ "k": "idem-1" }))
            .await["eventsByIdempotencyKey"],
        json!([])
    );
    let found = api
        .ok(&As::Tenant(key), by_key, json!({ "k": "idem-1" }))
        .await;
    assert_eq!(
        found["eventsByIdempotencyKey"],
        json!([{ "eventId": stored, "status": "STORED" }])
    );
    let dl = api.ok(&As::Admin, by_key, json!({ "k": "idem-dl" })).await;
    assert_eq!(
        dl["eventsByIdempotencyKey"],
        json!([{ "eventId": dead, "status": "DEAD_LETTERED" }])
    );
    let _ = other;
    api.stop().await;
}

#[tokio::test]
async fn stats_come_from_the_rollup_zero_filled() {
    let api = Api::start().await;
    let (tenant, key) = api.tenant().await;
    let (other, _) = api.tenant().await;
    let minute = Utc::now().duration_trunc(Span::minutes(1)).unwrap();
    for (t, m, ty, shard, stored, dead) in [
        (tenant.id, minute, "order.created", 0, 10, 1),
        (tenant.id, minute, "order.created", 1, 5, 0),
        (tenant.id, minute - Span::minutes(3), "order.paid", 0, 4, 4),
        (
            tenant.id,
            minute - Span::minutes(90),
            "order.paid",
            0,
            100,
            0,
        ),
        (other.id, minute, "order.created", 0, 1000, 0),
    ] {
        sqlx::query("insert into event_counts_minute (tenant_id, minute, event_type, shard, stored, dead_lettered) values ($1, $2, $3, $4, $5, $6)")
            .bind(t).bind(m).bind(ty).bind(shard as i16).bind(stored as i64).bind(dead as i64)
            .execute(&api.db.pool).await.unwrap();
    }
    let query = "query($w: StatsWindow!, $t: UUID) { stats(window: $w, tenantId: $t) { window received stored deadLettered dlqRate series { minute received stored deadLettered } columns { start stepSeconds received stored deadLettered } topEventTypes { eventType count } } }";
    let s = api
        .ok(&As::Admin, query, json!({ "w": "5m", "t": tenant.id }))
        .await["stats"]
        .clone();
    assert_eq!(s["window"], "5m");
    assert_eq!(
        (
            s["received"].as_i64(),
            s["stored"].as_i64(),
            s["deadLettered"].as_i64()
        ),
        (Some(24), Some(19), Some(5))
    );
    assert!((s["dlqRate"].as_f64().unwrap() - 5.0 / 24.0).abs() < 1e-9);
    let series = s["series"].as_array().unwrap();
    assert_eq!(series.len(), 5);
    assert_eq!(series[4]["received"], 16);
    assert_eq!(series[1]["received"], 8);
    assert_eq!(series[0]["received"], 0);
    // the columns are the same series, entry i at start + i minutes
    let columns = &s["columns"];
    assert_eq!(columns["start"], series[0]["minute"]);
    assert_eq!(columns["stepSeconds"], 60);
    for field in ["received", "stored", "deadLettered"] {
        let points: Vec<&Value> = series.iter().map(|p| &p[field]).collect();
        let column: Vec<&Value> = columns[field].as_array().unwrap().iter().collect();
        assert_eq!(column, points, "columns.{field}");
    }
    assert_eq!(columns["stored"][1], 4, "the point three minutes back");
    assert_eq!(
        s["topEventTypes"][0],
        json!({ "eventType": "order.created", "count": 16 })
    );
    let day = api
        .ok(
            &As::Tenant(key.clone()),
            "{ stats(window: \"24h\") { received series { minute } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        day["stats"]["received"], 124,
        "a tenant key reads its own tenant"
    );
    assert_eq!(day["stats"]["series"].as_array().unwrap().len(), 1440);
    let default_window = api
        .ok(
            &As::Admin,
            "{ stats { window series { minute } } }",
            json!({}),
        )
        .await;
    assert_eq!(default_window["stats"]["window"], "1h");
    assert_eq!(
        api.error_code(
            &As::Admin,
            "{ stats(window: \"2h\") { received } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
    // a literal of the wrong kind is the caller's mistake too, not an internal error
    assert_eq!(
        api.error_code(&As::Admin, "{ stats(window: 5) { received } }", json!({}))
            .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        api.error_code(&As::Tenant(key), query, json!({ "w": "1h", "t": other.id }))
            .await,
        "FORBIDDEN"
    );
    api.stop().await;
}

#[tokio::test]
async fn dead_letters_list_group_replay_and_discard() {
    let api = Api::start().await;
    let (tenant, key) = api.tenant().await;
    let (other, other_key) = api.tenant().await;
    let a = api
        .insert_dead_letter(
            tenant.id,
            "missing_field",
            "/event_type",
            json!({"payload": {"x": 1}, "partition_key": "pk-1"}),
        )
        .await;
    let b = api
        .insert_dead_letter(
            tenant.id,
            "missing_field",
            "/event_type",
            json!({"payload": {"x": 2}}),
        )
        .await;
    let c = api
        .insert_dead_letter(
            tenant.id,
            "invalid_type",
            "/payload",
            json!({"event_type": "t", "payload": [1]}),
        )
        .await;
    let foreign = api
        .insert_dead_letter(other.id, "missing_field", "/event_type", json!({}))
        .await;

    let list = "query($f: DeadLetterFilter, $after: String) { deadLetters(filter: $f, first: 2, after: $after) { nodes { eventId reason status errors { path } body } pageInfo { hasNextPage endCursor } } }";
    let first = api.ok(&As::Tenant(key.clone()), list, json!({})).await;
    let nodes = first["deadLetters"]["nodes"].as_array().unwrap();
    assert_eq!(
        nodes
            .iter()
            .map(|n| n["eventId"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        [c.to_string(), b.to_string()]
    );
    let second = api
        .ok(
            &As::Tenant(key.clone()),
            list,
            json!({ "after": first["deadLetters"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(second["deadLetters"]["nodes"][0]["eventId"], a.to_string());
    assert_eq!(second["deadLetters"]["pageInfo"]["hasNextPage"], false);
    let filtered = api
        .ok(
            &As::Admin,
            list,
            json!({ "f": { "reasons": ["INVALID_TYPE"] } }),
        )
        .await;
    assert_eq!(
        filtered["deadLetters"]["nodes"].as_array().unwrap().len(),
        1
    );

    let groups = api
        .ok(
            &As::Tenant(key.clone()),
            "{ deadLetterGroups { reason path count pending sample { eventId } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        groups["deadLetterGroups"][0],
        json!({ "reason": "MISSING_FIELD", "path": "/event_type", "count": 2, "pending": 2, "sample": { "eventId": b } })
    );
    assert_eq!(
        groups["deadLetterGroups"].as_array().unwrap().len(),
        2,
        "the other tenant's group is not visible"
    );

    let replay = "mutation($ids: [UUID!], $f: DeadLetterFilter, $dry: Boolean!, $patch: JSON, $body: JSON) { replayDeadLetters(ids: $ids, filter: $f, dryRun: $dry, patch: $patch, body: $body) { dryRun matched replayed eventIds auditId } }";
    let dry = api
        .ok(
            &As::Admin,
            replay,
            json!({ "f": { "tenantId": tenant.id, "reasons": ["MISSING_FIELD"] }, "dry": true }),
        )
        .await;
    assert_eq!(dry["replayDeadLetters"]["matched"], 2);
    assert_eq!(dry["replayDeadLetters"]["replayed"], 0);
    // a patch adds the missing field to both; each keeps its event id, tenant and partition key
    let done = api
        .ok(&As::Admin, replay, json!({ "f": { "tenantId": tenant.id, "reasons": ["MISSING_FIELD"] }, "dry": false, "patch": { "event_type": "fixed" } }))
        .await;
    assert_eq!(done["replayDeadLetters"]["replayed"], 2);
    assert!(done["replayDeadLetters"]["auditId"].is_string());
    let records = pulse_core::testkit::read_topic(&api.raw_topic).await;
    assert_eq!(records.len(), 2);
    for record in &records {
        use rdkafka::Message as _;
        let value: Value = serde_json::from_slice(record.payload().unwrap()).unwrap();
        assert_eq!(value["tenant_id"], tenant.id.to_string());
        assert_eq!(value["body"]["event_type"], "fixed");
        let id: Uuid = value["event_id"].as_str().unwrap().parse().unwrap();
        assert!(id == a || id == b);
        let key = std::str::from_utf8(record.key().unwrap())
            .unwrap()
            .to_owned();
        assert_eq!(
            key,
            if id == a {
                "pk-1".to_owned()
            } else {
                b.to_string()
            }
        );
    }
    let status: Vec<String> = sqlx::query_scalar(
        "select status from dead_letters where event_id = any($1) order by event_id",
    )
    .bind(vec![a, b])
    .fetch_all(&api.db.pool)
    .await
    .unwrap();
    assert_eq!(status, ["replayed", "replayed"]);
    // replaying again finds nothing pending
    let again = api
        .ok(&As::Admin, replay, json!({ "ids": [a, b], "dry": false }))
        .await;
    assert_eq!(again["replayDeadLetters"]["matched"], 0);
    // a body replaces exactly one letter's body; with two ids it is refused
    assert_eq!(
        api.error_code(
            &As::Admin,
            replay,
            json!({ "ids": [a, c], "dry": true, "body": {"event_type": "t", "payload": {}} })
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        api.error_code(&As::Admin, replay, json!({ "dry": true }))
            .await,
        "BAD_USER_INPUT"
    );
    // tenants may not replay, even their own
    assert_eq!(
        api.error_code(
            &As::Tenant(key.clone()),
            replay,
            json!({ "ids": [c], "dry": true })
        )
        .await,
        "FORBIDDEN"
    );

    let discard = "mutation($ids: [UUID!], $dry: Boolean!) { discardDeadLetters(ids: $ids, dryRun: $dry) { matched discarded eventIds } }";
    let d = api
        .ok(
            &As::Admin,
            discard,
            json!({ "ids": [c, foreign], "dry": false }),
        )
        .await;
    assert_eq!(d["discardDeadLetters"]["discarded"], 2);
    let after = api
        .ok(
            &As::Tenant(other_key.clone()),
            "{ deadLetters { nodes { status } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        after["deadLetters"]["nodes"],
        json!([{ "status": "DISCARDED" }])
    );
    assert_eq!(
        api.error_code(
            &As::Tenant(other_key),
            discard,
            json!({ "ids": [foreign], "dry": true })
        )
        .await,
        "FORBIDDEN"
    );

    let results: Vec<String> = api
        .audit_rows("replayDeadLetters")
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(
        results,
        [
            "ok",
            "ok",
            "ok",
            "BAD_USER_INPUT",
            "BAD_USER_INPUT",
            "FORBIDDEN"
        ]
    );
    let args = &api.audit_rows("replayDeadLetters").await[1].2;
    assert_eq!(
        args["patch"], true,
        "the patch itself is not logged, only that there was one"
    );
    assert_eq!(api.audit_rows("discardDeadLetters").await.len(), 2);
    api.stop().await;
}

#[tokio::test]
async fn a_body_jsonb_refused_is_shown_as_text_and_replayed_byte_for_byte() {
    let api = Api::start().await;
    let (tenant, key) = api.tenant().await;
    let (other, _) = api.tenant().await;
    // an escaped NUL: valid JSON, refused by jsonb, kept as text by the processor
    let text = r#"{"event_type":"a.b","payload":{"s":"x\u0000y"},"partition_key":"pk"}"#;
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into dead_letters (tenant_id, event_id, reason, errors, body, body_text, \
         body_stored_as_text, received_at, source_topic, source_partition, source_offset) \
         values ($1, $2, 'invalid_value', '[{\"path\":\"/payload\",\"message\":\"nul\"}]', null, $3, true, \
         now(), 'events.raw', 0, 1)",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(text)
    .execute(&api.db.pool)
    .await
    .unwrap();
    let list = "query($f: DeadLetterFilter) { deadLetters(filter: $f) { nodes { body bodyText bodyStoredAsText } } }";
    let data = api.ok(&As::Tenant(key.clone()), list, json!({})).await;
    assert_eq!(
        data["deadLetters"]["nodes"],
        json!([{ "body": null, "bodyText": text, "bodyStoredAsText": true }])
    );
    assert_eq!(
        api.error_code(
            &As::Tenant(key),
            list,
            json!({ "f": { "tenantId": other.id } })
        )
        .await,
        "FORBIDDEN"
    );
    let replay = "mutation($ids: [UUID!]) { replayDeadLetters(ids: $ids) { replayed } }";
    let done = api.ok(&As::Admin, replay, json!({ "ids": [id] })).await;
    assert_eq!(done["replayDeadLetters"]["replayed"], 1);
    let records = pulse_core::testkit::read_topic(&api.raw_topic).await;
    use rdkafka::Message as _;
    let value = std::str::from_utf8(records[0].payload().unwrap()).unwrap();
    assert!(value.ends_with(&format!(",\"body\":{text}}}")), "{value}");
    assert_eq!(records[0].key(), Some(&b"pk"[..]));
    let envelope: Value = serde_json::from_str(value).unwrap();
    assert_eq!(envelope["event_id"], id.to_string());
    api.stop().await;
}
