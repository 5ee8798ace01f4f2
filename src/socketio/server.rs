//! [`SocketIo`]: the Socket.IO server, its namespaces and the adapter they share.

// Small maps keyed by namespace or event name, looked up for every packet: a fast hash.
use foldhash::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::adapter::{Adapter, Room};
use super::broadcast::BroadcastOperator;
use super::connection::Connection;
use super::namespace::{Namespace, NamespaceBuilder};
use super::packet::MAIN_NAMESPACE;
use super::recovery::{KeptSockets, RecoveryConfig};
use crate::engineio::{EngineConnection, EngineHandler, EngineSocket, Handshake};

/// Default time a new connection has to join a namespace.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(45_000);
/// Default cap on binary attachments in one packet.
pub const DEFAULT_MAX_ATTACHMENTS: usize = 64;

/// Settings of the Socket.IO layer.
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    /// A connection that joins no namespace within this time is closed.
    pub connect_timeout: Duration,
    /// Packets announcing more attachments are refused and their connection closed.
    pub max_attachments: usize,
    /// Connection state recovery; off when `None`.
    pub recovery: Option<RecoveryConfig>,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_attachments: DEFAULT_MAX_ATTACHMENTS,
            recovery: None,
        }
    }
}

pub(crate) struct ServerInner {
    pub(crate) config: SocketIoConfig,
    pub(crate) namespaces: HashMap<String, Arc<Namespace>>,
    adapter: Arc<dyn Adapter>,
}

/// The Socket.IO server: hand it to an [`Engine`](crate::engineio::Engine) as its handler, and use
/// it to emit from outside any socket (an HTTP handler, say).
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<ServerInner>,
}

impl SocketIo {
    /// Starts describing a server whose rooms are kept by `adapter`.
    pub fn builder(adapter: Arc<dyn Adapter>) -> SocketIoBuilder {
        SocketIoBuilder {
            config: SocketIoConfig::default(),
            adapter,
            namespaces: Vec::new(),
        }
    }

    /// Emits to the sockets of a namespace; `None` if the namespace does not exist.
    pub fn of(&self, nsp: &str) -> Option<BroadcastOperator> {
        let ns = self.inner.namespaces.get(nsp)?;
        Some(BroadcastOperator::new(
            Arc::clone(ns.name()),
            Arc::clone(&self.inner.adapter),
            None,
            ns.recovery().is_some(),
        ))
    }

    /// Emits to the sockets of the main namespace in `room`.
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.main().to(room)
    }

    /// Emits to every socket of the main namespace.
    pub fn main(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            MAIN_NAMESPACE.into(),
            Arc::clone(&self.inner.adapter),
            None,
            self.inner.config.recovery.is_some(),
        )
    }
}

impl EngineHandler for SocketIo {
    fn on_open(&self, socket: EngineSocket, handshake: Handshake) -> Box<dyn EngineConnection> {
        Box::new(Connection::new(Arc::clone(&self.inner), socket, handshake))
    }
}

/// Describes a [`SocketIo`] server.
pub struct SocketIoBuilder {
    config: SocketIoConfig,
    adapter: Arc<dyn Adapter>,
    namespaces: Vec<NamespaceBuilder>,
}

impl SocketIoBuilder {
    /// Replaces the settings.
    pub fn config(mut self, config: SocketIoConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds a namespace.
    pub fn namespace(mut self, namespace: NamespaceBuilder) -> Self {
        self.namespaces.push(namespace);
        self
    }

    /// The server.
    pub fn build(self) -> SocketIo {
        let kept = self
            .config
            .recovery
            .map(|config| Arc::new(KeptSockets::new(config)));
        let namespaces = self
            .namespaces
            .into_iter()
            .map(|ns| {
                let name = ns.name().to_string();
                (
                    name,
                    Arc::new(ns.build(Arc::clone(&self.adapter), kept.clone())),
                )
            })
            .collect();
        SocketIo {
            inner: Arc::new(ServerInner {
                config: self.config,
                namespaces,
                adapter: self.adapter,
            }),
        }
    }
}
