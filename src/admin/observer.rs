//! [`ObservedAdapter`]: a decorator over the real [`Adapter`] that forwards every call unchanged
//! and reports what the admin UI follows — sockets connecting and leaving, rooms joined and left,
//! events in and out — to the [`Registry`] and the [`Feed`]. Node's admin-ui observes sockets the
//! same way, by listening to the adapter.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::feed::{event_args, Feed};
use super::registry::Registry;
use super::time::now_iso;
use crate::engineio::{EngineSocket, Frame};
use crate::socketio::{
    AckRequest, Adapter, BroadcastOptions, Claim, DisconnectReason, FetchedSocket, NewSocket,
    NodesReached, Payload, RestoreRequest, Room, RoomsHook, ServerSideAckError, ServerSideEvents,
    SocketId,
};

/// The real adapter, watched.
pub struct ObservedAdapter {
    inner: Arc<dyn Adapter>,
    registry: Arc<Registry>,
    feed: Feed,
    /// The admins' namespace, whose events are not logged.
    admins: Arc<str>,
}

impl ObservedAdapter {
    /// Watches `inner`; the events of namespace `admins` are not logged.
    pub fn new(
        inner: Arc<dyn Adapter>,
        registry: Arc<Registry>,
        feed: Feed,
        admins: &str,
    ) -> ObservedAdapter {
        ObservedAdapter {
            inner,
            registry,
            feed,
            admins: Arc::from(admins),
        }
    }

    /// True if the socket is one of this node's.
    pub fn is_local(&self, nsp: &Arc<str>, id: &SocketId) -> bool {
        self.registry.has_socket(nsp, id)
    }

    fn connected(&self, nsp: &Arc<str>, id: &SocketId, engine: &EngineSocket) {
        let socket = self.registry.socket_added(nsp, id, engine.sid());
        self.feed
            .push("socket_connected", vec![socket, json!(now_iso())]);
    }

    fn rooms_changed(&self, nsp: &Arc<str>, id: &SocketId, rooms: &[Room], join: bool) {
        report_rooms(&self.registry, &self.feed, nsp, id, rooms, join);
    }

    /// Reports the rooms the adapter itself changes for socket `id` (`add_sockets` and
    /// `del_sockets` from any node, the rooms a recovered socket gets back).
    fn rooms_hook(&self, nsp: &Arc<str>, id: &SocketId) -> RoomsHook {
        let (registry, feed) = (Arc::clone(&self.registry), self.feed.clone());
        let (nsp, id) = (Arc::clone(nsp), id.clone());
        Arc::new(move |rooms, join| report_rooms(&registry, &feed, &nsp, &id, rooms, join))
    }

    fn event(
        &self,
        kind: &'static str,
        nsp: &Arc<str>,
        id: &SocketId,
        event: &str,
        payload: &Payload,
    ) {
        // As in Node, the admins' own traffic is not logged (it would feed itself).
        if *nsp == self.admins {
            return;
        }
        self.feed.push(
            kind,
            vec![
                json!(&**nsp),
                json!(id.as_str()),
                event_args(event, payload.args()),
                Value::String(now_iso()),
            ],
        );
    }
}

/// Pushes `room_joined` (`join`) or `room_left` for each of `rooms` that changed for the socket.
fn report_rooms(
    registry: &Registry,
    feed: &Feed,
    nsp: &Arc<str>,
    id: &SocketId,
    rooms: &[Room],
    join: bool,
) {
    let event = if join { "room_joined" } else { "room_left" };
    for room in registry.change_rooms(nsp, id, rooms, join) {
        feed.push(
            event,
            vec![
                json!(&**nsp),
                json!(&*room),
                json!(id.as_str()),
                json!(now_iso()),
            ],
        );
    }
}

impl Adapter for ObservedAdapter {
    fn add_socket(&self, nsp: &Arc<str>, mut socket: NewSocket) {
        self.connected(nsp, &socket.id, &socket.engine);
        socket.hooks.rooms = Some(self.rooms_hook(nsp, &socket.id));
        self.inner.add_socket(nsp, socket);
    }

    fn remove_socket(&self, nsp: &Arc<str>, id: &SocketId) {
        self.inner.remove_socket(nsp, id);
    }

    fn join(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>) {
        self.rooms_changed(nsp, id, &rooms, true);
        self.inner.join(nsp, id, rooms);
    }

    fn leave(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>) {
        self.rooms_changed(nsp, id, &rooms, false);
        self.inner.leave(nsp, id, rooms);
    }

    fn broadcast(&self, nsp: &Arc<str>, frames: Arc<[Frame]>, options: BroadcastOptions) {
        self.inner.broadcast(nsp, frames, options);
    }

    fn broadcast_with_ack(&self, nsp: &Arc<str>, ack: AckRequest) -> NodesReached {
        self.inner.broadcast_with_ack(nsp, ack)
    }

    fn sockets(&self, nsp: &Arc<str>, rooms: Vec<Room>) -> BoxFuture<'static, Vec<SocketId>> {
        self.inner.sockets(nsp, rooms)
    }

    fn rooms(&self, nsp: &Arc<str>, prefix: &str) -> BoxFuture<'static, Vec<Room>> {
        self.inner.rooms(nsp, prefix)
    }

    fn detach_socket(&self, nsp: &Arc<str>, id: &SocketId, keep: Duration) {
        self.inner.detach_socket(nsp, id, keep);
    }

    fn disconnect_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, close: bool) {
        self.inner.disconnect_sockets(nsp, options, close);
    }

    /// Known (and told) before the adapter restores it, so the rooms it gets back are reported
    /// as joined.
    fn restore_socket(
        &self,
        nsp: &Arc<str>,
        mut request: RestoreRequest,
    ) -> BoxFuture<'static, bool> {
        self.connected(nsp, &request.id, &request.engine);
        request.hooks.rooms = Some(self.rooms_hook(nsp, &request.id));
        self.inner.restore_socket(nsp, request)
    }

    fn fetch_sockets(
        &self,
        nsp: &Arc<str>,
        options: BroadcastOptions,
    ) -> BoxFuture<'static, Vec<FetchedSocket>> {
        self.inner.fetch_sockets(nsp, options)
    }

    fn claim_session(&self, nsp: &Arc<str>, pid: &str) -> Option<BoxFuture<'static, Claim>> {
        self.inner.claim_session(nsp, pid)
    }

    fn data_changed(&self, nsp: &Arc<str>, id: &SocketId) {
        self.inner.data_changed(nsp, id);
    }

    fn add_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, rooms: Vec<Room>) {
        self.inner.add_sockets(nsp, options, rooms);
    }

    fn del_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, rooms: Vec<Room>) {
        self.inner.del_sockets(nsp, options, rooms);
    }

    fn serve_server_side(&self, nsp: &Arc<str>, events: ServerSideEvents) {
        self.inner.serve_server_side(nsp, events);
    }

    fn server_side_emit(&self, nsp: &Arc<str>, args: Vec<Value>) {
        self.inner.server_side_emit(nsp, args);
    }

    fn server_side_emit_with_ack(
        &self,
        nsp: &Arc<str>,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, ServerSideAckError>> {
        self.inner.server_side_emit_with_ack(nsp, args, timeout)
    }

    fn event_received(&self, nsp: &Arc<str>, id: &SocketId, event: &str, payload: &Payload) {
        self.event("event_received", nsp, id, event, payload);
    }

    fn event_sent(&self, nsp: &Arc<str>, id: &SocketId, event: &str, payload: &Payload) {
        self.event("event_sent", nsp, id, event, payload);
    }

    fn socket_disconnected(&self, nsp: &Arc<str>, id: &SocketId, reason: DisconnectReason) {
        self.inner.socket_disconnected(nsp, id, reason);
        if self.registry.socket_removed(nsp, id) {
            self.feed.push(
                "socket_disconnected",
                vec![
                    json!(&**nsp),
                    json!(id.as_str()),
                    json!(reason.as_str()),
                    json!(now_iso()),
                ],
            );
        }
    }
}
