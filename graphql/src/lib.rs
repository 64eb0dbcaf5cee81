//! The admin GraphQL API and the web console, `pulse graphql` (port 8081).
//!
//! - [`auth`]: who is calling (admin token, tenant key, nobody) and what each may see
//! - [`http`]: GraphQL over HTTP on `/graphql` (POST, GET, content negotiation, limits)
//! - [`schema`]: the schema's assembly, its services and limits
//! - [`query`], [`mutation`]: the root fields; the use cases behind them are `pulse_core::admin`
//! - [`model`]: the object types (`Event` and `DeadLetter` are shared with the live feeds)
//! - [`live`]: subscriptions over WebSocket, `pipeline`, lag and throughput history
//! - [`health`]: every component's readiness for the `health` query
//! - [`trace`]: traces from Jaeger's query API for `Event.trace` / `DeadLetter.trace`
//! - [`observe`]: a SERVER span and RED metrics per operation
//! - [`console`]: the console's static files and the offline GraphiQL page
//! - [`errors`]: the error codes every error carries

pub mod auth;
pub mod console;
pub mod errors;
pub mod health;
pub mod http;
pub mod live;
pub mod model;
pub mod mutation;
pub mod observe;
pub mod query;
pub mod schema;
pub mod services;
pub mod trace;

use std::sync::Arc;

use anyhow::Context as _;
use axum::{Router, routing::get};
use pulse_core::{
    ConfigError, Secret, TenantStore,
    admin::dead_letters::Replayer,
    config::{self, InfraConfig},
    health::{self as service_health, Readiness},
    server::{self, ShutdownTiming},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::AuthState,
    console::ConsoleDir,
    health::{HealthChecker, HealthTargets},
    model::Links,
    observe::Observed,
    schema::Limits,
    services::Services,
    trace::TraceClient,
};

/// Settings of the GraphQL service.
#[derive(Debug, Clone)]
pub struct Config {
    pub infra: InfraConfig,
    /// `PULSE_ADMIN_TOKEN` (required, no default): the admin's bearer token.
    pub admin_token: Secret,
    pub shutdown: ShutdownTiming,
    /// `PULSE_GRAPHQL_INTROSPECTION` (default true).
    pub introspection: bool,
    /// `JAEGER_QUERY_URL` (default `http://127.0.0.1:16686`): Jaeger's query API.
    pub jaeger_query_url: String,
    /// `PULSE_JAEGER_UI_URL` (default `http://localhost:16686`): where trace links point.
    pub jaeger_ui_url: String,
    /// `PULSE_INGEST_URL` (default `http://127.0.0.1:8080/readyz`).
    pub ingest_url: String,
    /// `PULSE_PROCESSOR_URL` (default `http://127.0.0.1:8082/readyz`).
    pub processor_url: String,
    /// `PULSE_TOPIC_RAW` (default `events.raw`): where replays are published.
    pub raw_topic: String,
    /// `PULSE_CONSOLE_DIR` (default `console/dist`).
    pub console: ConsoleDir,
    /// The live feeds' topics, group and sampling (see [`live::LiveConfig`]).
    pub live: live::LiveConfig,
}

impl Config {
    /// Defaults for everything but the infrastructure and the admin token (for tests).
    pub fn new(infra: InfraConfig, admin_token: Secret) -> Self {
        Self {
            admin_token,
            shutdown: ShutdownTiming::default(),
            introspection: true,
            jaeger_query_url: "http://127.0.0.1:16686".into(),
            jaeger_ui_url: "http://localhost:16686".into(),
            ingest_url: "http://127.0.0.1:8080/readyz".into(),
            processor_url: "http://127.0.0.1:8082/readyz".into(),
            raw_topic: pulse_core::kafka::TOPIC_RAW.into(),
            console: ConsoleDir::from_env(),
            live: live::LiveConfig::new(infra.kafka_brokers.clone()),
            infra,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let admin_token = std::env::var("PULSE_ADMIN_TOKEN")
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ConfigError {
                name: "PULSE_ADMIN_TOKEN",
                reason: "required and has no default: set it to a long random secret \
                         (`make up` generates one into .run/admin-token)"
                    .into(),
            })?;
        if admin_token.len() < 16 {
            return Err(ConfigError {
                name: "PULSE_ADMIN_TOKEN",
                reason: "must be at least 16 characters".into(),
            });
        }
        let infra = InfraConfig::from_env();
        Ok(Self {
            live: live::LiveConfig::from_env(&infra)?,
            shutdown: ShutdownTiming::from_env()?,
            introspection: config::var("PULSE_GRAPHQL_INTROSPECTION", true)?,
            jaeger_query_url: config::string("JAEGER_QUERY_URL", "http://127.0.0.1:16686"),
            jaeger_ui_url: config::string("PULSE_JAEGER_UI_URL", "http://localhost:16686"),
            ingest_url: config::string("PULSE_INGEST_URL", "http://127.0.0.1:8080/readyz"),
            processor_url: config::string("PULSE_PROCESSOR_URL", "http://127.0.0.1:8082/readyz"),
            raw_topic: pulse_core::kafka::raw_topic_from_env(),
            ..Self::new(infra, Secret::new(admin_token))
        })
    }
}

/// What the HTTP handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub schema: Observed,
    pub auth: AuthState,
    pub console: Arc<ConsoleDir>,
}

/// Runs the GraphQL service on `listener` until `shutdown` is cancelled.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = pulse_core::db::lazy_pool(
        config.infra.database_url.expose(),
        16,
        std::time::Duration::from_secs(5),
    )
    .context("DATABASE_URL")?;
    let replayer = Replayer::new(&config.infra.kafka_brokers, &config.raw_topic)
        .context("creating the replay producer")?;
    let health = HealthChecker::new(
        HealthTargets {
            ingest_url: config.ingest_url.clone(),
            processor_url: config.processor_url.clone(),
            jaeger_url: config.jaeger_query_url.clone(),
            kafka_brokers: config.infra.kafka_brokers.clone(),
        },
        pool.clone(),
        config.infra.redis_url.expose(),
    );
    let links = Links {
        jaeger_ui: config.jaeger_ui_url.clone(),
    };
    let services = Services::new(
        pool.clone(),
        replayer,
        TraceClient::new(&config.jaeger_query_url),
        links,
        health,
    );
    let live = live::Live::start(config.live.clone(), pool.clone(), shutdown.clone())
        .context("starting the live feeds")?;
    let limits = Limits {
        introspection: config.introspection,
        ..Limits::default()
    };
    let schema = Observed(schema::build(services, Some(live), limits));
    let auth = AuthState::new(&config.admin_token, TenantStore::new(pool));
    let state = AppState {
        schema,
        auth,
        console: Arc::new(config.console.clone()),
    };
    let readiness = Readiness::new();
    let app = router(state, config.live.ws)
        .merge(service_health::router(
            readiness.clone(),
            Arc::new(pulse_otel::render_metrics),
        ))
        .layer(axum::middleware::from_fn(pulse_core::http_telemetry::track));
    tracing::info!(addr = %listener.local_addr()?, "graphql listening");
    readiness.set_ready();
    server::serve(app, listener, readiness, shutdown, config.shutdown).await?;
    tracing::info!("graphql stopped");
    Ok(())
}

/// `/graphql` (HTTP; WebSocket upgrades go to the live feeds) and the console at every other path.
fn router(state: AppState, ws_limits: live::WsLimits) -> Router {
    let ws = live::ws::WsState::new(state.schema.clone(), state.auth.clone(), ws_limits);
    let upgrades = axum::middleware::from_fn_with_state(ws, live::ws::middleware::<Observed>);
    Router::new()
        .route("/graphql", get(http::get).post(http::post).layer(upgrades))
        .fallback(console::serve)
        .with_state(state)
}

/// The schema's SDL, as committed in `graphql/schema.graphql`.
pub fn sdl() -> String {
    schema::sdl()
}
