//! [`SocketIo`]: the Socket.IO server, its namespaces and the adapter they share.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::adapter::Adapter;
use super::broadcast::BroadcastOperator;
use super::connection::Connection;
use super::dynamic::{ChildSettings, DynamicNamespace, Matcher, ParentBroadcast};
use super::error::EmitError;
use super::namespace::NamespaceBuilder;
use super::packet::{MAIN_NAMESPACE, RESERVED_EVENTS};
use super::parser::Parser;
use super::recovery::KeptSockets;
use super::server_side::{ServerSideAck, ServerSideAckError, ServerSideEvents};
use super::state::{ServerInner, SocketIoConfig};
use super::types::Room;
use crate::engineio::{EngineConnection, EngineHandler, EngineSocket, Handshake};

/// The Socket.IO server: hand it to an [`Engine`](crate::engineio::Engine) as its handler, and use
/// it to emit from outside any socket (an HTTP handler, say).
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<ServerInner>,
    server_side: ServerSideEvents,
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

    /// Handles `event` when another server of the cluster sends it to the main namespace (Node's
    /// `io.serverSideEmit(event, ...args)`, with or without an acknowledgement, or the Redis
    /// emitter's): `handler` gets the arguments, and a [`ServerSideAck`] to answer with when the
    /// sender waits for one. [`SocketIo::server_side_of`] does the same for another namespace.
    pub fn on_server_side(
        &self,
        event: &str,
        handler: impl Fn(Vec<Value>, Option<ServerSideAck>) + Send + Sync + 'static,
    ) {
        self.server_side_of(MAIN_NAMESPACE).on(event, handler);
    }

    /// Sends `event` with `args` to the server-side handlers of every other server, in the main
    /// namespace (Node's `io.serverSideEmit`); not to this server's own.
    pub fn server_side_emit(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.server_side_of(MAIN_NAMESPACE).emit(event, args)
    }

    /// [`SocketIo::server_side_emit`] waiting up to `timeout` for every other server's answer
    /// (Node's `serverSideEmitWithAck`): resolves to the answers (none when this server is
    /// alone), or fails with those that came in time.
    pub fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<Value>, ServerSideAckError>> + 'static {
        self.server_side_of(MAIN_NAMESPACE)
            .emit_with_ack(event, args, timeout)
    }

    /// Server-side events of namespace `nsp` (Node's `io.of(nsp).serverSideEmit` and
    /// `io.of(nsp).on(event)`).
    pub fn server_side_of(&self, nsp: &str) -> ServerSide {
        ServerSide::new(
            Arc::from(nsp),
            Arc::clone(&self.inner.adapter),
            self.server_side.clone(),
        )
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
        let server_side = ServerSideEvents::default();
        SocketIo {
            inner: Arc::new(ServerInner {
                config: self.config,
                namespaces,
                adapter: self.adapter,
                dynamic,
            }),
            server_side,
        }
    }
}

/// Server-side events of one namespace: handlers for other servers' events, and emits to them.
/// From [`SocketIo::server_side_of`](super::SocketIo::server_side_of).
#[derive(Clone)]
pub struct ServerSide {
    nsp: Arc<str>,
    adapter: Arc<dyn Adapter>,
    events: ServerSideEvents,
}

impl ServerSide {
    fn new(nsp: Arc<str>, adapter: Arc<dyn Adapter>, events: ServerSideEvents) -> ServerSide {
        ServerSide {
            nsp,
            adapter,
            events,
        }
    }

    /// Handles `event` from other servers: `handler` gets its arguments, and the
    /// acknowledgement to answer when the sender waits for one. It runs on the task that reads
    /// the cluster's messages: keep it short, and spawn longer work.
    pub fn on(
        &self,
        event: &str,
        handler: impl Fn(Vec<Value>, Option<ServerSideAck>) + Send + Sync + 'static,
    ) {
        self.events.on(&self.nsp, event, Arc::new(handler));
        self.adapter
            .serve_server_side(&self.nsp, self.events.clone());
    }

    /// Sends `event` with `args` to every other server's handler (not this server's own).
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent);
        }
        self.adapter
            .server_side_emit(&self.nsp, with_event(event, args));
        Ok(())
    }

    /// [`ServerSide::emit`] waiting up to `timeout` for every other server's answer: resolves to
    /// the answers in arrival order (none when this server is alone), or fails with those that
    /// came in time.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<Value>, ServerSideAckError>> + 'static {
        let asked = (!RESERVED_EVENTS.contains(&event)).then(|| {
            self.adapter
                .server_side_emit_with_ack(&self.nsp, with_event(event, args), timeout)
        });
        async move {
            match asked {
                Some(answers) => answers.await,
                None => Err(ServerSideAckError::ReservedEvent),
            }
        }
    }
}

/// The arguments of a server-side event as they travel: the event name first.
fn with_event(event: &str, args: Vec<Value>) -> Vec<Value> {
    std::iter::once(Value::from(event)).chain(args).collect()
}
