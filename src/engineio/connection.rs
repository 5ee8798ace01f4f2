//! [`EngineConnection`]: the upper layer's state for one session, driven by the session actor (or
//! by the WebSocket a session started on).

use super::packet::Message;
use super::types::CloseReason;

/// The upper layer's state for one session, driven by the session actor.
pub trait EngineConnection: Send + 'static {
    /// A message packet arrived.
    fn on_message(&mut self, message: Message);
    /// The session moved from polling to a WebSocket (for observers; nothing by default).
    fn on_upgrade(&mut self) {}
    /// The session closed; called exactly once, after which no message arrives.
    fn on_close(&mut self, reason: CloseReason);
}
