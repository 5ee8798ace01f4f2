//! Errors of the Socket.IO layer.

/// A packet that breaks the Socket.IO protocol. The connection that sent it is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    #[error("invalid attachment count")]
    InvalidAttachments,
    #[error("too many attachments ({0})")]
    TooManyAttachments(usize),
    #[error("invalid ack id")]
    InvalidAckId,
    #[error("invalid JSON payload")]
    InvalidJson,
    #[error("payload not valid for this packet type")]
    InvalidPayload,
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
    #[error("binary placeholders do not match the attachments")]
    InvalidPlaceholders,
    #[error("binary data without a pending binary packet")]
    UnexpectedBinary,
    #[error("text packet while binary attachments were expected")]
    UnexpectedText,
    #[error("packet type the server does not accept from clients")]
    UnexpectedPacket,
}

/// A server-to-client ack that did not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("the client did not acknowledge in time")]
    Timeout,
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
}

/// An emit that could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("the socket is not connected")]
    Disconnected,
    #[error("the client is too slow; its connection is being closed")]
    SlowConsumer,
    #[error("reserved event name")]
    ReservedEvent,
}

/// A broadcast with acks that did not get every answer
/// ([`BroadcastOperator::emit_with_ack`](super::BroadcastOperator::emit_with_ack)).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BroadcastAckError {
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
