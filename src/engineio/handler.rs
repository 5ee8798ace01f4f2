//! The one narrow interface between Engine.IO and the protocol above it.
//!
//! Engine.IO knows nothing of Socket.IO: it calls [`EngineHandler::on_open`] for each new session and
//! hands every message of that session to the returned [`EngineConnection`], which lives inside the
//! session actor (or, for a session that starts on a WebSocket, inside that WebSocket's actor, so a
//! message reaches it without a mailbox hop). The layer above answers through the
//! [`EngineSocket`](super::EngineSocket) it got.

use std::net::SocketAddr;

use super::connection::EngineConnection;
use super::handshake_headers::HandshakeHeaders;
use super::sid::Sid;
use super::socket::EngineSocket;
use super::types::TransportKind;

/// What the HTTP request that opened a session carried.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The new session's id.
    pub sid: Sid,
    /// Request headers (cookies, origin, user agent), kept compactly.
    pub headers: HandshakeHeaders,
    /// The request's path (`/socket.io/`).
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// True when the request came over TLS to this server (a proxy's word is not taken).
    pub secure: bool,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// The transport the session started on.
    pub transport: TransportKind,
}

/// Creates the per-session state of the protocol above Engine.IO.
pub trait EngineHandler: Send + Sync + 'static {
    /// Called once when a session opens; the returned connection receives its messages.
    fn on_open(&self, socket: EngineSocket, handshake: Handshake) -> Box<dyn EngineConnection>;
}
