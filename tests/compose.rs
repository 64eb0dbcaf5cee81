//! Docker cannot run here, so this checks that `docker-compose.yml` agrees with the native set-up:
//! the same host ports, topics, variable names and commands.

use std::collections::BTreeSet;

use pulse_core::{config, kafka};
use serde_yaml::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .unwrap();
    let mut v: Value = serde_yaml::from_str(&text).expect("docker-compose.yml is YAML");
    v.apply_merge().expect("merge keys resolve");
    v
}

fn service<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["services"]
        .get(name)
        .unwrap_or_else(|| panic!("service {name} missing"))
}

/// Host ports a service publishes ("127.0.0.1:8080:8080" → 8080).
fn host_ports(svc: &Value) -> BTreeSet<u16> {
    svc["ports"]
        .as_sequence()
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| p.as_str())
                .filter_map(|p| {
                    let parts: Vec<&str> = p.split(':').collect();
                    parts[parts.len().saturating_sub(2)].parse().ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn env_of(svc: &Value) -> serde_yaml::Mapping {
    svc["environment"].as_mapping().cloned().unwrap_or_default()
}

#[test]
fn infrastructure_matches_the_native_ports_and_names() {
    let c = compose();
    for (name, container, ports) in [
        ("postgres", "ep_postgres", vec![5432]),
        ("redis", "ep_redis", vec![6379]),
        ("kafka", "ep_kafka", vec![9092]),
        ("jaeger", "ep_jaeger", vec![16686, 4317, 4318]),
    ] {
        let svc = service(&c, name);
        assert_eq!(svc["container_name"].as_str(), Some(container));
        assert_eq!(host_ports(svc), ports.into_iter().collect(), "{name} ports");
    }
    assert!(
        service(&c, "postgres")["image"]
            .as_str()
            .unwrap()
            .starts_with("postgres:16")
    );
    assert!(
        service(&c, "redis")["image"]
            .as_str()
            .unwrap()
            .starts_with("redis:7")
    );
    assert!(
        service(&c, "kafka")["image"]
            .as_str()
            .unwrap()
            .starts_with("apache/kafka:4.1")
    );
    assert!(
        service(&c, "jaeger")["image"]
            .as_str()
            .unwrap()
            .starts_with("jaegertracing/jaeger:2.")
    );
    for name in ["postgres", "redis", "kafka"] {
        assert!(
            service(&c, name).get("healthcheck").is_some(),
            "{name} has a healthcheck"
        );
    }
    let redis_cmd = serde_yaml::to_string(&service(&c, "redis")["command"]).unwrap();
    assert!(redis_cmd.contains("appendonly"), "redis uses AOF");

    // the native broker listens on the same ports
    let native = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/infra/kafka/server.properties"
    ))
    .unwrap();
    assert!(native.contains(":9092"), "native PLAINTEXT on 9092");
    assert!(native.contains(":9093"), "native controller on 9093");
    let kafka_env = env_of(service(&c, "kafka"));
    let listeners = kafka_env[&Value::from("KAFKA_LISTENERS")].as_str().unwrap();
    assert!(listeners.contains("CONTROLLER://:9093"));
}

#[test]
fn topics_match_the_contract() {
    let c = compose();
    let init = serde_yaml::to_string(&service(&c, "topic-init")["command"]).unwrap();
    assert!(
        init.contains(&format!("{}:{}", kafka::TOPIC_RAW, kafka::RAW_PARTITIONS)),
        "{init}"
    );
    assert!(
        init.contains(&format!("{}:{}", kafka::TOPIC_DLQ, kafka::DLQ_PARTITIONS)),
        "{init}"
    );
}

#[test]
fn pulse_services_use_the_native_ports_variables_and_commands() {
    let c = compose();
    let makefile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Makefile")).unwrap();
    for (name, port, addr_var) in [
        ("ingest", 8080, "PULSE_INGEST_ADDR"),
        ("graphql", 8081, "PULSE_GRAPHQL_ADDR"),
        ("processor", 8082, "PULSE_PROCESSOR_ADDR"),
    ] {
        let svc = service(&c, name);
        assert_eq!(host_ports(svc), [port].into_iter().collect(), "{name} port");
        assert_eq!(
            svc["command"][0].as_str(),
            Some(name),
            "{name} runs `pulse {name}`"
        );
        let env = env_of(svc);
        for var in [
            "DATABASE_URL",
            "REDIS_URL",
            "KAFKA_BROKERS",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "PULSE_ADMIN_TOKEN",
        ] {
            assert!(env.contains_key(var), "{name} lacks {var}");
            assert!(
                makefile.contains(var) || var == "PULSE_ADMIN_TOKEN",
                "the native set-up names {var} too"
            );
        }
        let addr = env[&Value::from(addr_var)].as_str().unwrap();
        assert!(addr.ends_with(&format!(":{port}")), "{addr_var}={addr}");
        let depends = svc["depends_on"]
            .as_mapping()
            .expect("depends_on with conditions");
        assert!(depends.contains_key("migrate") && depends.contains_key("kafka"));
    }
    assert_eq!(
        service(&c, "migrate")["command"][0].as_str(),
        Some("migrate")
    );

    // the compose defaults and the native defaults name the same servers, by port
    let env = env_of(service(&c, "ingest"));
    let db = env[&Value::from("DATABASE_URL")].as_str().unwrap();
    assert!(db.ends_with(":5432/pulse") && config::DEFAULT_DATABASE_URL.ends_with(":5432/pulse"));
    let redis = env[&Value::from("REDIS_URL")].as_str().unwrap();
    assert!(redis.ends_with(":6379") && config::DEFAULT_REDIS_URL.ends_with(":6379"));
    let brokers = env[&Value::from("KAFKA_BROKERS")].as_str().unwrap();
    assert!(brokers.ends_with(":9092") && config::DEFAULT_KAFKA_BROKERS.ends_with(":9092"));
    let otlp = env[&Value::from("OTEL_EXPORTER_OTLP_ENDPOINT")]
        .as_str()
        .unwrap();
    assert!(otlp.ends_with(":4318"));
}
