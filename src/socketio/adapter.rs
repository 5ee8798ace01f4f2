//! The seam between sockets and whoever tracks rooms: local by default (the hub's `ChatServer`),
//! cross-node later. Everything that addresses more than one socket goes through an [`Adapter`].

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::engineio::{EngineSocket, Frame};

use super::SocketId;

/// A room name inside one namespace.
pub type Room = Arc<str>;

/// Which sockets of a namespace a broadcast reaches.
#[derive(Debug, Clone, Default)]
pub struct BroadcastOptions {
    /// Sockets in any of these rooms; every socket of the namespace when empty.
    pub rooms: Vec<Room>,
    /// Minus the sockets in any of these rooms.
    pub except_rooms: Vec<Room>,
    /// Minus this socket (the sender).
    pub except: Option<SocketId>,
}

/// Tracks which sockets are in which rooms and delivers broadcasts to them.
pub trait Adapter: Send + Sync + 'static {
    /// A socket connected to a namespace.
    fn add_socket(&self, nsp: &Arc<str>, id: &SocketId, engine: EngineSocket);
    /// A socket left a namespace: it leaves every room there too.
    fn remove_socket(&self, nsp: &Arc<str>, id: &SocketId);
    /// Adds a socket to rooms.
    fn join(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>);
    /// Removes a socket from rooms.
    fn leave(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>);
    /// Sends already-encoded frames to every matching socket; the frames are shared, not copied.
    fn broadcast(&self, nsp: &Arc<str>, frames: Arc<[Frame]>, options: BroadcastOptions);
    /// The ids of the sockets in any of `rooms` (every socket of the namespace when empty).
    fn sockets(&self, nsp: &Arc<str>, rooms: Vec<Room>) -> BoxFuture<'static, Vec<SocketId>>;
}
