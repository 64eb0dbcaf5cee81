//! `pulse migrate` and `pulse tenant …` work against a real database; keys are random, shown
//! once and stored only as a hash.

use std::process::Command;

use pulse_core::testkit::TestDb;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn pulse(db: &TestDb, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run pulse");
    assert!(
        out.status.success(),
        "pulse {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("not one JSON value ({e}): {stdout}"))
    }
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[tokio::test]
async fn tenant_lifecycle_stores_only_hashes() {
    let db = TestDb::empty().await;
    pulse(&db, &["migrate"]);
    pulse(&db, &["migrate"]);

    let created = pulse(
        &db,
        &[
            "tenant",
            "create",
            "--name",
            "team-a",
            "--rate-limit-per-minute",
            "120",
        ],
    );
    let key = created["api_key"].as_str().expect("api_key").to_owned();
    assert_eq!(created["name"], "team-a");
    assert!(
        created["tenant_id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );
    assert!(key.starts_with("pk_") && key.len() > 40, "{key}");

    let (hash, limit): (String, i32) = sqlx::query_as(
        "select api_key_hash, rate_limit_per_minute from tenants where name = 'team-a'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(hash, sha256_hex(&key));
    assert_eq!(limit, 120);
    // the key itself appears nowhere in the table
    let dump: String = sqlx::query_scalar("select string_agg(t::text, ' ') from tenants t")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(!dump.contains(&key["pk_".len()..]), "raw key stored");

    let second = pulse(&db, &["tenant", "create", "--name", "team-b"]);
    assert_ne!(second["api_key"], created["api_key"]);

    let list = pulse(&db, &["tenant", "list", "--json"]);
    let list_text = list.to_string();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert!(!list_text.contains(&key), "list must not show keys");
    assert!(!list_text.contains(&hash), "list must not show hashes");

    let rotated = pulse(&db, &["tenant", "rotate-key", "--name", "team-a"]);
    let new_key = rotated["api_key"].as_str().unwrap();
    assert_ne!(new_key, key);
    let new_hash: String =
        sqlx::query_scalar("select api_key_hash from tenants where name = 'team-a'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(new_hash, sha256_hex(new_key));

    let limits = pulse(
        &db,
        &[
            "tenant",
            "set-limits",
            "--name",
            "team-a",
            "--idempotency-ttl-seconds",
            "60",
        ],
    );
    assert_eq!(limits["idempotency_ttl_seconds"], 60);
    assert_eq!(limits["rate_limit_per_minute"], 120);

    // a duplicate name is refused with a message, not a panic
    let out = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .args(["tenant", "create", "--name", "team-a"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "a conflict exits 4");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

/// Runs `pulse` and returns (exit code, stdout, stderr).
fn run(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run pulse");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn lists_are_tables_for_people_and_json_for_scripts() {
    let db = TestDb::new().await;
    let created = pulse(&db, &["tenant", "create", "--name", "team-a"]);
    pulse(
        &db,
        &["tenant", "create", "--name", "a-much-longer-team-name"],
    );
    let key = created["api_key"].as_str().unwrap();

    let (code, table, _) = run(&db, &["tenant", "list"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("NAME "), "{table}");
    // columns are aligned: every row's ID starts where the header's does
    let id_col = lines[0].find("ID").unwrap();
    for line in &lines[1..] {
        let id = &line[id_col..id_col + 36];
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{line}");
    }
    assert!(!table.contains(&key[3..]), "a table must not show keys");

    let schema = std::env::temp_dir().join(format!("pulse-schema-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&schema, r#"{"type":"object","required":["amount"]}"#).unwrap();
    let path = schema.to_str().unwrap();
    pulse(
        &db,
        &[
            "schema",
            "set",
            "--tenant",
            "team-a",
            "--event-type",
            "order.paid",
            "--file",
            path,
        ],
    );
    let (code, table, _) = run(&db, &["schema", "list"]);
    assert_eq!(code, 0);
    assert!(table.starts_with("TENANT "), "{table}");
    assert!(
        table.lines().nth(1).unwrap().contains("order.paid"),
        "{table}"
    );
    let json = pulse(&db, &["schema", "list", "--json"]);
    assert_eq!(json[0]["schema"]["required"][0], "amount");

    // an invalid JSON Schema is bad input (exit 2); an unknown tenant is not found (exit 3)
    std::fs::write(&schema, r#"{"type":"no-such-type"}"#).unwrap();
    let (code, _, err) = run(
        &db,
        &[
            "schema",
            "set",
            "--tenant",
            "team-a",
            "--event-type",
            "x",
            "--file",
            path,
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a valid JSON Schema"), "{err}");
    let (code, _, err) = run(&db, &["tenant", "rotate-key", "--name", "nobody"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no tenant named"), "{err}");
    std::fs::remove_file(&schema).unwrap();

    sqlx::query(
        "insert into dead_letters (tenant_id, event_id, reason, errors, body, source_topic, \
         source_partition, source_offset) values ($1, $2, 'missing_field', \
         '[{\"path\":\"/event_type\",\"message\":\"required\"}]', '{}', 'events.raw', 0, 7)",
    )
    .bind(uuid::Uuid::parse_str(created["tenant_id"].as_str().unwrap()).unwrap())
    .bind(uuid::Uuid::now_v7())
    .execute(&db.pool)
    .await
    .unwrap();
    let (code, table, _) = run(&db, &["dlq", "list"]);
    assert_eq!(code, 0);
    assert!(table.starts_with("EVENT ID "), "{table}");
    let row = table.lines().nth(1).unwrap();
    for cell in ["team-a", "missing_field", "/event_type", "pending"] {
        assert!(row.contains(cell), "{row}");
    }
    let json = pulse(&db, &["dlq", "list", "--json", "--reason", "missing_field"]);
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    let (code, _, err) = run(&db, &["dlq", "list", "--reason", "nope"]);
    assert_eq!(code, 2, "{err}");
}
