//! Errors of the Socket.IO layer.

/// A packet that breaks the Socket.IO protocol. The connection that sent it is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A message with no packet type.
    #[error("empty packet")]
    Empty,
    /// A packet type outside 0–6.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A binary packet whose attachment count is not a number.
    #[error("invalid attachment count")]
    InvalidAttachments,
    /// More attachments than the server accepts.
    #[error("too many attachments ({0})")]
    TooManyAttachments(usize),
    /// An ack id that is not a number the server accepts.
    #[error("invalid ack id")]
    InvalidAckId,
    /// The payload is not JSON.
    #[error("invalid JSON payload")]
    InvalidJson,
    /// JSON of the wrong shape for the packet type.
    #[error("payload not valid for this packet type")]
    InvalidPayload,
    /// An event named like a reserved one (`connect`, `disconnect`, ...).
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
    /// Placeholders that name attachments that do not exist.
    #[error("binary placeholders do not match the attachments")]
    InvalidPlaceholders,
    /// A binary message nobody announced.
    #[error("binary data without a pending binary packet")]
    UnexpectedBinary,
    /// A text packet before the announced attachments came.
    #[error("text packet while binary attachments were expected")]
    UnexpectedText,
    /// A msgpack-parser message that is not one whole MessagePack value.
    #[error("invalid MessagePack")]
    InvalidMessagePack,
    /// A msgpack-parser packet without a known integer `type`.
    #[error("invalid packet type")]
    InvalidPacketType,
    /// A msgpack-parser packet whose `nsp` is not a string.
    #[error("invalid namespace")]
    InvalidNamespace,
    /// A packet only a server sends (CONNECT_ERROR).
    #[error("packet type the server does not accept from clients")]
    UnexpectedPacket,
}

/// A server-to-client ack that did not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The timeout passed first.
    #[error("the client did not acknowledge in time")]
    Timeout,
    /// The socket went away first.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
}

/// An emit that could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The socket is not connected (any more).
    #[error("the socket is not connected")]
    Disconnected,
    /// The client's queue is full; it is being dropped.
    #[error("the client is too slow; its connection is being closed")]
    SlowConsumer,
    /// The event name is reserved by Socket.IO.
    #[error("reserved event name")]
    ReservedEvent,
}

/// A broadcast with acks that did not get every answer
/// ([`BroadcastOperator::emit_with_ack`](super::BroadcastOperator::emit_with_ack)).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BroadcastAckError {
    /// The event name is reserved by Socket.IO.
    #[error("reserved event name")]
    ReservedEvent,
    /// The timeout passed first. Unlike Node's `emitWithAck`, which rejects and drops them, the
    /// answers that did arrive are kept.
    #[error("{} of {} clients acknowledged in time", answers.len(), expected.map_or("?".to_string(), |n| n.to_string()))]
    Timeout {
        /// The answers that arrived, in arrival order.
        answers: Vec<super::Payload>,
        /// How many clients got the event, when every node told; `None` when some node never
        /// reported (or the number of nodes could not be learnt).
        expected: Option<usize>,
    },
}
