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
//! answer. Its own broadcasts with acks go out the same way and collect those answers. It runs the
//! server's server-side handlers for SERVER_SIDE_EMIT (answering when asked), and sends its own.
//!
//! By concern:
//! - `adapter`: the [`Adapter`](crate::socketio::Adapter) impl, local delivery and what is
//!   published for the other nodes;
//! - `incoming`: what arrives from Redis, sorted into broadcasts, requests and answers;
//! - `requests`: answering other nodes' requests (one `match` over a typed request);
//! - `queries`: this node's cluster-wide queries (rooms, sockets, fetches) and broadcasts with
//!   acks, waiting for answers;
//! - `server_side`: server-side events, both ways;
//! - `connection` and `subscriber`: the Redis connections, pub/sub, reconnection with backoff;
//! - `mirror`: the adapter's own copy of this node's sockets and rooms;
//! - `state`: what the adapter, its tasks and its answers share;
//! - `forward`: polling requests of sessions owned by other nodes, carried to them (no sticky
//!   sessions);
//! - `heartbeat`: node liveness (every node's heartbeat in Redis, the cluster's only one), and
//!   `link`, the command connection it, `node_rooms` and `recovery` share;
//! - `node_rooms`: each node's presence rooms in Redis, written after each heartbeat and handed
//!   to one surviving node when a node's heartbeat stops (the departures of a dead node's users);
//! - `recovery`: connection state recovery through Redis (sessions, the packet log, claims), so
//!   a socket recovers on any node, even after its node died; `sessions` is the adapter's side of
//!   it and `log_writer` the task that writes it.
//!
//! Two background tasks own the Redis connections: a publisher (PUBLISH in pipelined batches,
//! PUBSUB NUMSUB) fed by a bounded queue, and a subscriber (PSUBSCRIBE/SUBSCRIBE per namespace)
//! that delivers other nodes' broadcasts locally and answers their requests. Both reconnect with
//! backoff; while Redis is away, local clients are served as before and cluster traffic is dropped.

mod adapter;
mod connection;
pub mod forward;
pub mod heartbeat;
mod incoming;
mod link;
mod log_writer;
mod mirror;
mod node_rooms;
mod options;
mod queries;
pub mod recovery;
mod requests;
mod server_side;
mod sessions;
mod state;
mod status;
mod subscriber;
pub mod wire;

pub use self::adapter::RedisAdapter;
pub use self::forward::{ForwardOptions, Forwarder};
pub use self::heartbeat::{Heartbeats, HEARTBEAT_INTERVAL, NODE_TTL};
pub use self::node_rooms::{DeadNode, TrackedRooms};
pub use self::options::{ClusterError, ClusterOptions, DEFAULT_REQUESTS_TIMEOUT};
pub use self::status::ClusterStatus;
