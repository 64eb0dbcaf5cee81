//! Per-second outcomes and latencies of every request the run made, per kind, for the summary's
//! charts: a histogram per second, not a list of requests, so memory grows with the run's
//! length rather than its request count.

use std::{sync::Mutex, time::Instant};

use crate::{histogram::Histogram, ledger::Kind};

/// One second of the run.
#[derive(Debug, Clone, Default)]
pub struct SecondStats {
    /// Requests that got the expected answer, per [`Kind::index`].
    pub ok: [u64; 5],
    /// Requests that got another answer or none.
    pub failed: [u64; 5],
    /// Latencies of every request in this second, in microseconds.
    pub latency: Histogram,
}

/// A kind over the whole run.
#[derive(Debug, Clone, Default)]
pub struct KindStats {
    pub ok: u64,
    pub failed: u64,
    pub latency: Histogram,
}

/// One point of the charts: `step` seconds starting at `second`.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub second: usize,
    pub requests_per_sec: f64,
    pub failed_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Everything recorded, as plain data.
#[derive(Debug, Clone, Default)]
pub struct TimelineData {
    pub seconds: Vec<SecondStats>,
    pub kinds: [KindStats; 5],
}

impl TimelineData {
    pub fn record(&mut self, second: usize, kind: Kind, ok: bool, latency_us: u64) {
        if second >= self.seconds.len() {
            self.seconds.resize_with(second + 1, SecondStats::default);
        }
        let s = &mut self.seconds[second];
        let k = &mut self.kinds[kind.index()];
        if ok {
            s.ok[kind.index()] += 1;
            k.ok += 1;
        } else {
            s.failed[kind.index()] += 1;
            k.failed += 1;
        }
        s.latency.record(latency_us);
        k.latency.record(latency_us);
    }

    /// The smallest whole number of seconds per point that keeps a chart at `max_points`.
    pub fn step_for(&self, max_points: usize) -> usize {
        self.seconds.len().div_ceil(max_points.max(1)).max(1)
    }

    /// The chart series, `step` seconds per point.
    pub fn points(&self, step: usize) -> Vec<Point> {
        let step = step.max(1);
        self.seconds
            .chunks(step)
            .enumerate()
            .map(|(i, chunk)| {
                let mut latency = Histogram::new();
                let (mut ok, mut failed) = (0u64, 0u64);
                for s in chunk {
                    latency.merge(&s.latency);
                    ok += s.ok.iter().sum::<u64>();
                    failed += s.failed.iter().sum::<u64>();
                }
                let width = chunk.len() as f64;
                let ms = |q| latency.quantile(q).map(|us| us as f64 / 1000.0);
                Point {
                    second: i * step,
                    requests_per_sec: (ok + failed) as f64 / width,
                    failed_per_sec: failed as f64 / width,
                    p50_ms: ms(0.5),
                    p99_ms: ms(0.99),
                }
            })
            .collect()
    }

    /// Requests in total, and the seconds from the first request to the last.
    pub fn totals(&self) -> (u64, usize) {
        let busy = |s: &SecondStats| s.latency.count() > 0;
        let first = self.seconds.iter().position(busy);
        let last = self.seconds.iter().rposition(busy);
        let seconds = match (first, last) {
            (Some(f), Some(l)) => l - f + 1,
            _ => 0,
        };
        let requests = self.kinds.iter().map(|k| k.ok + k.failed).sum();
        (requests, seconds)
    }

    pub fn kind(&self, kind: Kind) -> &KindStats {
        &self.kinds[kind.index()]
    }
}

/// The shared recorder the goose users write to.
pub struct Timeline {
    start: Instant,
    data: Mutex<TimelineData>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// A timeline whose second 0 starts now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            data: Mutex::default(),
        }
    }

    pub fn record(&self, kind: Kind, ok: bool, latency_us: u64) {
        let second = self.start.elapsed().as_secs() as usize;
        self.data
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(second, kind, ok, latency_us);
    }

    pub fn snapshot(&self) -> TimelineData {
        self.data.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TimelineData {
        let mut t = TimelineData::default();
        for second in 0..4 {
            for i in 0..100u64 {
                t.record(second, Kind::Valid, true, 1_000 + i * 10);
            }
            t.record(second, Kind::Malformed, second != 2, 500);
        }
        t
    }

    #[test]
    fn points_per_second() {
        let t = sample();
        let points = t.points(1);
        assert_eq!(points.len(), 4);
        assert_eq!(points[0].requests_per_sec, 101.0);
        assert_eq!(points[2].failed_per_sec, 1.0);
        assert_eq!(points[1].failed_per_sec, 0.0);
        let p50 = points[0].p50_ms.unwrap();
        assert!((p50 - 1.49).abs() < 0.05, "{p50}");
        assert!(points[0].p99_ms.unwrap() >= p50);
    }

    #[test]
    fn points_over_several_seconds_are_averaged() {
        let t = sample();
        assert_eq!(t.step_for(2), 2);
        assert_eq!(t.step_for(100), 1);
        let points = t.points(3);
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].second, 3);
        assert!((points[0].failed_per_sec - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(points[1].requests_per_sec, 101.0);
    }

    #[test]
    fn kinds_add_up() {
        let t = sample();
        assert_eq!(t.kind(Kind::Valid).ok, 400);
        assert_eq!(t.kind(Kind::Malformed).failed, 1);
        assert_eq!(t.kind(Kind::Malformed).latency.count(), 4);
        assert_eq!(t.kind(Kind::Batch).latency.quantile(0.5), None);
    }

    #[test]
    fn totals_span_the_busy_seconds() {
        let mut t = sample();
        t.record(9, Kind::Batch, false, 10);
        assert_eq!(t.totals(), (405, 10));
        let mut late = TimelineData::default();
        late.record(2, Kind::Valid, true, 1);
        late.record(4, Kind::Valid, true, 1);
        assert_eq!(late.totals(), (2, 3));
        assert_eq!(TimelineData::default().totals(), (0, 0));
    }

    #[test]
    fn gaps_are_empty_seconds() {
        let mut t = TimelineData::default();
        t.record(3, Kind::Invalid, true, 10);
        let points = t.points(1);
        assert_eq!(points.len(), 4);
        assert_eq!(points[1].requests_per_sec, 0.0);
        assert_eq!(points[1].p50_ms, None);
    }
}
