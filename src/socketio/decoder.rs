//! Reassembles binary packets: a text header announcing N attachments, then N binary messages.
//! Under the msgpack parser every packet is one binary message instead.

use bytes::Bytes;

use super::error::ProtocolError;
use super::msgpack_packet;
use super::packet::{Packet, PartialPacket};
use super::parser::Parser;
use crate::engineio::Frame;

/// Per-connection decoding state.
#[derive(Debug)]
pub struct Decoder {
    parser: Parser,
    max_attachments: usize,
    partial: Option<PartialPacket>,
}

impl Decoder {
    /// A decoder of the default parser's packets that refuses packets announcing more than
    /// `max_attachments` attachments.
    pub fn new(max_attachments: usize) -> Decoder {
        Decoder::with_parser(Parser::Default, max_attachments)
    }

    /// A decoder of `parser`'s packets, holding at most `max_attachments` binary values each.
    pub fn with_parser(parser: Parser, max_attachments: usize) -> Decoder {
        Decoder {
            parser,
            max_attachments,
            partial: None,
        }
    }

    /// Reads back the frames of one packet as `parser` wrote them (a local broadcast, to relay it
    /// to other nodes).
    pub fn read_frames(parser: Parser, frames: &[Frame]) -> Result<Packet, ProtocolError> {
        // These are this server's own frames, bounded when they were made; msgpack holds every
        // binary value inside its one frame, so the count of frames is no bound on attachments.
        let mut decoder = Decoder::with_parser(parser, usize::MAX);
        let mut packet = None;
        for frame in frames {
            if packet.is_some() {
                return Err(ProtocolError::UnexpectedBinary);
            }
            packet = match frame {
                Frame::Text(text) => {
                    decoder.text(text.strip_prefix('4').ok_or(ProtocolError::Empty)?)?
                }
                Frame::Binary(bytes) => decoder.binary(bytes.clone())?,
            };
        }
        packet.ok_or(ProtocolError::Empty)
    }

    /// Feeds a text message; returns a packet once it is whole.
    pub fn text(&mut self, text: &str) -> Result<Option<Packet>, ProtocolError> {
        if self.parser == Parser::Msgpack || self.partial.is_some() {
            return Err(ProtocolError::UnexpectedText);
        }
        let partial = Packet::decode(text, self.max_attachments)?;
        if partial.expected == 0 {
            return finish(partial.packet).map(Some);
        }
        self.partial = Some(partial);
        Ok(None)
    }

    /// Feeds a binary message: the next attachment of the pending packet.
    pub fn binary(&mut self, bytes: Bytes) -> Result<Option<Packet>, ProtocolError> {
        if self.parser == Parser::Msgpack {
            let packet = msgpack_packet::decode(&bytes, self.max_attachments)?;
            return finish(packet).map(Some);
        }
        let partial = self
            .partial
            .as_mut()
            .ok_or(ProtocolError::UnexpectedBinary)?;
        let payload = partial
            .packet
            .payload_mut()
            .ok_or(ProtocolError::UnexpectedBinary)?;
        payload.attachments.push(bytes);
        if payload.attachments.len() < partial.expected {
            return Ok(None);
        }
        match self.partial.take() {
            Some(partial) => finish(partial.packet).map(Some),
            None => Ok(None),
        }
    }
}

/// Checks a whole packet's placeholders against its attachments.
fn finish(packet: Packet) -> Result<Packet, ProtocolError> {
    match &packet {
        Packet::Event { payload, .. } | Packet::Ack { payload, .. }
            if !payload.placeholders_valid() =>
        {
            Err(ProtocolError::InvalidPlaceholders)
        }
        _ => Ok(packet),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_binary_events() {
        let mut decoder = Decoder::new(4);
        let header = r#"52-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(decoder.text(header), Ok(None));
        assert_eq!(decoder.binary(Bytes::from_static(b"a")), Ok(None));
        let packet = decoder.binary(Bytes::from_static(b"b")).unwrap().unwrap();
        let Packet::Event { payload, .. } = packet else {
            panic!("expected an event, got {packet:?}");
        };
        assert_eq!(
            payload.binary(&payload.args()[1]),
            Some(&Bytes::from_static(b"b"))
        );
    }

    #[test]
    fn refuses_out_of_order_and_bad_placeholders() {
        let mut decoder = Decoder::new(4);
        assert_eq!(
            decoder.binary(Bytes::from_static(b"x")),
            Err(ProtocolError::UnexpectedBinary)
        );
        decoder
            .text(r#"51-["up",{"_placeholder":true,"num":0}]"#)
            .unwrap();
        assert_eq!(decoder.text("2[\"a\"]"), Err(ProtocolError::UnexpectedText));

        let mut decoder = Decoder::new(4);
        decoder
            .text(r#"51-["up",{"_placeholder":true,"num":3}]"#)
            .unwrap();
        assert_eq!(
            decoder.binary(Bytes::from_static(b"x")),
            Err(ProtocolError::InvalidPlaceholders)
        );
        assert_eq!(
            decoder.text(r#"55-["up"]"#),
            Err(ProtocolError::TooManyAttachments(5))
        );
    }

    /// Found by the fuzz target `socketio_msgpack_decode`: a msgpack packet carrying two binary
    /// values could not be read back from its one frame (for the cluster relay and the outgoing
    /// listeners), because the frame count bounded the attachments.
    #[test]
    fn frames_read_back_whatever_their_binary_values() {
        for parser in [Parser::Default, Parser::Msgpack] {
            let event = Packet::Event {
                nsp: "/chat".into(),
                event: "files".into(),
                payload: super::super::Payload::with_attachments(
                    vec![
                        serde_json::json!({"_placeholder": true, "num": 0}),
                        serde_json::json!({"_placeholder": true, "num": 1}),
                    ],
                    vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cd")],
                ),
                id: None,
            };
            let frames = parser.frames(&event);
            assert_eq!(
                Decoder::read_frames(parser, &frames),
                Ok(event),
                "{parser:?}"
            );
        }
    }

    #[test]
    fn msgpack_packets_are_whole_binary_messages() {
        let mut decoder = Decoder::with_parser(Parser::Msgpack, 4);
        assert_eq!(decoder.text("2[\"a\"]"), Err(ProtocolError::UnexpectedText));
        let event = Packet::Event {
            nsp: "/".into(),
            event: "a".into(),
            payload: super::super::Payload::empty(),
            id: None,
        };
        let Frame::Binary(bytes) = msgpack_packet::encode(&event) else {
            panic!("msgpack packets are binary frames");
        };
        assert_eq!(decoder.binary(bytes), Ok(Some(event)));
        // A literal placeholder without its binary value is refused, as in a text packet.
        let fake = rmpv::Value::Map(vec![
            ("type".into(), 2.into()),
            (
                "data".into(),
                rmpv::Value::Array(vec![
                    "a".into(),
                    rmpv::Value::Map(vec![
                        ("_placeholder".into(), true.into()),
                        ("num".into(), 0.into()),
                    ]),
                ]),
            ),
            ("nsp".into(), "/".into()),
        ]);
        let bytes = Bytes::from(super::super::msgpack::write(&fake));
        assert_eq!(
            decoder.binary(bytes),
            Err(ProtocolError::InvalidPlaceholders)
        );
    }
}
