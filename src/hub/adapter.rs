//! [`LocalAdapter`]: the Socket.IO adapter that keeps rooms in the `ChatServer` actor of this process.

use std::sync::Arc;

use actix::Addr;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::messages::{
    Broadcast, Connect, DetachSocket, Disconnect, FetchSockets, Join, Leave, ListRooms,
    RestoreSocket,
};
use super::server::ChatServer;
use crate::engineio::{EngineSocket, Frame};
use crate::socketio::{Adapter, BroadcastOptions, RestoreRequest, Room, SocketId};

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
}

impl Adapter for LocalAdapter {
    fn add_socket(&self, nsp: &Arc<str>, id: &SocketId, engine: EngineSocket) {
        self.hub.do_send(Connect {
            nsp: Arc::clone(nsp),
            id: id.clone(),
            engine,
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

    fn detach_socket(&self, nsp: &Arc<str>, id: &SocketId, keep: std::time::Duration) {
        self.hub.do_send(DetachSocket {
            nsp: Arc::clone(nsp),
            id: id.clone(),
            keep,
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
}
