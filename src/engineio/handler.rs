//! The one narrow interface between Engine.IO and the protocol above it.
//!
//! Engine.IO knows nothing of Socket.IO: it calls [`EngineHandler::on_open`] for each new session and
//! hands every message of that session to the returned [`EngineConnection`], which lives inside the
//! session actor (or, for a session that starts on a WebSocket, inside that WebSocket's actor, so a
//! message reaches it without a mailbox hop). The layer above answers through the
//! [`EngineSocket`](super::EngineSocket) it got.

use std::net::SocketAddr;

use actix_web::http::header::HeaderMap;

use super::packet::Message;
use super::session::CloseReason;
use super::sid::Sid;
use super::socket::EngineSocket;

/// What the HTTP request that opened a session carried.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The new session's id.
    pub sid: Sid,
    /// Request headers (cookies, origin, user agent).
    pub headers: HeaderMap,
    /// The raw query string.
    pub query: String,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// The transport the session started on.
    pub transport: TransportKind,
}

/// The two Engine.IO transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// Creates the per-session state of the protocol above Engine.IO.
pub trait EngineHandler: Send + Sync + 'static {
    /// Called once when a session opens; the returned connection receives its messages.
    fn on_open(&self, socket: EngineSocket, handshake: Handshake) -> Box<dyn EngineConnection>;
}

/// The upper layer's state for one session, driven by the session actor.
pub trait EngineConnection: Send + 'static {
    /// A message packet arrived.
    fn on_message(&mut self, message: Message);
    /// The session closed; called exactly once, after which no message arrives.
    fn on_close(&mut self, reason: CloseReason);
}
