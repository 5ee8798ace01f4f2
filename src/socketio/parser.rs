//! [`Parser`]: how Socket.IO packets are written into Engine.IO messages, chosen once per server as
//! in Node (`new Server({ parser })`): socket.io-parser's text packets with binary attachments
//! (the default), or `socket.io-msgpack-parser`'s one MessagePack message per packet.

use std::sync::Arc;

use serde::Serialize;

use super::msgpack_packet;
use super::packet::Packet;
use crate::engineio::{Frame, Frames};

/// The wire format of a server's packets. Every client of the server must use the same one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Parser {
    /// socket.io-parser: `2["event",…]` text, binary values as attachments after it.
    #[default]
    Default,
    /// socket.io-msgpack-parser 3: each packet one binary message, MessagePack `{type, data, nsp,
    /// id}` (binary values inline, no attachments).
    Msgpack,
}

impl Parser {
    /// The frames of a packet, in order.
    pub fn frames(self, packet: &Packet) -> Vec<Frame> {
        match self {
            Parser::Default => packet.to_frames(),
            Parser::Msgpack => vec![msgpack_packet::encode(packet)],
        }
    }

    /// The frames of a packet, to be shared by every recipient of a broadcast.
    pub fn shared_frames(self, packet: &Packet) -> Arc<[Frame]> {
        self.frames(packet).into()
    }

    /// The frames of a packet for one session (one frame when it has no attachments).
    pub fn session_frames(self, packet: &Packet) -> Frames {
        match self {
            Parser::Default => packet.to_session_frames(),
            Parser::Msgpack => Frames::One(msgpack_packet::encode(packet)),
        }
    }

    /// The name the bundled client and `--parser` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Parser::Default => "default",
            Parser::Msgpack => "msgpack",
        }
    }
}
