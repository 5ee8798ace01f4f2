//! The small types every part of the Engine.IO layer shares: why a session ended, which
//! transport it runs on, frames on their way out, and the message that closes a session. A
//! leaf: it imports no other part of the layer but the packets.

use std::sync::Arc;

use actix::prelude::*;

use super::packet::Frame;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed its transport or sent a close packet.
    TransportClose,
    /// The transport failed or the client broke the protocol.
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The client sent more than `maxPayload` in one message.
    PayloadTooLarge,
    /// The client could not keep up with its outgoing queue.
    SlowConsumer,
    /// The server closed the session on purpose (the layer above asked for it).
    ServerClose,
    /// The server is shutting down.
    ServerShutdown,
}

impl CloseReason {
    /// A short name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::PayloadTooLarge => "payload too large",
            CloseReason::SlowConsumer => "slow consumer",
            CloseReason::ServerClose => "server close",
            CloseReason::ServerShutdown => "server shutting down",
        }
    }

    /// The reason [`as_str`](Self::as_str) names (a relay carries reasons between nodes so).
    pub fn from_name(name: &str) -> Option<CloseReason> {
        [
            CloseReason::TransportClose,
            CloseReason::TransportError,
            CloseReason::PingTimeout,
            CloseReason::PayloadTooLarge,
            CloseReason::SlowConsumer,
            CloseReason::ServerClose,
            CloseReason::ServerShutdown,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == name)
    }
}

/// The two Engine.IO transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// A WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// One or several frames for one session; shared frames are not copied per recipient.
#[derive(Debug, Clone)]
pub enum Frames {
    /// A single frame.
    One(Frame),
    /// Frames shared with other recipients, in order.
    Shared(Arc<[Frame]>),
}

impl Frames {
    /// The frames in order.
    pub fn as_slice(&self) -> &[Frame] {
        match self {
            Frames::One(frame) => std::slice::from_ref(frame),
            Frames::Shared(frames) => frames,
        }
    }
}

/// Identifies one transport attached to a session (the polling transport is always 0).
pub type TransportId = u64;

/// The id of a session's long-polling transport.
pub const POLLING: TransportId = 0;

/// How frames are to be sent (Node's `volatile` and `compress` emit flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// The transport may compress these frames (a hint: a transport that compresses reads it).
    pub compress: bool,
    /// Drop the frames rather than queue them when the transport cannot take them now: a polling
    /// session with no GET waiting, or a full queue or buffer (which then does not count the
    /// client as a slow consumer).
    pub volatile: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            compress: true,
            volatile: false,
        }
    }
}

/// Close the session (handled by the session actor).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseSession(pub CloseReason);
