//! [`RemoteSocket`]: a socket found by `fetch_sockets`, on this node or another, and what can be
//! done to it from anywhere (Node's `RemoteSocket`): emit, join, leave, disconnect. Each goes
//! through the adapter addressed to the room of the socket's id, so it reaches the socket on
//! whichever node holds it.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use super::adapter::{Adapter, BroadcastOptions, FetchedSocket};
use super::broadcast::BroadcastOperator;
use super::error::EmitError;
use super::payload::Payload;
use super::types::{Room, SocketId};

/// A socket as `fetch_sockets` found it: its id, rooms, handshake and data at that time.
#[derive(Clone)]
pub struct RemoteSocket {
    socket: FetchedSocket,
    nsp: Arc<str>,
    adapter: Arc<dyn Adapter>,
    recovery: bool,
}

impl BroadcastOperator {
    /// The selected sockets on every node, with their rooms, handshake and data, as handles that
    /// can emit to them, move them and disconnect them (Node's `io.in(room).fetchSockets()`).
    pub fn fetch_sockets(self) -> impl Future<Output = Vec<RemoteSocket>> + 'static {
        let fetching = self.adapter.fetch_sockets(&self.nsp, self.options);
        let (nsp, adapter, recovery) = (self.nsp, self.adapter, self.recovery);
        async move {
            fetching
                .await
                .into_iter()
                .map(|socket| {
                    RemoteSocket::new(socket, Arc::clone(&nsp), Arc::clone(&adapter), recovery)
                })
                .collect()
        }
    }
}

impl RemoteSocket {
    fn new(
        socket: FetchedSocket,
        nsp: Arc<str>,
        adapter: Arc<dyn Adapter>,
        recovery: bool,
    ) -> RemoteSocket {
        RemoteSocket {
            socket,
            nsp,
            adapter,
            recovery,
        }
    }

    /// Its id.
    pub fn id(&self) -> &SocketId {
        &self.socket.id
    }

    /// Its rooms when fetched (the room of its id included).
    pub fn rooms(&self) -> &[Room] {
        &self.socket.rooms
    }

    /// Its handshake in Node's shape.
    pub fn handshake(&self) -> &Value {
        &self.socket.handshake
    }

    /// Its `data` slot when fetched.
    pub fn data(&self) -> &Value {
        &self.socket.data
    }

    /// Emits an event to this socket, wherever it is.
    pub fn emit(&self, event: &str, payload: Payload) -> Result<(), EmitError> {
        BroadcastOperator::new(
            Arc::clone(&self.nsp),
            Arc::clone(&self.adapter),
            None,
            self.recovery,
        )
        .to(self.id().as_str())
        .emit(event, payload)
    }

    /// The socket joins `room`.
    pub fn join(&self, room: impl Into<Room>) {
        self.adapter
            .add_sockets(&self.nsp, self.only_this(), vec![room.into()]);
    }

    /// The socket leaves `room`.
    pub fn leave(&self, room: impl Into<Room>) {
        self.adapter
            .del_sockets(&self.nsp, self.only_this(), vec![room.into()]);
    }

    /// Disconnects the socket; with `close`, its whole connection.
    pub fn disconnect(&self, close: bool) {
        self.adapter
            .disconnect_sockets(&self.nsp, self.only_this(), close);
    }

    fn only_this(&self) -> BroadcastOptions {
        BroadcastOptions {
            rooms: vec![Room::from(self.id().as_str())],
            ..BroadcastOptions::default()
        }
    }
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("id", self.id())
            .field("nsp", &self.nsp)
            .field("rooms", &self.socket.rooms)
            .finish()
    }
}
