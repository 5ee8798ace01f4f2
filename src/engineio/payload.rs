//! HTTP long-polling payloads: packets joined by the record separator `\x1e`.

use bytestring::ByteString;

use super::error::PacketError;
use super::packet::{Frame, Packet};

/// The separator between packets of one polling payload.
pub const RECORD_SEPARATOR: char = '\x1e';

/// Joins frames into one polling response body.
pub fn encode(frames: &[Frame]) -> String {
    let capacity = frames.iter().map(|f| f.len() + 1).sum::<usize>();
    let mut out = String::with_capacity(capacity);
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.push(RECORD_SEPARATOR);
        }
        frame.write_polling(&mut out);
    }
    out
}

/// Splits a polling request body into packets; any bad packet fails the whole payload.
pub fn decode(body: ByteString) -> Result<Vec<Packet>, PacketError> {
    if body.is_empty() {
        return Err(PacketError::Empty);
    }
    body.split(RECORD_SEPARATOR)
        .map(|part| Packet::decode_text(body.slice_ref(part)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::packet::Message;
    use bytes::Bytes;

    #[test]
    fn round_trips_mixed_payloads() {
        let frames = [
            Frame::text_message("hello"),
            Frame::binary_message(Bytes::from_static(&[1, 2, 3])),
            Frame::ping(),
        ];
        let body = encode(&frames);
        assert_eq!(body, "4hello\x1ebAQID\x1e2");
        let packets = decode(body.into()).unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::Message(Message::Text("hello".into())),
                Packet::Message(Message::Binary(Bytes::from_static(&[1, 2, 3]))),
                Packet::Ping { probe: false },
            ]
        );
    }

    #[test]
    fn one_bad_packet_fails_the_payload() {
        assert_eq!(
            decode("4ok\x1e".into()),
            Err(PacketError::Empty),
            "a trailing separator leaves an empty packet"
        );
        assert_eq!(
            decode("4ok\x1e9".into()),
            Err(PacketError::UnknownType('9'))
        );
        assert_eq!(decode("".into()), Err(PacketError::Empty));
    }
}
