//! `Stats` of a window, read from the per-minute rollup, and the `StatsWindow` scalar.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};
use chrono::{DateTime, Utc};
use pulse_core::admin::stats::{self, Window};
use uuid::Uuid;

/// A stats window: one of 5m, 30m, 1h, 24h (as a string)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsWindow(pub Window);

#[Scalar(name = "StatsWindow")]
impl ScalarType for StatsWindow {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Window::parse(s)
                .map(StatsWindow)
                .map_err(|e| InputValueError::custom(e.to_string())),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.as_str().to_owned())
    }
}

/// Traffic of one window, from the per-minute rollup (never a scan of events).
#[derive(SimpleObject, Clone, Debug)]
pub struct Stats {
    pub window: StatsWindow,
    pub tenant_id: Option<Uuid>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// received = stored + deadLettered, by the minute the event was received
    pub received: i64,
    pub stored: i64,
    pub dead_lettered: i64,
    /// deadLettered / received, 0 when nothing was received
    pub dlq_rate: f64,
    /// One point per minute of the window, oldest first, zero-filled
    pub series: Vec<StatsPoint>,
    pub top_event_types: Vec<EventTypeCount>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct StatsPoint {
    pub minute: DateTime<Utc>,
    pub received: i64,
    pub stored: i64,
    pub dead_lettered: i64,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct EventTypeCount {
    pub event_type: String,
    pub count: i64,
}

impl From<stats::Stats> for Stats {
    fn from(s: stats::Stats) -> Self {
        Self {
            window: StatsWindow(s.window),
            tenant_id: s.tenant_id,
            from: s.from,
            to: s.to,
            received: s.received(),
            stored: s.stored,
            dead_lettered: s.dead_lettered,
            dlq_rate: s.dlq_rate(),
            series: s
                .series
                .iter()
                .map(|p| StatsPoint {
                    minute: p.minute,
                    received: p.received(),
                    stored: p.stored,
                    dead_lettered: p.dead_lettered,
                })
                .collect(),
            top_event_types: s
                .top_event_types
                .into_iter()
                .map(|(event_type, count)| EventTypeCount { event_type, count })
                .collect(),
        }
    }
}
