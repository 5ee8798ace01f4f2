//! Namespaces: the handlers a server runs for connections, events and disconnections.

// Small maps keyed by namespace or event name, looked up for every packet: a fast hash.
use foldhash::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use serde_json::{json, Value};

use super::ack::AckSender;
use super::adapter::{Adapter, NewSocket, Orphaned, OutgoingHook, RestoreRequest, SocketHooks};
use super::middleware::{Interceptors, MiddlewareError};
use super::packet::Packet;
use super::parser::Parser;
use super::payload::Payload;
use super::recovery::{new_pid, KeptSockets};
use super::socket::{Socket, SocketNamespace};
use super::types::{DisconnectReason, Room};
use crate::engineio::CloseReason;

/// Why a middleware refused a connection; sent to the client as CONNECT_ERROR.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// Shown to the client as `err.message`.
    pub message: String,
    /// Shown to the client as `err.data`.
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message only.
    pub fn new(message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data for the client.
    pub fn with_data(mut self, data: Value) -> ConnectError {
        self.data = Some(data);
        self
    }
}

type Middleware =
    Arc<dyn Fn(Socket) -> LocalBoxFuture<'static, Result<(), ConnectError>> + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(&Socket) + Send + Sync>;
type EventHandler = Arc<dyn Fn(&Socket, Payload, Option<AckSender>) + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&Socket, DisconnectReason) + Send + Sync>;
/// Told the name of a namespace whose last socket left (a dynamic namespace's child, dropped).
pub(crate) type EmptyHook = Arc<dyn Fn(&str) + Send + Sync>;

/// A namespace and its handlers. Built with [`Namespace::builder`], shared by every connection.
pub struct Namespace {
    name: Arc<str>,
    /// The `namespace` label of its metrics: its name, or its parent's for a dynamic child (so
    /// that clients cannot mint label values).
    label: Arc<str>,
    adapter: Arc<dyn Adapter>,
    recovery: Option<Arc<KeptSockets>>,
    parser: Parser,
    middlewares: Vec<Middleware>,
    on_connect: Option<ConnectHandler>,
    events: HashMap<String, EventHandler>,
    on_disconnect: Option<DisconnectHandler>,
    interceptors: Interceptors,
    /// Sockets connected here now.
    connected: AtomicUsize,
    /// Runs when the namespace has no socket left (set for a dynamic namespace's children).
    on_empty: Option<EmptyHook>,
}

impl Namespace {
    /// Starts describing the namespace `name` (`"/"` for the main one).
    pub fn builder(name: &str) -> NamespaceBuilder {
        NamespaceBuilder {
            name: name.into(),
            middlewares: Vec::new(),
            on_connect: None,
            events: HashMap::default(),
            on_disconnect: None,
            interceptors: Interceptors::default(),
        }
    }

    /// The namespace name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    /// The kept sockets, when connection state recovery is on.
    pub(crate) fn recovery(&self) -> Option<&Arc<KeptSockets>> {
        self.recovery.as_ref()
    }

    /// Runs the middlewares, then accepts or refuses the socket.
    pub(crate) fn connect(self: &Arc<Self>, socket: Socket) {
        if self.middlewares.is_empty() {
            self.accept(&socket);
            return;
        }
        let ns = Arc::clone(self);
        actix_rt::spawn(async move {
            for middleware in &ns.middlewares {
                if let Err(error) = middleware(socket.clone()).await {
                    ns.refuse(&socket, error);
                    return;
                }
            }
            ns.accept(&socket);
        });
    }

    /// How many sockets are connected here now.
    pub(crate) fn connected_count(&self) -> usize {
        self.connected.load(Ordering::Acquire)
    }

    /// Tells the empty hook when no socket is connected (a joining socket that never made it).
    fn release_if_empty(&self) {
        if let Some(hook) = self
            .on_empty
            .as_ref()
            .filter(|_| self.connected_count() == 0)
        {
            hook(&self.name);
        }
    }

    fn accept(&self, socket: &Socket) {
        if !socket.mark_connected() {
            self.release_if_empty();
            return;
        }
        let mut data = json!({ "sid": socket.id().as_str() });
        let pid = self.recovery.is_some().then(new_pid);
        if let Some(pid) = &pid {
            data["pid"] = json!(pid);
            socket.set_recovery(pid.clone(), false);
        }
        let reply = Packet::Connect {
            nsp: self.name.to_string(),
            data: Some(data),
        };
        if socket.send_packet(&reply).is_err() {
            // The connection is gone: the socket never counted as connected, so it ends silently.
            socket.mark_gone();
            self.release_if_empty();
            return;
        }
        // Registered once the answer is queued, so no broadcast to the socket can reach the client
        // before it; and from this thread, before the client can have read the answer, so anything
        // the client does next reaches the adapter after the registration.
        let new = NewSocket {
            id: socket.id().clone(),
            engine: socket.engine().clone(),
            acks: socket.acks().clone(),
            orphaned: orphaned(socket),
            details: Arc::clone(socket.details()),
            hooks: self.hooks(socket),
            pid,
        };
        self.adapter.add_socket(&self.name, new);
        self.connected(socket);
    }

    /// Takes over a disconnected socket for a client that came back with its `pid`: the adapter
    /// answers CONNECT, replays what was missed after `offset`, and resumes live delivery.
    /// `claimed` holds the rooms of a session claimed from the cluster; with `identify`, the
    /// middlewares run first (the socket was not kept here, so who it is must be found again).
    pub(crate) fn restore(
        self: &Arc<Self>,
        socket: Socket,
        pid: String,
        offset: Option<String>,
        claimed: Option<Vec<Room>>,
        identify: bool,
    ) {
        if !identify || self.middlewares.is_empty() {
            self.take_over(socket, pid, offset, claimed);
            return;
        }
        let ns = Arc::clone(self);
        actix_rt::spawn(async move {
            for middleware in &ns.middlewares {
                if let Err(error) = middleware(socket.clone()).await {
                    ns.refuse(&socket, error);
                    return;
                }
            }
            ns.take_over(socket, pid, offset, claimed);
        });
    }

    fn take_over(
        self: &Arc<Self>,
        socket: Socket,
        pid: String,
        offset: Option<String>,
        claimed: Option<Vec<Room>>,
    ) {
        if !socket.mark_connected() {
            return;
        }
        let reply = |pid: &str| -> Arc<[crate::engineio::Frame]> {
            self.parser.shared_frames(&Packet::Connect {
                nsp: self.name.to_string(),
                data: Some(json!({ "sid": socket.id().as_str(), "pid": pid })),
            })
        };
        let fresh_pid = new_pid();
        let request = RestoreRequest {
            id: socket.id().clone(),
            engine: socket.engine().clone(),
            offset,
            recovered_reply: reply(&pid),
            fresh_reply: reply(&fresh_pid),
            pids: (pid.clone(), fresh_pid.clone()),
            rooms: claimed,
            logged: Vec::new(),
            acks: socket.acks().clone(),
            orphaned: orphaned(&socket),
            details: Arc::clone(socket.details()),
            hooks: self.hooks(&socket),
        };
        let restoring = self.adapter.restore_socket(&self.name, request);
        let ns = Arc::clone(self);
        actix_rt::spawn(async move {
            let recovered = restoring.await;
            let result = if recovered { "recovered" } else { "lost" };
            crate::metrics::get()
                .recoveries
                .with_label_values(&[result])
                .inc();
            tracing::info!(socket = %socket.id(), nsp = %ns.name, result, "socket came back");
            socket.set_recovery(if recovered { pid } else { fresh_pid }, recovered);
            ns.connected(&socket);
        });
    }

    fn connected(&self, socket: &Socket) {
        self.connected.fetch_add(1, Ordering::AcqRel);
        crate::metrics::get()
            .sockets
            .with_label_values(&[&self.label])
            .inc();
        tracing::debug!(socket = %socket.id(), nsp = %self.name, "socket connected");
        if let Some(handler) = &self.on_connect {
            handler(socket);
        }
    }

    fn refuse(&self, socket: &Socket, error: ConnectError) {
        if !socket.mark_refused() {
            return;
        }
        self.release_if_empty();
        tracing::info!(nsp = %self.name, error = %error.message, "connection refused by middleware");
        let mut data = json!({ "message": error.message });
        if let Some(extra) = error.data {
            data["data"] = extra;
        }
        let _ = socket.send_packet(&Packet::ConnectError {
            nsp: self.name.to_string(),
            data,
        });
    }

    /// Runs the packet middlewares and catch-alls, then the handler of an event; events without
    /// one are ignored.
    pub(crate) fn dispatch(
        &self,
        socket: &Socket,
        event: &str,
        mut payload: Payload,
        id: Option<u64>,
    ) {
        if let Err(error) = self.interceptors.incoming(socket, event, &mut payload) {
            tracing::debug!(socket = %socket.id(), event, %error, "event refused by a packet middleware");
            return;
        }
        self.adapter
            .event_received(&self.name, socket.id(), event, &payload);
        match self.events.get(event) {
            Some(handler) => {
                let ack = id.map(|id| AckSender::new(socket.clone(), id));
                handler(socket, payload, ack);
            }
            None => tracing::debug!(nsp = %self.name, event, "event without a handler"),
        }
    }

    pub(crate) fn on_disconnected(&self, socket: &Socket, reason: DisconnectReason) {
        crate::metrics::get()
            .sockets
            .with_label_values(&[&self.label])
            .dec();
        tracing::debug!(socket = %socket.id(), nsp = %self.name, reason = reason.as_str(), "socket disconnected");
        self.adapter
            .socket_disconnected(&self.name, socket.id(), reason);
        if let Some(handler) = &self.on_disconnect {
            handler(socket, reason);
        }
        if self.connected.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.release_if_empty();
        }
    }
}

impl SocketNamespace for Namespace {
    fn name(&self) -> &Arc<str> {
        Namespace::name(self)
    }

    fn adapter(&self) -> &Arc<dyn Adapter> {
        Namespace::adapter(self)
    }

    fn recovery_window(&self) -> Option<Duration> {
        self.recovery
            .as_ref()
            .map(|kept| kept.config().max_disconnection)
    }

    fn keep(&self, pid: String, socket: Socket) {
        if let Some(kept) = &self.recovery {
            kept.keep(pid, socket);
        }
    }

    fn parser(&self) -> Parser {
        self.parser
    }

    fn outgoing(&self, socket: &Socket, event: &str, payload: &Payload) {
        self.interceptors.outgoing(socket, event, payload);
    }

    fn dispatch(&self, socket: &Socket, event: &str, payload: Payload, id: Option<u64>) {
        Namespace::dispatch(self, socket, event, payload, id);
    }

    fn on_disconnected(&self, socket: &Socket, reason: DisconnectReason) {
        Namespace::on_disconnected(self, socket, reason);
    }
}

impl Namespace {
    /// What the adapter tells of `socket`: the broadcasts it delivers, when the namespace has
    /// outgoing catch-alls (none otherwise, so delivery costs nothing more).
    fn hooks(&self, socket: &Socket) -> SocketHooks {
        SocketHooks {
            outgoing: self.outgoing_hook(socket),
            rooms: None,
        }
    }

    fn outgoing_hook(&self, socket: &Socket) -> Option<OutgoingHook> {
        if self.interceptors.on_any_outgoing.is_empty() {
            return None;
        }
        let socket = socket.clone();
        let parser = self.parser;
        Some(Arc::new(move |sent| {
            if let Some((event, payload)) = sent.event(parser) {
                socket.notify_outgoing(event, payload);
            }
        }))
    }
}

/// The hook an adapter runs on a socket it finds registered after its transport closed: the
/// socket ends as if its transport had failed.
fn orphaned(socket: &Socket) -> Orphaned {
    let socket = socket.clone();
    Orphaned::new(move || {
        socket.on_disconnected(DisconnectReason::Transport(CloseReason::TransportError));
    })
}

/// Describes a namespace: middlewares, then handlers. Cloning it shares the handlers (a dynamic
/// namespace's children are built from one).
#[derive(Clone)]
pub struct NamespaceBuilder {
    name: Arc<str>,
    middlewares: Vec<Middleware>,
    on_connect: Option<ConnectHandler>,
    events: HashMap<String, EventHandler>,
    on_disconnect: Option<DisconnectHandler>,
    interceptors: Interceptors,
}

impl NamespaceBuilder {
    /// Adds a middleware, run in order for each connecting socket; an error refuses the connection
    /// with CONNECT_ERROR.
    pub fn middleware<F, Fut>(mut self, middleware: F) -> Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + 'static,
    {
        self.middlewares
            .push(Arc::new(move |socket| middleware(socket).boxed_local()));
        self
    }

    /// Runs once a socket is connected.
    pub fn on_connect(mut self, handler: impl Fn(&Socket) + Send + Sync + 'static) -> Self {
        self.on_connect = Some(Arc::new(handler));
        self
    }

    /// Handles an event; the ack sender is there when the client asked for an acknowledgement.
    pub fn on(
        mut self,
        event: &str,
        handler: impl Fn(&Socket, Payload, Option<AckSender>) + Send + Sync + 'static,
    ) -> Self {
        self.events.insert(event.to_string(), Arc::new(handler));
        self
    }

    /// Runs once a socket leaves the namespace, whatever the reason.
    pub fn on_disconnect(
        mut self,
        handler: impl Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    ) -> Self {
        self.on_disconnect = Some(Arc::new(handler));
        self
    }

    /// Adds a packet middleware (Node's `socket.use`), run in order on every incoming event of
    /// every socket, before the catch-alls and the event's handler; it may change the arguments.
    /// An error drops the event and goes to the [`on_error`](Self::on_error) hook.
    pub fn use_packet(
        mut self,
        middleware: impl Fn(&Socket, &str, &mut Payload) -> Result<(), MiddlewareError>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.interceptors
            .packet_middlewares
            .push(Arc::new(middleware));
        self
    }

    /// Sees every incoming event of every socket (Node's `socket.onAny`), after the packet
    /// middlewares and before the event's own handler, whether it has one or not.
    pub fn on_any(
        mut self,
        listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static,
    ) -> Self {
        self.interceptors.on_any.push(Arc::new(listener));
        self
    }

    /// Sees every event sent to a socket (Node's `socket.onAnyOutgoing`): [`Socket::emit`] and
    /// [`Socket::emit_with_ack`] just before they are sent, and every broadcast that reaches the
    /// socket (from this node or another, with an ack or not) as the adapter delivers it.
    pub fn on_any_outgoing(
        mut self,
        listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static,
    ) -> Self {
        self.interceptors.on_any_outgoing.push(Arc::new(listener));
        self
    }

    /// Gets each event a packet middleware refused, with the error (Node's `error` event on the
    /// server socket).
    pub fn on_error(
        mut self,
        hook: impl Fn(&Socket, &MiddlewareError) + Send + Sync + 'static,
    ) -> Self {
        self.interceptors.on_error = Some(Arc::new(hook));
        self
    }

    /// The same handlers under another name, counted in metrics under this one's name.
    pub(crate) fn child(&self, name: &str) -> (NamespaceBuilder, Arc<str>) {
        let child = NamespaceBuilder {
            name: name.into(),
            ..self.clone()
        };
        (child, Arc::clone(&self.name))
    }

    pub(crate) fn build(
        self,
        adapter: Arc<dyn Adapter>,
        recovery: Option<Arc<KeptSockets>>,
        parser: Parser,
    ) -> Namespace {
        self.build_child(adapter, recovery, parser, None, None)
    }

    /// Builds the namespace; a dynamic child gets its parent's metric label and an empty hook.
    pub(crate) fn build_child(
        self,
        adapter: Arc<dyn Adapter>,
        recovery: Option<Arc<KeptSockets>>,
        parser: Parser,
        label: Option<Arc<str>>,
        on_empty: Option<EmptyHook>,
    ) -> Namespace {
        Namespace {
            label: label.unwrap_or_else(|| Arc::clone(&self.name)),
            interceptors: self.interceptors,
            connected: AtomicUsize::new(0),
            on_empty,
            name: self.name,
            adapter,
            recovery,
            parser,
            middlewares: self.middlewares,
            on_connect: self.on_connect,
            events: self.events,
            on_disconnect: self.on_disconnect,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}
