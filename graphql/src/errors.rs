//! The API's errors: every error a client sees carries `extensions.code`, one of
//! `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT`, `NOT_FOUND`, `INTERNAL`, and a message that
//! never holds SQL, driver text or a secret (internal causes are logged, not returned).

use async_graphql::ErrorExtensions;
use pulse_core::admin::AdminError;

/// The fixed set of `extensions.code` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unauthenticated,
    Forbidden,
    BadUserInput,
    NotFound,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Internal => "INTERNAL",
        }
    }
}

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            Code::Unauthenticated,
            "sign in: send `Authorization: Bearer <admin token>` or `X-API-Key: <tenant key>`",
        )
    }

    pub fn admin_only() -> Self {
        Self::new(Code::Forbidden, "only the admin token may do this")
    }

    pub fn other_tenant() -> Self {
        Self::new(Code::Forbidden, "a tenant key sees only its own tenant")
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Code::BadUserInput, message)
    }

    pub fn internal() -> Self {
        Self::new(Code::Internal, "internal error")
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let code = match e.code() {
            "NOT_FOUND" => Code::NotFound,
            "BAD_USER_INPUT" => Code::BadUserInput,
            "FORBIDDEN" => Code::Forbidden,
            _ => Code::Internal,
        };
        // AdminError's messages are written for clients (Internal says only "internal error")
        Self::new(code, e.to_string())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        async_graphql::Error::new(e.message).extend_with(|_, ext| ext.set("code", e.code.as_str()))
    }
}

/// The error code of a resolver error (for the audit log and metrics).
pub fn code_of(error: &async_graphql::Error) -> String {
    error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(s) => Some(s.clone()),
            async_graphql::Value::Enum(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| Code::Internal.as_str().to_owned())
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Gives every error of `response` a code: async-graphql's own errors (parse, validation, input
/// coercion, depth and complexity limits) are the caller's input; anything else without a code
/// is an internal error whose text is replaced, so nothing internal reaches a client.
pub fn normalize(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if has_code {
            continue;
        }
        let input = error.path.is_empty()
            || error.message.starts_with("Failed to parse")
            || error.message.starts_with("Invalid value for argument")
            // an argument literal of the wrong kind (`stats(window: 5)`)
            || error.message.starts_with("Expected input type");
        let code = if input {
            Code::BadUserInput
        } else {
            tracing::error!(error = %error.message, "resolver error without a code");
            error.message = "internal error".to_owned();
            Code::Internal
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}
