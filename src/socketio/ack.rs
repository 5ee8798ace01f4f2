//! [`AckSender`]: answers a client's event that asked for an acknowledgement.

use serde::Serialize;

use super::error::EmitError;
use super::packet::Packet;
use super::payload::Payload;
use super::socket::Socket;

/// Sends the one acknowledgement a client waits for; consumed by sending.
pub struct AckSender {
    socket: Socket,
    id: u64,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: u64) -> AckSender {
        AckSender { socket, id }
    }

    /// Acknowledges with these arguments.
    pub fn send(self, payload: Payload) -> Result<(), EmitError> {
        self.socket.send_packet(&Packet::Ack {
            nsp: String::from(&**self.socket.nsp()),
            id: self.id,
            payload,
        })
    }

    /// Acknowledges with one argument serialized from `value`.
    pub fn send_json(self, value: impl Serialize) -> Result<(), EmitError> {
        self.send(Payload::json(value))
    }
}
