//! Socket.IO v5 on top of Engine.IO: namespaces, events, acknowledgements, binary attachments and
//! rooms (through an [`Adapter`]).
//!
//! It meets Engine.IO only through [`EngineHandler`](crate::engineio::EngineHandler): [`SocketIo`]
//! creates a connection state per Engine.IO session and writes through its
//! [`EngineSocket`](crate::engineio::EngineSocket).

mod ack;
mod adapter;
mod broadcast;
mod broadcast_ack;
mod connection;
mod decoder;
mod dynamic;
mod error;
mod joined;
mod json_text;
mod middleware;
pub mod msgpack;
mod msgpack_packet;
mod namespace;
pub mod packet;
mod parser;
mod payload;
mod pending_acks;
mod recovery;
mod remote_socket;
mod server;
mod server_side;
mod socket;
mod socket_details;
mod state;
#[cfg(test)]
mod test_adapter;
mod types;

pub use ack::AckSender;
pub use adapter::{
    AckRequest, Adapter, BroadcastOptions, Claim, ClaimedSession, FetchedSocket, LoggedPacket,
    NewSocket, NodesReached, Orphaned, OutgoingHook, RestoreRequest, RoomsHook, SentFrames,
    SocketHooks,
};
pub use broadcast::BroadcastOperator;
pub use decoder::Decoder;
pub use dynamic::{ParentBroadcast, DEFAULT_MAX_CHILDREN, MAX_CHILD_NAME_LEN};
pub use error::{AckError, BroadcastAckError, EmitError, ProtocolError};
pub use middleware::MiddlewareError;
pub use namespace::{ConnectError, Namespace, NamespaceBuilder};
pub use parser::Parser;
pub use payload::Payload;
pub use pending_acks::{next_ack_id, PendingAcks};
pub use recovery::{next_offset, RecoveryConfig, DEFAULT_MAX_DISCONNECTION, DEFAULT_MAX_SESSIONS};
pub use remote_socket::RemoteSocket;
pub use server::{ServerSide, SocketIo, SocketIoBuilder};
pub use server_side::{ServerSideAck, ServerSideAckError, ServerSideEvents, ServerSideHandler};
pub use socket::Socket;
pub use socket_details::{SocketDataError, SocketDetails, MAX_SOCKET_DATA_BYTES};
pub use state::{SocketIoConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_ATTACHMENTS};
pub use types::{AckReport, DisconnectReason, Room, SocketId};
