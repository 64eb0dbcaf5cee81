//! Every way a request can fail, and its one mapping to an HTTP answer. Internal causes are logged
//! where they happen; clients get a stable code and a human message, never internal text.

use std::time::Duration;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    #[error("missing X-API-Key header")]
    MissingApiKey,
    #[error("unknown or disabled API key")]
    InvalidApiKey,
    #[error("rate limit exceeded")]
    RateLimited { retry_after: Duration },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("a batch holds at most {limit} events")]
    TooManyEvents { limit: usize },
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("body must be a JSON object")]
    NotAnObject,
    #[error("JSON nests deeper than {limit} levels")]
    NestingTooDeep { limit: usize },
    #[error("the request was not received in time")]
    RequestTimeout,
    #[error("batch body must be {{\"events\": [...]}} with at least one event")]
    InvalidBatch,
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    InvalidIdempotencyKey,
    #[error("Idempotency-Key was already used with a different body")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyKeyInFlight,
    #[error("event broker unavailable, retry later")]
    BrokerUnavailable,
    #[error("idempotency store unavailable, retry later")]
    IdempotencyUnavailable,
    #[error("tenant store unavailable, retry later")]
    AuthUnavailable,
    #[error("ingest is at its limit of requests in flight, retry later")]
    Overloaded,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl IngestError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingApiKey | Self::InvalidApiKey => StatusCode::UNAUTHORIZED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge { .. } | Self::TooManyEvents { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidJson(_)
            | Self::NotAnObject
            | Self::NestingTooDeep { .. }
            | Self::InvalidBatch
            | Self::InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyInFlight => StatusCode::CONFLICT,
            Self::BrokerUnavailable
            | Self::IdempotencyUnavailable
            | Self::AuthUnavailable
            | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The stable, machine-readable code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingApiKey => "missing_api_key",
            Self::InvalidApiKey => "invalid_api_key",
            Self::RateLimited { .. } => "rate_limited",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::TooManyEvents { .. } => "too_many_events",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidJson(_) => "invalid_json",
            Self::NotAnObject => "not_an_object",
            Self::NestingTooDeep { .. } => "nesting_too_deep",
            Self::RequestTimeout => "request_timeout",
            Self::InvalidBatch => "invalid_batch",
            Self::InvalidIdempotencyKey => "invalid_idempotency_key",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyKeyInFlight => "idempotency_key_in_flight",
            Self::BrokerUnavailable => "broker_unavailable",
            Self::IdempotencyUnavailable => "idempotency_unavailable",
            Self::AuthUnavailable => "auth_unavailable",
            Self::Overloaded => "overloaded",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// Seconds a client should wait before retrying, for answers that invite a retry.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            Self::IdempotencyKeyInFlight
            | Self::BrokerUnavailable
            | Self::IdempotencyUnavailable
            | Self::AuthUnavailable
            | Self::Overloaded => Some(1),
            _ => None,
        }
    }

    /// The per-item JSON for batch answers and the body of single answers.
    pub fn body(&self) -> serde_json::Value {
        json!({ "error": self.code(), "message": self.to_string() })
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
