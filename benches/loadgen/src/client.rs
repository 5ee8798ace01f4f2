//! A bare Socket.IO v5 client over an Engine.IO v4 WebSocket: just enough of the protocol for the
//! workloads, no socket.io client library.
//!
//! - connect: `GET /socket.io/?EIO=4&transport=websocket`, expect the open packet `0{...}`, send `40`
//!   (CONNECT to the main namespace), expect `40{"sid":...}`;
//! - heartbeat: the server pings with `2`, we answer `3`;
//! - events are `42["name",...]`, event with ack request `42<id>["name",...]`, acks `43<id>[...]`.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{client_async_with_config, WebSocketStream};

pub type BoxError = Box<dyn Error>;
pub type Result<T> = std::result::Result<T, BoxError>;

/// How long one connection may take to reach the Socket.IO CONNECT reply.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a polite close waits for the server's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A plain error message.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Failure {}

/// Returns early with a [`Failure`].
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err(Box::new($crate::client::Failure(format!($($arg)*))) as $crate::client::BoxError)
    };
}

/// What a text message turned out to be, for the workloads' read loops.
pub enum Incoming {
    /// An Engine.IO ping, already answered.
    Ping,
    /// Anything else: the text of the message.
    Text(Utf8Bytes),
}

/// One Socket.IO connection to the main namespace.
pub struct Client {
    ws: WebSocketStream<TcpStream>,
}

impl Client {
    /// Opens a WebSocket to `127.0.0.1:port` and connects to the main namespace.
    pub async fn connect(port: u16) -> Result<Client> {
        match tokio::time::timeout(CONNECT_TIMEOUT, Client::connect_inner(port)).await {
            Ok(result) => result,
            Err(_) => fail!("connect timed out after {CONNECT_TIMEOUT:?}"),
        }
    }

    async fn connect_inner(port: u16) -> Result<Client> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.set_nodelay(true)?;
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        // Small buffers: 10,000 connections with the 128 KiB defaults would cost the loadgen GBs.
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, _) = client_async_with_config(url, tcp, Some(config)).await?;
        let mut client = Client { ws };
        let open = client.next_text().await?;
        if !open.starts_with("0{") {
            fail!(
                "expected an Engine.IO open packet, got {:?}",
                truncate(&open)
            );
        }
        client.send("40").await?;
        loop {
            match client.recv().await? {
                Incoming::Ping => {}
                Incoming::Text(text) if text.starts_with("40") => return Ok(client),
                Incoming::Text(text) if text.starts_with("44") => {
                    fail!("CONNECT refused: {}", truncate(&text))
                }
                Incoming::Text(text) => {
                    fail!("expected the CONNECT reply, got {:?}", truncate(&text))
                }
            }
        }
    }

    /// Sends one text message (written at once).
    pub async fn send(&mut self, text: impl Into<Utf8Bytes>) -> Result<()> {
        self.ws.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// The next text message; WebSocket control frames are skipped.
    pub async fn next_text(&mut self) -> Result<Utf8Bytes> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text),
                Some(Ok(Message::Binary(_))) => fail!("unexpected binary message"),
                Some(Ok(Message::Close(frame))) => fail!("server closed the WebSocket: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => fail!("connection closed"),
            }
        }
    }

    /// The next message, with Engine.IO pings answered on the way.
    pub async fn recv(&mut self) -> Result<Incoming> {
        let text = self.next_text().await?;
        if &*text == "2" {
            self.send("3").await?;
            return Ok(Incoming::Ping);
        }
        Ok(Incoming::Text(text))
    }

    /// Leaves politely: Socket.IO DISCONNECT, then the WebSocket close handshake (waiting a little
    /// for the server's close frame).
    pub async fn close(mut self) -> Result<()> {
        self.send("41").await?;
        self.ws.close(None).await?;
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
        Ok(())
    }

    /// Vanishes: the TCP connection is reset (RST), with no close frame and no FIN.
    pub fn reset(self) {
        crate::polling::set_zero_linger(self.ws.get_ref());
    }

    /// Joins `room` and waits for the server's ack.
    pub async fn join(&mut self, room: &str) -> Result<()> {
        self.send(join_request(room)).await?;
        join_ack(async || self.recv().await).await
    }
}

/// The start of a message, for error reports.
pub fn truncate(text: &str) -> String {
    text.chars().take(120).collect()
}

/// Parses an unsigned decimal at the start of `s`: the number and the rest.
pub fn parse_u64(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let mut value = 0u64;
    for b in &s[..digits] {
        value = value * 10 + u64::from(b - b'0');
    }
    Some((value, &s[digits..]))
}

/// A JSON string of `len` filler characters (the payload padding).
pub fn padding(len: usize) -> String {
    "x".repeat(len)
}

/// The event that joins `room`, asking for ack 0 (every server's `join` contract).
pub fn join_request(room: &str) -> String {
    format!("420[\"join\",{}]", serde_json::Value::from(room))
}

/// Reads messages from `next` until the join's ack (pings are skipped); anything else fails.
pub async fn join_ack(mut next: impl AsyncFnMut() -> Result<Incoming>) -> Result<()> {
    loop {
        match next().await? {
            Incoming::Ping => {}
            Incoming::Text(text) if text.starts_with("430[") => return Ok(()),
            Incoming::Text(text) => fail!("expected the join ack, got {:?}", truncate(&text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers() {
        assert_eq!(parse_u64(b"123,4"), Some((123, &b",4"[..])));
        assert_eq!(parse_u64(b",4"), None);
        assert_eq!(parse_u64(b"7"), Some((7, &b""[..])));
    }
}
