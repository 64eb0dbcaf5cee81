//! `Stats` of a window, read from the per-minute rollup, and the `StatsWindow` scalar.

use std::borrow::Cow;

use async_graphql::{
    ContextSelectionSet, InputValueError, InputValueResult, OutputType, Positioned, Scalar,
    ScalarType, ServerResult, SimpleObject, Value, parser::types::Field, registry::Registry,
};
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
    /// The same series as columns: what a chart wants, and a fraction of the cost to answer
    pub columns: StatsColumns,
    pub top_event_types: Vec<EventTypeCount>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct StatsPoint {
    pub minute: DateTime<Utc>,
    pub received: i64,
    pub stored: i64,
    pub dead_lettered: i64,
}

/// The per-minute series as columns: entry `i` of each list counts minute `start + i × stepSeconds`.
#[derive(SimpleObject, Clone, Debug)]
pub struct StatsColumns {
    /// The first minute of the series
    pub start: DateTime<Utc>,
    /// Always 60: one entry per minute
    pub step_seconds: i32,
    pub received: Counts,
    pub stored: Counts,
    pub dead_lettered: Counts,
}

/// A list of counts, answered as `[Int!]!` in one step: async-graphql resolves every item of its
/// own lists as a future of its own, which was most of the cost of a day of minutes.
#[derive(Clone, Debug, Default)]
pub struct Counts(pub Vec<i64>);

impl OutputType for Counts {
    fn type_name() -> Cow<'static, str> {
        <Vec<i64> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<i64> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<i64> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(Value::List(
            self.0.iter().map(|&n| Value::from(n)).collect(),
        ))
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct EventTypeCount {
    pub event_type: String,
    pub count: i64,
}

impl Stats {
    /// (not `From`: the derived resolver of the field `from` takes the name `Stats::from`)
    pub fn from_core(s: stats::Stats) -> Self {
        let columns = StatsColumns {
            start: s.series.first().map_or(s.from, |p| p.minute),
            step_seconds: 60,
            received: Counts(s.series.iter().map(|p| p.received()).collect()),
            stored: Counts(s.series.iter().map(|p| p.stored).collect()),
            dead_lettered: Counts(s.series.iter().map(|p| p.dead_lettered).collect()),
        };
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
            columns,
            top_event_types: s
                .top_event_types
                .into_iter()
                .map(|(event_type, count)| EventTypeCount { event_type, count })
                .collect(),
        }
    }
}
