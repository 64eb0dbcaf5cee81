//! The operator commands against a real database, Kafka and processor, read through `--json`:
//! `pulse tenant disable/enable`, `pulse schema set/list` (and a refused schema), and
//! `pulse dlq list/replay` (a dry run changes nothing, a replay with a corrected body is stored
//! under its original event id, a second replay finds nothing pending).

#[path = "../processor/tests/common/mod.rs"]
mod common;

use std::{process::Command, time::Duration};

use pulse_core::testkit;
use serde_json::Value;

/// Runs `pulse args…` against the harness; (success, stdout as JSON or Null, stderr).
fn pulse(h: &common::Harness, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .args(args)
        .env("DATABASE_URL", &h.db.url)
        .env("KAFKA_BROKERS", testkit::kafka_brokers())
        .env("PULSE_TOPIC_RAW", &h.raw)
        .output()
        .expect("run pulse");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let value = if stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("pulse {args:?}: not one JSON value ({e}): {stdout}"))
    };
    (
        out.status.success(),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(h: &common::Harness, args: &[&str]) -> Value {
    let (success, value, stderr) = pulse(h, args);
    assert!(success, "pulse {args:?} failed: {stderr}");
    value
}

fn temp_json(value: &Value) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}.json", testkit::unique("pulse-cli-")));
    std::fs::write(&path, value.to_string()).unwrap();
    path
}

#[tokio::test]
async fn tenant_disable_and_enable() {
    let h = common::Harness::new().await;
    let (tenant, key) = h
        .tenants
        .create(&testkit::unique("t-"), None)
        .await
        .unwrap();
    let name = tenant.name.as_str();
    let hash = pulse_core::tenant::hash_api_key(key.expose());
    assert!(h.tenants.find_by_key_hash(&hash).await.unwrap().is_some());

    let disabled = ok(&h, &["tenant", "disable", "--name", name]);
    assert_eq!(disabled["name"], name);
    assert!(disabled["disabled_at"].is_string(), "{disabled}");
    let list = ok(&h, &["tenant", "list", "--json"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .expect("the tenant is listed")
        .clone();
    assert!(row["disabled_at"].is_string(), "{row}");
    assert!(
        h.tenants.find_by_key_hash(&hash).await.unwrap().is_none(),
        "a disabled tenant's key no longer authenticates"
    );

    let enabled = ok(&h, &["tenant", "enable", "--name", name]);
    assert!(enabled["disabled_at"].is_null(), "{enabled}");
    assert!(h.tenants.find_by_key_hash(&hash).await.unwrap().is_some());
    let disabled_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select disabled_at from tenants where name = $1")
            .bind(name)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(disabled_at, None);

    let (success, _, stderr) = pulse(&h, &["tenant", "disable", "--name", "no-such-tenant"]);
    assert!(!success, "an unknown tenant is an error");
    assert!(!stderr.is_empty());
}

#[tokio::test]
async fn schema_set_and_list() {
    let h = common::Harness::new().await;
    let tenant = h.tenant().await;
    let name = tenant.name.as_str();
    let schema = serde_json::json!({
        "type": "object",
        "required": ["order_id"],
        "properties": {"order_id": {"type": "string"}}
    });
    let file = temp_json(&schema);
    let set = ok(
        &h,
        &[
            "schema",
            "set",
            "--tenant",
            name,
            "--event-type",
            "order.paid",
            "--file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(set["status"], "set");
    let list = ok(&h, &["schema", "list", "--tenant", name, "--json"]);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["event_type"], "order.paid");
    assert_eq!(rows[0]["schema"], schema);

    // not a JSON Schema: refused with a message, nothing stored
    let bad = temp_json(&serde_json::json!({"type": 12}));
    let (success, _, stderr) = pulse(
        &h,
        &[
            "schema",
            "set",
            "--tenant",
            name,
            "--event-type",
            "order.bad",
            "--file",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!success, "an invalid schema is refused");
    assert!(!stderr.is_empty());
    let list = ok(&h, &["schema", "list", "--tenant", name, "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_file(bad);
}

#[tokio::test]
async fn dlq_list_and_replay_with_a_corrected_body() {
    let h = common::Harness::new().await;
    let tenant = h.tenant().await;
    let name = tenant.name.as_str();
    let p = h.start(h.config()).await;
    let id = h.send(tenant.id, r#"{"payload":{"n":1}}"#).await;
    h.wait_for_count("dead_letters", 1, Duration::from_secs(30))
        .await;

    let list = ok(&h, &["dlq", "list", "--tenant", name, "--json"]);
    let letters = list.as_array().unwrap();
    assert_eq!(letters.len(), 1, "{list}");
    assert_eq!(letters[0]["event_id"], id.to_string());
    assert_eq!(letters[0]["reason"], "missing_field");
    assert_eq!(letters[0]["status"], "pending");
    let filtered = ok(
        &h,
        &[
            "dlq",
            "list",
            "--reason",
            "invalid_type",
            "--tenant",
            name,
            "--json",
        ],
    );
    assert_eq!(filtered.as_array().map(Vec::len), Some(0));

    let fixed = temp_json(&serde_json::json!({"event_type": "fixed", "payload": {"n": 1}}));
    let id_text = id.to_string();
    let replay_args = [
        "dlq",
        "replay",
        "--id",
        id_text.as_str(),
        "--body-file",
        fixed.to_str().unwrap(),
    ];
    let mut dry = replay_args.to_vec();
    dry.push("--dry-run");
    let report = ok(&h, &dry);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["selected"], 1);
    assert_eq!(report["replayed"], 0, "{report}");
    assert_eq!(h.count("events").await, 0, "a dry run changes nothing");

    let report = ok(&h, &replay_args);
    assert_eq!(report["replayed"], 1, "{report}");
    h.wait_for_count("events", 1, Duration::from_secs(30)).await;
    let (stored_type,): (String,) =
        sqlx::query_as("select event_type from events where event_id = $1")
            .bind(id)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(stored_type, "fixed", "stored under its original event id");
    let replayed = ok(
        &h,
        &[
            "dlq", "list", "--status", "replayed", "--tenant", name, "--json",
        ],
    );
    assert_eq!(replayed.as_array().map(Vec::len), Some(1), "{replayed}");

    let again = ok(&h, &["dlq", "replay", "--tenant", name]);
    assert_eq!(again["replayed"], 0, "nothing pending: {again}");
    assert_eq!(h.count("events").await, 1);
    p.stop().await;
    let _ = std::fs::remove_file(fixed);
}
