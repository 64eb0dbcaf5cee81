//! A small log-linear latency histogram: fixed memory whatever the request count, about 3 %
//! relative error, mergeable, so per-second percentiles cost kilobytes rather than one entry per
//! request.

/// Values below this are counted exactly; above it each power of two has `SUB` buckets.
const LINEAR: u64 = 64;
/// Buckets per power of two above `LINEAR`.
const SUB: u64 = 32;
const SUB_BITS: u64 = 5;

/// Counts of microsecond values in log-linear buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

/// The bucket a value falls in.
fn index(value: u64) -> usize {
    if value < LINEAR {
        return value as usize;
    }
    let msb = 63 - u64::from(value.leading_zeros());
    let shift = msb - SUB_BITS;
    let mantissa = value >> shift; // in [SUB, 2 * SUB)
    (LINEAR + (shift - 1) * SUB + (mantissa - SUB)) as usize
}

/// The largest value that falls in bucket `i`.
fn upper_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let j = i - LINEAR;
    let shift = j / SUB + 1;
    let mantissa = j % SUB + SUB;
    // the top bucket ends at u64::MAX, where the shift wraps to 0
    ((mantissa + 1) << shift).wrapping_sub(1)
}

impl Histogram {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&mut self, value: u64) {
        let i = index(value);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1): the top of the bucket holding it, never above the
    /// largest value seen; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(upper_bound(i).min(self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        let mut previous = None;
        for v in [u64::from(u32::MAX), 1 << 40, u64::MAX] {
            assert!(upper_bound(index(v)) >= v && upper_bound(index(v) - 1) < v);
        }
        for v in 0..200_000u64 {
            let i = index(v);
            assert!(upper_bound(i) >= v, "{v} fits its bucket");
            if let Some(p) = previous {
                assert!(i == p || i == p + 1, "no gap at {v}");
            }
            previous = Some(i);
            if v >= LINEAR {
                let lower = upper_bound(i - 1) + 1;
                assert!(lower <= v);
                assert!((upper_bound(i) - lower) as f64 / lower as f64 <= 1.0 / 32.0 + 1e-9);
            }
        }
        assert_eq!(index(LINEAR - 1), 63);
        assert_eq!(index(LINEAR), 64);
        assert_eq!(index(127), 95);
        assert_eq!(index(128), 96);
    }

    #[test]
    fn quantiles_are_within_three_percent() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 10);
        }
        assert_eq!(h.count(), 10_000);
        for (q, exact) in [(0.5, 50_000.0), (0.95, 95_000.0), (0.99, 99_000.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!(
                (got - exact).abs() / exact < 0.035,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.quantile(1.0), Some(100_000));
        assert_eq!(h.quantile(0.0), Some(10));
        assert_eq!(Histogram::new().quantile(0.5), None);
    }

    #[test]
    fn merging_equals_recording_everything() {
        let (mut a, mut b, mut all) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in [5, 70, 900, 12_000] {
            a.record(v);
            all.record(v);
        }
        for v in [3, 1_000_000] {
            b.record(v);
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(a.max(), 1_000_000);
    }
}
