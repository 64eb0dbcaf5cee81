//! `/healthz` (the process is alive), `/readyz` (it should get traffic) and `/metrics`, the same on
//! every service.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU8, Ordering},
};

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

const STARTING: u8 = 0;
const READY: u8 = 1;
const DEGRADED: u8 = 2;
const SHUTTING_DOWN: u8 = 3;

/// Whether a service should receive traffic, and why not when it is degraded. Cheap to clone; all
/// clones share one state.
#[derive(Clone, Default)]
pub struct Readiness(Arc<ReadinessState>);

#[derive(Default)]
struct ReadinessState {
    status: AtomicU8,
    /// Why the service is degraded, for `/readyz` (never holds secrets or payload values).
    reason: Mutex<Option<String>>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_ready(&self) {
        // a service that is shutting down never becomes ready again
        let became_ready = self
            .0
            .status
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s != SHUTTING_DOWN && s != READY).then_some(READY)
            })
            .is_ok();
        if became_ready {
            self.set_reason(None);
        }
    }

    /// A dependency is down; the service keeps running and recovers by itself.
    pub fn set_degraded(&self) {
        let _ = self
            .0
            .status
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s != SHUTTING_DOWN).then_some(DEGRADED)
            });
    }

    /// [`Self::set_degraded`], saying why (shown by `/readyz`).
    pub fn set_degraded_because(&self, reason: impl Into<String>) {
        self.set_degraded();
        self.set_reason(Some(reason.into()));
    }

    fn set_reason(&self, reason: Option<String>) {
        if let Ok(mut r) = self.0.reason.lock() {
            *r = reason;
        }
    }

    /// Why the service is degraded, if it said.
    pub fn reason(&self) -> Option<String> {
        self.0.reason.lock().ok().and_then(|r| r.clone())
    }

    pub fn set_shutting_down(&self) {
        self.0.status.store(SHUTTING_DOWN, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.0.status.load(Ordering::Acquire) == READY
    }

    pub fn status(&self) -> &'static str {
        match self.0.status.load(Ordering::Acquire) {
            STARTING => "starting",
            READY => "ready",
            DEGRADED => "degraded",
            _ => "shutting_down",
        }
    }
}

/// Renders the Prometheus text exposition for `/metrics`.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
struct HealthState {
    readiness: Readiness,
    metrics: MetricsRenderer,
}

/// The three operational routes, to be merged into a service's router.
pub fn router<S>(readiness: Readiness, metrics: MetricsRenderer) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(HealthState { readiness, metrics })
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<HealthState>) -> Response {
    let status = state.readiness.status();
    let code = if state.readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = match state.readiness.reason() {
        Some(reason) if status == "degraded" => json!({ "status": status, "reason": reason }),
        _ => json!({ "status": status }),
    };
    (code, Json(body)).into_response()
}

async fn render_metrics(State(state): State<HealthState>) -> Response {
    let body = (state.metrics)();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutting_down_is_final() {
        let r = Readiness::new();
        assert_eq!(r.status(), "starting");
        r.set_ready();
        assert!(r.is_ready());
        r.set_degraded_because("database_unavailable");
        assert_eq!(r.status(), "degraded");
        assert_eq!(r.reason().as_deref(), Some("database_unavailable"));
        r.set_ready();
        assert_eq!(r.reason(), None);
        r.set_shutting_down();
        r.set_ready();
        assert_eq!(r.status(), "shutting_down");
    }
}
