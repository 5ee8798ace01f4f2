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
use super::parser::Parser;
use super::payload::Payload;
use super::types::{Room, SocketId};

/// A socket as `fetch_sockets` found it: its id, rooms, handshake and data at that time.
#[derive(Clone)]
pub struct RemoteSocket {
    socket: FetchedSocket,
    sending: Sending,
}

/// What a [`RemoteSocket`] needs to reach its socket: the namespace's adapter and how it writes.
#[derive(Clone)]
struct Sending {
    nsp: Arc<str>,
    adapter: Arc<dyn Adapter>,
    recovery: bool,
    parser: Parser,
}

impl BroadcastOperator {
    /// The selected sockets on every node, with their rooms, handshake and data, as handles that
    /// can emit to them, move them and disconnect them (Node's `io.in(room).fetchSockets()`).
    pub fn fetch_sockets(self) -> impl Future<Output = Vec<RemoteSocket>> + 'static {
        let fetching = self.adapter.fetch_sockets(&self.nsp, self.options);
        let sending = Sending {
            nsp: self.nsp,
            adapter: self.adapter,
            recovery: self.recovery,
            parser: self.parser,
        };
        async move {
            fetching
                .await
                .into_iter()
                .map(|socket| RemoteSocket {
                    socket,
                    sending: sending.clone(),
                })
                .collect()
        }
    }
}

impl RemoteSocket {
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
        let sending = &self.sending;
        BroadcastOperator::new(
            Arc::clone(&sending.nsp),
            Arc::clone(&sending.adapter),
            None,
            sending.recovery,
            sending.parser,
        )
        .to(self.id().as_str())
        .emit(event, payload)
    }

    /// The socket joins `room`.
    pub fn join(&self, room: impl Into<Room>) {
        self.sending
            .adapter
            .add_sockets(&self.sending.nsp, self.only_this(), vec![room.into()]);
    }

    /// The socket leaves `room`.
    pub fn leave(&self, room: impl Into<Room>) {
        self.sending
            .adapter
            .del_sockets(&self.sending.nsp, self.only_this(), vec![room.into()]);
    }

    /// Disconnects the socket; with `close`, its whole connection.
    pub fn disconnect(&self, close: bool) {
        self.sending
            .adapter
            .disconnect_sockets(&self.sending.nsp, self.only_this(), close);
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
            .field("nsp", &self.sending.nsp)
            .field("rooms", &self.socket.rooms)
            .finish()
    }
}
