//! Packets in `socket.io-msgpack-parser`'s format: one binary Engine.IO message per packet, the
//! MessagePack object `{type, data, nsp, id}` (notepack.io), binary values inline.
//!
//! Decoded packets go through the same checks as text ones ([`Packet::from_parts`]); binary
//! values become attachments with placeholders, as Agora's arguments always hold them.

use bytes::Bytes;
use rmpv::Value as Msg;
use serde_json::Value;

use super::error::ProtocolError;
use super::msgpack::{json_to_msgpack, msgpack_to_json, read, write};
use super::packet::Packet;
use crate::engineio::Frame;

/// The highest packet type the msgpack parser knows (CONNECT_ERROR): it has no binary types.
const MAX_TYPE: u64 = 4;

/// Encodes a packet into its one binary frame.
pub(crate) fn encode(packet: &Packet) -> Frame {
    let args = |head: Option<&str>, payload: &super::Payload| {
        let head = head.map(Msg::from);
        let rest = payload
            .args()
            .iter()
            .map(|arg| json_to_msgpack(arg, &payload.attachments));
        Msg::Array(head.into_iter().chain(rest).collect())
    };
    let (kind, nsp, id, data) = match packet {
        Packet::Connect { nsp, data } => {
            (0, nsp, None, data.as_ref().map(|d| json_to_msgpack(d, &[])))
        }
        Packet::Disconnect { nsp } => (1, nsp, None, None),
        Packet::Event {
            nsp,
            event,
            payload,
            id,
        } => (2, nsp, *id, Some(args(Some(event), payload))),
        Packet::Ack { nsp, id, payload } => (3, nsp, Some(*id), Some(args(None, payload))),
        Packet::ConnectError { nsp, data } => (4, nsp, None, Some(json_to_msgpack(data, &[]))),
    };
    let mut object = Vec::with_capacity(4);
    object.push((Msg::from("type"), Msg::from(kind)));
    if let Some(data) = data {
        object.push((Msg::from("data"), data));
    }
    object.push((Msg::from("nsp"), Msg::from(nsp.as_str())));
    if let Some(id) = id {
        object.push((Msg::from("id"), Msg::from(id)));
    }
    Frame::binary_message(Bytes::from(write(&Msg::Map(object))))
}

/// notepack.io's `undefined` (fixext 1 of type 0), which a client sends for a field it left out.
fn is_undefined(value: &Msg) -> bool {
    matches!(value, Msg::Ext(0, bytes) if bytes.len() == 1)
}

/// Decodes one binary message into a packet, its binary values as attachments (at most
/// `max_attachments`). A placeholder object written literally in the data is refused.
pub(crate) fn decode(bytes: &[u8], max_attachments: usize) -> Result<Packet, ProtocolError> {
    let Msg::Map(entries) = read(bytes).map_err(|_| ProtocolError::InvalidMessagePack)? else {
        return Err(ProtocolError::InvalidPacketType);
    };
    let (mut kind, mut nsp, mut id, mut data) = (None, None, None, None);
    for (key, value) in entries {
        let slot = match key.as_str() {
            Some("type") => &mut kind,
            Some("nsp") => &mut nsp,
            Some("id") => &mut id,
            Some("data") => &mut data,
            // `options` (the client's compress flag) and anything else is not the server's.
            _ => continue,
        };
        if !is_undefined(&value) {
            *slot = Some(value);
        }
    }
    let kind = kind
        .as_ref()
        .and_then(Msg::as_u64)
        .filter(|kind| *kind <= MAX_TYPE)
        .ok_or(ProtocolError::InvalidPacketType)?;
    let nsp = match nsp {
        Some(Msg::String(nsp)) => nsp.into_str().ok_or(ProtocolError::InvalidNamespace)?,
        _ => return Err(ProtocolError::InvalidNamespace),
    };
    let id = match id {
        None => None,
        Some(id) => Some(id.as_u64().ok_or(ProtocolError::InvalidAckId)?),
    };
    let mut attachments = Vec::new();
    let data: Option<Value> = data.map(|data| msgpack_to_json(data, &mut attachments));
    if attachments.len() > max_attachments {
        return Err(ProtocolError::TooManyAttachments(attachments.len()));
    }
    // The type is at most 4, checked above.
    let mut packet = Packet::from_parts(kind as u8, nsp, id, data)?;
    if let Some(payload) = packet.payload_mut() {
        payload.attachments = attachments;
        // Binary values are inline here, so a placeholder object in the data is a literal one the
        // client wrote: refused, as it would stand for (or alias) a binary value it is not.
        if !payload.placeholders_in_order() {
            return Err(ProtocolError::InvalidPlaceholders);
        }
    } else if !attachments.is_empty() {
        return Err(ProtocolError::UnexpectedBinary);
    }
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socketio::Payload;
    use serde_json::json;

    fn bytes_of(frame: Frame) -> Bytes {
        match frame {
            Frame::Binary(bytes) => bytes,
            Frame::Text(_) => panic!("msgpack packets are binary frames"),
        }
    }

    fn message(fields: Vec<(&str, Msg)>) -> Vec<u8> {
        write(&Msg::Map(
            fields
                .into_iter()
                .map(|(key, value)| (Msg::from(key), value))
                .collect(),
        ))
    }

    #[test]
    fn encodes_as_notepack_does() {
        let event = Packet::Event {
            nsp: "/".into(),
            event: "hi".into(),
            payload: Payload::new(vec![json!(1)]),
            id: Some(7),
        };
        // {"type":2,"data":["hi",1],"nsp":"/","id":7}, keys in Node's order.
        let expected = [
            0x84, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a', 0x92, 0xa2,
            b'h', b'i', 0x01, 0xa3, b'n', b's', b'p', 0xa1, b'/', 0xa2, b'i', b'd', 0x07,
        ];
        assert_eq!(&bytes_of(encode(&event))[..], &expected[..]);
        let disconnect = Packet::Disconnect { nsp: "/a".into() };
        let decoded = read(&bytes_of(encode(&disconnect))).unwrap();
        assert_eq!(
            decoded,
            Msg::Map(vec![
                (Msg::from("type"), Msg::from(1)),
                (Msg::from("nsp"), Msg::from("/a")),
            ])
        );
    }

    #[test]
    fn binary_values_round_trip_as_attachments() {
        let mut payload = Payload::empty();
        let placeholder = payload.attach(Bytes::from_static(&[1, 2, 3]));
        payload.args_mut().push(json!({ "file": placeholder }));
        let ack = Packet::Ack {
            nsp: "/files".into(),
            id: 4,
            payload,
        };
        let decoded = decode(&bytes_of(encode(&ack)), 4).unwrap();
        assert_eq!(decoded, ack);
    }

    #[test]
    fn a_repeated_key_over_binary_values_reads_back_as_itself() {
        // Found by the fuzzer: binary values were numbered in the order of the bytes, not of the
        // object they end up in, so the packet written back read differently.
        let event = message(vec![
            ("type", Msg::from(2)),
            (
                "data",
                Msg::Array(vec![
                    Msg::from("up"),
                    Msg::Map(vec![
                        (Msg::from("a"), Msg::Binary(vec![1])),
                        (Msg::from("b"), Msg::Binary(vec![2])),
                        (Msg::from("a"), Msg::Binary(vec![3])),
                    ]),
                ]),
            ),
            ("nsp", Msg::from("/")),
        ]);
        let packet = decode(&event, 4).unwrap();
        let Packet::Event { payload, .. } = &packet else {
            panic!("an event");
        };
        assert_eq!(payload.binary(&payload.args()[0]["a"]).unwrap()[..], [3]);
        assert_eq!(payload.attachments.len(), 2);
        assert_eq!(decode(&bytes_of(encode(&packet)), 4), Ok(packet));
    }

    #[test]
    fn a_literal_placeholder_is_refused_even_beside_a_binary_value() {
        let literal = |num: i64| {
            Msg::Map(vec![
                (Msg::from("_placeholder"), Msg::Boolean(true)),
                (Msg::from("num"), Msg::from(num)),
            ])
        };
        for data in [
            // It would alias the real binary value...
            vec![Msg::from("up"), Msg::Binary(vec![1]), literal(0)],
            vec![Msg::from("up"), literal(0), Msg::Binary(vec![1])],
            // ...or stand for the next one, out of order.
            vec![
                Msg::from("up"),
                literal(1),
                Msg::Binary(vec![1]),
                Msg::Binary(vec![2]),
            ],
        ] {
            let event = message(vec![
                ("type", Msg::from(2)),
                ("data", Msg::Array(data)),
                ("nsp", Msg::from("/")),
            ]);
            assert_eq!(decode(&event, 4), Err(ProtocolError::InvalidPlaceholders));
        }
    }

    #[test]
    fn reads_what_the_client_sends() {
        // A CONNECT without auth: `data` is notepack's undefined; `options` is the client's.
        let connect = message(vec![
            ("type", Msg::from(0)),
            ("data", Msg::Ext(0, vec![0])),
            ("nsp", Msg::from("/")),
        ]);
        assert_eq!(
            decode(&connect, 4),
            Ok(Packet::Connect {
                nsp: "/".into(),
                data: None
            })
        );
        let event = message(vec![
            ("type", Msg::from(2)),
            (
                "data",
                Msg::Array(vec![Msg::from("up"), Msg::Binary(vec![9])]),
            ),
            (
                "options",
                Msg::Map(vec![(Msg::from("compress"), Msg::Boolean(true))]),
            ),
            ("nsp", Msg::from("/")),
            ("id", Msg::from(3)),
        ]);
        let Packet::Event { payload, id, .. } = decode(&event, 4).unwrap() else {
            panic!("an event");
        };
        assert_eq!(id, Some(3));
        assert_eq!(
            payload.binary(&payload.args()[0]),
            Some(&Bytes::from_static(&[9]))
        );
    }

    #[test]
    fn refuses_malformed_packets() {
        let cases = [
            (vec![0xa5, b'a'], ProtocolError::InvalidMessagePack),
            (vec![0x92, 0x01], ProtocolError::InvalidMessagePack),
            (write(&Msg::from(2)), ProtocolError::InvalidPacketType),
            (
                message(vec![("type", Msg::from(2)), ("nsp", Msg::from("/"))])
                    .into_iter()
                    .chain([0x00])
                    .collect(),
                ProtocolError::InvalidMessagePack,
            ),
            (
                message(vec![("type", Msg::from(5)), ("nsp", Msg::from("/"))]),
                ProtocolError::InvalidPacketType,
            ),
            (
                message(vec![("type", Msg::from(-1)), ("nsp", Msg::from("/"))]),
                ProtocolError::InvalidPacketType,
            ),
            (
                message(vec![
                    ("type", Msg::from(2)),
                    ("data", Msg::Array(vec![Msg::from("a")])),
                ]),
                ProtocolError::InvalidNamespace,
            ),
            (
                message(vec![
                    ("type", Msg::from(2)),
                    ("data", Msg::Array(vec![Msg::from("a")])),
                    ("nsp", Msg::from("/")),
                    ("id", Msg::from(-4)),
                ]),
                ProtocolError::InvalidAckId,
            ),
            (
                message(vec![
                    ("type", Msg::from(2)),
                    ("data", Msg::from("not a list")),
                    ("nsp", Msg::from("/")),
                ]),
                ProtocolError::InvalidPayload,
            ),
            (
                message(vec![
                    ("type", Msg::from(2)),
                    ("data", Msg::Array(vec![Msg::from("disconnect")])),
                    ("nsp", Msg::from("/")),
                ]),
                ProtocolError::ReservedEvent("disconnect".into()),
            ),
            (
                message(vec![
                    ("type", Msg::from(2)),
                    (
                        "data",
                        Msg::Array(vec![
                            Msg::from("a"),
                            Msg::Binary(vec![]),
                            Msg::Binary(vec![]),
                        ]),
                    ),
                    ("nsp", Msg::from("/")),
                ]),
                ProtocolError::TooManyAttachments(2),
            ),
            (
                message(vec![
                    ("type", Msg::from(0)),
                    (
                        "data",
                        Msg::Map(vec![(Msg::from("k"), Msg::Binary(vec![]))]),
                    ),
                    ("nsp", Msg::from("/")),
                ]),
                ProtocolError::UnexpectedBinary,
            ),
        ];
        for (bytes, error) in cases {
            assert_eq!(decode(&bytes, 1).err(), Some(error), "{bytes:02x?}");
        }
        // Nesting deeper than JSON allows.
        let deep: Vec<u8> = std::iter::repeat_n(0x91, 1000).chain([0x01]).collect();
        assert_eq!(
            decode(&deep, 1).err(),
            Some(ProtocolError::InvalidMessagePack)
        );
    }
}
