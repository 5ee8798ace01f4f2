//! Several Agora nodes (and Node.js Socket.IO servers) serving one cluster through Redis.
//!
//! [`RedisAdapter`] is a Socket.IO [`Adapter`](crate::socketio::Adapter) that keeps rooms on this
//! node (through the hub's [`LocalAdapter`](crate::hub::LocalAdapter)) and speaks the wire format
//! of the Node `@socket.io/redis-adapter` in its classic PUBLISH/PSUBSCRIBE mode ([`wire`]):
//! a broadcast reaches the matching sockets of every node once, and a sockets query asks every
//! node. Joining and leaving rooms stays local, as in Socket.IO.
//!
//! From other nodes it also carries out REMOTE_JOIN/REMOTE_LEAVE/REMOTE_DISCONNECT
//! (`io.in(room).socketsJoin(…)` and friends), answers SOCKETS, ALL_ROOMS and REMOTE_FETCH
//! (`fetchSockets()`), and carries out BROADCAST requests (`emitWithAck`): it delivers the event
//! with an ack id of its own, answers BROADCAST_CLIENT_COUNT, then one BROADCAST_ACK per client
//! answer. Its own broadcasts with acks go out the same way and collect those answers. It ignores
//! SERVER_SIDE_EMIT.

mod mirror;
mod redis;
pub mod wire;

pub use self::redis::{ClusterError, ClusterOptions, ClusterStatus, RedisAdapter};
