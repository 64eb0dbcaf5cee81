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

    let list = pulse(&db, &["tenant", "list"]);
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
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}
