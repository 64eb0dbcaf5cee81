//! A GraphQL-over-WebSocket subscriber speaking either subprotocol (`graphql-transport-ws` or
//! the legacy `graphql-ws`), just enough for the live bench: connect, init, subscribe, read.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context as _, Result, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Ws {
    socket: Socket,
    legacy: bool,
}

impl Ws {
    /// Connects, sends `connection_init` with `payload` and waits for the ack.
    pub async fn connect(addr: SocketAddr, protocol: &str, payload: Value) -> Result<Self> {
        let mut request = format!("ws://{addr}/graphql").into_client_request()?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse()?);
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .context("websocket connect")?;
        let mut ws = Self {
            socket,
            legacy: protocol == LEGACY_WS,
        };
        ws.send(json!({"type": "connection_init", "payload": payload}))
            .await?;
        let ack = tokio::time::timeout(Duration::from_secs(20), ws.next_json())
            .await
            .context("no connection_ack within 20 s")??;
        if ack["type"] != "connection_ack" {
            bail!("expected connection_ack, got {ack}");
        }
        Ok(ws)
    }

    async fn send(&mut self, message: Value) -> Result<()> {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await?;
        Ok(())
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) -> Result<()> {
        let kind = if self.legacy { "start" } else { "subscribe" };
        self.send(
            json!({"type": kind, "id": id, "payload": {"query": query, "variables": variables}}),
        )
        .await
    }

    /// The next JSON message, skipping keep-alives; an error when the socket closes.
    async fn next_json(&mut self) -> Result<Value> {
        loop {
            match self.socket.next().await {
                None => bail!("closed"),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Message::Close(frame))) => bail!("closed: {frame:?}"),
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text)?;
                    if matches!(value["type"].as_str(), Some("ka" | "ping" | "pong")) {
                        continue;
                    }
                    return Ok(value);
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next result's payload (`{data, errors}`) of any subscription.
    pub async fn next_result(&mut self) -> Result<Value> {
        loop {
            let message = self.next_json().await?;
            match message["type"].as_str() {
                Some("next" | "data") => return Ok(message["payload"].clone()),
                Some("error") => bail!("subscription error: {}", message["payload"]),
                Some("complete") => bail!("subscription completed"),
                _ => {}
            }
        }
    }
}
