//! [`TransportSink`]: where a WebSocket transport receives a session's frames.

use super::connection::EngineConnection;
use super::types::{CloseReason, Frames, SendOptions};

/// Where a WebSocket transport receives the session's frames. Implemented by the WebSocket glue, so
/// the session does not depend on the WebSocket library.
pub trait TransportSink: Send + Sync + 'static {
    /// Hands frames to the transport; an error means its buffer is full.
    fn send(&self, frames: Frames) -> Result<(), SinkFull>;
    /// Hands frames to the transport with their send options; a transport that compresses reads
    /// `options.compress` (the others send as [`send`](Self::send) does).
    fn send_with(&self, frames: Frames, options: SendOptions) -> Result<(), SinkFull> {
        let SendOptions { .. } = options;
        self.send(frames)
    }
    /// Closes the transport once the frames handed over before are written; the adopted
    /// connection, if any, is told first.
    fn close(&self, reason: CloseReason);
    /// Gives the transport the session's connection, for a session that started on it and keeps
    /// it for life: the transport hands message packets to it directly, tells it when it closes
    /// (with the session's reason, or its own when it fails or the client goes), and sends only
    /// the other packets (pong, close) to the session.
    fn adopt(&self, connection: Box<dyn EngineConnection>);
}

/// A transport's buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("transport buffer full")]
pub struct SinkFull;
