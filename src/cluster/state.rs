//! [`Inner`]: the state a node's Redis adapter shares with its background tasks and with its
//! answers to other nodes. Each concern adds its own methods (`adapter`, `incoming`, `requests`,
//! `queries`); this file only says what is kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::mpsc;

use super::connection::{Outgoing, Subscribe};
use super::mirror::Mirror;
use super::recovery::RecoveryStore;
use super::wire::{Channels, Response};
use super::{ClusterOptions, ClusterStatus};
use crate::hub::LocalAdapter;
use crate::socketio::{ServerSideEvents, SocketId};

/// What the adapter, its background tasks and its answers to other nodes share.
pub(super) struct Inner {
    /// This node's id in the cluster; its own messages come back and are dropped by it.
    pub(super) uid: String,
    /// Rooms and delivery on this node.
    pub(super) local: LocalAdapter,
    /// The channel names of this cluster.
    pub(super) channels: Channels,
    /// The settings the adapter was built with.
    pub(super) options: ClusterOptions,
    /// Connection state and counters.
    pub(super) status: ClusterStatus,
    /// Work for the publisher task.
    pub(super) outgoing: mpsc::Sender<Outgoing>,
    /// Work for the subscriber task.
    pub(super) subscriptions: mpsc::UnboundedSender<Subscribe>,
    /// This node's sockets and rooms, to answer other nodes without asking the hub.
    pub(super) mirror: Mutex<Mirror>,
    /// The namespaces listened to, and whether the current connection has subscribed them.
    pub(super) namespaces: Mutex<HashMap<Arc<str>, bool>>,
    /// Cluster queries (and broadcasts with acks) waiting for answers, by request id.
    pub(super) pending: Mutex<HashMap<String, mpsc::UnboundedSender<Response>>>,
    /// The server-side event handlers of the Socket.IO server over this adapter, once it is built.
    pub(super) server_side: OnceLock<ServerSideEvents>,
    /// Connection state recovery shared through Redis (with recovery on).
    pub(super) recovery: Option<RecoveryStore>,
    /// The private ids of this node's live sockets, by namespace and id (with `recovery`).
    pub(super) sessions: Mutex<HashMap<(Arc<str>, SocketId), String>>,
}
