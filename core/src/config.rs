//! Typed configuration from environment variables: every setting has a documented default, and a
//! bad value fails start-up with a message that names the variable.

use std::{fmt, str::FromStr};

/// A setting could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

/// Reads `name` from the environment, or `default` when it is unset or empty.
pub fn var<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => raw.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// Reads a string setting with a default.
pub fn string(name: &'static str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Settings every service needs to reach the shared infrastructure.
#[derive(Debug, Clone)]
pub struct InfraConfig {
    /// `DATABASE_URL`, default `postgres://pulse:pulse@127.0.0.1:5432/pulse`.
    pub database_url: Secret,
    /// `REDIS_URL`, default `redis://127.0.0.1:6379`.
    pub redis_url: Secret,
    /// `KAFKA_BROKERS`, default `127.0.0.1:9092`.
    pub kafka_brokers: String,
}

pub const DEFAULT_DATABASE_URL: &str = "postgres://pulse:pulse@127.0.0.1:5432/pulse";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_KAFKA_BROKERS: &str = "127.0.0.1:9092";

impl InfraConfig {
    pub fn from_env() -> Self {
        Self {
            database_url: Secret::new(string("DATABASE_URL", DEFAULT_DATABASE_URL)),
            redis_url: Secret::new(string("REDIS_URL", DEFAULT_REDIS_URL)),
            kafka_brokers: string("KAFKA_BROKERS", DEFAULT_KAFKA_BROKERS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
