//! The admin GraphQL API (and, later, the web console's static files).
//!
//! Today it answers `/graphql` (GraphiQL on GET, queries on POST) with the platform's version and
//! tenant list, plus `/healthz`, `/readyz` and `/metrics`. Admin calls need
//! `Authorization: Bearer $PULSE_ADMIN_TOKEN`.

pub mod live;

use std::time::Duration;

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, ErrorExtensions, Object, Schema, SimpleObject,
};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{Html, IntoResponse},
    routing::get,
};
use pulse_core::{
    Secret, TenantStore,
    config::{self, InfraConfig},
    health::{self, Readiness},
    server::{self, ShutdownTiming},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Settings of the GraphQL service.
#[derive(Debug, Clone)]
pub struct Config {
    pub infra: InfraConfig,
    /// `PULSE_ADMIN_TOKEN` (default `pulse-admin`): bearer token for admin queries.
    pub admin_token: Secret,
    pub shutdown: ShutdownTiming,
}

impl Config {
    pub fn from_env() -> Result<Self, pulse_core::ConfigError> {
        Ok(Self {
            infra: InfraConfig::from_env(),
            admin_token: Secret::new(config::string("PULSE_ADMIN_TOKEN", "pulse-admin")),
            shutdown: ShutdownTiming::from_env()?,
        })
    }
}

/// The caller presented the admin token.
struct Admin(bool);

#[derive(SimpleObject)]
struct TenantView {
    id: String,
    name: String,
    api_key_prefix: String,
    rate_limit_per_minute: i32,
    idempotency_ttl_seconds: i32,
    disabled: bool,
}

struct Query;

#[Object]
impl Query {
    /// The running Pulse version.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    /// Every tenant (admin only). Keys are never returned, only their prefix.
    async fn tenants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TenantView>> {
        if !ctx.data::<Admin>()?.0 {
            return Err(async_graphql::Error::new("admin token required")
                .extend_with(|_, e| e.set("code", "UNAUTHENTICATED")));
        }
        let store = ctx.data::<TenantStore>()?;
        let tenants = store.list().await.map_err(|e| {
            tracing::error!(error = %e, "listing tenants failed");
            async_graphql::Error::new("internal error")
                .extend_with(|_, e| e.set("code", "INTERNAL"))
        })?;
        Ok(tenants
            .into_iter()
            .map(|t| TenantView {
                id: t.id.to_string(),
                name: t.name,
                api_key_prefix: t.api_key_prefix,
                rate_limit_per_minute: t.rate_limit_per_minute,
                idempotency_ttl_seconds: t.idempotency_ttl_seconds,
                disabled: t.disabled_at.is_some(),
            })
            .collect())
    }
}

type PulseSchema = Schema<Query, EmptyMutation, EmptySubscription>;

#[derive(Clone)]
struct AppState {
    schema: PulseSchema,
    admin_token: Secret,
}

async fn graphiql() -> impl IntoResponse {
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .finish(),
    )
}

async fn graphql_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: GraphQLRequest,
) -> GraphQLResponse {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let admin = presented.is_some_and(|t| t == state.admin_token.expose());
    state
        .schema
        .execute(req.into_inner().data(Admin(admin)))
        .await
        .into()
}

async fn console() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><title>Pulse</title><h1>Pulse</h1>",
        "<p>The web console is not built yet. Use <a href=\"/graphql\">GraphiQL</a>.</p>"
    ))
}

/// Runs the GraphQL service on `listener` until `shutdown` is cancelled.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(config.infra.database_url.expose())?;
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(TenantStore::new(pool))
        .limit_depth(16)
        .finish();
    let readiness = Readiness::new();
    let state = AppState {
        schema,
        admin_token: config.admin_token.clone(),
    };
    let app = Router::new()
        .route("/", get(console))
        .route("/graphql", get(graphiql).post(graphql_handler))
        .with_state(state)
        .merge(health::router(
            readiness.clone(),
            std::sync::Arc::new(pulse_otel::render_metrics),
        ));
    tracing::info!(addr = %listener.local_addr()?, "graphql listening");
    readiness.set_ready();
    server::serve(app, listener, readiness, shutdown, config.shutdown).await?;
    tracing::info!("graphql stopped");
    Ok(())
}
