//! `pulse`: one binary for every Pulse service and the operator commands. It only parses
//! arguments and calls into the service crates.

mod cli_output;
mod table;

use std::{net::SocketAddr, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use pulse_core::{
    TenantStore,
    admin::{
        AdminError, Page, TenantRef,
        dead_letters::{self, DeadLetterFilter, DeadLetterStatus, ReplayEdit, Replayer},
        schemas,
    },
    config::InfraConfig,
    db,
    envelope::DlqReason,
};
use pulse_otel::{OtelConfig, names::service};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// mimalloc instead of the system allocator: under load glibc's malloc/free (with its
/// consolidation passes) took about a third of ingest's and the processor's CPU time in `perf`.
/// With the `override` feature librdkafka's C allocations use it too (glibc's malloc was still
/// ~8 % of ingest's CPU under batch load); `no_thp` keeps it from asking for transparent huge
/// pages, which had raised ingest's peak RSS under batch load from ~65 to 95–125 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "pulse", version, about = "Pulse: multi-tenant event ingestion")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP ingest service (POST /events).
    Ingest {
        /// Address to listen on. Loopback only by default: set 0.0.0.0:8080 (as the Docker
        /// image does) to accept connections from other machines.
        #[arg(long, env = "PULSE_INGEST_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
    },
    /// Run the processor (events.raw -> PostgreSQL / dead letters).
    Processor {
        /// Address of the health and metrics endpoints.
        #[arg(long, env = "PULSE_PROCESSOR_ADDR", default_value = "127.0.0.1:8082")]
        addr: SocketAddr,
    },
    /// Run the admin GraphQL API and web console.
    Graphql {
        /// Address to listen on.
        #[arg(long, env = "PULSE_GRAPHQL_ADDR", default_value = "127.0.0.1:8081")]
        addr: SocketAddr,
    },
    /// Apply the database migrations (idempotent).
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage per-tenant JSON Schemas per event type.
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// Inspect and replay dead letters.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[derive(Subcommand)]
enum SchemaCommand {
    /// Set (or replace) the JSON Schema that payloads of one event type must satisfy.
    Set {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        event_type: String,
        /// A file holding the JSON Schema.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// List stored schemas.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete the schema of one event type.
    Delete {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        event_type: String,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List dead letters, newest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// missing_field, invalid_type, invalid_value, schema_violation or malformed_envelope.
        #[arg(long)]
        reason: Option<String>,
        /// pending, replayed or discarded.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Republish pending dead letters to events.raw with their original event id.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "tenant"])))]
    Replay {
        /// The event id of one dead letter.
        #[arg(long)]
        id: Option<uuid::Uuid>,
        /// Every pending dead letter of this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only those with this reason (with --tenant).
        #[arg(long, requires = "tenant")]
        reason: Option<String>,
        /// A file with a corrected body (with --id).
        #[arg(long, requires = "id", conflicts_with = "patch_file")]
        body_file: Option<std::path::PathBuf>,
        /// A file with an RFC 7396 JSON merge patch applied to each body.
        #[arg(long)]
        patch_file: Option<std::path::PathBuf>,
        /// Show what would be replayed, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Mark pending dead letters as discarded (they will not be replayed).
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "tenant"])))]
    Discard {
        /// The event id of one dead letter.
        #[arg(long)]
        id: Option<uuid::Uuid>,
        /// Every pending dead letter of this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only those with this reason (with --tenant).
        #[arg(long, requires = "tenant")]
        reason: Option<String>,
        /// Show what would be discarded, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its API key once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        rate_limit_per_minute: Option<i32>,
    },
    /// List tenants (never their keys).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replace a tenant's API key; prints the new key once.
    RotateKey {
        #[arg(long)]
        name: String,
    },
    /// Change a tenant's rate limit and/or idempotency window.
    SetLimits {
        #[arg(long)]
        name: String,
        #[arg(long)]
        rate_limit_per_minute: Option<i32>,
        #[arg(long)]
        idempotency_ttl_seconds: Option<i32>,
    },
    /// Disable a tenant: its key stops working.
    Disable {
        #[arg(long)]
        name: String,
    },
    /// Re-enable a disabled tenant.
    Enable {
        #[arg(long)]
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // an operator error decides its own exit code; anything else is a plain failure
            let code = e
                .downcast_ref::<AdminError>()
                .map_or(1, AdminError::exit_code);
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Ingest { addr } => {
            let _otel = pulse_otel::init(service::INGEST, &OtelConfig::from_env())?;
            let config = pulse_ingest::Config::from_env()?;
            let listener = bind(addr).await?;
            pulse_ingest::serve(config, listener, signal_token()).await
        }
        Command::Processor { addr } => {
            // three batches of up to 5,000 events in flight, two spans or more per event, ending
            // in bursts at each commit; while a drain outpaces a co-located Jaeger the queue
            // absorbs the difference (64 Ki dropped up to 10 % of a 500k drain's spans, 128 Ki
            // mostly none, with the processor's peak RSS unchanged at ~0.5 GB; BENCHMARKS.md)
            let otel_config = OtelConfig::from_env().with_default_span_queue(131_072);
            let _otel = pulse_otel::init(service::PROCESSOR, &otel_config)?;
            let config = pulse_processor::Config::from_env()?;
            let listener = bind(addr).await?;
            pulse_processor::serve(config, listener, signal_token()).await
        }
        Command::Graphql { addr } => {
            let _otel = pulse_otel::init(service::GRAPHQL, &OtelConfig::from_env())?;
            let config = pulse_graphql::Config::from_env()?;
            let listener = bind(addr).await?;
            pulse_graphql::serve(config, listener, signal_token()).await
        }
        Command::Migrate => {
            let pool = connect().await?;
            db::migrate(&pool).await.context("applying migrations")?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Tenant { command } => tenant(command).await,
        Command::Schema { command } => schema(command).await,
        Command::Dlq { command } => dlq(command).await,
    }
}

async fn schema(command: SchemaCommand) -> anyhow::Result<()> {
    let pool = connect().await?;
    match command {
        SchemaCommand::Set {
            tenant,
            event_type,
            file,
        } => {
            let value = read_json(&file)?;
            schemas::set(&pool, &tenant, &event_type, &value).await?;
            println!(
                "{}",
                serde_json::json!({ "tenant": tenant, "event_type": event_type, "status": "set" })
            );
        }
        SchemaCommand::List { tenant, json } => {
            let rows = schemas::list(&pool, tenant.as_deref().map(TenantRef::Name)).await?;
            if json {
                println!("{}", serde_json::to_value(rows)?);
            } else {
                print!("{}", cli_output::schemas(&rows));
            }
        }
        SchemaCommand::Delete { tenant, event_type } => {
            let deleted = schemas::delete(&pool, &tenant, &event_type).await?;
            if !deleted {
                return Err(AdminError::not_found(format!(
                    "tenant {tenant:?} has no schema for {event_type:?}"
                ))
                .into());
            }
            println!(
                "{}",
                serde_json::json!({ "tenant": tenant, "event_type": event_type, "status": "deleted" })
            );
        }
    }
    Ok(())
}

fn parse_reasons(reason: Option<&str>) -> Result<Option<Vec<DlqReason>>, AdminError> {
    reason
        .map(|r| {
            DlqReason::parse(r)
                .map(|r| vec![r])
                .ok_or_else(|| AdminError::bad_input(format!("unknown reason {r:?}")))
        })
        .transpose()
}

fn read_json(file: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text)
        .map_err(|_| AdminError::bad_input(format!("{} is not JSON", file.display())).into())
}

async fn dlq(command: DlqCommand) -> anyhow::Result<()> {
    let pool = connect().await?;
    match command {
        DlqCommand::List {
            tenant,
            reason,
            status,
            limit,
            json,
        } => {
            let filter = DeadLetterFilter {
                tenant_name: tenant,
                reasons: parse_reasons(reason.as_deref())?,
                status: status.as_deref().map(DeadLetterStatus::parse).transpose()?,
                ..DeadLetterFilter::default()
            };
            let page = Page::new(limit, None)?;
            let letters: Vec<_> = dead_letters::list(&pool, &filter, &page)
                .await?
                .items
                .into_iter()
                .map(|(_, l)| l)
                .collect();
            if json {
                println!("{}", serde_json::to_value(letters)?);
            } else {
                print!("{}", cli_output::dead_letters(&letters));
            }
        }
        DlqCommand::Replay {
            id,
            tenant,
            reason,
            body_file,
            patch_file,
            dry_run,
        } => {
            let edit = ReplayEdit {
                body: body_file.as_deref().map(read_json).transpose()?,
                patch: patch_file.as_deref().map(read_json).transpose()?,
            };
            let filter = DeadLetterFilter {
                event_ids: id.map(|id| vec![id]),
                tenant_name: tenant,
                reasons: parse_reasons(reason.as_deref())?,
                ..DeadLetterFilter::default()
            };
            let infra = InfraConfig::from_env();
            let topic = pulse_core::kafka::raw_topic_from_env();
            let replayer = Replayer::new(&infra.kafka_brokers, &topic)?;
            let report = dead_letters::replay(&pool, &replayer, &filter, &edit, dry_run).await?;
            println!("{}", serde_json::to_value(report)?);
        }
        DlqCommand::Discard {
            id,
            tenant,
            reason,
            dry_run,
        } => {
            let filter = DeadLetterFilter {
                event_ids: id.map(|id| vec![id]),
                tenant_name: tenant,
                reasons: parse_reasons(reason.as_deref())?,
                ..DeadLetterFilter::default()
            };
            let report = dead_letters::discard(&pool, &filter, dry_run).await?;
            println!("{}", serde_json::to_value(report)?);
        }
    }
    Ok(())
}

async fn tenant(command: TenantCommand) -> anyhow::Result<()> {
    let store = TenantStore::new(connect().await?);
    let value = match command {
        TenantCommand::Create {
            name,
            rate_limit_per_minute,
        } => {
            let (tenant, key) = store.create(&name, rate_limit_per_minute).await?;
            serde_json::json!({ "tenant_id": tenant.id, "name": tenant.name, "api_key": key.expose() })
        }
        TenantCommand::RotateKey { name } => {
            let (tenant, key) = store.rotate_key(&name).await?;
            serde_json::json!({ "tenant_id": tenant.id, "name": tenant.name, "api_key": key.expose() })
        }
        TenantCommand::List { json } => {
            let tenants = store.list().await?;
            if !json {
                print!("{}", cli_output::tenants(&tenants));
                return Ok(());
            }
            serde_json::to_value(tenants)?
        }
        TenantCommand::SetLimits {
            name,
            rate_limit_per_minute,
            idempotency_ttl_seconds,
        } => serde_json::to_value(
            store
                .set_limits(&name, rate_limit_per_minute, idempotency_ttl_seconds)
                .await?,
        )?,
        TenantCommand::Disable { name } => {
            serde_json::to_value(store.set_disabled(&name, true).await?)?
        }
        TenantCommand::Enable { name } => {
            serde_json::to_value(store.set_disabled(&name, false).await?)?
        }
    };
    println!("{value}");
    Ok(())
}

async fn connect() -> anyhow::Result<sqlx::PgPool> {
    let infra = InfraConfig::from_env();
    db::connect(infra.database_url.expose(), 2)
        .await
        .context("connecting to PostgreSQL (DATABASE_URL)")
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

/// A token cancelled on SIGTERM / SIGINT.
fn signal_token() -> CancellationToken {
    let token = CancellationToken::new();
    tokio::spawn(pulse_core::shutdown::cancel_on_signal(token.clone()));
    token
}
