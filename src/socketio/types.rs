//! The small types every part of the Socket.IO layer shares: socket ids, room names, why a
//! socket left, and the reports of a broadcast with acks. A leaf: it imports no other part of
//! the layer but the payload.

use std::sync::Arc;

use super::payload::Payload;
use crate::engineio::{CloseReason, Sid};

/// A socket's id; random like an Engine.IO session id.
pub type SocketId = Sid;

/// A room name inside one namespace.
pub type Room = Arc<str>;

/// Why a socket left its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client disconnected from the namespace (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server disconnected the socket.
    ServerNamespaceDisconnect,
    /// The connection under the socket ended.
    Transport(CloseReason),
    /// The client broke the protocol.
    ParseError,
}

impl DisconnectReason {
    /// A connection that dropped can be recovered; a deliberate disconnect cannot.
    pub fn recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::Transport(
                CloseReason::TransportClose
                    | CloseReason::TransportError
                    | CloseReason::PingTimeout
                    | CloseReason::ServerShutdown
            )
        )
    }

    /// The reason as Socket.IO names it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::Transport(reason) => reason.as_str(),
        }
    }
}

/// News for whoever collects the answers to a broadcast with acks.
#[derive(Debug)]
pub enum AckReport {
    /// A node sent the event to this many of its sockets, each of which owes an answer. Every
    /// node that received the broadcast reports once.
    Delivered(usize),
    /// One client's answer: its first ack argument (`null` if it gave none), binary values as
    /// attachments. Only the first argument crosses nodes in Socket.IO's cluster protocol, so
    /// only the first is kept on every node alike.
    Answer(Payload),
}
