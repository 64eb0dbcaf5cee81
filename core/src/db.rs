//! The PostgreSQL pool and the migrations embedded from `migrations/`.

use std::time::Duration;

use sqlx::{
    PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions, PgSslMode},
};

/// The migrations in `migrations/`, compiled into the binary so `pulse migrate` needs no files.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens a pool with bounded waits, so a down database fails requests instead of hanging them.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(connect_options(url)?)
        .await
}

/// The connection options for `url`.
///
/// A loopback server is reached without TLS unless the URL or `PGSSLMODE` asks for an `sslmode`:
/// encrypting traffic that never leaves the machine only costs CPU on both ends (`perf` showed
/// AES-GCM in the processor's profile during a drain).
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    if is_loopback(options.get_host())
        && !url.contains("sslmode=")
        && std::env::var_os("PGSSLMODE").is_none()
    {
        return Ok(options.ssl_mode(PgSslMode::Disable));
    }
    Ok(options)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.starts_with('/')
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Applies every pending migration; applying twice is a no-op.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "127.0.0.1",
            "::1",
            "[::1]",
            "/var/run/postgresql",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["db.internal", "10.0.0.5", "postgres"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
