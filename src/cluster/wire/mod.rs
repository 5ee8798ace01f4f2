//! The wire format of the Node `@socket.io/redis-adapter` (8.x, classic PUBLISH/PSUBSCRIBE mode),
//! so Agora nodes and Node.js Socket.IO servers can share one Redis.
//!
//! - Broadcasts go to `<key>#<nsp>#` (no room or several) or `<key>#<nsp>#<room>#` (one room) as a
//!   MessagePack array `[uid, packet, {rooms, except, flags}]`; `packet` is the socket.io-parser
//!   object `{type, data, nsp}` with binary arguments as MessagePack `bin`. Every node listens with
//!   `PSUBSCRIBE <key>#<nsp>#*` and drops its own messages by `uid`.
//! - Requests go to `<key>-request#<nsp>#` as JSON (or MessagePack) objects `{uid, requestId, type,
//!   …}`; answers go to `<key>-response#<nsp>#` (or `…#<uid>#` for a node that asked for it), as
//!   JSON or MessagePack.
//!
//! Arguments travel inside Agora as JSON with `{"_placeholder":true,"num":N}` for binary values
//! (see [`Payload`](crate::socketio::Payload)); this module converts between that form and MessagePack.

mod channels;
mod packet;
mod request;
mod response;

pub use self::channels::{ChannelKind, Channels};
pub use self::packet::{room_list, unique, WireBroadcast, WirePacket};
pub use self::request::{
    BroadcastRequest, Request, RequestMessage, RoomFilter, Target, WireObject, MAX_SERVER_SIDE_ARGS,
};
pub use self::response::{Response, ResponseMessage, MAX_FETCHED_SOCKETS};
pub use crate::socketio::msgpack::{json_to_msgpack, msgpack_to_json};

/// The channel prefix of the Node adapter.
pub const DEFAULT_KEY: &str = "socket.io";

/// socket.io-parser packet types.
pub mod packet_type {
    /// CONNECT.
    pub const CONNECT: u64 = 0;
    /// DISCONNECT.
    pub const DISCONNECT: u64 = 1;
    /// EVENT.
    pub const EVENT: u64 = 2;
    /// ACK.
    pub const ACK: u64 = 3;
    /// CONNECT_ERROR.
    pub const CONNECT_ERROR: u64 = 4;
    /// BINARY_EVENT.
    pub const BINARY_EVENT: u64 = 5;
    /// BINARY_ACK.
    pub const BINARY_ACK: u64 = 6;
}

/// The request types of the Node adapter, numbered as it numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    /// SOCKETS: the ids of the sockets in some rooms.
    Sockets = 0,
    /// ALL_ROOMS: every room with a member.
    AllRooms = 1,
    /// REMOTE_JOIN: sockets join rooms.
    RemoteJoin = 2,
    /// REMOTE_LEAVE: sockets leave rooms.
    RemoteLeave = 3,
    /// REMOTE_DISCONNECT: sockets are disconnected.
    RemoteDisconnect = 4,
    /// REMOTE_FETCH: sockets with their rooms.
    RemoteFetch = 5,
    /// SERVER_SIDE_EMIT: an event for the other servers.
    ServerSideEmit = 6,
    /// BROADCAST: a broadcast with acks.
    Broadcast = 7,
    /// BROADCAST_CLIENT_COUNT: how many clients a broadcast with acks reached on a node.
    BroadcastClientCount = 8,
    /// BROADCAST_ACK: one client's answer to a broadcast with acks.
    BroadcastAck = 9,
}

impl RequestType {
    /// The type with this number.
    pub fn from_number(number: u64) -> Option<RequestType> {
        use RequestType::*;
        Some(match number {
            0 => Sockets,
            1 => AllRooms,
            2 => RemoteJoin,
            3 => RemoteLeave,
            4 => RemoteDisconnect,
            5 => RemoteFetch,
            6 => ServerSideEmit,
            7 => Broadcast,
            8 => BroadcastClientCount,
            9 => BroadcastAck,
            _ => return None,
        })
    }
}

impl From<crate::socketio::msgpack::InvalidMessagePack> for WireError {
    fn from(_: crate::socketio::msgpack::InvalidMessagePack) -> WireError {
        WireError::MessagePack
    }
}

/// A message that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes are not MessagePack.
    #[error("not valid MessagePack")]
    MessagePack,
    /// The bytes are not JSON.
    #[error("not valid JSON")]
    Json,
    /// The message is not what its kind should look like; says what is amiss.
    #[error("unexpected shape: {0}")]
    Shape(&'static str),
}
