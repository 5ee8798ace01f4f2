//! The messages the `ChatServer` accepts, each with a thin handler over its plain methods.

use std::sync::Arc;

use actix::prelude::*;

use super::server::ChatServer;
pub use super::server::TradeRefusal;
use crate::accounts::Identity;
use crate::engineio::Frame;
use crate::socketio::{AckReport, BroadcastOptions, FetchedSocket, Room, SocketId};

/// A socket connected to a namespace.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The socket: where to write, its acks, its details and hooks.
    pub socket: crate::socketio::NewSocket,
}

impl Handler<Connect> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: Connect, _: &mut Self::Context) {
        self.connect(msg.nsp, msg.socket);
    }
}

/// A socket left its namespace; it leaves all its rooms.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The socket.
    pub id: SocketId,
}

impl Handler<Disconnect> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _: &mut Self::Context) {
        let _ = self.disconnect(&msg.nsp, &msg.id);
        crate::metrics::get().rooms.set(self.room_count() as i64);
    }
}

/// A socket joins rooms.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The socket.
    pub id: SocketId,
    /// The rooms to join.
    pub rooms: Vec<Room>,
}

impl Handler<Join> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Self::Context) {
        self.join(&msg.nsp, &msg.id, msg.rooms);
        crate::metrics::get().rooms.set(self.room_count() as i64);
    }
}

/// A socket leaves rooms.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The socket.
    pub id: SocketId,
    /// The rooms to leave.
    pub rooms: Vec<Room>,
}

impl Handler<Leave> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Self::Context) {
        self.leave(&msg.nsp, &msg.id, msg.rooms);
        crate::metrics::get().rooms.set(self.room_count() as i64);
    }
}

/// Deliver encoded frames to the sockets the options select; answers how many were reached.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Broadcast {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The encoded packet, shared by every recipient.
    pub frames: Arc<[Frame]>,
    /// Which sockets: rooms, except rooms, except the sender.
    pub options: BroadcastOptions,
}

impl Handler<Broadcast> for ChatServer {
    type Result = usize;

    fn handle(&mut self, msg: Broadcast, _: &mut Self::Context) -> usize {
        let reached = self.broadcast(&msg.nsp, &msg.frames, &msg.options);
        crate::metrics::get()
            .broadcast_fanout
            .observe(reached as f64);
        reached
    }
}

/// Deliver the encoded frames of an event asking for ack `ack_id` to the sockets the options
/// select, each expecting the ack; their answers and the number reached go to `reports`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct BroadcastWithAck {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The encoded packet, shared by every recipient.
    pub frames: Arc<[Frame]>,
    /// Which sockets: rooms, except rooms, except the sender.
    pub options: BroadcastOptions,
    /// The ack id the packet asks for.
    pub ack_id: u64,
    /// Where the number reached and the answers go.
    pub reports: tokio::sync::mpsc::UnboundedSender<AckReport>,
}

impl Handler<BroadcastWithAck> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: BroadcastWithAck, _: &mut Self::Context) {
        let reached = self.broadcast_with_ack(
            &msg.nsp,
            &msg.frames,
            &msg.options,
            msg.ack_id,
            &msg.reports,
        );
        crate::metrics::get()
            .broadcast_fanout
            .observe(reached as f64);
    }
}

/// Which sockets are in these rooms (all of the namespace when `rooms` is empty)?
#[derive(Message)]
#[rtype(result = "Vec<SocketId>")]
pub struct FetchSockets {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The rooms (every socket when empty).
    pub rooms: Vec<Room>,
}

impl Handler<FetchSockets> for ChatServer {
    type Result = MessageResult<FetchSockets>;

    fn handle(&mut self, msg: FetchSockets, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.sockets(&msg.nsp, &msg.rooms))
    }
}

/// Which rooms of the namespace have names starting with `prefix`?
#[derive(Message)]
#[rtype(result = "Vec<Room>")]
pub struct ListRooms {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The start of the room names wanted.
    pub prefix: String,
}

impl Handler<ListRooms> for ChatServer {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, msg: ListRooms, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.rooms_named(&msg.nsp, &msg.prefix))
    }
}

/// Checks who is asking before a trade request reaches the store: the sender is the socket's own
/// signed-in user, never a name from the payload, and not the recipient. Answers the sender's id.
#[derive(Message)]
#[rtype(result = "Result<crate::store::UserId, TradeRefusal>")]
pub struct VerifyTrade {
    /// Who the socket belongs to.
    pub sender: Identity,
    /// The name the offer is for.
    pub recipient: String,
}

impl Handler<VerifyTrade> for ChatServer {
    type Result = Result<crate::store::UserId, TradeRefusal>;

    fn handle(&mut self, msg: VerifyTrade, _: &mut Self::Context) -> Self::Result {
        self.verify_trade(&msg.sender, &msg.recipient)
    }
}

/// A socket whose connection dropped may come back within `keep`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DetachSocket {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The socket.
    pub id: SocketId,
    /// How long it may come back.
    pub keep: std::time::Duration,
}

impl Handler<DetachSocket> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: DetachSocket, _: &mut Self::Context) {
        self.detach(&msg.nsp, &msg.id, msg.keep);
        crate::metrics::get().rooms.set(self.room_count() as i64);
    }
}

/// A dropped socket came back: answer, replay what it missed, resume. Answers whether it recovered.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct RestoreSocket {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The socket coming back, and its answers.
    pub request: crate::socketio::RestoreRequest,
}

impl Handler<RestoreSocket> for ChatServer {
    type Result = bool;

    fn handle(&mut self, msg: RestoreSocket, _: &mut Self::Context) -> bool {
        self.restore(msg.nsp, msg.request)
    }
}

/// Disconnects the matching sockets and forgets the detached ones in the rooms.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DisconnectSockets {
    /// The namespace.
    pub nsp: Arc<str>,
    /// Which sockets: rooms, except rooms, except the sender.
    pub options: BroadcastOptions,
    /// Close their connections too.
    pub close: bool,
}

impl Handler<DisconnectSockets> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: DisconnectSockets, _: &mut Self::Context) {
        self.disconnect_sockets(&msg.nsp, &msg.options, msg.close);
        crate::metrics::get().rooms.set(self.room_count() as i64);
    }
}

/// Forgets the detached sockets in any of these rooms (every one when empty).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForgetDetached {
    /// The namespace.
    pub nsp: Arc<str>,
    /// The rooms (every detached socket when empty).
    pub rooms: Vec<Room>,
}

impl Handler<ForgetDetached> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: ForgetDetached, _: &mut Self::Context) {
        self.forget_detached(&msg.nsp, &msg.rooms);
    }
}

/// The sockets matching the options, with their rooms, handshake and data.
#[derive(Message)]
#[rtype(result = "Vec<FetchedSocket>")]
pub struct FetchDetails {
    /// The namespace.
    pub nsp: Arc<str>,
    /// Which sockets.
    pub options: BroadcastOptions,
}

impl Handler<FetchDetails> for ChatServer {
    type Result = MessageResult<FetchDetails>;

    fn handle(&mut self, msg: FetchDetails, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.fetch(&msg.nsp, &msg.options))
    }
}

/// The sockets matching the options join or leave rooms (`socketsJoin`, `socketsLeave`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct MoveSockets {
    /// The namespace.
    pub nsp: Arc<str>,
    /// Which sockets.
    pub options: BroadcastOptions,
    /// The rooms.
    pub rooms: Vec<Room>,
    /// Join them (else leave them).
    pub join: bool,
}

impl Handler<MoveSockets> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: MoveSockets, _: &mut Self::Context) {
        self.move_sockets(&msg.nsp, &msg.options, &msg.rooms, msg.join);
        crate::metrics::get().rooms.set(self.room_count() as i64);
    }
}
