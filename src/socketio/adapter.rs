//! The seam between sockets and whoever tracks rooms: local by default (the hub's `ChatServer`),
//! cross-node later. Everything that addresses more than one socket goes through an [`Adapter`].

use std::cell::OnceCell;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::engineio::{EngineSocket, Frame, SendOptions};

use super::decoder::Decoder;
use super::packet::Packet;
use super::parser::Parser;
use super::payload::Payload;
use super::pending_acks::PendingAcks;
use super::server_side::{ServerSideAckError, ServerSideEvents};
use super::socket_details::SocketDetails;
use super::types::{AckReport, DisconnectReason, Room, SocketId};

/// A socket as a fetch finds it, on this node or another (Node's `fetchSockets()` item).
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedSocket {
    /// Its id.
    pub id: SocketId,
    /// Its rooms, the room of its id included.
    pub rooms: Vec<Room>,
    /// Its handshake in Node's shape (`headers`, `time`, `address`, `xdomain`, `secure`,
    /// `issued`, `url`, `query`, `auth`).
    pub handshake: Value,
    /// Its `data` slot.
    pub data: Value,
}

impl FetchedSocket {
    /// A socket of this node: its details as they are now; the room of its id is listed even
    /// where the adapter does not keep it.
    pub fn local(
        id: &SocketId,
        rooms: impl IntoIterator<Item = Room>,
        details: &SocketDetails,
    ) -> FetchedSocket {
        let mut rooms: Vec<Room> = rooms.into_iter().collect();
        if !rooms.iter().any(|room| **room == *id.as_str()) {
            rooms.insert(0, Room::from(id.as_str()));
        }
        FetchedSocket {
            id: id.clone(),
            rooms,
            handshake: details.handshake(),
            data: details.data(),
        }
    }
}

/// Which sockets of a namespace a broadcast reaches.
#[derive(Debug, Clone, Default)]
pub struct BroadcastOptions {
    /// Sockets in any of these rooms; every socket of the namespace when empty.
    pub rooms: Vec<Room>,
    /// Minus the sockets in any of these rooms.
    pub except_rooms: Vec<Room>,
    /// Minus this socket (the sender).
    pub except: Option<SocketId>,
    /// The packet's recovery offset, when recovery is on: the adapter logs the packet under it.
    pub offset: Option<Arc<str>>,
    /// This node's sockets only: not published to the other nodes of a cluster (Node's `local`).
    pub local: bool,
    /// How each recipient's transport sends the frames (Node's `volatile` and `compress`).
    pub send: SendOptions,
}

/// Ends a socket that an adapter finds still registered after its transport closed: runs its
/// disconnect (rooms, presence, metrics, the app's handler) as if the connection had ended it.
/// A defence in depth: the connection normally ends its sockets itself.
#[derive(Clone)]
pub struct Orphaned(Arc<dyn Fn() + Send + Sync>);

impl Orphaned {
    /// A hook that runs `end`.
    pub fn new(end: impl Fn() + Send + Sync + 'static) -> Orphaned {
        Orphaned(Arc::new(end))
    }

    /// Ends the socket (a no-op if it already left).
    pub fn end(&self) {
        (self.0)()
    }
}

impl std::fmt::Debug for Orphaned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Orphaned")
    }
}

/// Told each broadcast packet an adapter delivers to one socket (Node's
/// `notifyOutgoingListeners`): built by the namespace only when it has outgoing catch-alls.
pub type OutgoingHook = Arc<dyn Fn(&SentFrames<'_>) + Send + Sync>;

/// The frames of one broadcast as the outgoing hooks of its recipients see them: read back into
/// its event once, by the first hook that asks, and shared by the others.
pub struct SentFrames<'a> {
    frames: &'a [Frame],
    event: OnceCell<Option<(String, Payload)>>,
}

impl<'a> SentFrames<'a> {
    /// A broadcast's frames, not read yet.
    pub fn new(frames: &'a [Frame]) -> SentFrames<'a> {
        SentFrames {
            frames,
            event: OnceCell::new(),
        }
    }

    /// The event's name and arguments, read with `parser` (the server's one, which wrote them);
    /// `None` for frames that are no event. The ack id an event may carry is not shown, as in
    /// Node.
    pub fn event(&self, parser: Parser) -> Option<(&str, &Payload)> {
        self.event
            .get_or_init(|| match Decoder::read_frames(parser, self.frames) {
                Ok(Packet::Event { event, payload, .. }) => Some((event, payload)),
                _ => None,
            })
            .as_ref()
            .map(|(event, payload)| (event.as_str(), payload))
    }
}

/// Told the rooms a socket joined (`true`) or left that the adapter changed itself: through
/// [`Adapter::add_sockets`] and [`Adapter::del_sockets`] (on any node), and the rooms a recovered
/// socket gets back. Set by observers (the admin feed).
pub type RoomsHook = Arc<dyn Fn(&[Room], bool) + Send + Sync>;

/// What an adapter tells about one socket besides delivering to it; nothing by default, and then
/// the delivery path only checks two `None`s.
#[derive(Clone, Default)]
pub struct SocketHooks {
    /// Sees the broadcasts delivered to the socket.
    pub outgoing: Option<OutgoingHook>,
    /// Sees the rooms the adapter changed.
    pub rooms: Option<RoomsHook>,
}

impl SocketHooks {
    /// A broadcast's frames are being sent to the socket.
    #[inline]
    pub fn sent(&self, frames: &SentFrames<'_>) {
        if let Some(hook) = &self.outgoing {
            hook(frames);
        }
    }

    /// The adapter moved the socket into (`join`) or out of `rooms`.
    pub fn rooms_changed(&self, rooms: &[Room], join: bool) {
        if let Some(hook) = &self.rooms {
            if !rooms.is_empty() {
                hook(rooms, join);
            }
        }
    }
}

/// A socket that just connected, for [`Adapter::add_socket`].
pub struct NewSocket {
    /// The socket's id.
    pub id: SocketId,
    /// Where to write.
    pub engine: EngineSocket,
    /// Where broadcasts with acks register their id.
    pub acks: PendingAcks,
    /// Ends the socket should its transport be found closed while it is registered.
    pub orphaned: Orphaned,
    /// What fetches tell of it.
    pub details: Arc<SocketDetails>,
    /// Who is told of its broadcasts and of rooms changed for it.
    pub hooks: SocketHooks,
    /// Its private session id, with connection state recovery on.
    pub pid: Option<String>,
}

/// A returning socket, for [`Adapter::restore_socket`].
pub struct RestoreRequest {
    /// The socket's id, as before the disconnection.
    pub id: SocketId,
    /// Where to write.
    pub engine: EngineSocket,
    /// The offset of the last packet the client got.
    pub offset: Option<String>,
    /// The CONNECT answer to send if every missed packet is known (same `pid`).
    pub recovered_reply: Arc<[Frame]>,
    /// The CONNECT answer to send otherwise (a new `pid`: the client starts afresh).
    pub fresh_reply: Arc<[Frame]>,
    /// The `pid` of the recovered answer and of the fresh one.
    pub pids: (String, String),
    /// The rooms of a session claimed from the cluster ([`Adapter::claim_session`]); `None` for
    /// a socket kept by this node's adapter.
    pub rooms: Option<Vec<Room>>,
    /// The packets a cluster logged after `offset`, in order (empty when it logs none): replayed
    /// if this node's own log does not reach back to `offset`.
    pub logged: Vec<LoggedPacket>,
    /// Where the returning socket's acks go (for broadcasts with acks).
    pub acks: PendingAcks,
    /// Ends the socket if it is found registered after its transport closed.
    pub orphaned: Orphaned,
    /// Its handshake and data slot, for fetches.
    pub details: Arc<SocketDetails>,
    /// Who is told of its broadcasts and of rooms changed for it (the rooms it gets back too).
    pub hooks: SocketHooks,
}

/// A broadcast that asks every socket it reaches for an acknowledgement, for
/// [`Adapter::broadcast_with_ack`].
pub struct AckRequest {
    /// The event's frames, asking for ack `id`.
    pub frames: Arc<[Frame]>,
    /// Which sockets it is for.
    pub options: BroadcastOptions,
    /// The ack id, already in the frames; registered on every socket reached.
    pub id: u64,
    /// Where the deliveries and answers are reported.
    pub reports: mpsc::UnboundedSender<AckReport>,
    /// How long the sender collects answers; nodes stop relaying answers after it.
    pub timeout: Duration,
}

/// A packet as a cluster's shared log keeps it.
#[derive(Debug, Clone)]
pub struct LoggedPacket {
    /// Its offset.
    pub offset: Arc<str>,
    /// The encoded packet, its offset included.
    pub frames: Arc<[Frame]>,
    /// Which sockets it was for.
    pub options: BroadcastOptions,
}

/// A dropped socket's session as a cluster keeps it, claimed by the node its client came back to.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedSession {
    /// The socket's id.
    pub id: SocketId,
    /// Its namespace.
    pub nsp: String,
    /// Its rooms, without the room of its id.
    pub rooms: Vec<Room>,
    /// Its `data` slot.
    pub data: Value,
}

/// What claiming a session from the cluster found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This node has it now; no other node can claim it again.
    Claimed(ClaimedSession),
    /// Unknown, expired, or claimed by another node first: the client starts afresh.
    Refused,
    /// The shared store could not be asked: only this node's own kept sockets can recover.
    Unavailable,
}

/// How many nodes a broadcast with acks reached, for [`Adapter::broadcast_with_ack`]: `None` when
/// it cannot be told.
pub type NodesReached = BoxFuture<'static, Option<usize>>;

/// Tracks which sockets are in which rooms and delivers broadcasts to them.
pub trait Adapter: Send + Sync + 'static {
    /// A socket connected to a namespace.
    fn add_socket(&self, nsp: &Arc<str>, socket: NewSocket);
    /// A socket left a namespace: it leaves every room there too.
    fn remove_socket(&self, nsp: &Arc<str>, id: &SocketId);
    /// Adds a socket to rooms.
    fn join(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>);
    /// Removes a socket from rooms.
    fn leave(&self, nsp: &Arc<str>, id: &SocketId, rooms: Vec<Room>);
    /// Sends already-encoded frames to every matching socket; the frames are shared, not copied.
    fn broadcast(&self, nsp: &Arc<str>, frames: Arc<[Frame]>, options: BroadcastOptions);
    /// Sends the already-encoded frames of an event asking for ack `ack.id` to every matching
    /// socket, each registering the id first ([`PendingAcks::expect_broadcast`]) so that its
    /// client's answer reaches `ack.reports`. Every node that delivers it reports one
    /// [`AckReport::Delivered`], this one included. Resolves to how many nodes that is (1 without
    /// a cluster), or `None` when it cannot be told (the answers are then collected until the
    /// timeout).
    fn broadcast_with_ack(&self, nsp: &Arc<str>, ack: AckRequest) -> NodesReached;
    /// The ids of the sockets in any of `rooms` (every socket of the namespace when empty).
    fn sockets(&self, nsp: &Arc<str>, rooms: Vec<Room>) -> BoxFuture<'static, Vec<SocketId>>;
    /// The rooms of the namespace (with at least one socket) whose names start with `prefix`.
    fn rooms(&self, nsp: &Arc<str>, prefix: &str) -> BoxFuture<'static, Vec<Room>>;

    /// A socket whose connection dropped and that may come back within `keep`: it leaves its rooms
    /// but they are remembered, and the packets it would have received are logged.
    fn detach_socket(&self, nsp: &Arc<str>, id: &SocketId, keep: std::time::Duration);

    /// Disconnects the sockets matching `options` (its rooms and except-rooms), on every node:
    /// each is sent a DISCONNECT packet and, with `close`, its whole connection is closed (without
    /// `close` it only leaves the adapter). Detached sockets in those rooms are forgotten: a
    /// server-side disconnect is not recoverable. Node's `io.in(room).disconnectSockets(close)`.
    fn disconnect_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, close: bool);

    /// A detached socket came back: sends one of the two CONNECT answers, then every packet it
    /// missed after `offset` in order, then resumes live delivery, with its rooms back. Answers
    /// whether the missed packets were all still known (the recovered answer was sent).
    fn restore_socket(&self, nsp: &Arc<str>, request: RestoreRequest) -> BoxFuture<'static, bool>;

    /// Claims, for this node, the session of a dropped socket by its private id `pid` from a store
    /// the nodes of a cluster share, so that it can recover on another node than the one that had
    /// it. `None` (the default) when the adapter shares no such store.
    fn claim_session(&self, _nsp: &Arc<str>, _pid: &str) -> Option<BoxFuture<'static, Claim>> {
        None
    }

    /// Socket `id`'s `data` slot changed (an adapter that shares sessions keeps it current).
    fn data_changed(&self, _nsp: &Arc<str>, _id: &SocketId) {}

    /// An event arrived from socket `id`'s client, before its handler runs. For observers (the
    /// admin feed decorates the adapter); the adapters themselves ignore it.
    fn event_received(&self, _nsp: &Arc<str>, _id: &SocketId, _event: &str, _payload: &Payload) {}

    /// Socket `id` left the namespace for `reason`, after the adapter removed or detached it. For
    /// observers, like [`Adapter::event_received`].
    fn socket_disconnected(&self, _nsp: &Arc<str>, _id: &SocketId, _reason: DisconnectReason) {}

    /// [`Socket::emit`](super::Socket::emit) is sending an event to socket `id`'s client alone.
    /// For observers, like [`Adapter::event_received`].
    fn event_sent(&self, _nsp: &Arc<str>, _id: &SocketId, _event: &str, _payload: &Payload) {}
    /// The sockets matching `options` on every node, with their rooms, handshake and data
    /// (Node's `io.in(room).fetchSockets()`).
    fn fetch_sockets(
        &self,
        nsp: &Arc<str>,
        options: BroadcastOptions,
    ) -> BoxFuture<'static, Vec<FetchedSocket>>;

    /// The sockets matching `options`, on every node, join `rooms` (Node's `socketsJoin`).
    fn add_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, rooms: Vec<Room>);

    /// The sockets matching `options`, on every node, leave `rooms` (Node's `socketsLeave`).
    fn del_sockets(&self, nsp: &Arc<str>, options: BroadcastOptions, rooms: Vec<Room>);

    /// A handler for server-side events of `nsp` was registered in `events` (the server's one
    /// table): other servers' events of that namespace must reach it from now on.
    fn serve_server_side(&self, nsp: &Arc<str>, events: ServerSideEvents);

    /// Sends `args` (the event name first) to the server-side handlers of every other server
    /// (Node's `io.serverSideEmit`); this server's own handlers are not called.
    fn server_side_emit(&self, nsp: &Arc<str>, args: Vec<Value>);

    /// [`Adapter::server_side_emit`] asking each other server for an answer: resolves to the
    /// answers once every other server gave one, or fails at `timeout` with those that came.
    fn server_side_emit_with_ack(
        &self,
        nsp: &Arc<str>,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, ServerSideAckError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_frames_read_an_event_once_and_nothing_else() {
        let event = Parser::Msgpack.shared_frames(&Packet::Event {
            nsp: "/".into(),
            event: "news".into(),
            payload: Payload::json(1),
            id: Some(7),
        });
        let sent = SentFrames::new(&event);
        let (name, payload) = sent.event(Parser::Msgpack).expect("an event");
        assert_eq!((name, payload.args()), ("news", &[Value::from(1)][..]));
        assert!(sent.event(Parser::Msgpack).is_some(), "read once, kept");
        let disconnect = Parser::Default.shared_frames(&Packet::Disconnect { nsp: "/".into() });
        assert!(SentFrames::new(&disconnect)
            .event(Parser::Default)
            .is_none());
        let garbage = [Frame::text_message("not a packet")];
        assert!(SentFrames::new(&garbage).event(Parser::Default).is_none());
    }
}
