//! The load-test tenants: created or reused with high limits, and the uneven (Zipf-like) split
//! of traffic over them.

use pulse_core::{Secret, TenantStore, admin::AdminError as TenantError};
use uuid::Uuid;

/// A tenant the run sends as, with the key it was just given.
#[derive(Debug, Clone)]
pub struct LoadTenant {
    pub name: String,
    pub id: Uuid,
    pub api_key: Secret,
}

/// The limits every load-test tenant gets, so the run measures Pulse rather than its limiter.
#[derive(Debug, Clone, Copy)]
pub struct TenantLimits {
    pub rate_limit_per_minute: i32,
    pub idempotency_ttl_seconds: i32,
}

/// `loadtest-{index}`.
pub fn tenant_name(index: usize) -> String {
    format!("loadtest-{index}")
}

/// Creates `loadtest-0..count`, or reuses them: a reused tenant's key is rotated (keys are stored
/// only hashed), it is re-enabled, and its limits are set again.
pub async fn provision(
    store: &TenantStore,
    count: usize,
    limits: TenantLimits,
) -> Result<Vec<LoadTenant>, TenantError> {
    let mut tenants = Vec::with_capacity(count);
    for index in 0..count {
        tenants.push(provision_one(store, &tenant_name(index), limits).await?);
    }
    Ok(tenants)
}

async fn provision_one(
    store: &TenantStore,
    name: &str,
    limits: TenantLimits,
) -> Result<LoadTenant, TenantError> {
    let (tenant, api_key) = match store.create(name, Some(limits.rate_limit_per_minute)).await {
        Ok(created) => created,
        Err(TenantError::Conflict(_)) => {
            store.set_disabled(name, false).await?;
            store.rotate_key(name).await?
        }
        Err(e) => return Err(e),
    };
    store
        .set_limits(
            name,
            Some(limits.rate_limit_per_minute),
            Some(limits.idempotency_ttl_seconds),
        )
        .await?;
    Ok(LoadTenant {
        name: tenant.name,
        id: tenant.id,
        api_key,
    })
}

/// How traffic is split over tenants: tenant `i` gets a share proportional to `1 / (i + 1)^s`.
#[derive(Debug, Clone)]
pub struct TenantWeights {
    /// Running totals of the normalised shares; the last is 1.
    cumulative: Vec<f64>,
}

impl TenantWeights {
    /// Zipf weights over `count` tenants (at least one) with exponent `skew` (0 = even).
    pub fn zipf(count: usize, skew: f64) -> Self {
        let raw: Vec<f64> = (1..=count.max(1))
            .map(|rank| (rank as f64).powf(-skew))
            .collect();
        let total: f64 = raw.iter().sum();
        let mut running = 0.0;
        let mut cumulative: Vec<f64> = raw
            .iter()
            .map(|w| {
                running += w / total;
                running
            })
            .collect();
        // rounding must not leave a gap at the top
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        Self { cumulative }
    }

    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// Each tenant's share of the traffic, summing to 1.
    pub fn shares(&self) -> Vec<f64> {
        let mut previous = 0.0;
        self.cumulative
            .iter()
            .map(|c| {
                let share = c - previous;
                previous = *c;
                share
            })
            .collect()
    }

    /// The tenant a uniform draw `u` in `[0, 1)` lands on.
    pub fn pick(&self, u: f64) -> usize {
        self.cumulative
            .partition_point(|c| *c <= u)
            .min(self.cumulative.len() - 1)
    }

    /// A random tenant, by weight.
    pub fn sample(&self) -> usize {
        self.pick(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_has_heavy_head_and_long_tail() {
        let w = TenantWeights::zipf(10, 1.0);
        let shares = w.shares();
        assert_eq!(shares.len(), 10);
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(
            shares.windows(2).all(|p| p[0] > p[1]),
            "strictly decreasing"
        );
        // 1 / H(10) = 0.3414...
        assert!((shares[0] - 0.3414).abs() < 1e-3, "{}", shares[0]);
        assert!((shares[0] / shares[9] - 10.0).abs() < 1e-9);
        // the top three carry most of the traffic
        assert!(shares[..3].iter().sum::<f64>() > 0.6);
    }

    #[test]
    fn skew_zero_is_even() {
        let shares = TenantWeights::zipf(4, 0.0).shares();
        assert!(shares.iter().all(|s| (s - 0.25).abs() < 1e-12));
    }

    #[test]
    fn pick_follows_the_cumulative_shares() {
        let w = TenantWeights::zipf(3, 1.0); // shares 6/11, 3/11, 2/11
        assert_eq!(w.pick(0.0), 0);
        assert_eq!(w.pick(0.54), 0);
        assert_eq!(w.pick(0.55), 1);
        assert_eq!(w.pick(0.81), 1);
        assert_eq!(w.pick(0.82), 2);
        assert_eq!(w.pick(0.999_999), 2);
        assert_eq!(w.pick(1.0), 2, "out-of-range draws stay in range");
    }

    #[test]
    fn sampling_matches_the_shares() {
        let w = TenantWeights::zipf(5, 1.2);
        let shares = w.shares();
        let n = 100_000;
        let mut counts = [0usize; 5];
        for i in 0..n {
            // an even grid over [0, 1) stands in for random draws
            counts[w.pick((i as f64 + 0.5) / n as f64)] += 1;
        }
        for (count, share) in counts.iter().zip(&shares) {
            assert!((*count as f64 / n as f64 - share).abs() < 1e-3);
        }
        assert!((0..1000).map(|_| w.sample()).all(|i| i < 5));
    }

    #[test]
    fn one_tenant_takes_everything() {
        let w = TenantWeights::zipf(1, 3.0);
        assert_eq!(w.shares(), vec![1.0]);
        assert_eq!(w.pick(0.7), 0);
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(tenant_name(0), "loadtest-0");
        assert_eq!(tenant_name(12), "loadtest-12");
    }
}
