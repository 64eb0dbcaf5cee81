//! A counter sampled while a child process (the goose load tester) runs, and the rate between the
//! samples that saw it move: the child's start-up (tenants, API keys) and what it does after the
//! load (its reconciliation) are not load, so they stay out of the rate, as wrk's rate covers only
//! its own run.

use std::{future::Future, process::ExitStatus, time::Instant};

const EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Runs `child` to its end, reading `count` before it starts and every 250 ms while it runs (a
/// read that fails, `None`, is skipped). Returns its exit status and the samples.
pub async fn while_running<F, Fut>(
    mut child: tokio::process::Child,
    count: F,
) -> anyhow::Result<(ExitStatus, Vec<(Instant, u64)>)>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<u64>>,
{
    let mut samples = vec![(Instant::now(), count().await.unwrap_or(0))];
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            () = tokio::time::sleep(EVERY) => {
                if let Some(n) = count().await {
                    samples.push((Instant::now(), n));
                }
            }
        }
    };
    Ok((status, samples))
}

/// Counts per second between the first sample after the count began to move and the last that
/// still saw it move; 0 with fewer than two such samples.
pub fn rate(samples: &[(Instant, u64)]) -> f64 {
    let Some(&(_, idle)) = samples.first() else {
        return 0.0;
    };
    let first = samples.iter().position(|&(_, n)| n > idle);
    let last = samples
        .windows(2)
        .rposition(|w| w[1].1 > w[0].1)
        .map(|i| i + 1);
    match (first, last) {
        (Some(a), Some(b)) if b > a => {
            let (ta, na) = samples[a];
            let (tb, nb) = samples[b];
            (nb - na) as f64 / (tb - ta).as_secs_f64()
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_rate_leaves_out_start_up_and_shutdown() {
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        // idle for a second, 1,000/s from 1.5 s to 3.5 s, idle again
        let samples = [
            (at(0.0), 50),
            (at(1.0), 50),
            (at(1.5), 550),
            (at(2.5), 1550),
            (at(3.5), 2550),
            (at(4.5), 2550),
            (at(5.5), 2550),
        ];
        assert!((rate(&samples) - 1000.0).abs() < 1e-6);
        assert_eq!(rate(&samples[..2]), 0.0);
        assert_eq!(rate(&[]), 0.0);
    }
}
