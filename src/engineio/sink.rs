//! [`TransportSink`]: how a session drives the WebSocket that carries (or probes to carry) it.

use std::sync::Arc;

use super::connection::EngineConnection;
use super::outbox::Outbox;
use super::types::CloseReason;

/// How a session drives a WebSocket transport. Implemented by the WebSocket glue, so the session
/// does not depend on the WebSocket library. The session's frames do not pass here: the transport
/// takes them from the session's [`Outbox`] once attached to it.
pub trait TransportSink: Send + Sync + 'static {
    /// Answers the client's upgrade probe (`3probe`), before the transport carries the session.
    fn answer_probe(&self);
    /// Makes the transport the writer of the session's outbox: it writes what waits there, the
    /// frames queued before first, and keeps writing what arrives.
    fn attach(&self, outbox: Arc<Outbox>);
    /// Closes the transport once the frames waiting in the outbox are written; the adopted
    /// connection, if any, is told first.
    fn close(&self, reason: CloseReason);
    /// Gives the transport the session's connection, for a session that started on it and keeps
    /// it for life: the transport hands message packets to it directly, tells it when it closes
    /// (with the session's reason, or its own when it fails or the client goes), and sends only
    /// the other packets (pong, close) to the session.
    fn adopt(&self, connection: Box<dyn EngineConnection>);
}

/// A transport's buffer is full: the client (or the node relaying it) fell behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("transport buffer full")]
pub struct SinkFull;
