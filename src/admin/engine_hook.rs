//! [`ObservedHandler`]: a decorator over the Socket.IO server's Engine.IO handler that records
//! each session's handshake (for the socket descriptions) and its opening and closing (for the
//! counts of `server_stats`), then hands the session to the real handler unchanged.

use std::sync::Arc;

use super::registry::Registry;
use crate::engineio::{
    CloseReason, EngineConnection, EngineHandler, EngineSocket, Handshake, Message, Sid,
};

/// The real handler, watched.
pub struct ObservedHandler {
    inner: Arc<dyn EngineHandler>,
    registry: Arc<Registry>,
}

impl ObservedHandler {
    /// Watches `inner`.
    pub fn new(inner: Arc<dyn EngineHandler>, registry: Arc<Registry>) -> ObservedHandler {
        ObservedHandler { inner, registry }
    }
}

impl EngineHandler for ObservedHandler {
    fn on_open(&self, socket: EngineSocket, handshake: Handshake) -> Box<dyn EngineConnection> {
        self.registry.client_opened(&handshake);
        let sid = handshake.sid.clone();
        Box::new(ObservedConnection {
            inner: self.inner.on_open(socket, handshake),
            sid,
            registry: Arc::clone(&self.registry),
        })
    }
}

/// One session's connection, watched for its end.
struct ObservedConnection {
    inner: Box<dyn EngineConnection>,
    sid: Sid,
    registry: Arc<Registry>,
}

impl EngineConnection for ObservedConnection {
    fn on_message(&mut self, message: Message) {
        self.inner.on_message(message);
    }

    fn on_close(&mut self, reason: CloseReason) {
        self.inner.on_close(reason);
        self.registry.client_closed(&self.sid, reason.as_str());
    }
}
