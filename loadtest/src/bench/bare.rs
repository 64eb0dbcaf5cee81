//! The bare handler: an axum server that reads each request's body and answers like ingest
//! (202 with an event id), doing nothing else — the floor the HTTP stack, the generator and the
//! kernel set, against which ingest is compared with the same generator in the same run.
//! `pulse-bench` uses mimalloc like `pulse`, so the allocator is not a difference either.

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
};

use axum::{Json, Router, body::Bytes, http::StatusCode, routing::post};
use serde_json::json;
use uuid::Uuid;

/// Requests answered so far (`GET /count`), so any generator's rate can be read off the server.
static ANSWERED: AtomicU64 = AtomicU64::new(0);

pub async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let app = Router::new()
        .route(
            "/events",
            post(|body: Bytes| async move {
                ANSWERED.fetch_add(1, Ordering::Relaxed);
                // the body is read in full (the extractor) and looked at, as ingest must
                let status = if body.is_empty() {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::ACCEPTED
                };
                (
                    status,
                    Json(json!({ "event_id": Uuid::now_v7(), "status": "accepted" })),
                )
            }),
        )
        .route(
            "/count",
            axum::routing::get(|| async { ANSWERED.load(Ordering::Relaxed).to_string() }),
        )
        .route(
            "/events/batch",
            post(|body: Bytes| async move {
                Json(json!({ "accepted": 0, "duplicates": 0, "rejected": 0, "bytes": body.len(), "results": [] }))
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("bare handler on {addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
