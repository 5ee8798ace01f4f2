//! [`RedisAdapter`]: rooms on this node through the [`LocalAdapter`], and what this node sends
//! the others: broadcasts, in the Node `@socket.io/redis-adapter` wire format.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use redis::Client;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::connection::{
    connection_config, open_pubsub, redact, run_publisher, subscribe_namespace, with_timeout,
    Outgoing, Subscribe,
};
use super::heartbeat::Heartbeats;
use super::link::Link;
use super::log_writer::run_writer;
use super::mirror::{Mirror, MirroredSocket};
use super::recovery::RecoveryStore;
use super::state::Inner;
use super::subscriber::run_subscriber;
use super::wire::{unique, Channels, RequestType, WireBroadcast, WirePacket};
use super::{ClusterError, ClusterOptions, ClusterStatus};
use crate::engineio::Frame;
use crate::hub::room_index::Selection;
use crate::hub::LocalAdapter;
use crate::socketio::{
    AckRequest, Adapter, BroadcastOptions, Claim, FetchedSocket, NewSocket, NodesReached,
    RestoreRequest, Room, ServerSideAckError, ServerSideEvents, SocketId,
};
use crate::sync::lock;

/// A Socket.IO adapter for a cluster of nodes sharing one Redis: Agora nodes and Node.js servers
/// using `@socket.io/redis-adapter`. Rooms stay local; broadcasts reach every node's sockets once.
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<Inner>,
    heartbeats: Heartbeats,
}

impl RedisAdapter {
    /// Connects to Redis at `url` (`redis://[:password@]host[:port][/db]`) with the default
    /// options, and starts the background tasks on the current actix/tokio runtime.
    pub async fn connect(url: &str, local: LocalAdapter) -> Result<RedisAdapter, ClusterError> {
        RedisAdapter::connect_with(url, local, ClusterOptions::default()).await
    }

    /// [`RedisAdapter::connect`] with these options. Fails if Redis cannot be reached now; once
    /// connected, losses are survived by reconnecting.
    pub async fn connect_with(
        url: &str,
        local: LocalAdapter,
        options: ClusterOptions,
    ) -> Result<RedisAdapter, ClusterError> {
        let shown = redact(url);
        let client = Client::open(url).map_err(|source| ClusterError::InvalidUrl {
            url: shown.clone(),
            source,
        })?;
        let config = connection_config(&options);
        let publisher = with_timeout(
            options.connect_timeout,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|error| error.into_cluster_error(&shown))?;
        let (mut sink, stream) = open_pubsub(&client, options.connect_timeout)
            .await
            .map_err(|error| error.into_cluster_error(&shown))?;
        let uid = uuid::Uuid::new_v4().to_string();
        let channels = Channels::new(&options.key);
        let namespaces: Vec<Arc<str>> = options
            .namespaces
            .iter()
            .map(|nsp| Arc::from(nsp.as_str()))
            .collect();
        for nsp in &namespaces {
            with_timeout(
                options.connect_timeout,
                subscribe_namespace(&mut sink, &channels, nsp, &uid),
            )
            .await
            .map_err(|error| error.into_cluster_error(&shown))?;
        }
        let status = ClusterStatus::default();
        status.set_publisher(true);
        status.set_subscriber(true);
        let (outgoing, queue) = mpsc::channel(options.queue_capacity.max(1));
        let (subscriptions, commands) = mpsc::unbounded_channel();
        let link = Link::new(client.clone(), config.clone(), publisher.clone());
        let heartbeats = Heartbeats::new(&options.key, link.clone());
        heartbeats
            .beat(&uid)
            .await
            .map_err(|source| ClusterError::Connect {
                url: shown.clone(),
                source,
            })?;
        let (recovery, writes) = match options.recovery_window {
            Some(window) if options.recovery => {
                let (store, writes) = RecoveryStore::new(link, &options.key, window);
                (Some(store), Some(writes))
            }
            _ => (None, None),
        };
        let inner = Arc::new(Inner {
            uid,
            local,
            channels,
            status: status.clone(),
            outgoing,
            subscriptions,
            mirror: Mutex::new(Mirror::new(options.recovery_max_sessions)),
            namespaces: Mutex::new(namespaces.into_iter().map(|nsp| (nsp, true)).collect()),
            pending: Mutex::new(HashMap::new()),
            server_side: OnceLock::new(),
            recovery,
            sessions: Mutex::new(HashMap::new()),
            options,
        });
        actix_rt::spawn(heartbeats.clone().run(inner.uid.clone()));
        if let Some(writes) = writes {
            actix_rt::spawn(run_writer(writes, Arc::downgrade(&inner)));
        }
        actix_rt::spawn(run_publisher(
            client.clone(),
            publisher,
            queue,
            status.clone(),
            config,
        ));
        actix_rt::spawn(run_subscriber(
            client,
            (sink, stream),
            Arc::downgrade(&inner),
            commands,
            status,
            inner.options.connect_timeout,
        ));
        tracing::info!(redis = %shown, uid = %inner.uid, "joined the Redis cluster");
        Ok(RedisAdapter { inner, heartbeats })
    }

    /// The heartbeats of this cluster's nodes (which are alive), this node's included.
    pub fn heartbeats(&self) -> &Heartbeats {
        &self.heartbeats
    }

    /// True while both Redis connections are up (for readiness).
    pub fn is_connected(&self) -> bool {
        self.inner.status.is_connected()
    }

    /// The connection state and counters (for readiness and metrics).
    pub fn status(&self) -> ClusterStatus {
        self.inner.status.clone()
    }

    /// This node's id in the cluster.
    pub fn uid(&self) -> &str {
        &self.inner.uid
    }

    /// What the adapter shares with its tasks (for the other concerns of `cluster`).
    pub(super) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// Listens to a namespace's channels now (it happens by itself when its first socket
    /// connects); resolves once Redis confirmed.
    pub async fn subscribe(&self, nsp: &str) -> Result<(), ClusterError> {
        if self.inner.ensure_subscribed(&Arc::from(nsp)).await {
            Ok(())
        } else {
            Err(ClusterError::Disconnected)
        }
    }
}

impl Adapter for RedisAdapter {
    fn add_socket(&self, nsp: &Arc<str>, socket: NewSocket) {
        let inner = &self.inner;
        let id = &socket.id.clone();
        let mirrored = MirroredSocket {
            engine: socket.engine.clone(),
            details: Arc::clone(&socket.details),
        };
        let pid = socket.pid.clone();
        inner.local.add_socket(nsp, socket);
        // As in Socket.IO, every socket is in the room named by its id, so other nodes can
        // address it (`io.to(id)`) and leave it out (`socket.broadcast`).
        inner.local.join(nsp, id, vec![Room::from(id.as_str())]);
        inner.mirror().add(nsp, id, mirrored);
        if let Some(pid) = pid {
            inner.session_started(nsp, id, pid);
        }
        inner.want(nsp);
    }

    fn remove_socket(&self, nsp: &Arc<str>, id: &SocketId) {
        self.inner.session_ended(nsp, id);
        self.inner.local.remove_socket(nsp, id);
        self.inner.mirror().remove(nsp, id);
    }

    fn join(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>) {
        self.inner.mirror().join(nsp, id, rooms.iter().cloned());
        self.inner.session_changed(nsp, id);
        self.inner.local.join(nsp, id, rooms);
    }

    fn leave(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>) {
        self.inner.mirror().leave(nsp, id, &rooms);
        self.inner.session_changed(nsp, id);
        self.inner.local.leave(nsp, id, rooms);
    }

    /// With recovery shared through Redis, a recoverable packet is logged first and delivered
    /// (here and on the other nodes) once the log gave it its offset.
    fn broadcast(&self, nsp: &Arc<str>, frames: Arc<[Frame]>, options: BroadcastOptions) {
        let publish = !options.local && !self.inner.only_local_sockets(nsp, &options.rooms);
        if self.inner.log_broadcast(nsp, &frames, &options, publish) {
            return;
        }
        if publish {
            self.inner.publish_broadcast(nsp, &frames, &options);
        }
        self.inner.local.broadcast(nsp, frames, options);
    }

    /// Delivered here at once; other nodes get a BROADCAST request (as the Node adapter's
    /// `broadcastWithAck` sends it) and their BROADCAST_CLIENT_COUNT and BROADCAST_ACK answers are
    /// relayed to `ack.reports` until the timeout. The nodes are counted with PUBSUB NUMSUB on the
    /// request channel, as Node does.
    fn broadcast_with_ack(&self, nsp: &Arc<str>, ack: AckRequest) -> NodesReached {
        let (frames, options) = (Arc::clone(&ack.frames), ack.options.clone());
        let request = if options.local
            || self.inner.only_local_sockets(nsp, &options.rooms)
            || !self.inner.status.is_connected()
        {
            None
        } else {
            self.inner
                .broadcast_request(nsp, &frames, &options, ack.timeout)
        };
        self.inner
            .local
            .deliver_with_ack(nsp, frames, options, ack.id, ack.reports.clone());
        let Some((request_id, request)) = request else {
            return futures_util::future::ready(Some(1)).boxed();
        };
        let (nodes, counted) = oneshot::channel();
        let relay =
            Arc::clone(&self.inner).relay_acks(Arc::clone(nsp), request_id, request, ack, nodes);
        actix_rt::spawn(relay);
        async move { counted.await.ok().flatten() }.boxed()
    }

    fn sockets(&self, nsp: &Arc<str>, rooms: Vec<Room>) -> BoxFuture<'static, Vec<SocketId>> {
        Arc::clone(&self.inner)
            .cluster_sockets(Arc::clone(nsp), rooms)
            .boxed()
    }

    fn rooms(&self, nsp: &Arc<str>, prefix: &str) -> BoxFuture<'static, Vec<Room>> {
        Arc::clone(&self.inner)
            .cluster_rooms(Arc::clone(nsp), prefix.to_string())
            .boxed()
    }

    fn detach_socket(&self, nsp: &Arc<str>, id: &SocketId, keep: Duration) {
        self.inner.session_detached(nsp, id);
        self.inner.local.detach_socket(nsp, id, keep);
        self.inner.mirror().detach(nsp, id, keep);
    }

    /// Done here at once (live and detached sockets), then published as Node's
    /// DISCONNECT_SOCKETS request, which other Agora and Node.js nodes carry out.
    fn disconnect_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, close: bool) {
        let (rooms, except) = wire_rooms(&options);
        if !close {
            let targets = self.inner.mirror().select(nsp, Selection::from(&options));
            for target in targets {
                self.inner.session_ended(nsp, &target.id);
                self.inner.mirror().remove(nsp, &target.id);
            }
        }
        self.inner.local.disconnect_sockets(nsp, options, close);
        let request = json!({
            "uid": self.inner.uid,
            "type": RequestType::RemoteDisconnect as u8,
            "opts": { "rooms": rooms, "except": except },
            "close": close,
        });
        self.inner.publish(
            self.inner.channels.request(nsp),
            request.to_string().into_bytes(),
        );
    }

    /// A session claimed from the cluster gets the packets logged after its offset (the hub
    /// replays them if its own log does not reach back so far); its record is written again.
    fn restore_socket(
        &self,
        nsp: &Arc<str>,
        mut request: RestoreRequest,
    ) -> BoxFuture<'static, bool> {
        let id = request.id.clone();
        let mirrored = MirroredSocket {
            engine: request.engine.clone(),
            details: Arc::clone(&request.details),
        };
        let inner = Arc::clone(&self.inner);
        let nsp = Arc::clone(nsp);
        async move {
            let claimed = request.rooms.clone();
            if let (Some(store), Some(offset), Some(_)) =
                (&inner.recovery, request.offset.as_deref(), &claimed)
            {
                let logged = store.read_from(&nsp, offset, inner.options.parser).await;
                request.logged = logged.unwrap_or_default();
            }
            let (pid, fresh_pid) = request.pids.clone();
            let recovered = inner.local.restore_socket(&nsp, request).await;
            // The hub gives the rooms back when recovered; the room of its id in any case.
            inner.local.join(&nsp, &id, vec![Room::from(id.as_str())]);
            {
                let mut mirror = inner.mirror();
                mirror.restore(&nsp, &id, mirrored, recovered);
                if let (true, Some(rooms)) = (recovered, claimed) {
                    mirror.join(&nsp, &id, rooms);
                }
            }
            inner.session_started(&nsp, &id, if recovered { pid } else { fresh_pid });
            recovered
        }
        .boxed()
    }

    fn claim_session(&self, _nsp: &Arc<str>, pid: &str) -> Option<BoxFuture<'static, Claim>> {
        self.inner.recovery.as_ref()?;
        let inner = Arc::clone(&self.inner);
        let pid = pid.to_string();
        Some(
            async move {
                match &inner.recovery {
                    Some(store) => store.claim(&pid).await,
                    None => Claim::Unavailable,
                }
            }
            .boxed(),
        )
    }

    fn data_changed(&self, nsp: &Arc<str>, id: &SocketId) {
        self.inner.session_changed(nsp, id);
    }

    /// This node's matching sockets from its mirror, and every other node's (REMOTE_FETCH, the
    /// answers of Node.js servers included).
    fn fetch_sockets(
        &self,
        nsp: &Arc<str>,
        options: BroadcastOptions,
    ) -> BoxFuture<'static, Vec<FetchedSocket>> {
        Arc::clone(&self.inner)
            .cluster_fetch(Arc::clone(nsp), options)
            .boxed()
    }

    /// Done here at once, then published as Node's REMOTE_JOIN for the other nodes.
    fn add_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, rooms: Vec<Room>) {
        self.inner.move_sockets(nsp, options, rooms, true);
    }

    /// Done here at once, then published as Node's REMOTE_LEAVE for the other nodes.
    fn del_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, rooms: Vec<Room>) {
        self.inner.move_sockets(nsp, options, rooms, false);
    }

    /// Keeps the server's handler table and listens to the namespace (its requests channel
    /// carries the events).
    fn serve_server_side(&self, nsp: &Arc<str>, events: ServerSideEvents) {
        let kept = self.inner.server_side.get_or_init(|| events.clone());
        if !kept.is_shared_with(&events) {
            tracing::warn!(%nsp, "a second Socket.IO server over one cluster adapter: its server-side handlers are not called");
        }
        self.inner.want(nsp);
    }

    fn server_side_emit(&self, nsp: &Arc<str>, args: Vec<Value>) {
        self.inner.publish_server_side(nsp, args);
    }

    fn server_side_emit_with_ack(
        &self,
        nsp: &Arc<str>,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, ServerSideAckError>> {
        Arc::clone(&self.inner)
            .ask_server_side(Arc::clone(nsp), args, timeout)
            .boxed()
    }
}

impl Inner {
    pub(super) fn mirror(&self) -> MutexGuard<'_, Mirror> {
        lock(&self.mirror)
    }

    /// Listens to `nsp` from now on (without waiting for Redis).
    pub(super) fn want(&self, nsp: &Arc<str>) {
        let mut namespaces = lock(&self.namespaces);
        if !namespaces.contains_key(nsp) {
            namespaces.insert(Arc::clone(nsp), false);
            let _ = self.subscriptions.send(Subscribe {
                nsp: Arc::clone(nsp),
                done: None,
            });
        }
    }

    /// Listens to `nsp`; true once Redis confirmed the subscription.
    pub(super) async fn ensure_subscribed(&self, nsp: &Arc<str>) -> bool {
        {
            let mut namespaces = lock(&self.namespaces);
            if namespaces.get(nsp) == Some(&true) {
                return true;
            }
            namespaces.entry(Arc::clone(nsp)).or_insert(false);
        }
        let (done, subscribed) = oneshot::channel();
        let request = Subscribe {
            nsp: Arc::clone(nsp),
            done: Some(done),
        };
        if self.subscriptions.send(request).is_err() {
            return false;
        }
        matches!(
            tokio::time::timeout(self.options.requests_timeout, subscribed).await,
            Ok(Ok(true))
        )
    }

    /// The namespace as this node knows it, if it listens to it.
    pub(super) fn known_namespace(&self, nsp: &str) -> Option<Arc<str>> {
        lock(&self.namespaces)
            .get_key_value(nsp)
            .map(|(nsp, _)| Arc::clone(nsp))
    }

    /// Queues a message for Redis; dropped (and counted) when Redis is away or the queue is full.
    pub(super) fn publish(&self, channel: String, payload: Vec<u8>) {
        if !self.status.publisher_up() {
            self.status.count_dropped(1);
            return;
        }
        if self
            .outgoing
            .try_send(Outgoing::Publish { channel, payload })
            .is_err()
        {
            self.status.count_dropped(1);
        }
    }

    /// Is every room the id of a socket connected here (an emit to one socket that goes through
    /// the adapter, as with recovery on)? Then no other node has anyone to deliver it to.
    pub(super) fn only_local_sockets(&self, nsp: &str, rooms: &[Room]) -> bool {
        if rooms.is_empty() {
            return false;
        }
        let mirror = self.mirror();
        rooms.iter().all(|room| mirror.contains(nsp, room))
    }

    /// Publishes a local broadcast for the other nodes, in the Node adapter's format.
    pub(super) fn publish_broadcast(
        &self,
        nsp: &Arc<str>,
        frames: &[Frame],
        options: &BroadcastOptions,
    ) {
        let Some(message) = self.wire_broadcast(frames, options) else {
            tracing::debug!(%nsp, "not an event packet: broadcast locally only");
            return;
        };
        let channel = self.channels.broadcast(nsp, &message.rooms);
        self.publish(channel, message.encode());
    }

    /// A broadcast as the Node adapter publishes it, without this node's recovery offset (other
    /// nodes give the packet theirs, or the one of the cluster's log).
    pub(super) fn wire_broadcast(
        &self,
        frames: &[Frame],
        options: &BroadcastOptions,
    ) -> Option<WireBroadcast> {
        let mut packet = WirePacket::from_frames(frames, self.options.parser)?;
        if let Some(offset) = &options.offset {
            packet.strip_last_arg(offset);
        }
        let (rooms, except) = wire_rooms(options);
        Some(WireBroadcast {
            uid: self.uid.clone(),
            packet,
            rooms,
            except,
            flags: WireBroadcast::flags_of(options.send),
        })
    }
}

impl Inner {
    /// `socketsJoin` (`join`) or `socketsLeave`: the matching sockets here join or leave `rooms`
    /// at once; the other nodes get Node's REMOTE_JOIN or REMOTE_LEAVE.
    pub(super) fn move_sockets(
        &self,
        nsp: &Arc<str>,
        options: BroadcastOptions,
        rooms: Vec<Room>,
        join: bool,
    ) {
        {
            let mut mirror = self.mirror();
            let targets = mirror.select(nsp, Selection::from(&options));
            for target in &targets {
                if join {
                    mirror.join(nsp, &target.id, rooms.iter().cloned());
                } else {
                    mirror.leave(nsp, &target.id, &rooms);
                }
            }
            drop(mirror);
            for target in targets {
                self.session_changed(nsp, &target.id);
            }
        }
        let (selected, except) = wire_rooms(&options);
        let names: Vec<&str> = rooms.iter().map(|room| &**room).collect();
        let kind = if join {
            RequestType::RemoteJoin
        } else {
            RequestType::RemoteLeave
        };
        let request = json!({
            "uid": self.uid,
            "type": kind as u8,
            "opts": { "rooms": selected, "except": except },
            "rooms": names,
        });
        self.local.move_sockets(nsp, options, rooms, join);
        self.publish(self.channels.request(nsp), request.to_string().into_bytes());
    }
}

/// The rooms and the left-out rooms of a broadcast as the Node adapter lists them (the left-out
/// socket is the room of its id).
pub(super) fn wire_rooms(options: &BroadcastOptions) -> (Vec<String>, Vec<String>) {
    let rooms = unique(options.rooms.iter().map(|r| r.to_string()));
    let except = unique(
        options
            .except_rooms
            .iter()
            .map(|r| r.to_string())
            .chain(options.except.iter().map(|id| id.to_string())),
    );
    (rooms, except)
}
