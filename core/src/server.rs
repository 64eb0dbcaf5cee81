//! Serving an axum router with Pulse's shutdown order: readiness turns 503 first, the listener
//! keeps answering for a short grace period (so load balancers notice), then stops accepting and
//! in-flight requests finish within a bounded time.

use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::health::Readiness;

/// How a service winds down once its shutdown token is cancelled.
#[derive(Debug, Clone, Copy)]
pub struct ShutdownTiming {
    /// Keep serving (with `/readyz` at 503) this long before closing the listener.
    pub grace: Duration,
    /// Give in-flight requests at most this long to finish.
    pub drain: Duration,
}

impl ShutdownTiming {
    /// `PULSE_SHUTDOWN_GRACE_MS` (default 500) and `PULSE_SHUTDOWN_DRAIN_MS` (default 8000).
    pub fn from_env() -> Result<Self, crate::ConfigError> {
        Ok(Self {
            grace: Duration::from_millis(crate::config::var("PULSE_SHUTDOWN_GRACE_MS", 500u64)?),
            drain: Duration::from_millis(crate::config::var("PULSE_SHUTDOWN_DRAIN_MS", 8000u64)?),
        })
    }
}

impl Default for ShutdownTiming {
    fn default() -> Self {
        Self {
            grace: Duration::from_millis(500),
            drain: Duration::from_secs(8),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then winds down as described in
/// the module docs. Returns once the server has stopped.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    readiness: Readiness,
    shutdown: CancellationToken,
    timing: ShutdownTiming,
) -> std::io::Result<()> {
    let stop_accepting = CancellationToken::new();
    let closer = {
        let stop_accepting = stop_accepting.clone();
        let readiness = readiness.clone();
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            readiness.set_shutting_down();
            tracing::info!(
                grace_ms = timing.grace.as_millis() as u64,
                "readiness off, draining"
            );
            tokio::time::sleep(timing.grace).await;
            stop_accepting.cancel();
        }
    };
    tokio::spawn(closer);

    let server = axum::serve(listener, router)
        .with_graceful_shutdown(stop_accepting.clone().cancelled_owned());
    let server = tokio::spawn(async move { server.await });
    let mut server = std::pin::pin!(server);
    tokio::select! {
        res = &mut server => return res.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        () = stop_accepting.cancelled() => {}
    }
    match tokio::time::timeout(timing.drain, &mut server).await {
        Ok(res) => res.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        Err(_) => {
            tracing::warn!(
                drain_ms = timing.drain.as_millis() as u64,
                "in-flight requests did not finish in time"
            );
            server.abort();
            Ok(())
        }
    }
}
