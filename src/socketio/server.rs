//! [`SocketIo`]: the Socket.IO server, its namespaces and the adapter they share.

use std::sync::Arc;

use super::adapter::Adapter;
use super::broadcast::BroadcastOperator;
use super::connection::Connection;
use super::dynamic::{ChildSettings, DynamicNamespace, Matcher, ParentBroadcast};
use super::namespace::NamespaceBuilder;
use super::packet::MAIN_NAMESPACE;
use super::parser::Parser;
use super::recovery::KeptSockets;
use super::state::{ServerInner, SocketIoConfig};
use super::types::Room;
use crate::engineio::{EngineConnection, EngineHandler, EngineSocket, Handshake};

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
            dynamic: Vec::new(),
        }
    }

    /// Emits to every child of the dynamic namespace registered as `parent` (see
    /// [`SocketIoBuilder::dynamic_namespace`]); `None` if there is no such dynamic namespace.
    pub fn parent(&self, parent: &str) -> Option<ParentBroadcast> {
        self.dynamic(parent).map(DynamicNamespace::broadcast)
    }

    /// How many children of the dynamic namespace `parent` are alive.
    pub fn child_count(&self, parent: &str) -> usize {
        self.dynamic(parent)
            .map_or(0, DynamicNamespace::child_count)
    }

    fn dynamic(&self, parent: &str) -> Option<&DynamicNamespace> {
        self.inner.dynamic.iter().find(|d| d.name() == parent)
    }

    /// Emits to the sockets of a namespace (a dynamic namespace's child alive now included);
    /// `None` if the namespace does not exist.
    pub fn of(&self, nsp: &str) -> Option<BroadcastOperator> {
        let ns = match self.inner.namespaces.get(nsp) {
            Some(ns) => Arc::clone(ns),
            None => self.inner.dynamic.iter().find_map(|d| d.existing(nsp))?,
        };
        Some(BroadcastOperator::new(
            Arc::clone(ns.name()),
            Arc::clone(&self.inner.adapter),
            None,
            ns.recovery().is_some(),
            self.inner.config.parser,
        ))
    }

    /// How this server writes packets (`--parser`).
    pub fn parser(&self) -> Parser {
        self.inner.config.parser
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
            self.inner.config.parser,
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
    dynamic: Vec<(Matcher, NamespaceBuilder)>,
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

    /// Adds a dynamic namespace: a CONNECT to a name `matches` accepts (and no static namespace
    /// has) creates a child namespace of that name with `template`'s middlewares and handlers.
    /// `template`'s own name (say `/room-*`) names the parent in [`SocketIo::parent`] and in
    /// metrics. At most [`SocketIoConfig::max_dynamic_children`] children live at once; a child is
    /// dropped when its last socket leaves.
    pub fn dynamic_namespace(
        mut self,
        matches: impl Fn(&str) -> bool + Send + Sync + 'static,
        template: NamespaceBuilder,
    ) -> Self {
        self.dynamic.push((Arc::new(matches), template));
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
                    Arc::new(ns.build(Arc::clone(&self.adapter), kept.clone(), self.config.parser)),
                )
            })
            .collect();
        let dynamic = self
            .dynamic
            .into_iter()
            .map(|(matches, template)| {
                let settings = ChildSettings {
                    adapter: Arc::clone(&self.adapter),
                    recovery: kept.clone(),
                    parser: self.config.parser,
                    max_children: self.config.max_dynamic_children,
                };
                DynamicNamespace::new(matches, template, settings)
            })
            .collect();
        SocketIo {
            inner: Arc::new(ServerInner {
                config: self.config,
                namespaces,
                adapter: self.adapter,
                dynamic,
            }),
        }
    }
}
