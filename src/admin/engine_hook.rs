//! [`ObservedHandler`]: a decorator over the Socket.IO server's Engine.IO handler that records
//! each session's handshake (for the socket descriptions), its upgrade to a WebSocket (told to
//! the admins as `socket_updated`) and its opening and closing (for the counts of
//! `server_stats`), then hands the session to the real handler unchanged.

use std::sync::Arc;

use serde_json::json;

use super::feed::Feed;
use super::registry::Registry;
use crate::engineio::{
    CloseReason, EngineConnection, EngineHandler, EngineSocket, Handshake, Message, Sid,
};

/// The real handler, watched.
pub struct ObservedHandler {
    inner: Arc<dyn EngineHandler>,
    registry: Arc<Registry>,
    feed: Feed,
}

impl ObservedHandler {
    /// Watches `inner`.
    pub fn new(
        inner: Arc<dyn EngineHandler>,
        registry: Arc<Registry>,
        feed: Feed,
    ) -> ObservedHandler {
        ObservedHandler {
            inner,
            registry,
            feed,
        }
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
            feed: self.feed.clone(),
        })
    }
}

/// One session's connection, watched for its end.
struct ObservedConnection {
    inner: Box<dyn EngineConnection>,
    sid: Sid,
    registry: Arc<Registry>,
    feed: Feed,
}

impl EngineConnection for ObservedConnection {
    fn on_message(&mut self, message: Message) {
        self.inner.on_message(message);
    }

    fn on_upgrade(&mut self) {
        self.inner.on_upgrade();
        for (nsp, id) in self.registry.client_upgraded(&self.sid) {
            self.feed.push(
                "socket_updated",
                vec![json!({ "id": id.as_str(), "nsp": &*nsp, "transport": "websocket" })],
            );
        }
    }

    fn on_close(&mut self, reason: CloseReason) {
        self.inner.on_close(reason);
        self.registry.client_closed(&self.sid, reason.as_str());
    }
}
