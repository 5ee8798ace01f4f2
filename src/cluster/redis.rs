//! [`RedisAdapter`]: rooms on this node through the [`LocalAdapter`], broadcasts and queries across
//! every node through Redis pub/sub, in the Node `@socket.io/redis-adapter` wire format.
//!
//! Two background tasks own the Redis connections: a publisher (PUBLISH in pipelined batches,
//! PUBSUB NUMSUB) fed by a bounded queue, and a subscriber (PSUBSCRIBE/SUBSCRIBE per namespace)
//! that delivers other nodes' broadcasts locally and answers their requests. Both reconnect with
//! backoff; while Redis is away, local clients are served as before and cluster traffic is dropped.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Client, RedisError};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::mirror::{Mirror, Selected};
use super::wire::{
    room_list, unique, ChannelKind, Channels, RequestType, WireBroadcast, WireObject, WirePacket,
    DEFAULT_KEY,
};
use crate::engineio::{CloseReason, EngineSocket, Frame, Frames};
use crate::hub::LocalAdapter;
use crate::socketio::packet::Packet;
use crate::socketio::{
    next_ack_id, AckReport, AckRequest, Adapter, BroadcastOptions, Orphaned, Payload, PendingAcks,
    RestoreRequest, Room, SocketId,
};
use crate::sync::lock;

/// How often an idle connection is checked with a PING.
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// Longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3);
/// Most messages sent to Redis in one pipeline.
const MAX_BATCH: usize = 256;

/// Settings of the Redis adapter.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Channel prefix; `socket.io`, as the Node adapter's default `key`.
    pub key: String,
    /// How long a cluster-wide query ([`Adapter::sockets`]) waits for the other nodes.
    pub requests_timeout: Duration,
    /// Namespaces listened to from the start; others once their first socket connects here.
    pub namespaces: Vec<String>,
    /// Give broadcasts from other nodes a recovery offset of this node, so they are replayed to
    /// sockets that recover here (set it when connection state recovery is on).
    pub recovery: bool,
    /// Outgoing messages that may wait for Redis; beyond that new ones are dropped.
    pub queue_capacity: usize,
    /// Time allowed for each connection attempt and each command.
    pub connect_timeout: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            key: DEFAULT_KEY.to_string(),
            requests_timeout: Duration::from_secs(5),
            namespaces: vec!["/".to_string()],
            recovery: false,
            queue_capacity: 65_536,
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// Why the adapter could not join the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid Redis URL {url}: {source}")]
    InvalidUrl {
        url: String,
        #[source]
        source: RedisError,
    },
    #[error("cannot connect to Redis at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: RedisError,
    },
    #[error("timed out connecting to Redis at {url}")]
    Timeout { url: String },
    #[error("not connected to Redis")]
    Disconnected,
}

/// The adapter's connection state and counters, shared with whoever reports them (readiness,
/// metrics). Cheap to clone.
#[derive(Clone, Default)]
pub struct ClusterStatus {
    inner: Arc<StatusInner>,
}

#[derive(Default)]
struct StatusInner {
    publisher: AtomicBool,
    subscriber: AtomicBool,
    published: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    reconnects: AtomicU64,
}

impl ClusterStatus {
    /// True while both Redis connections (publish and subscribe) are up.
    pub fn is_connected(&self) -> bool {
        self.inner.publisher.load(Ordering::Relaxed)
            && self.inner.subscriber.load(Ordering::Relaxed)
    }

    /// Messages published to Redis.
    pub fn published(&self) -> u64 {
        self.inner.published.load(Ordering::Relaxed)
    }

    /// Messages received from Redis.
    pub fn received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    /// Outgoing messages dropped because Redis was away or too slow.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Connections re-established after a loss.
    pub fn reconnects(&self) -> u64 {
        self.inner.reconnects.load(Ordering::Relaxed)
    }

    fn set_publisher(&self, up: bool) {
        self.inner.publisher.store(up, Ordering::Relaxed);
    }

    fn set_subscriber(&self, up: bool) {
        self.inner.subscriber.store(up, Ordering::Relaxed);
    }

    fn count_dropped(&self, n: u64) {
        let before = self.inner.dropped.fetch_add(n, Ordering::Relaxed);
        // Logged at 1, 2, 4, 8… so an outage does not flood the log.
        let after = before + n;
        if n > 0 && (before == 0 || before.ilog2() != after.ilog2()) {
            tracing::warn!(
                dropped = after,
                "cluster messages dropped (Redis away or too slow)"
            );
        }
    }
}

/// A Socket.IO adapter for a cluster of nodes sharing one Redis: Agora nodes and Node.js servers
/// using `@socket.io/redis-adapter`. Rooms stay local; broadcasts reach every node's sockets once.
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    /// This node's id in the cluster; its own messages come back and are dropped by it.
    uid: String,
    local: LocalAdapter,
    channels: Channels,
    options: ClusterOptions,
    status: ClusterStatus,
    outgoing: mpsc::Sender<Outgoing>,
    subscriptions: mpsc::UnboundedSender<Subscribe>,
    mirror: Mutex<Mirror>,
    /// The namespaces listened to, and whether the current connection has subscribed them.
    namespaces: Mutex<HashMap<Arc<str>, bool>>,
    /// Cluster queries (and broadcasts with acks) waiting for answers, by request id.
    pending: Mutex<HashMap<String, mpsc::UnboundedSender<WireObject>>>,
}

/// Work for the publisher task.
enum Outgoing {
    Publish {
        channel: String,
        payload: Vec<u8>,
    },
    /// How many nodes listen on `channel` (PUBSUB NUMSUB).
    NumSub {
        channel: String,
        reply: oneshot::Sender<Option<usize>>,
    },
}

/// Work for the subscriber task: listen to a namespace's channels.
struct Subscribe {
    nsp: Arc<str>,
    done: Option<oneshot::Sender<bool>>,
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
        let inner = Arc::new(Inner {
            uid,
            local,
            channels,
            status: status.clone(),
            outgoing,
            subscriptions,
            mirror: Mutex::new(Mirror::default()),
            namespaces: Mutex::new(namespaces.into_iter().map(|nsp| (nsp, true)).collect()),
            pending: Mutex::new(HashMap::new()),
            options,
        });
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
        Ok(RedisAdapter { inner })
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
    fn add_socket(
        &self,
        nsp: &Arc<str>,
        id: &SocketId,
        engine: EngineSocket,
        acks: PendingAcks,
        orphaned: Orphaned,
    ) {
        let inner = &self.inner;
        inner
            .local
            .add_socket(nsp, id, engine.clone(), acks, orphaned);
        // As in Socket.IO, every socket is in the room named by its id, so other nodes can
        // address it (`io.to(id)`) and leave it out (`socket.broadcast`).
        inner.local.join(nsp, id, vec![Room::from(id.as_str())]);
        inner.mirror().add(nsp, id, engine);
        inner.want(nsp);
    }

    fn remove_socket(&self, nsp: &Arc<str>, id: &SocketId) {
        self.inner.local.remove_socket(nsp, id);
        self.inner.mirror().remove(nsp, id);
    }

    fn join(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>) {
        self.inner.mirror().join(nsp, id, rooms.iter().cloned());
        self.inner.local.join(nsp, id, rooms);
    }

    fn leave(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>) {
        self.inner.mirror().leave(nsp, id, &rooms);
        self.inner.local.leave(nsp, id, rooms);
    }

    fn broadcast(&self, nsp: &Arc<str>, frames: Arc<[Frame]>, options: BroadcastOptions) {
        if !self.inner.only_local_sockets(nsp, &options.rooms) {
            self.inner.publish_broadcast(nsp, &frames, &options);
        }
        self.inner.local.broadcast(nsp, frames, options);
    }

    /// Delivered here at once; other nodes get a BROADCAST request (as the Node adapter's
    /// `broadcastWithAck` sends it) and their BROADCAST_CLIENT_COUNT and BROADCAST_ACK answers are
    /// relayed to `ack.reports` until the timeout. The nodes are counted with PUBSUB NUMSUB on the
    /// request channel, as Node does.
    fn broadcast_with_ack(
        &self,
        nsp: &Arc<str>,
        frames: Arc<[Frame]>,
        options: BroadcastOptions,
        ack: AckRequest,
    ) -> BoxFuture<'static, Option<usize>> {
        let request = if self.inner.only_local_sockets(nsp, &options.rooms)
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
        self.inner.local.detach_socket(nsp, id, keep);
        self.inner.mirror().detach(nsp, id, keep);
    }

    /// Done here at once (live and detached sockets), then published as Node's
    /// DISCONNECT_SOCKETS request, which other Agora and Node.js nodes carry out.
    fn disconnect_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, close: bool) {
        let (rooms, except) = wire_rooms(&options);
        if !close {
            let targets = self.inner.mirror().select(nsp, &rooms, &except);
            for target in targets {
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

    fn restore_socket(&self, nsp: &Arc<str>, request: RestoreRequest) -> BoxFuture<'static, bool> {
        let id = request.id.clone();
        let engine = request.engine.clone();
        let restoring = self.inner.local.restore_socket(nsp, request);
        let inner = Arc::clone(&self.inner);
        let nsp = Arc::clone(nsp);
        async move {
            let recovered = restoring.await;
            // The hub gives the rooms back when recovered; the room of its id in any case.
            inner.local.join(&nsp, &id, vec![Room::from(id.as_str())]);
            inner.mirror().restore(&nsp, &id, engine, recovered);
            recovered
        }
        .boxed()
    }
}

impl Inner {
    fn mirror(&self) -> MutexGuard<'_, Mirror> {
        lock(&self.mirror)
    }

    /// Listens to `nsp` from now on (without waiting for Redis).
    fn want(&self, nsp: &Arc<str>) {
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
    async fn ensure_subscribed(&self, nsp: &Arc<str>) -> bool {
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
    fn known_namespace(&self, nsp: &str) -> Option<Arc<str>> {
        lock(&self.namespaces)
            .get_key_value(nsp)
            .map(|(nsp, _)| Arc::clone(nsp))
    }

    /// Queues a message for Redis; dropped (and counted) when Redis is away or the queue is full.
    fn publish(&self, channel: String, payload: Vec<u8>) {
        if !self.status.inner.publisher.load(Ordering::Relaxed) {
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
    fn only_local_sockets(&self, nsp: &str, rooms: &[Room]) -> bool {
        if rooms.is_empty() {
            return false;
        }
        let mirror = self.mirror();
        rooms.iter().all(|room| mirror.contains(nsp, room))
    }

    /// Publishes a local broadcast for the other nodes, in the Node adapter's format.
    fn publish_broadcast(&self, nsp: &Arc<str>, frames: &[Frame], options: &BroadcastOptions) {
        let Some(mut packet) = WirePacket::from_frames(frames) else {
            tracing::debug!(%nsp, "not an event packet: broadcast locally only");
            return;
        };
        // A recovery offset is this node's own; other nodes give the packet theirs.
        if let Some(offset) = &options.offset {
            packet.strip_last_arg(offset);
        }
        let (rooms, except) = wire_rooms(options);
        let channel = self.channels.broadcast(nsp, &rooms);
        let message = WireBroadcast {
            uid: self.uid.clone(),
            packet,
            rooms,
            except,
            flags: json!({}),
        };
        self.publish(channel, message.encode());
    }

    /// The BROADCAST request for a local broadcast with acks, and its id, as the Node adapter's
    /// `broadcastWithAck` publishes it: MessagePack `{uid, requestId, type, packet, opts}`. The
    /// packet goes without this node's ack id (each node gives it one of its own), and `opts.flags`
    /// carries the timeout, in milliseconds. `None` if the frames are not an event.
    fn broadcast_request(
        &self,
        nsp: &Arc<str>,
        frames: &[Frame],
        options: &BroadcastOptions,
        timeout: Duration,
    ) -> Option<(String, Vec<u8>)> {
        let Some(mut packet) = WirePacket::from_frames(frames) else {
            tracing::debug!(%nsp, "not an event packet: broadcast with acks locally only");
            return None;
        };
        packet.id = None;
        let (rooms, except) = wire_rooms(options);
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "uid": self.uid,
            "requestId": request_id,
            "type": RequestType::Broadcast as u8,
            "packet": packet.to_json(),
            "opts": {
                "rooms": rooms,
                "except": except,
                "flags": { "timeout": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX) },
            },
        });
        let request = WireObject {
            body,
            attachments: packet.attachments,
        };
        Some((request_id, request.encode()))
    }

    /// Publishes a BROADCAST request, counts the nodes (answered on `nodes`), then relays the
    /// other nodes' client counts and answers to `ack.reports` until the timeout, or until the
    /// collector stops listening.
    async fn relay_acks(
        self: Arc<Self>,
        nsp: Arc<str>,
        request_id: String,
        request: Vec<u8>,
        ack: AckRequest,
        nodes: oneshot::Sender<Option<usize>>,
    ) {
        let deadline = Instant::now() + ack.timeout;
        if !self.ensure_subscribed(&nsp).await {
            // Nobody else can be asked: this node's own delivery is the whole broadcast.
            let _ = nodes.send(Some(1));
            return;
        }
        let (answers, mut answered) = mpsc::unbounded_channel();
        lock(&self.pending).insert(request_id.clone(), answers);
        let request_channel = self.channels.request(&nsp);
        self.publish(request_channel.clone(), request);
        let count = self.num_sub(request_channel).await.map(|n| n.max(1));
        if count.is_none() {
            tracing::warn!(%nsp, "cannot count the nodes: collecting acks until the timeout");
        }
        let _ = nodes.send(count);
        loop {
            tokio::select! {
                _ = ack.reports.closed() => break,
                answer = tokio::time::timeout_at(deadline, answered.recv()) => {
                    let Ok(Some(answer)) = answer else { break };
                    if let Some(report) = ack_report(answer) {
                        let _ = ack.reports.send(report);
                    }
                }
            }
        }
        lock(&self.pending).remove(&request_id);
    }

    /// Answers another node's BROADCAST request as Node does: delivers the event to the matching
    /// sockets here with an ack id of this node, publishes BROADCAST_CLIENT_COUNT with how many
    /// they were, then one BROADCAST_ACK per answer, until every one answered or left, or the
    /// request's timeout passed.
    fn broadcast_for(self: &Arc<Self>, nsp: Arc<str>, request: &WireObject) {
        let Some(request_id) = request.request_id().map(str::to_owned) else {
            return;
        };
        let Some(packet) = request.body.get("packet") else {
            return;
        };
        let packet = match WirePacket::from_json(packet, request.attachments.clone()) {
            Ok(packet) => packet,
            Err(error) => {
                tracing::debug!(%error, "ignoring a malformed cluster broadcast");
                return;
            }
        };
        let Some(Packet::Event { event, payload, .. }) = packet.into_event() else {
            tracing::debug!(%nsp, "ignoring a cluster broadcast that is not an event");
            return;
        };
        let id = next_ack_id();
        let frames: Arc<[Frame]> = Packet::Event {
            nsp: nsp.to_string(),
            event,
            payload,
            id: Some(id),
        }
        .to_frames()
        .into();
        let (rooms, except) = request.opts().unwrap_or_default();
        let options = BroadcastOptions {
            rooms: rooms.into_iter().map(Room::from).collect(),
            except_rooms: except.into_iter().map(Room::from).collect(),
            ..BroadcastOptions::default()
        };
        let timeout = request
            .body
            .pointer("/opts/flags/timeout")
            .and_then(Value::as_u64)
            .map_or(self.options.requests_timeout, Duration::from_millis);
        let (reports, received) = mpsc::unbounded_channel();
        self.local
            .deliver_with_ack(&nsp, frames, options, id, reports);
        actix_rt::spawn(Arc::clone(self).answer_acks(nsp, request_id, received, timeout));
    }

    /// Publishes what this node's sockets report about another node's broadcast with acks.
    async fn answer_acks(
        self: Arc<Self>,
        nsp: Arc<str>,
        request_id: String,
        mut reports: mpsc::UnboundedReceiver<AckReport>,
        timeout: Duration,
    ) {
        let deadline = Instant::now() + timeout;
        while let Ok(Some(report)) = tokio::time::timeout_at(deadline, reports.recv()).await {
            match report {
                AckReport::Delivered(clients) => self.respond(
                    &nsp,
                    json!({
                        "type": RequestType::BroadcastClientCount as u8,
                        "requestId": request_id,
                        "clientCount": clients,
                    }),
                ),
                AckReport::Answer(Payload { args, attachments }) => {
                    let answer = WireObject {
                        body: json!({
                            "type": RequestType::BroadcastAck as u8,
                            "requestId": request_id,
                            "packet": args.into_iter().next().unwrap_or(Value::Null),
                        }),
                        attachments,
                    };
                    self.publish(self.channels.response(&nsp), answer.encode());
                }
            }
        }
    }

    /// A message from Redis.
    fn on_message(self: &Arc<Self>, message: &redis::Msg) {
        self.status.inner.received.fetch_add(1, Ordering::Relaxed);
        let payload = message.get_payload_bytes();
        match self.channels.classify(message.get_channel_name()) {
            Some(ChannelKind::Broadcast(rest)) => self.on_broadcast(rest, payload),
            Some(ChannelKind::Request(nsp)) => {
                let Some(nsp) = self.known_namespace(nsp) else {
                    return;
                };
                match WireObject::decode(payload) {
                    Ok(request) => self.answer(nsp, request),
                    Err(error) => tracing::debug!(%error, "ignoring a malformed cluster request"),
                }
            }
            Some(ChannelKind::Response(_)) => match WireObject::decode(payload) {
                Ok(response) => self.on_response(response),
                Err(error) => tracing::debug!(%error, "ignoring a malformed cluster response"),
            },
            None => {}
        }
    }

    /// Another node's broadcast: delivered to the matching sockets here.
    fn on_broadcast(&self, channel_rest: &str, payload: &[u8]) {
        let message = match WireBroadcast::decode(payload) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, "ignoring a malformed cluster broadcast");
                return;
            }
        };
        if message.uid == self.uid {
            return;
        }
        if !Channels::broadcast_is_for(channel_rest, &message.packet.nsp) {
            return;
        }
        let WireBroadcast {
            packet,
            rooms,
            except,
            ..
        } = message;
        self.deliver(packet, rooms, except);
    }

    /// Delivers a packet from another node to this node's matching sockets; answers whether it
    /// was an event of a namespace served here.
    fn deliver(&self, mut packet: WirePacket, rooms: Vec<String>, except: Vec<String>) -> bool {
        let Some(nsp) = self.known_namespace(&packet.nsp) else {
            return false;
        };
        let offset = self.options.recovery.then(|| {
            let offset = crate::socketio::next_offset();
            packet.push_arg(&offset);
            Arc::<str>::from(offset)
        });
        let Some(event) = packet.into_event() else {
            tracing::debug!(%nsp, "ignoring a cluster packet that is not an event");
            return false;
        };
        let frames: Arc<[Frame]> = event.to_frames().into();
        let options = BroadcastOptions {
            rooms: rooms.into_iter().map(Room::from).collect(),
            except_rooms: except.into_iter().map(Room::from).collect(),
            offset,
            ..BroadcastOptions::default()
        };
        self.local.broadcast(&nsp, frames, options);
        true
    }

    /// An answer to a query of ours (answers to other nodes' queries are ignored).
    fn on_response(&self, response: WireObject) {
        let Some(request_id) = response.request_id() else {
            return;
        };
        let pending = lock(&self.pending);
        if let Some(waiting) = pending.get(request_id) {
            let _ = waiting.send(response);
        }
    }

    /// Answers another node's request (or carries it out: REMOTE_JOIN, BROADCAST, …). Done
    /// at once, from this node's mirror, so requests and broadcasts take effect in the order
    /// they were published (a `socketsJoin` then an emit to the new room, say).
    fn answer(self: &Arc<Self>, nsp: Arc<str>, request: WireObject) {
        let Some(kind) = request.request_type() else {
            tracing::debug!(%nsp, "ignoring a cluster request of unknown type");
            return;
        };
        let own = request.str("uid") == Some(self.uid.as_str());
        let request_id = request.request_id().map(str::to_owned);
        match kind {
            RequestType::Sockets if !own => {
                let rooms = room_list(request.body.get("rooms"));
                let ids: Vec<String> = self
                    .mirror()
                    .select(&nsp, &rooms, &[])
                    .into_iter()
                    .map(|socket| socket.id.to_string())
                    .collect();
                self.respond(&nsp, json!({ "requestId": request_id, "sockets": ids }));
            }
            RequestType::AllRooms if !own => {
                // `prefix` is Agora's own narrowing; Node.js requests have none and get them all.
                let prefix = request.str("prefix").unwrap_or_default();
                let rooms: Vec<String> = self
                    .mirror()
                    .rooms(&nsp)
                    .iter()
                    .filter(|r| r.starts_with(prefix))
                    .map(|r| r.to_string())
                    .collect();
                self.respond(&nsp, json!({ "requestId": request_id, "rooms": rooms }));
            }
            RequestType::RemoteJoin | RequestType::RemoteLeave => {
                let join = kind == RequestType::RemoteJoin;
                let apply = |id: &SocketId, rooms: Vec<Room>| {
                    let mut mirror = self.mirror();
                    if join {
                        mirror.join(&nsp, id, rooms.iter().cloned());
                        drop(mirror);
                        self.local.join(&nsp, id, rooms);
                    } else {
                        mirror.leave(&nsp, id, &rooms);
                        drop(mirror);
                        self.local.leave(&nsp, id, rooms);
                    }
                };
                if let Some((rooms, except)) = request.opts() {
                    let targets = self.mirror().select(&nsp, &rooms, &except);
                    let new_rooms: Vec<Room> = room_list(request.body.get("rooms"))
                        .into_iter()
                        .map(Room::from)
                        .collect();
                    for target in targets {
                        apply(&target.id, new_rooms.clone());
                    }
                } else if let (Some(sid), Some(room)) = (request.str("sid"), request.str("room")) {
                    // The single-socket form of older Node adapters, answered by the owner.
                    if self.mirror().contains(&nsp, sid) {
                        apply(&SocketId::from(sid), vec![Room::from(room)]);
                        self.respond(&nsp, json!({ "requestId": request_id }));
                    }
                }
            }
            // Our own request was carried out when it was made.
            RequestType::RemoteDisconnect if !own => {
                let close = request
                    .body
                    .get("close")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if let Some((rooms, except)) = request.opts() {
                    let targets = self.mirror().select(&nsp, &rooms, &except);
                    for target in targets {
                        self.disconnect(&nsp, target, close);
                    }
                    // Kept sockets in those rooms must not come back either.
                    self.local.forget_detached(&nsp, rooms);
                } else if let Some(sid) = request.str("sid") {
                    let target = self
                        .mirror()
                        .select(&nsp, &[sid.to_string()], &[])
                        .into_iter()
                        .find(|target| target.id.as_str() == sid);
                    if let Some(target) = target {
                        self.disconnect(&nsp, target, close);
                        self.respond(&nsp, json!({ "requestId": request_id }));
                    }
                }
            }
            RequestType::RemoteFetch if !own => {
                let (rooms, except) = request.opts().unwrap_or_default();
                let sockets: Vec<Value> = self
                    .mirror()
                    .select(&nsp, &rooms, &except)
                    .into_iter()
                    .map(|socket| {
                        let rooms: Vec<&str> = socket.rooms.iter().map(|r| &**r).collect();
                        json!({
                            "id": socket.id.as_str(),
                            "handshake": handshake_stub(),
                            "rooms": rooms,
                            "data": {},
                        })
                    })
                    .collect();
                self.respond(&nsp, json!({ "requestId": request_id, "sockets": sockets }));
            }
            RequestType::Broadcast if !own => self.broadcast_for(nsp, &request),
            RequestType::ServerSideEmit => {
                tracing::debug!(%nsp, "serverSideEmit from another node: no handlers here");
            }
            _ => {}
        }
    }

    /// Disconnects one of this node's sockets for another node.
    fn disconnect(&self, nsp: &Arc<str>, target: Selected, close: bool) {
        let frames: Arc<[Frame]> = Packet::Disconnect {
            nsp: nsp.to_string(),
        }
        .to_frames()
        .into();
        let _ = target.engine.send(Frames::Shared(frames));
        if close {
            target.engine.close(CloseReason::ServerClose);
        } else {
            self.local.remove_socket(nsp, &target.id);
            self.mirror().remove(nsp, &target.id);
        }
    }

    /// Publishes an answer where Node nodes expect it (the namespace's shared response channel).
    fn respond(&self, nsp: &str, body: Value) {
        self.publish(self.channels.response(nsp), body.to_string().into_bytes());
    }

    /// The ids of the sockets in any of `rooms` on every node.
    async fn cluster_sockets(self: Arc<Self>, nsp: Arc<str>, rooms: Vec<Room>) -> Vec<SocketId> {
        let room_names: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
        let local = self.mirror().select(&nsp, &room_names, &[]);
        let mut ids: BTreeSet<SocketId> = local.into_iter().map(|socket| socket.id).collect();
        let request = json!({ "type": RequestType::Sockets as u8, "rooms": room_names });
        for answer in self.ask_other_nodes(&nsp, request).await {
            if let Some(Value::Array(sockets)) = answer.body.get("sockets") {
                ids.extend(sockets.iter().filter_map(Value::as_str).map(SocketId::from));
            }
        }
        ids.into_iter().collect()
    }

    /// The rooms whose names start with `prefix` on every node. Other Agora nodes filter by the
    /// request's `prefix`; Node.js nodes ignore it and send all their rooms, filtered here.
    async fn cluster_rooms(self: Arc<Self>, nsp: Arc<str>, prefix: String) -> Vec<Room> {
        let mut rooms: BTreeSet<Room> = self
            .mirror()
            .rooms(&nsp)
            .into_iter()
            .filter(|room| room.starts_with(&prefix))
            .collect();
        let request = json!({ "type": RequestType::AllRooms as u8, "prefix": prefix });
        for answer in self.ask_other_nodes(&nsp, request).await {
            if let Some(Value::Array(names)) = answer.body.get("rooms") {
                rooms.extend(
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|room| room.starts_with(&prefix))
                        .map(Room::from),
                );
            }
        }
        rooms.into_iter().collect()
    }

    /// Publishes `request` (its `type` and fields; `uid` and `requestId` are added) to the other
    /// nodes of the namespace and collects their answers until each has answered or the requests
    /// timeout passes. None when Redis is away or this node is alone.
    async fn ask_other_nodes(&self, nsp: &Arc<str>, mut request: Value) -> Vec<WireObject> {
        if !self.status.is_connected() || !self.ensure_subscribed(nsp).await {
            return Vec::new();
        }
        let request_channel = self.channels.request(nsp);
        let Some(nodes) = self.num_sub(request_channel.clone()).await else {
            return Vec::new();
        };
        if nodes <= 1 {
            return Vec::new();
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let (answers, mut answered) = mpsc::unbounded_channel();
        lock(&self.pending).insert(request_id.clone(), answers);
        request["uid"] = json!(self.uid);
        request["requestId"] = json!(request_id);
        let kind = request["type"].clone();
        self.publish(request_channel, request.to_string().into_bytes());
        let expected = nodes - 1;
        let mut received = Vec::with_capacity(expected);
        let deadline = Instant::now() + self.options.requests_timeout;
        while received.len() < expected {
            match tokio::time::timeout_at(deadline, answered.recv()).await {
                Ok(Some(answer)) => received.push(answer),
                _ => break,
            }
        }
        lock(&self.pending).remove(&request_id);
        if received.len() < expected {
            tracing::warn!(%nsp, %kind, received = received.len(), expected, "cluster query timed out");
        }
        received
    }

    /// How many nodes listen on `channel`; `None` when Redis cannot tell now.
    async fn num_sub(&self, channel: String) -> Option<usize> {
        let (reply, answer) = oneshot::channel();
        self.outgoing
            .try_send(Outgoing::NumSub { channel, reply })
            .ok()?;
        tokio::time::timeout(self.options.requests_timeout, answer)
            .await
            .ok()?
            .ok()?
    }
}

/// A BROADCAST_CLIENT_COUNT or BROADCAST_ACK answer as a report for the collector.
fn ack_report(answer: WireObject) -> Option<AckReport> {
    match answer.request_type()? {
        RequestType::BroadcastClientCount => {
            let clients = answer.body.get("clientCount")?.as_u64()?;
            Some(AckReport::Delivered(usize::try_from(clients).ok()?))
        }
        RequestType::BroadcastAck => {
            let WireObject {
                mut body,
                attachments,
            } = answer;
            // An answer without arguments comes without `packet` (undefined, in Node).
            let first = body.get_mut("packet").map(Value::take).unwrap_or_default();
            Some(AckReport::Answer(Payload {
                args: vec![first],
                attachments,
            }))
        }
        _ => None,
    }
}

/// The rooms and the left-out rooms of a broadcast as the Node adapter lists them (the left-out
/// socket is the room of its id).
fn wire_rooms(options: &BroadcastOptions) -> (Vec<String>, Vec<String>) {
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

/// What a REMOTE_FETCH answer says about a socket's handshake (the adapter does not keep it).
fn handshake_stub() -> Value {
    json!({
        "headers": {},
        "time": "",
        "address": "",
        "xdomain": false,
        "secure": false,
        "issued": 0,
        "url": "",
        "query": {},
        "auth": {},
    })
}

/// Subscribes a namespace's broadcast pattern, request channel and response channels.
async fn subscribe_namespace(
    sink: &mut PubSubSink,
    channels: &Channels,
    nsp: &str,
    uid: &str,
) -> Result<(), RedisError> {
    sink.psubscribe(channels.broadcast_pattern(nsp)).await?;
    sink.subscribe(&[
        channels.request(nsp),
        channels.response(nsp),
        channels.specific_response(nsp, uid),
    ])
    .await
}

fn connection_config(options: &ClusterOptions) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.connect_timeout))
}

async fn open_pubsub(
    client: &Client,
    timeout: Duration,
) -> Result<(PubSubSink, PubSubStream), ConnectFailure> {
    let pubsub = with_timeout(timeout, client.get_async_pubsub()).await?;
    Ok(pubsub.split())
}

/// A connection attempt that failed or took too long.
enum ConnectFailure {
    Redis(RedisError),
    Timeout,
}

impl ConnectFailure {
    fn into_cluster_error(self, url: &str) -> ClusterError {
        let url = url.to_string();
        match self {
            ConnectFailure::Redis(source) => ClusterError::Connect { url, source },
            ConnectFailure::Timeout => ClusterError::Timeout { url },
        }
    }
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectFailure::Redis(error) => error.fmt(f),
            ConnectFailure::Timeout => f.write_str("timed out"),
        }
    }
}

async fn with_timeout<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = Result<T, RedisError>>,
) -> Result<T, ConnectFailure> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ConnectFailure::Redis(error)),
        Err(_) => Err(ConnectFailure::Timeout),
    }
}

/// Doubling waits between reconnection attempts, up to [`MAX_BACKOFF`].
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    fn new() -> Backoff {
        Backoff(Backoff::FIRST)
    }

    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        wait
    }

    fn reset(&mut self) {
        self.0 = Backoff::FIRST;
    }
}

/// Does this error mean the connection is gone (rather than one command refused)?
fn connection_lost(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_timeout()
        || error.is_unrecoverable_error()
}

/// The publisher task: sends queued messages in pipelined batches; reconnects with backoff.
async fn run_publisher(
    client: Client,
    connection: MultiplexedConnection,
    mut queue: mpsc::Receiver<Outgoing>,
    status: ClusterStatus,
    config: AsyncConnectionConfig,
) {
    let mut connection = Some(connection);
    let mut backoff = Backoff::new();
    let mut retry_at = Instant::now();
    let mut health = tokio::time::interval(HEALTH_INTERVAL);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let connected = connection.is_some();
        tokio::select! {
            item = queue.recv() => {
                let Some(first) = item else { return };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let Some(conn) = connection.as_mut() else {
                    drop_batch(batch, &status);
                    continue;
                };
                if let Err(error) = send_batch(conn, batch, &status).await {
                    if connection_lost(&error) {
                        tracing::warn!(%error, "lost the Redis publish connection; reconnecting");
                        connection = None;
                        status.set_publisher(false);
                        retry_at = Instant::now();
                    } else {
                        tracing::warn!(%error, "Redis refused a cluster message");
                    }
                }
            }
            _ = tokio::time::sleep_until(retry_at), if !connected => {
                let attempt = client.get_multiplexed_async_connection_with_config(&config);
                match tokio::time::timeout(config_timeout(), attempt).await {
                    Ok(Ok(conn)) => {
                        connection = Some(conn);
                        status.set_publisher(true);
                        status.inner.reconnects.fetch_add(1, Ordering::Relaxed);
                        backoff.reset();
                        tracing::info!("Redis publish connection re-established");
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "Redis still unreachable (publish)");
                        retry_at = Instant::now() + backoff.next();
                    }
                    Err(_) => retry_at = Instant::now() + backoff.next(),
                }
            }
            _ = health.tick(), if connected => {
                if let Some(conn) = connection.as_mut() {
                    let ping = redis::cmd("PING").query_async::<redis::Value>(conn).await;
                    if let Err(error) = ping.as_ref() {
                        if connection_lost(error) {
                            tracing::warn!(%error, "lost the Redis publish connection; reconnecting");
                            connection = None;
                            status.set_publisher(false);
                            retry_at = Instant::now();
                        }
                    }
                }
            }
        }
    }
}

/// Upper bound of one reconnection attempt of the publisher (the config's own timeouts apply
/// inside it; this guards the whole attempt).
fn config_timeout() -> Duration {
    Duration::from_secs(10)
}

fn drop_batch(batch: Vec<Outgoing>, status: &ClusterStatus) {
    let mut dropped = 0;
    for item in batch {
        match item {
            Outgoing::Publish { .. } => dropped += 1,
            Outgoing::NumSub { reply, .. } => {
                let _ = reply.send(None);
            }
        }
    }
    status.count_dropped(dropped);
}

/// Sends a batch in order: runs of PUBLISH as one pipeline, NUMSUB queries one by one.
async fn send_batch(
    conn: &mut MultiplexedConnection,
    batch: Vec<Outgoing>,
    status: &ClusterStatus,
) -> Result<(), RedisError> {
    let mut pipe = redis::pipe();
    let mut queued = 0u64;
    for item in batch {
        match item {
            Outgoing::Publish { channel, payload } => {
                pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
                queued += 1;
            }
            Outgoing::NumSub { channel, reply } => {
                if queued > 0 {
                    flush(conn, &mut pipe, &mut queued, status).await?;
                }
                let count = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(&channel)
                    .query_async::<(String, usize)>(conn)
                    .await;
                match count {
                    Ok((_, count)) => {
                        let _ = reply.send(Some(count));
                    }
                    Err(error) => {
                        let _ = reply.send(None);
                        return Err(error);
                    }
                }
            }
        }
    }
    if queued > 0 {
        flush(conn, &mut pipe, &mut queued, status).await?;
    }
    Ok(())
}

async fn flush(
    conn: &mut MultiplexedConnection,
    pipe: &mut redis::Pipeline,
    queued: &mut u64,
    status: &ClusterStatus,
) -> Result<(), RedisError> {
    let result = pipe.query_async::<()>(conn).await;
    match &result {
        Ok(()) => {
            status.inner.published.fetch_add(*queued, Ordering::Relaxed);
        }
        Err(_) => status.count_dropped(*queued),
    }
    pipe.clear();
    *queued = 0;
    result
}

/// Why the subscriber stopped serving a connection.
enum End {
    /// The adapter is gone: the task ends.
    Closed,
    /// The connection is gone: reconnect.
    Lost(String),
}

/// The subscriber task: delivers messages, subscribes namespaces, reconnects and resubscribes.
async fn run_subscriber(
    client: Client,
    first: (PubSubSink, PubSubStream),
    inner: Weak<Inner>,
    mut commands: mpsc::UnboundedReceiver<Subscribe>,
    status: ClusterStatus,
    timeout: Duration,
) {
    let mut connection = Some(first);
    let mut backoff = Backoff::new();
    loop {
        if let Some((sink, stream)) = connection.take() {
            status.set_subscriber(true);
            let end = serve(sink, stream, &inner, &mut commands, timeout).await;
            status.set_subscriber(false);
            let Some(strong) = inner.upgrade() else {
                return;
            };
            lock(&strong.namespaces)
                .values_mut()
                .for_each(|subscribed| *subscribed = false);
            drop(strong);
            match end {
                End::Closed => return,
                End::Lost(reason) => {
                    tracing::warn!(%reason, "lost the Redis subscription; local delivery goes on, reconnecting");
                }
            }
        }
        if !pause(backoff.next(), &mut commands, &inner).await {
            return;
        }
        let (mut sink, stream) = match open_pubsub(&client, timeout).await {
            Ok(pubsub) => pubsub,
            Err(error) => {
                tracing::debug!(%error, "Redis still unreachable (subscribe)");
                continue;
            }
        };
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let channels = strong.channels.clone();
        let uid = strong.uid.clone();
        let namespaces: Vec<Arc<str>> = lock(&strong.namespaces).keys().cloned().collect();
        drop(strong);
        let mut resubscribed = true;
        for nsp in &namespaces {
            let subscribing = subscribe_namespace(&mut sink, &channels, nsp, &uid);
            if with_timeout(timeout, subscribing).await.is_err() {
                resubscribed = false;
                break;
            }
        }
        if !resubscribed {
            continue;
        }
        if let Some(strong) = inner.upgrade() {
            let mut known = lock(&strong.namespaces);
            for nsp in &namespaces {
                known.insert(Arc::clone(nsp), true);
            }
        }
        backoff.reset();
        status.inner.reconnects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            namespaces = namespaces.len(),
            "Redis subscription re-established"
        );
        connection = Some((sink, stream));
    }
}

/// Waits `wait` while refusing subscription requests; false when the adapter is gone.
async fn pause(
    wait: Duration,
    commands: &mut mpsc::UnboundedReceiver<Subscribe>,
    inner: &Weak<Inner>,
) -> bool {
    let until = Instant::now() + wait;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return inner.strong_count() > 0,
            command = commands.recv() => match command {
                // The namespace is remembered and subscribed on reconnection.
                Some(Subscribe { done, .. }) => {
                    if let Some(done) = done {
                        let _ = done.send(false);
                    }
                }
                None => return false,
            }
        }
    }
}

/// Serves one pub/sub connection until it is lost or the adapter is gone.
async fn serve(
    mut sink: PubSubSink,
    mut stream: PubSubStream,
    inner: &Weak<Inner>,
    commands: &mut mpsc::UnboundedReceiver<Subscribe>,
    timeout: Duration,
) -> End {
    let mut health = tokio::time::interval_at(Instant::now() + HEALTH_INTERVAL, HEALTH_INTERVAL);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return End::Lost("connection closed".to_string());
                };
                let Some(inner) = inner.upgrade() else {
                    return End::Closed;
                };
                inner.on_message(&message);
            }
            command = commands.recv() => {
                let Some(Subscribe { nsp, done }) = command else {
                    return End::Closed;
                };
                let Some(strong) = inner.upgrade() else {
                    return End::Closed;
                };
                let channels = strong.channels.clone();
                let uid = strong.uid.clone();
                drop(strong);
                let subscribing = subscribe_namespace(&mut sink, &channels, &nsp, &uid);
                match with_timeout(timeout, subscribing).await {
                    Ok(()) => {
                        if let Some(strong) = inner.upgrade() {
                            lock(&strong.namespaces).insert(nsp, true);
                        }
                        if let Some(done) = done {
                            let _ = done.send(true);
                        }
                    }
                    Err(error) => {
                        if let Some(done) = done {
                            let _ = done.send(false);
                        }
                        return End::Lost(error.to_string());
                    }
                }
            }
            _ = health.tick() => {
                if let Err(error) = with_timeout(timeout, sink.ping::<redis::Value>()).await {
                    return End::Lost(format!("ping failed: {error}"));
                }
            }
        }
    }
}

/// The URL without its password, for logs and errors.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(
            redact("redis://:secret@redis:6379/0"),
            "redis://***@redis:6379/0"
        );
        assert_eq!(redact("nonsense"), "nonsense");
    }

    #[test]
    fn backs_off_up_to_the_ceiling() {
        let mut backoff = Backoff::new();
        let waits: Vec<Duration> = (0..8).map(|_| backoff.next()).collect();
        assert_eq!(waits[0], Duration::from_millis(100));
        assert_eq!(waits[1], Duration::from_millis(200));
        assert_eq!(*waits.last().unwrap(), MAX_BACKOFF);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(100));
    }
}
