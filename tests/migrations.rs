//! The migrations build the documented schema on an empty database, and applying them twice is a
//! no-op.

use pulse_core::{db, testkit::TestDb};

async fn columns(pool: &sqlx::PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "select column_name::text from information_schema.columns where table_name = $1 order by ordinal_position",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_are_idempotent() {
    let db = TestDb::empty().await;
    assert!(columns(&db.pool, "events").await.is_empty());

    db::migrate(&db.pool).await.expect("first run");
    db::migrate(&db.pool).await.expect("second run is a no-op");

    let tenants = columns(&db.pool, "tenants").await;
    for c in [
        "id",
        "name",
        "api_key_hash",
        "api_key_prefix",
        "rate_limit_per_minute",
        "idempotency_ttl_seconds",
        "created_at",
        "disabled_at",
    ] {
        assert!(
            tenants.contains(&c.to_owned()),
            "tenants.{c} missing: {tenants:?}"
        );
    }
    let events = columns(&db.pool, "events").await;
    for c in [
        "tenant_id",
        "event_id",
        "event_type",
        "occurred_at",
        "received_at",
        "processed_at",
        "source",
        "idempotency_key",
        "payload",
        "trace_id",
        "kafka_partition",
        "kafka_offset",
    ] {
        assert!(
            events.contains(&c.to_owned()),
            "events.{c} missing: {events:?}"
        );
    }
    let dead = columns(&db.pool, "dead_letters").await;
    for c in [
        "tenant_id",
        "event_id",
        "reason",
        "errors",
        "body",
        "attempts",
        "trace_id",
        "status",
    ] {
        assert!(
            dead.contains(&c.to_owned()),
            "dead_letters.{c} missing: {dead:?}"
        );
    }

    // primary keys and the documented indexes
    let pk: Vec<String> = sqlx::query_scalar(
        "select a.attname::text from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) \
         where i.indrelid = 'events'::regclass and i.indisprimary order by a.attname",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(pk, ["event_id", "tenant_id"]);
    let indexes: Vec<String> =
        sqlx::query_scalar("select indexname::text from pg_indexes where tablename = 'events'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    for i in [
        "events_tenant_received_idx",
        "events_tenant_type_idx",
        "events_tenant_idempotency_idx",
        "events_event_id_idx",
    ] {
        assert!(
            indexes.contains(&i.to_owned()),
            "index {i} missing: {indexes:?}"
        );
    }

    // status and reason are constrained to the documented sets
    let bad = sqlx::query(
        "insert into dead_letters (tenant_id, event_id, reason, errors, body, source_topic, source_partition, source_offset) \
         values (gen_random_uuid(), gen_random_uuid(), 'oops', '[]', '{}', 't', 0, 0)",
    )
    .execute(&db.pool)
    .await;
    assert!(bad.is_err(), "an unknown reason must be refused");
}
