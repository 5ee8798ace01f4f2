//! Engine.IO v4 packets: decoding what a client sends and encoding what the server sends.
//!
//! Outgoing packets are encoded once into a [`Frame`], whose bytes are reference counted, so the same
//! broadcast frame can be queued on many sessions without copying.

use base64::Engine as _;
use bytes::Bytes;
use bytestring::ByteString;

use super::error::PacketError;

/// A decoded packet received from a client.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// `1`: the client closes the session.
    Close,
    /// `2`, or `2probe` during an upgrade.
    Ping {
        /// True for `2probe`.
        probe: bool,
    },
    /// `3`, or `3probe`.
    Pong {
        /// True for `3probe`.
        probe: bool,
    },
    /// `4…` or a binary frame: application data for the layer above.
    Message(Message),
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`: does nothing.
    Noop,
}

/// Application data carried by a message packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A text message (the packet without its `4`).
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// Payload size in bytes, as counted against `maxPayload`.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
        }
    }

    /// True when the message carries no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An encoded outgoing packet, ready for either transport.
///
/// Text frames hold the whole Engine.IO packet (`4hello`, `2`, `0{…}`); binary frames hold raw message
/// bytes (a WebSocket binary frame, or `b<base64>` inside a polling payload).
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A whole Engine.IO text packet.
    Text(ByteString),
    /// The bytes of a binary message.
    Binary(Bytes),
}

/// Bytes reserved for the buffer text messages are written in: most events and acks fit, so it is
/// not grown (copied) while they are written.
const TEXT_MESSAGE_CAPACITY: usize = 128;

/// The largest buffer a thread keeps for writing text messages; a bigger message's is let go.
const TEXT_SCRATCH_KEPT: usize = 64 << 10;

thread_local! {
    /// Where this thread writes text messages before they are copied into a frame of their exact
    /// size: one allocation per frame, where a frame written in its own growing buffer took two
    /// (the buffer, and the shared header `Bytes` needs when a buffer has room to spare).
    static TEXT_SCRATCH: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(Vec::with_capacity(TEXT_MESSAGE_CAPACITY));
}

impl Frame {
    /// The open packet sent once at the start of a session.
    pub fn open(handshake_json: &str) -> Frame {
        Frame::Text(format!("0{handshake_json}").into())
    }

    /// `1`: the server closes the session (polling only).
    pub fn close() -> Frame {
        Frame::Text(ByteString::from_static("1"))
    }

    /// `2`: a heartbeat ping.
    pub fn ping() -> Frame {
        Frame::Text(ByteString::from_static("2"))
    }

    /// `3probe`: the answer to an upgrade probe.
    pub fn pong_probe() -> Frame {
        Frame::Text(ByteString::from_static("3probe"))
    }

    /// `6`: releases a pending long-polling request.
    pub fn noop() -> Frame {
        Frame::Text(ByteString::from_static("6"))
    }

    /// A text message packet: `4` followed by the text.
    pub fn text_message(text: &str) -> Frame {
        let mut encoded = String::with_capacity(text.len() + 1);
        encoded.push('4');
        encoded.push_str(text);
        Frame::Text(encoded.into())
    }

    /// A text message packet written by `write`, which appends the text (UTF-8) after the `4`.
    /// It is written into the thread's scratch buffer, then copied once into the frame.
    pub fn text_message_with(write: impl FnOnce(&mut Vec<u8>)) -> Frame {
        TEXT_SCRATCH.with(|scratch| {
            // Busy only if `write` itself wrote a text message: then it gets a buffer of its own.
            let mut own = Vec::new();
            let mut borrowed = scratch.try_borrow_mut();
            let encoded = match borrowed.as_deref_mut() {
                Ok(scratch) => scratch,
                Err(_) => &mut own,
            };
            encoded.clear();
            encoded.push(b'4');
            write(encoded);
            let text = match std::str::from_utf8(encoded) {
                Ok(text) => text.to_owned(),
                // Only a bug in the caller gets here; replacement characters beat a panic.
                Err(_) => String::from_utf8_lossy(encoded).into_owned(),
            };
            let frame = Frame::Text(text.into());
            if encoded.capacity() > TEXT_SCRATCH_KEPT {
                *encoded = Vec::with_capacity(TEXT_MESSAGE_CAPACITY);
            }
            frame
        })
    }

    /// A binary message packet.
    pub fn binary_message(bytes: Bytes) -> Frame {
        Frame::Binary(bytes)
    }

    /// Size in bytes on a WebSocket.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(text) => text.len(),
            Frame::Binary(bytes) => bytes.len(),
        }
    }

    /// True for a zero-length frame (never produced by the constructors above).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends this frame as it appears inside a long-polling payload.
    pub fn write_polling(&self, out: &mut String) {
        match self {
            Frame::Text(text) => out.push_str(text),
            Frame::Binary(bytes) => {
                out.push('b');
                base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
            }
        }
    }
}

impl Packet {
    /// Decodes a text packet (a WebSocket text frame, or one packet of a polling payload).
    pub fn decode_text(text: ByteString) -> Result<Packet, PacketError> {
        let Some(kind) = text.chars().next() else {
            return Err(PacketError::Empty);
        };
        // The type is one ASCII character; anything else must not be sliced as if it were.
        if !kind.is_ascii() {
            return Err(PacketError::UnknownType(kind));
        }
        let rest = &text[1..];
        match kind {
            '1' => Ok(Packet::Close),
            '2' => Ok(Packet::Ping {
                probe: rest == "probe",
            }),
            '3' => Ok(Packet::Pong {
                probe: rest == "probe",
            }),
            '4' => Ok(Packet::Message(Message::Text(text.slice_ref(rest)))),
            '5' => Ok(Packet::Upgrade),
            '6' => Ok(Packet::Noop),
            'b' => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(rest)
                    .map_err(|_| PacketError::InvalidBase64)?;
                Ok(Packet::Message(Message::Binary(Bytes::from(bytes))))
            }
            other => Err(PacketError::UnknownType(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &'static str) -> Result<Packet, PacketError> {
        Packet::decode_text(ByteString::from_static(s))
    }

    #[test]
    fn decodes_every_packet_type() {
        assert_eq!(decode("1"), Ok(Packet::Close));
        assert_eq!(decode("2"), Ok(Packet::Ping { probe: false }));
        assert_eq!(decode("2probe"), Ok(Packet::Ping { probe: true }));
        assert_eq!(decode("3"), Ok(Packet::Pong { probe: false }));
        assert_eq!(decode("3probe"), Ok(Packet::Pong { probe: true }));
        assert_eq!(
            decode("4hello"),
            Ok(Packet::Message(Message::Text("hello".into())))
        );
        assert_eq!(decode("5"), Ok(Packet::Upgrade));
        assert_eq!(decode("6"), Ok(Packet::Noop));
        assert_eq!(
            decode("bAQID"),
            Ok(Packet::Message(Message::Binary(Bytes::from_static(&[
                1, 2, 3
            ]))))
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode(""), Err(PacketError::Empty));
        assert_eq!(decode("7"), Err(PacketError::UnknownType('7')));
        assert_eq!(decode("0{}"), Err(PacketError::UnknownType('0')));
        assert_eq!(decode("b!!"), Err(PacketError::InvalidBase64));
        // Found by the fuzzer: a multi-byte first character used to panic.
        assert_eq!(decode("é"), Err(PacketError::UnknownType('é')));
        assert_eq!(
            decode("\u{34d}\u{1}"),
            Err(PacketError::UnknownType('\u{34d}'))
        );
    }

    #[test]
    fn encodes_frames_for_polling() {
        let mut out = String::new();
        Frame::text_message("hi").write_polling(&mut out);
        Frame::binary_message(Bytes::from_static(&[1, 2, 3])).write_polling(&mut out);
        assert_eq!(out, "4hibAQID");
    }
}
