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

/// A pool that connects on first use, so a service starts (and reports itself not ready) while
/// the database is down; every wait for a connection is bounded by `acquire_timeout`.
pub fn lazy_pool(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_lazy_with(connect_options(url)?))
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
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

/// What a failed statement says about the row it wrote: the one place that decides between
/// dead-lettering a record and retrying its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database refused the *content* of a row (SQLSTATE class 22 data exception, class 23
    /// integrity violation, class 54 program limit such as `stack depth limit exceeded`): the same
    /// row fails every time, so retrying cannot help; the row is isolated and dead-lettered.
    Data,
    /// Anything else (connection lost, server shutting down, out of resources, serialization
    /// failure or deadlock, a timeout): retried with backoff, never dead-lettered.
    Infrastructure,
}

impl Failure {
    pub fn of(error: &sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(db) => db
                .code()
                .map_or(Self::Infrastructure, |c| Self::of_sqlstate(&c)),
            _ => Self::Infrastructure,
        }
    }

    pub fn of_sqlstate(code: &str) -> Self {
        match code.get(..2) {
            Some("22" | "23" | "54") => Self::Data,
            _ => Self::Infrastructure,
        }
    }
}

/// What the database refused, for a dead letter's error message: a fixed text per SQLSTATE and the
/// code itself, never PostgreSQL's own message or detail (they may quote the offending value).
pub fn refusal(error: &sqlx::Error) -> String {
    let code = match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    let code = code.as_deref().unwrap_or("?????");
    let what = match code {
        "54001" => "nesting deeper than PostgreSQL's stack allows (stack depth limit exceeded)",
        "22003" => "a number outside PostgreSQL's numeric range (numeric value out of range)",
        "22P05" => {
            "a character PostgreSQL cannot store, such as \\u0000 (unsupported Unicode escape sequence)"
        }
        "22021" => "a byte sequence that is not valid UTF-8 (character not in repertoire)",
        "22P02" => "text that is not valid JSON for jsonb (invalid input syntax)",
        "22001" => "a value longer than its column allows (string data right truncation)",
        "54000" => "a value past one of PostgreSQL's size limits (program limit exceeded)",
        _ if code.starts_with("23") => {
            "a value that breaks a table constraint (integrity constraint violation)"
        }
        _ => "a value PostgreSQL refused",
    };
    format!("PostgreSQL refused the value: {what} [SQLSTATE {code}]")
}

/// Applies every pending migration; applying twice is a no-op.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

#[cfg(test)]
mod tests {
    use super::{Failure, is_loopback};

    #[test]
    fn content_errors_are_data_the_rest_infrastructure() {
        for code in [
            "22003", "22P02", "22P05", "22021", "23514", "23502", "54001", "54000",
        ] {
            assert_eq!(Failure::of_sqlstate(code), Failure::Data, "{code}");
        }
        // connection, shutdown, resources, serialization/deadlock, timeouts, syntax (a bug)
        for code in [
            "08006", "57P01", "53100", "53300", "40001", "40P01", "57014", "42601", "XX000",
        ] {
            assert_eq!(
                Failure::of_sqlstate(code),
                Failure::Infrastructure,
                "{code}"
            );
        }
        assert_eq!(
            Failure::of(&sqlx::Error::PoolTimedOut),
            Failure::Infrastructure
        );
    }

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
