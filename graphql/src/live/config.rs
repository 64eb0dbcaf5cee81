//! Settings of the live half of the API: which topics and group to watch, how often to sample,
//! how long to keep history, and the WebSocket limits.

use std::time::Duration;

use pulse_core::{
    config::{InfraConfig, var},
    kafka,
};

/// Settings of [`super::Live`]; every one has a default that works with `make up`.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// `KAFKA_BROKERS`.
    pub brokers: String,
    /// `PULSE_TOPIC_RAW` (default `events.raw`): tailed by the `events` subscription, and the topic
    /// whose lag is measured.
    pub raw_topic: String,
    /// `PULSE_TOPIC_DLQ` (default `events.dlq`): tailed by the `deadLetters` subscription.
    pub dlq_topic: String,
    /// `PULSE_CONSUMER_GROUP` (default `pulse-processor`): the processor's group, whose committed
    /// offsets and members are watched (the same variable the processor joins it with).
    pub group: String,
    /// `PULSE_LIVE_SAMPLE_MS` (default 1000, at least 100): how often offsets, lag and members are
    /// read from Kafka (once per process, whatever the number of subscribers).
    pub sample_every: Duration,
    /// `PULSE_LIVE_HISTORY_EVERY_MS` (default 10000, at least 100): how often a sample is written
    /// to `pipeline_samples`.
    pub history_every: Duration,
    /// `PULSE_LIVE_HISTORY_HOURS` (default 25, at least 24): how long samples are kept.
    pub history_retention: Duration,
    /// `PULSE_LIVE_BUFFER` (default 8192, 16..=65536): items kept per live feed for subscribers
    /// that fall behind; one who falls further behind skips items and is told how many. The items
    /// are shared, so the buffer costs the same whatever the number of subscribers; 8192 is ~4 s
    /// of 2,000 events/s (1024, half a second, made 15 % of deliveries misses for 1,000
    /// subscribers on a busy two-core machine).
    pub buffer: usize,
    pub ws: WsLimits,
}

/// Limits of one GraphQL WebSocket connection.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// `PULSE_WS_MAX_SUBSCRIPTIONS` (default 100): live subscriptions open at once per connection.
    pub max_subscriptions: usize,
    /// `PULSE_WS_MAX_MESSAGE_BYTES` (default 65536): largest message a client may send.
    pub max_message_bytes: usize,
    /// `PULSE_WS_INIT_TIMEOUT_MS` (default 10000): time for `connection_init` after the upgrade;
    /// the connection is closed with 4408 past it.
    pub init_timeout: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            max_subscriptions: 100,
            max_message_bytes: 64 * 1024,
            init_timeout: Duration::from_secs(10),
        }
    }
}

impl LiveConfig {
    /// Defaults for everything but the brokers (what tests start from).
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            raw_topic: kafka::TOPIC_RAW.to_owned(),
            dlq_topic: kafka::TOPIC_DLQ.to_owned(),
            group: kafka::CONSUMER_GROUP.to_owned(),
            sample_every: Duration::from_secs(1),
            history_every: Duration::from_secs(10),
            history_retention: Duration::from_secs(25 * 3600),
            buffer: 8192,
            ws: WsLimits::default(),
        }
    }

    pub fn from_env(infra: &InfraConfig) -> Result<Self, pulse_core::ConfigError> {
        let ms = |name, default: u64| var(name, default).map(Duration::from_millis);
        let config = Self {
            brokers: infra.kafka_brokers.clone(),
            raw_topic: kafka::raw_topic_from_env(),
            dlq_topic: kafka::dlq_topic_from_env(),
            group: kafka::consumer_group_from_env(),
            sample_every: ms("PULSE_LIVE_SAMPLE_MS", 1000)?,
            history_every: ms("PULSE_LIVE_HISTORY_EVERY_MS", 10_000)?,
            history_retention: Duration::from_secs(var("PULSE_LIVE_HISTORY_HOURS", 25u64)? * 3600),
            buffer: var("PULSE_LIVE_BUFFER", 8192)?,
            ws: WsLimits {
                max_subscriptions: var("PULSE_WS_MAX_SUBSCRIPTIONS", 100)?,
                max_message_bytes: var("PULSE_WS_MAX_MESSAGE_BYTES", 64 * 1024)?,
                init_timeout: ms("PULSE_WS_INIT_TIMEOUT_MS", 10_000)?,
            },
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), pulse_core::ConfigError> {
        let bad = |name, reason: &str| {
            Err(pulse_core::ConfigError {
                name,
                reason: reason.to_owned(),
            })
        };
        if self.sample_every < Duration::from_millis(100) {
            return bad("PULSE_LIVE_SAMPLE_MS", "must be at least 100");
        }
        if self.history_every < Duration::from_millis(100) {
            return bad("PULSE_LIVE_HISTORY_EVERY_MS", "must be at least 100");
        }
        if self.history_retention < Duration::from_secs(24 * 3600) {
            return bad("PULSE_LIVE_HISTORY_HOURS", "must be at least 24");
        }
        if !(16..=65_536).contains(&self.buffer) {
            return bad("PULSE_LIVE_BUFFER", "must be between 16 and 65536");
        }
        if self.ws.max_subscriptions == 0 {
            return bad("PULSE_WS_MAX_SUBSCRIPTIONS", "must be at least 1");
        }
        if self.ws.max_message_bytes < 1024 {
            return bad("PULSE_WS_MAX_MESSAGE_BYTES", "must be at least 1024");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_history_keeps_a_day() {
        let config = LiveConfig::new("127.0.0.1:9092");
        config.validate().unwrap();
        assert!(config.history_retention >= Duration::from_secs(24 * 3600));
        let short = LiveConfig {
            history_retention: Duration::from_secs(3600),
            ..config
        };
        assert_eq!(
            short.validate().unwrap_err().name,
            "PULSE_LIVE_HISTORY_HOURS"
        );
    }
}
