//! [`LocalAdapter`]: the Socket.IO adapter that keeps rooms in the `ChatServer` actor of this process.

use std::sync::Arc;

use actix::Addr;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::messages::{
    Broadcast, BroadcastWithAck, Connect, DetachSocket, Disconnect, DisconnectSockets,
    FetchDetails, FetchSockets, ForgetDetached, Join, Leave, ListRooms, MoveSockets, RestoreSocket,
};
use super::server::ChatServer;
use crate::engineio::Frame;
use crate::socketio::{
    AckReport, AckRequest, Adapter, BroadcastOptions, FetchedSocket, NewSocket, NodesReached,
    RestoreRequest, Room, ServerSideAckError, ServerSideEvents, SocketId,
};

/// Rooms in this process only, kept by the [`ChatServer`].
#[derive(Clone)]
pub struct LocalAdapter {
    hub: Addr<ChatServer>,
}

impl LocalAdapter {
    /// An adapter over a running hub.
    pub fn new(hub: Addr<ChatServer>) -> LocalAdapter {
        LocalAdapter { hub }
    }

    /// The local part of [`Adapter::broadcast_with_ack`]: the hub delivers, then reports how many
    /// sockets it reached and their answers to `reports`.
    pub fn deliver_with_ack(
        &self,
        nsp: &Arc<str>,
        frames: Arc<[Frame]>,
        options: BroadcastOptions,
        ack_id: u64,
        reports: UnboundedSender<AckReport>,
    ) {
        self.hub.do_send(BroadcastWithAck {
            nsp: Arc::clone(nsp),
            frames,
            options,
            ack_id,
            reports,
        });
    }
}

impl LocalAdapter {
    /// Forgets the detached sockets in any of `rooms`, so they cannot recover (the live ones
    /// were disconnected by the caller).
    pub fn forget_detached(&self, nsp: &Arc<str>, rooms: Vec<String>) {
        self.hub.do_send(ForgetDetached {
            nsp: Arc::clone(nsp),
            rooms: rooms.into_iter().map(Room::from).collect(),
        });
    }
}

impl Adapter for LocalAdapter {
    fn add_socket(&self, nsp: &Arc<str>, socket: NewSocket) {
        self.hub.do_send(Connect {
            nsp: Arc::clone(nsp),
            socket,
        });
    }

    fn remove_socket(&self, nsp: &Arc<str>, id: &SocketId) {
        self.hub.do_send(Disconnect {
            nsp: Arc::clone(nsp),
            id: id.clone(),
        });
    }

    fn join(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>) {
        self.hub.do_send(Join {
            nsp: Arc::clone(nsp),
            id: id.clone(),
            rooms,
        });
    }

    fn leave(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>) {
        self.hub.do_send(Leave {
            nsp: Arc::clone(nsp),
            id: id.clone(),
            rooms,
        });
    }

    fn broadcast(&self, nsp: &Arc<str>, frames: Arc<[Frame]>, options: BroadcastOptions) {
        self.hub.do_send(Broadcast {
            nsp: Arc::clone(nsp),
            frames,
            options,
        });
    }

    /// Delivered by the hub, which reports the count; this process is the only node.
    fn broadcast_with_ack(&self, nsp: &Arc<str>, ack: AckRequest) -> NodesReached {
        self.deliver_with_ack(nsp, ack.frames, ack.options, ack.id, ack.reports);
        futures_util::future::ready(Some(1)).boxed()
    }

    fn detach_socket(&self, nsp: &Arc<str>, id: &SocketId, keep: std::time::Duration) {
        self.hub.do_send(DetachSocket {
            nsp: Arc::clone(nsp),
            id: id.clone(),
            keep,
        });
    }

    fn disconnect_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, close: bool) {
        self.hub.do_send(DisconnectSockets {
            nsp: Arc::clone(nsp),
            options,
            close,
        });
    }

    fn restore_socket(&self, nsp: &Arc<str>, request: RestoreRequest) -> BoxFuture<'static, bool> {
        let restoring = self.hub.send(RestoreSocket {
            nsp: Arc::clone(nsp),
            request,
        });
        async move { restoring.await.unwrap_or(false) }.boxed()
    }

    fn sockets(&self, nsp: &Arc<str>, rooms: Vec<Room>) -> BoxFuture<'static, Vec<SocketId>> {
        let request = self.hub.send(FetchSockets {
            nsp: Arc::clone(nsp),
            rooms,
        });
        async move { request.await.unwrap_or_default() }.boxed()
    }

    fn rooms(&self, nsp: &Arc<str>, prefix: &str) -> BoxFuture<'static, Vec<Room>> {
        let request = self.hub.send(ListRooms {
            nsp: Arc::clone(nsp),
            prefix: prefix.to_string(),
        });
        async move { request.await.unwrap_or_default() }.boxed()
    }

    fn fetch_sockets(
        &self,
        nsp: &Arc<str>,
        options: BroadcastOptions,
    ) -> BoxFuture<'static, Vec<FetchedSocket>> {
        let request = self.hub.send(FetchDetails {
            nsp: Arc::clone(nsp),
            options,
        });
        async move { request.await.unwrap_or_default() }.boxed()
    }

    fn add_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, rooms: Vec<Room>) {
        self.move_sockets(nsp, options, rooms, true);
    }

    fn del_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, rooms: Vec<Room>) {
        self.move_sockets(nsp, options, rooms, false);
    }

    /// This process is the only server: no other sends it server-side events.
    fn serve_server_side(&self, _nsp: &Arc<str>, _events: ServerSideEvents) {}

    /// No other server to reach (the sender's own handlers are not called, as in Socket.IO).
    fn server_side_emit(&self, _nsp: &Arc<str>, _args: Vec<Value>) {}

    /// No other server: no answer to wait for.
    fn server_side_emit_with_ack(
        &self,
        _nsp: &Arc<str>,
        _args: Vec<Value>,
        _timeout: std::time::Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, ServerSideAckError>> {
        futures_util::future::ready(Ok(Vec::new())).boxed()
    }
}

impl LocalAdapter {
    /// The sockets matching `options` join (`join`) or leave `rooms`, on this node.
    pub fn move_sockets(
        &self,
        nsp: &Arc<str>,
        options: BroadcastOptions,
        rooms: Vec<Room>,
        join: bool,
    ) {
        self.hub.do_send(MoveSockets {
            nsp: Arc::clone(nsp),
            options,
            rooms,
            join,
        });
    }
}
