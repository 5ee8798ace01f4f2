//! One task per connection: the WebSocket handshake, then a loop that reads the client's messages,
//! writes the frames other connections queued for it, and keeps the Engine.IO heartbeat.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::protocol::{self, Packet};
use crate::rooms::{ConnId, Outbox, Rooms};

/// tungstenite reads into a buffer of this size (its default, 128 KiB, is filled with zeros before
/// the first read, so every connection would keep 128 KiB resident; its docs suggest 4 KiB for
/// many connections).
const READ_BUFFER: usize = 4 * 1024;

/// The next connection's number.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What every connection shares.
pub struct Shared {
    pub rooms: Rooms,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub max_payload: usize,
}

/// Serves one accepted TCP connection until it closes.
pub async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(shared.max_payload))
        .max_frame_size(Some(shared.max_payload));
    let Ok(ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, check_request, Some(config)).await
    else {
        return;
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (outbox, inbox) = mpsc::unbounded_channel();
    let mut connection = Connection {
        id,
        ws,
        outbox,
        shared,
        connected: false,
        awaiting_pong: false,
        rooms: Vec::new(),
    };
    // Errors end the connection; the client sees the socket close.
    let _ = connection.run(inbox).await;
    connection
        .shared
        .rooms
        .leave_all(&connection.rooms, connection.id);
}

/// `GET /socket.io/?EIO=4&transport=websocket` becomes a WebSocket; anything else gets a 400.
// The signature is tungstenite's handshake callback's; its error type is not ours to box.
#[allow(clippy::result_large_err)]
fn check_request(request: &Request, response: Response) -> Result<Response, ErrorResponse> {
    let query = request.uri().query().unwrap_or("");
    let has = |pair: &str| query.split('&').any(|p| p == pair);
    if request.uri().path() == "/socket.io/" && has("EIO=4") && has("transport=websocket") {
        return Ok(response);
    }
    let mut refusal = ErrorResponse::new(Some(
        "the raw reference serves Engine.IO v4 over WebSocket only (/socket.io/?EIO=4&transport=websocket)"
            .into(),
    ));
    *refusal.status_mut() = StatusCode::BAD_REQUEST;
    Err(refusal)
}

type Ws = WebSocketStream<TcpStream>;
type WsResult<T> = Result<T, tokio_tungstenite::tungstenite::Error>;

struct Connection {
    id: ConnId,
    ws: Ws,
    /// The sending end of this connection's own queue, given to the rooms it joins.
    outbox: Outbox,
    shared: Arc<Shared>,
    /// Connected to the main namespace (`40` received).
    connected: bool,
    /// A ping is out and its pong not back yet.
    awaiting_pong: bool,
    /// The rooms joined, to leave them at the end.
    rooms: Vec<String>,
}

/// What the reader asks the loop to do next.
enum Next {
    Continue,
    Close,
}

impl Connection {
    /// The open packet, then messages, queued frames and heartbeats until one side closes.
    ///
    /// Replies and queued frames are fed into tungstenite's write buffer and flushed once per turn
    /// of the loop, so the frames that wait together leave in one write.
    async fn run(&mut self, mut inbox: mpsc::UnboundedReceiver<Utf8Bytes>) -> WsResult<()> {
        let open = format!(
            r#"0{{"sid":"rawE{:014}","upgrades":[],"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
            self.id,
            self.shared.ping_interval.as_millis(),
            self.shared.ping_timeout.as_millis(),
            self.shared.max_payload,
        );
        self.ws.send(Message::text(open)).await?;
        // The heartbeat's one timer: the next ping, or the deadline of the ping that is out.
        let heartbeat = sleep(self.shared.ping_interval);
        tokio::pin!(heartbeat);
        loop {
            tokio::select! {
                message = self.ws.next() => {
                    let Some(message) = message else { return Ok(()) };
                    let text = match message? {
                        Message::Text(text) => text,
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                        // tungstenite has queued the close reply; the flush below sends it.
                        Message::Close(_) => return self.ws.flush().await,
                        // Binary frames (attachments) are beyond the raw reference.
                        Message::Binary(_) => return self.ws.close(None).await,
                    };
                    if let Next::Close = self.on_text(&text, &mut heartbeat).await? {
                        return self.ws.close(None).await;
                    }
                }
                frame = inbox.recv() => {
                    // Never None: `self.outbox` keeps the queue open.
                    let Some(frame) = frame else { return Ok(()) };
                    self.ws.feed(Message::Text(frame)).await?;
                    while let Ok(frame) = inbox.try_recv() {
                        self.ws.feed(Message::Text(frame)).await?;
                    }
                }
                () = &mut heartbeat => {
                    if self.awaiting_pong {
                        return self.ws.close(None).await;
                    }
                    self.ws.feed(Message::text("2")).await?;
                    self.awaiting_pong = true;
                    heartbeat.as_mut().reset(Instant::now() + self.shared.ping_timeout);
                }
            }
            self.ws.flush().await?;
        }
    }

    /// Handles one text message; replies are fed, not flushed.
    async fn on_text(
        &mut self,
        text: &str,
        heartbeat: &mut std::pin::Pin<&mut tokio::time::Sleep>,
    ) -> WsResult<Next> {
        match protocol::parse(text) {
            Packet::Pong => {
                if self.awaiting_pong {
                    self.awaiting_pong = false;
                    heartbeat
                        .as_mut()
                        .reset(Instant::now() + self.shared.ping_interval);
                }
            }
            Packet::Close => return Ok(Next::Close),
            Packet::Connect => {
                self.connected = true;
                let reply = format!(r#"40{{"sid":"rawS{:014}"}}"#, self.id);
                self.ws.feed(Message::text(reply)).await?;
            }
            Packet::ConnectOther(nsp) => {
                let reply = format!(r#"44/{nsp},{{"message":"Invalid namespace"}}"#);
                self.ws.feed(Message::text(reply)).await?;
            }
            Packet::Event { ack, name, args } if self.connected => {
                self.on_event(ack, name, &args).await?
            }
            Packet::Event { .. } | Packet::Other => {}
        }
        Ok(Next::Continue)
    }

    /// The three events of the benchmark contract; others are ignored.
    async fn on_event(&mut self, ack: Option<u64>, name: &str, args: &[&RawValue]) -> WsResult<()> {
        match name {
            r#""join""# => {
                let Some(room) = args.first() else {
                    return Ok(());
                };
                let room = protocol::room(room);
                if self.shared.rooms.join(room.clone(), self.id, &self.outbox) {
                    self.rooms.push(room);
                }
                if let Some(ack) = ack {
                    let reply = protocol::ack_frame(ack, &[]);
                    self.ws.feed(Message::text(reply)).await?;
                }
            }
            r#""broadcast""# => {
                let Some((room, rest)) = args.split_first() else {
                    return Ok(());
                };
                let frame = Utf8Bytes::from(protocol::msg_frame(rest));
                self.shared
                    .rooms
                    .broadcast(&protocol::room(room), self.id, &frame);
            }
            r#""echo""# => {
                if let Some(ack) = ack {
                    let reply = protocol::ack_frame(ack, args);
                    self.ws.feed(Message::text(reply)).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
