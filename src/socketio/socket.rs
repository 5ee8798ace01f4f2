//! [`Socket`]: one client's connection to one namespace, the handle every event handler gets.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::adapter::Adapter;
use super::broadcast::BroadcastOperator;
use super::error::{AckError, EmitError};
use super::packet::{Packet, RESERVED_EVENTS};
use super::parser::Parser;
use super::payload::Payload;
use super::pending_acks::PendingAcks;
use super::socket_details::{SocketDataError, SocketDetails};
use super::types::{DisconnectReason, Room, SocketId};
use crate::engineio::{CloseReason, EngineSocket, Handshake, SendError, SendOptions};
use crate::sync::lock;

/// What a socket needs from its namespace. Implemented by [`Namespace`](super::Namespace), which
/// dispatches to sockets: sockets reach it only through this, so neither file imports the other.
pub(crate) trait SocketNamespace: Send + Sync {
    /// The namespace name.
    fn name(&self) -> &Arc<str>;
    /// The adapter that tracks the namespace's rooms.
    fn adapter(&self) -> &Arc<dyn Adapter>;
    /// How long a disconnected socket can be recovered; `None` when recovery is off.
    fn recovery_window(&self) -> Option<Duration>;
    /// Keeps a disconnected socket under its private id, for a client that comes back.
    fn keep(&self, pid: String, socket: Socket);
    /// How the server writes packets.
    fn parser(&self) -> Parser;
    /// The socket is about to send an event: the outgoing catch-alls run.
    fn outgoing(&self, socket: &Socket, event: &str, payload: &Payload);
    /// An event arrived for the socket: the middlewares, catch-alls and its handler run.
    fn dispatch(&self, socket: &Socket, event: &str, payload: Payload, id: Option<u64>);
    /// The socket left: the namespace's disconnect handler runs.
    fn on_disconnected(&self, socket: &Socket, reason: DisconnectReason);
}

const CONNECTING: u8 = 0;
const CONNECTED: u8 = 1;
const DISCONNECTED: u8 = 2;

/// A cheap, cloneable, thread-safe handle to one socket.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    id: SocketId,
    ns: Arc<dyn SocketNamespace>,
    engine: EngineSocket,
    handshake: Arc<Handshake>,
    auth: Value,
    /// Its handshake in Node's shape and its `data` slot, shared with the adapter for fetches.
    details: Arc<SocketDetails>,
    state: AtomicU8,
    acks: PendingAcks,
    extensions: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    /// The private id a reconnecting client presents to recover this socket (recovery on only).
    pid: Mutex<Option<String>>,
    /// True when this socket recovered an earlier one's state.
    recovered: AtomicBool,
}

impl Socket {
    pub(crate) fn new(
        ns: Arc<dyn SocketNamespace>,
        engine: EngineSocket,
        handshake: Arc<Handshake>,
        auth: Value,
    ) -> Socket {
        Socket::build(
            ns,
            engine,
            handshake,
            auth,
            SocketId::random(),
            HashMap::new(),
        )
    }

    /// A socket taking over a disconnected one: same id, and its extensions (who it is).
    pub(crate) fn restored(
        ns: Arc<dyn SocketNamespace>,
        engine: EngineSocket,
        handshake: Arc<Handshake>,
        auth: Value,
        old: &Socket,
    ) -> Socket {
        let extensions = std::mem::take(&mut *lock(&old.inner.extensions));
        let socket = Socket::build(ns, engine, handshake, auth, old.id().clone(), extensions);
        // Its data comes back with it, as in Socket.IO; it was bounded when set.
        let _ = socket.set_data(old.data());
        socket
    }

    /// A socket taking over a session claimed from the cluster (its node may be gone): same id
    /// and data; who it is comes from the namespace's middlewares again.
    pub(crate) fn claimed(
        ns: Arc<dyn SocketNamespace>,
        engine: EngineSocket,
        handshake: Arc<Handshake>,
        auth: Value,
        id: SocketId,
        data: Value,
    ) -> Socket {
        let socket = Socket::build(ns, engine, handshake, auth, id, HashMap::new());
        // Bounded when it was set on the node that had the socket; an oversized one is dropped.
        let _ = socket.set_data(data);
        socket
    }

    /// True when nothing was put in the socket's extensions (a socket claimed from another node).
    pub(crate) fn extensions_empty(&self) -> bool {
        lock(&self.inner.extensions).is_empty()
    }

    fn build(
        ns: Arc<dyn SocketNamespace>,
        engine: EngineSocket,
        handshake: Arc<Handshake>,
        auth: Value,
        id: SocketId,
        extensions: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    ) -> Socket {
        let details = SocketDetails::new(&handshake, &auth);
        Socket {
            inner: Arc::new(SocketInner {
                id,
                ns,
                engine,
                handshake,
                auth,
                details,
                state: AtomicU8::new(CONNECTING),
                acks: PendingAcks::default(),
                extensions: Mutex::new(extensions),
                pid: Mutex::new(None),
                recovered: AtomicBool::new(false),
            }),
        }
    }

    /// True when the client reconnected within the recovery window and got this socket's id, rooms
    /// and missed packets back.
    pub fn recovered(&self) -> bool {
        self.inner.recovered.load(Ordering::Acquire)
    }

    pub(crate) fn set_recovery(&self, pid: String, recovered: bool) {
        *lock(&self.inner.pid) = Some(pid);
        self.inner.recovered.store(recovered, Ordering::Release);
    }

    /// The socket id (distinct from the Engine.IO session id).
    pub fn id(&self) -> &SocketId {
        &self.inner.id
    }

    /// The namespace name.
    pub fn nsp(&self) -> &Arc<str> {
        self.inner.ns.name()
    }

    /// The `auth` object the client sent with its CONNECT packet (`{}` if none).
    pub fn auth(&self) -> &Value {
        &self.inner.auth
    }

    /// The HTTP request that opened the connection.
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// A copy of the socket's `data` slot (`{}` until set): what the app keeps about it, seen by
    /// `fetchSockets()` on every node (Node's `socket.data`).
    pub fn data(&self) -> Value {
        self.inner.details.data()
    }

    /// Replaces the socket's `data` slot; refused beyond
    /// [`MAX_SOCKET_DATA_BYTES`](super::MAX_SOCKET_DATA_BYTES) as JSON.
    pub fn set_data(&self, data: Value) -> Result<(), SocketDataError> {
        self.inner.details.set_data(data)?;
        if self.connected() {
            self.adapter().data_changed(self.nsp(), self.id());
        }
        Ok(())
    }

    /// The handshake and data slot, as the adapter shares them.
    pub(crate) fn details(&self) -> &Arc<SocketDetails> {
        &self.inner.details
    }

    /// The Engine.IO connection under this socket.
    pub fn engine(&self) -> &EngineSocket {
        &self.inner.engine
    }

    /// True between a successful connect and the disconnect.
    pub fn connected(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) == CONNECTED
    }

    /// True from the CONNECT until the disconnect or refusal: while a middleware runs, and after.
    pub(crate) fn joining_or_joined(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) != DISCONNECTED
    }

    /// Stores a value of type `T` on the socket (say, the user it belongs to).
    pub fn insert_extension<T: Any + Send + Sync>(&self, value: T) {
        lock(&self.inner.extensions).insert(TypeId::of::<T>(), Box::new(value));
    }

    /// A copy of the stored value of type `T`.
    pub fn extension<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        lock(&self.inner.extensions)
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
    }

    /// Emits an event to this client. With recovery on it goes through the adapter like a
    /// broadcast to this socket alone, so it carries an offset and can be replayed.
    pub fn emit(&self, event: &str, payload: Payload) -> Result<(), EmitError> {
        self.emit_with(event, payload, SendOptions::default())
    }

    /// Emits an event with send options: Node's `socket.volatile.emit` (dropped if the
    /// transport cannot take it now) and `socket.compress(false).emit`.
    pub fn emit_with(
        &self,
        event: &str,
        payload: Payload,
        options: SendOptions,
    ) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent);
        }
        self.adapter()
            .event_sent(self.nsp(), self.id(), event, &payload);
        if self.inner.ns.recovery_window().is_some() {
            // A broadcast to the socket's own room, so it is logged: the outgoing catch-alls see
            // it as they see every broadcast, when the adapter delivers it.
            if !self.connected() {
                return Err(EmitError::Disconnected);
            }
            return self
                .namespace()
                .to(self.id().as_str())
                .send_options(options)
                .emit(event, payload);
        }
        self.inner.ns.outgoing(self, event, &payload);
        let packet = Packet::Event {
            nsp: String::from(&**self.nsp()),
            event: event.to_string(),
            payload,
            id: None,
        };
        self.send_packet_with(&packet, options)
    }

    /// Emits an event and waits up to `timeout` for the client's ack. The ack id comes from the
    /// counter broadcasts with acks use too, so the two never mix up their answers.
    pub fn emit_with_ack(
        &self,
        event: &str,
        payload: Payload,
        timeout: Duration,
    ) -> impl std::future::Future<Output = Result<Payload, AckError>> + 'static {
        let (id, receiver) = self.inner.acks.wait();
        let sent = if RESERVED_EVENTS.contains(&event) {
            Err(EmitError::ReservedEvent)
        } else {
            self.inner.ns.outgoing(self, event, &payload);
            self.send_packet(&Packet::Event {
                nsp: String::from(&**self.nsp()),
                event: event.to_string(),
                payload,
                id: Some(id),
            })
        };
        let socket = self.clone();
        async move {
            if sent.is_err() {
                socket.inner.acks.forget(id);
                return Err(AckError::Disconnected);
            }
            match tokio::time::timeout(timeout, receiver).await {
                Ok(Ok(payload)) => Ok(payload),
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => {
                    socket.inner.acks.forget(id);
                    crate::metrics::get().acks_timed_out.inc();
                    tracing::debug!(socket = %socket.id(), id, "ack timed out");
                    Err(AckError::Timeout)
                }
            }
        }
    }

    /// Joins rooms of this namespace.
    pub fn join(&self, room: impl Into<Room>) {
        self.adapter()
            .join(self.nsp(), self.id(), vec![room.into()]);
    }

    /// Leaves a room.
    pub fn leave(&self, room: impl Into<Room>) {
        self.adapter()
            .leave(self.nsp(), self.id(), vec![room.into()]);
    }

    /// Emits to the sockets in `room`, this one left out.
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Emits to every socket of the namespace, this one included.
    pub fn namespace(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            Arc::clone(self.nsp()),
            Arc::clone(self.adapter()),
            None,
            self.inner.ns.recovery_window().is_some(),
            self.inner.ns.parser(),
        )
    }

    /// Emits to every other socket of the namespace.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            Arc::clone(self.nsp()),
            Arc::clone(self.adapter()),
            Some(self.id().clone()),
            self.inner.ns.recovery_window().is_some(),
            self.inner.ns.parser(),
        )
    }

    /// The rooms of this namespace whose names start with `prefix`, on every node of a cluster.
    pub fn cluster_rooms(&self, prefix: &str) -> BoxFuture<'static, Vec<Room>> {
        self.adapter().rooms(self.nsp(), prefix)
    }

    /// Disconnects the socket from its namespace; the client is told and does not reconnect.
    pub fn disconnect(&self) {
        if self.transition(CONNECTED, DISCONNECTED) {
            let _ = self.send_packet(&Packet::Disconnect {
                nsp: String::from(&**self.nsp()),
            });
            self.cleanup(DisconnectReason::ServerNamespaceDisconnect);
        }
    }

    /// Closes the whole connection under the socket (every namespace of that client).
    pub fn close_connection(&self) {
        self.inner.engine.close(CloseReason::ServerClose);
    }

    fn adapter(&self) -> &Arc<dyn Adapter> {
        self.inner.ns.adapter()
    }

    /// Runs the namespace's outgoing catch-alls for an event a broadcast delivered to the socket.
    pub(crate) fn notify_outgoing(&self, event: &str, payload: &Payload) {
        self.inner.ns.outgoing(self, event, payload);
    }

    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), EmitError> {
        self.send_packet_with(packet, SendOptions::default())
    }

    fn send_packet_with(&self, packet: &Packet, options: SendOptions) -> Result<(), EmitError> {
        self.inner
            .engine
            .send_with(self.inner.ns.parser().session_frames(packet), options)
            .map_err(|error| match error {
                SendError::Closed => EmitError::Disconnected,
                SendError::SlowConsumer => EmitError::SlowConsumer,
            })
    }

    fn transition(&self, from: u8, to: u8) -> bool {
        self.inner
            .state
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The namespace accepted the socket.
    pub(crate) fn mark_connected(&self) -> bool {
        self.transition(CONNECTING, CONNECTED)
    }

    /// The connection went before the socket's CONNECT answer could be queued: it ends without
    /// a disconnect, as it never was announced.
    pub(crate) fn mark_gone(&self) {
        self.transition(CONNECTED, DISCONNECTED);
    }

    /// A middleware refused the socket.
    pub(crate) fn mark_refused(&self) -> bool {
        self.transition(CONNECTING, DISCONNECTED)
    }

    /// The client left, or its connection ended.
    pub(crate) fn on_disconnected(&self, reason: DisconnectReason) {
        if self.transition(CONNECTED, DISCONNECTED) {
            self.cleanup(reason);
        } else {
            self.transition(CONNECTING, DISCONNECTED);
        }
    }

    /// Where this socket's acks go; the adapter registers broadcast acks there.
    pub(crate) fn acks(&self) -> &PendingAcks {
        &self.inner.acks
    }

    /// An event from the client arrived: its namespace dispatches it.
    pub(crate) fn dispatch(&self, event: &str, payload: Payload, id: Option<u64>) {
        self.inner.ns.dispatch(self, event, payload, id);
    }

    /// An ack from the client arrived.
    pub(crate) fn on_ack(&self, id: u64, payload: Payload) {
        if !self.inner.acks.resolve(id, payload) {
            tracing::debug!(socket = %self.id(), id, "ack with an unknown id ignored");
        }
    }

    fn cleanup(&self, reason: DisconnectReason) {
        self.inner.acks.clear();
        let pid = lock(&self.inner.pid).clone();
        match (self.inner.ns.recovery_window(), pid) {
            (Some(window), Some(pid)) if reason.recoverable() => {
                self.adapter().detach_socket(self.nsp(), self.id(), window);
                self.inner.ns.keep(pid, self.clone());
            }
            _ => self.adapter().remove_socket(self.nsp(), self.id()),
        }
        self.inner.ns.on_disconnected(self, reason);
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", self.id())
            .field("nsp", self.nsp())
            .finish()
    }
}
