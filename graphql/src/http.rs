//! GraphQL over HTTP (graphql.github.io/graphql-over-http) on `/graphql`:
//! - POST with `Content-Type: application/json` (else 415), a body of at most 64 KiB (else 413),
//!   one operation per request (a batch is refused with 400);
//! - GET for queries only (a mutation over GET is 405 with `Allow: POST`); a browser asking for
//!   HTML gets GraphiQL instead;
//! - the answer's media type follows `Accept`: `application/graphql-response+json` when the client
//!   prefers it, `application/json` when it accepts that, `*/*` or sends no `Accept`, else 406.
//!   Under `application/graphql-response+json` a request that fails to parse or validate is 400;
//!   under `application/json` every well-formed request is 200 (the legacy behaviour clients
//!   expect).
//!
//! Every error body is a GraphQL response: `{"errors":[{"message","extensions":{"code"}}]}`.

use async_graphql::{Executor as _, ServerError, parser::types::OperationType};
use axum::{
    body::{Body, Bytes},
    extract::{Query as UrlQuery, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    AppState,
    auth::{Scope, resolve_scope},
    console,
    errors::{ApiError, Code},
    observe,
};

/// The largest request body (and GET query string) accepted.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The media type of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Json,
    GraphqlResponse,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        }
    }
}

/// One media range of an `Accept` header with its quality.
fn accept_ranges(accept: &str) -> Vec<(String, f32)> {
    accept
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let range = pieces.next()?.trim().to_ascii_lowercase();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!range.is_empty()).then_some((range, q))
        })
        .collect()
}

/// Picks the answer's media type from `Accept`; `None` when nothing acceptable (406).
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let quality = |wanted: &str| {
        accept_ranges(accept)
            .into_iter()
            .filter(|(range, _)| range == wanted || range == "*/*" || range == "application/*")
            // the most specific range decides (RFC 9110 12.5.1)
            .max_by_key(|(range, _)| (range == wanted, range == "application/*"))
            .map_or(0.0, |(_, q)| q)
    };
    let (json, graphql) = (quality(JSON), quality(GRAPHQL_RESPONSE));
    if json <= 0.0 && graphql <= 0.0 {
        return None;
    }
    // on a tie (e.g. */*), application/json: what legacy clients understand
    Some(if graphql > json {
        MediaType::GraphqlResponse
    } else {
        MediaType::Json
    })
}

/// Whether a browser asks for a page rather than data.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let ranges = accept_ranges(accept);
    let q = |m: &str| ranges.iter().find(|(r, _)| r == m).map_or(0.0, |(_, q)| *q);
    q("text/html") > 0.0 && q("text/html") >= q(JSON).max(q(GRAPHQL_RESPONSE))
}

/// A GraphQL-shaped error response with `status`.
pub fn error_response(status: StatusCode, media: MediaType, error: ApiError) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": error.message, "extensions": { "code": error.code.as_str() } }]
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.as_str()),
    );
    response
}

fn bad_request(media: MediaType, message: impl Into<String>) -> Response {
    error_response(StatusCode::BAD_REQUEST, media, ApiError::bad_input(message))
}

/// The caller's scope from the request headers.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Scope, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    resolve_scope(&state.auth, header("authorization"), header("x-api-key"))
        .await
        .map_err(ApiError::from)
}

/// `POST /graphql`.
pub async fn post(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(JSON) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            ApiError::bad_input("send the request as Content-Type: application/json"),
        );
    }
    let body: Bytes = match axum::body::to_bytes(request.into_body(), MAX_DOCUMENT_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                ApiError::bad_input(format!(
                    "the request body is over {MAX_DOCUMENT_BYTES} bytes"
                )),
            );
        }
    };
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return bad_request(media, "the request body is not JSON"),
    };
    if value.is_array() {
        return bad_request(
            media,
            "batched operations are not supported: send one per request",
        );
    }
    let gql: async_graphql::Request = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(_) => {
            return bad_request(
                media,
                "the body must be {\"query\": …, \"operationName\"?: …, \"variables\"?: {…}}",
            );
        }
    };
    execute(&state, &headers, media, gql).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// `GET /graphql`: GraphiQL for browsers, queries for everyone else.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<UrlQuery<GetParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if wants_html(&headers) {
        return console::graphiql(&state.console).await;
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let Ok(UrlQuery(params)) = params else {
        return bad_request(media, "invalid query string");
    };
    let Some(query) = params.query.filter(|q| !q.trim().is_empty()) else {
        return bad_request(media, "the query parameter is required");
    };
    if query.len() > MAX_DOCUMENT_BYTES {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            ApiError::bad_input("the query is too long"),
        );
    }
    let mut gql = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        gql = gql.operation_name(name);
    }
    // GET is for queries only: reading the operation's type needs the parsed document (which
    // the schema then reuses)
    let wanted = gql.operation_name.clone();
    let ty = gql
        .parsed_query()
        .ok()
        .and_then(|document| observe::operation(document, wanted.as_deref()))
        .map(|(ty, _)| ty);
    if ty.is_some_and(|t| t != OperationType::Query) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            ApiError::bad_input("only queries may be sent with GET; use POST"),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return response;
    }
    if let Some(variables) = params.variables.filter(|v| !v.is_empty()) {
        match serde_json::from_str(&variables) {
            Ok(v) => gql = gql.variables(async_graphql::Variables::from_json(v)),
            Err(_) => return bad_request(media, "variables must be a JSON object"),
        }
    }
    if let Some(extensions) = params.extensions.filter(|e| !e.is_empty()) {
        match serde_json::from_str(&extensions) {
            Ok(e) => gql.extensions = e,
            Err(_) => return bad_request(media, "extensions must be a JSON object"),
        }
    }
    execute(&state, &headers, media, gql).await
}

fn not_acceptable() -> Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        ApiError::bad_input("accept application/graphql-response+json or application/json"),
    )
}

/// Runs one operation as the caller and answers it in `media`.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    request: async_graphql::Request,
) -> Response {
    let scope = match caller(state, headers).await {
        Ok(scope) => scope,
        Err(e) => {
            let status = if e.code == Code::Internal {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::UNAUTHORIZED
            };
            let mut response = error_response(status, media, e);
            if status == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            return response;
        }
    };
    let response = state.schema.execute(request.data(scope)).await;
    // a request error (the document did not parse or validate): no data, errors without a path
    let request_error = matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|e: &ServerError| e.path.is_empty());
    let (status, body) = if request_error && media == MediaType::GraphqlResponse {
        let errors = serde_json::json!({ "errors": response.errors });
        (StatusCode::BAD_REQUEST, errors.to_string())
    } else {
        (
            StatusCode::OK,
            serde_json::to_string(&response).unwrap_or_else(|_| "{}".to_owned()),
        )
    };
    let mut http = Response::new(Body::from(body));
    *http.status_mut() = status;
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.as_str()),
    );
    // authenticated answers are per caller; never let a shared cache keep them
    http.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    http
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(negotiate(&accept(JSON)), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept(GRAPHQL_RESPONSE)),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            negotiate(&accept(
                "application/json, application/graphql-response+json;q=0.5"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(negotiate(&accept("text/plain")), None);
        assert_eq!(negotiate(&accept("application/xml")), None);
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
