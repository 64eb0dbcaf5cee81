//! GraphQL over WebSocket on `/graphql`: both subprotocols (`graphql-transport-ws` and the legacy
//! `graphql-ws`), authenticated by the `connection_init` payload.
//!
//! Browsers cannot set headers on a WebSocket, so credentials come in the first message:
//! `{"type":"connection_init","payload":{"Authorization":"Bearer …"}}` or `{"X-API-Key":"…"}`
//! (keys matched case-insensitively; also accepted inside a `"headers"` object). The handshake is
//! done here, before async-graphql sees the connection, so that a refused connection is closed
//! with the codes clients act on and is never usable:
//! - no credentials, or anything but `connection_init` first: 4401 Unauthorized;
//! - credentials that do not check out: 4403 Forbidden;
//! - no `connection_init` within the timeout: 4408;
//! - credentials that cannot be checked now (database down): 1011.
//!
//! Limits: message size (`max_message_bytes`), open subscriptions per connection
//! ([`SubscriptionSlots`], enforced by the subscription resolvers).
//!
//! Mounting: `/graphql` also answers GET queries and GraphiQL, so upgrades are picked off in a
//! middleware: `get(…).post(…).layer(axum::middleware::from_fn_with_state(WsState::new(schema,
//! auth, limits), ws::middleware::<Schema>))`; [`ws_route`] serves only WebSockets.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_graphql::{Data, Executor, http::ALL_WEBSOCKET_PROTOCOLS};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        FromRequestParts, Request, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, Request as HttpRequest, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};
use futures::{SinkExt as _, StreamExt as _, stream::SplitSink};

use super::WsLimits;
use crate::auth::{AuthError, AuthState, Scope, resolve_scope};

/// Close codes of the `graphql-transport-ws` protocol (used for both subprotocols here).
pub mod close_code {
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const INTERNAL: u16 = 1011;
}

/// What the WebSocket endpoint needs; cheap to clone.
#[derive(Clone)]
pub struct WsState<E> {
    executor: E,
    auth: AuthState,
    limits: WsLimits,
}

impl<E: Executor> WsState<E> {
    pub fn new(executor: E, auth: AuthState, limits: WsLimits) -> Self {
        Self {
            executor,
            auth,
            limits,
        }
    }
}

/// A route that serves GraphQL over WebSocket only.
pub fn ws_route<E: Executor>(executor: E, auth: AuthState, limits: WsLimits) -> MethodRouter {
    get(upgrade::<E>).with_state(WsState::new(executor, auth, limits))
}

/// Passes WebSocket upgrades to the GraphQL WebSocket endpoint and every other request on.
pub async fn middleware<E: Executor>(
    State(state): State<WsState<E>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_upgrade(request.headers()) {
        return next.run(request).await;
    }
    let (mut parts, _) = request.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => accept(state, &parts.headers, ws).await,
        Err(rejection) => rejection.into_response(),
    }
}

/// Whether `headers` ask for a WebSocket upgrade.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

async fn upgrade<E: Executor>(
    State(state): State<WsState<E>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    accept(state, &headers, ws).await
}

async fn accept<E: Executor>(
    state: WsState<E>,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(chosen) = choose_protocol(headers) else {
        let message = "offer the graphql-transport-ws or graphql-ws subprotocol";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    // async-graphql's extractor reads the protocol from a header: hand it only the chosen one, so
    // the protocol spoken is the one announced in the handshake
    let (mut parts, ()) = HttpRequest::builder()
        .header(header::SEC_WEBSOCKET_PROTOCOL, chosen)
        .body(())
        .unwrap_or_default()
        .into_parts();
    let Ok(protocol) = GraphQLProtocol::from_request_parts(&mut parts, &()).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let legacy = chosen == LEGACY_PROTOCOL;
    ws.protocols([chosen])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(state.limits.max_message_bytes)
        .max_frame_size(state.limits.max_message_bytes)
        .on_upgrade(move |socket| serve(socket, state, protocol, legacy))
}

const LEGACY_PROTOCOL: &str = "graphql-ws";
/// Read buffer per connection: clients send small control messages (larger ones are still read,
/// in several chunks). tungstenite's default, 128 KiB allocated up front, made 1,000 idle
/// subscribers cost ~130 MB of RSS.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Bytes gathered before a write to the socket (default 128 KiB): bounds what a connection holds
/// on top of the kernel's socket buffer.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// The subprotocol to speak: `graphql-transport-ws` when offered, else the legacy `graphql-ws`.
fn choose_protocol(headers: &HeaderMap) -> Option<&'static str> {
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    ALL_WEBSOCKET_PROTOCOLS
        .into_iter()
        .find(|p| offered.iter().any(|o| o.eq_ignore_ascii_case(p)))
}

type Sink = SplitSink<WebSocket, Message>;

async fn serve<E: Executor>(
    socket: WebSocket,
    state: WsState<E>,
    protocol: GraphQLProtocol,
    legacy: bool,
) {
    let (mut sink, mut stream) = socket.split();
    let first = tokio::time::timeout(state.limits.init_timeout, async {
        while let Some(Ok(message)) = stream.next().await {
            match message {
                Message::Text(text) => return Some(text.to_string()),
                Message::Binary(bytes) => return String::from_utf8(bytes.to_vec()).ok(),
                Message::Ping(_) | Message::Pong(_) => {}
                Message::Close(_) => return None,
            }
        }
        None
    })
    .await;
    let text = match first {
        Err(_) => {
            return close(
                &mut sink,
                close_code::INIT_TIMEOUT,
                "Connection initialisation timeout",
            )
            .await;
        }
        Ok(None) => return,
        Ok(Some(text)) => text,
    };
    let Some(payload) = connection_init_payload(&text) else {
        return refuse(
            &mut sink,
            legacy,
            close_code::UNAUTHORIZED,
            "Unauthorized: connection_init first",
        )
        .await;
    };
    let (authorization, api_key) = credentials(&payload);
    let scope = match resolve_scope(&state.auth, authorization, api_key).await {
        Ok(Scope::Anonymous) => {
            let reason = "Unauthorized: send Authorization or X-API-Key in connection_init";
            return refuse(&mut sink, legacy, close_code::UNAUTHORIZED, reason).await;
        }
        Ok(scope) => scope,
        Err(AuthError::Unavailable) => {
            let reason = "credentials cannot be checked right now";
            return refuse(&mut sink, legacy, close_code::INTERNAL, reason).await;
        }
        Err(_) => {
            return refuse(
                &mut sink,
                legacy,
                close_code::FORBIDDEN,
                "Forbidden: invalid credentials",
            )
            .await;
        }
    };
    let mut data = Data::default();
    data.insert(scope);
    data.insert(SubscriptionSlots::new(state.limits.max_subscriptions));
    // async-graphql answers the (already checked) connection_init with connection_ack and runs
    // the protocol from there on
    let input = futures::stream::once(async move { Ok(Message::Text(text.into())) }).chain(stream);
    GraphQLWebSocket::new_with_pair(sink, input, state.executor, protocol)
        .on_connection_init(move |_| async move { Ok(data) })
        .serve()
        .await;
}

/// Closes with `code`; the legacy protocol is first told why in a `connection_error` message,
/// which its clients expect.
async fn refuse(sink: &mut Sink, legacy: bool, code: u16, reason: &str) {
    if legacy {
        let error = serde_json::json!({"type": "connection_error", "payload": {"message": reason}});
        let _ = sink.send(Message::Text(error.to_string().into())).await;
    }
    close(sink, code, reason).await;
}

async fn close(sink: &mut Sink, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    })
    .await;
}

/// The payload of a `connection_init` message (`{}` when it has none), or `None` for anything
/// else.
fn connection_init_payload(text: &str) -> Option<serde_json::Value> {
    let message: serde_json::Value = serde_json::from_str(text).ok()?;
    if message.get("type")?.as_str()? != "connection_init" {
        return None;
    }
    Some(message.get("payload").cloned().unwrap_or_default())
}

/// `(Authorization, X-API-Key)` from a `connection_init` payload, keys matched
/// case-insensitively, at the top level or inside `"headers"`.
fn credentials(payload: &serde_json::Value) -> (Option<&str>, Option<&str>) {
    let headers = field(payload, "headers");
    let find = |name| field(payload, name).or_else(|| headers.and_then(|h| field(h, name)));
    (
        find("authorization").and_then(serde_json::Value::as_str),
        find("x-api-key").and_then(serde_json::Value::as_str),
    )
}

/// The member `name` of `object`, matched case-insensitively.
fn field<'a>(object: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The live subscriptions one connection may hold at once.
#[derive(Debug, Clone)]
pub struct SubscriptionSlots {
    open: Arc<AtomicUsize>,
    max: usize,
}

/// One open subscription; dropping it (the stream ends or the client stops it) frees the slot.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl SubscriptionSlots {
    pub fn new(max: usize) -> Self {
        Self {
            open: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot, or `None` when the connection already holds `max` subscriptions.
    pub fn acquire(&self) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.open.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn credentials_are_found_case_insensitively() {
        let p = json!({"authorization": "Bearer t"});
        assert_eq!(credentials(&p), (Some("Bearer t"), None));
        let p = json!({"X-Api-Key": "k"});
        assert_eq!(credentials(&p), (None, Some("k")));
        let p = json!({"headers": {"X-API-KEY": "k"}});
        assert_eq!(credentials(&p), (None, Some("k")));
        assert_eq!(credentials(&json!({})), (None, None));
        assert_eq!(credentials(&json!(null)), (None, None));
    }

    #[test]
    fn only_connection_init_opens_a_connection() {
        let init = r#"{"type":"connection_init","payload":{"X-API-Key":"k"}}"#;
        assert_eq!(
            connection_init_payload(init),
            Some(json!({"X-API-Key": "k"}))
        );
        assert_eq!(
            connection_init_payload(r#"{"type":"connection_init"}"#),
            Some(json!(null))
        );
        assert_eq!(
            connection_init_payload(r#"{"type":"subscribe","id":"1"}"#),
            None
        );
        assert_eq!(connection_init_payload("not json"), None);
    }

    #[test]
    fn slots_are_capped_and_freed() {
        let slots = SubscriptionSlots::new(2);
        let a = slots.acquire().unwrap();
        let _b = slots.acquire().unwrap();
        assert!(slots.acquire().is_none());
        drop(a);
        assert!(slots.acquire().is_some());
    }
}
