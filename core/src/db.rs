//! The PostgreSQL pool and the migrations embedded from `migrations/`.

use std::time::Duration;

use sqlx::{PgPool, migrate::Migrator, postgres::PgPoolOptions};

/// The migrations in `migrations/`, compiled into the binary so `pulse migrate` needs no files.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens a pool with bounded waits, so a down database fails requests instead of hanging them.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}

/// Applies every pending migration; applying twice is a no-op.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
