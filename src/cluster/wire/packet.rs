//! [`WirePacket`] and [`WireBroadcast`]: socket.io-parser packets and broadcasts as the Node
//! adapter publishes them.

use std::collections::BTreeSet;

use bytes::Bytes;
use rmpv::Value as Msg;
use serde_json::{Map, Value};

use super::{packet_type, WireError};
use crate::engineio::{Frame, SendOptions};
use crate::socketio::msgpack::{json_to_msgpack, msgpack_to_json, read, text, write};
use crate::socketio::packet::Packet;
use crate::socketio::{Decoder, Parser, Payload};

/// A socket.io-parser packet as the Node adapter carries it, arguments in Agora's form.
#[derive(Debug, Clone, PartialEq)]
pub struct WirePacket {
    /// socket.io-parser type (see [`packet_type`]).
    pub kind: u64,
    /// The namespace.
    pub nsp: String,
    /// `data`: for an event, `[name, ...args]`; binary values are placeholders.
    pub data: Option<Value>,
    /// The binary values the placeholders in `data` point at.
    pub attachments: Vec<Bytes>,
    /// The ack id, if any.
    pub id: Option<u64>,
}

impl WirePacket {
    /// The packet of an event broadcast in this process, from the frames `parser` encoded it
    /// into. `None` for anything else.
    pub fn from_frames(frames: &[Frame], parser: Parser) -> Option<WirePacket> {
        WirePacket::from_packet(Decoder::read_frames(parser, frames).ok()?)
    }

    /// The wire form of an event or ack packet.
    pub fn from_packet(packet: Packet) -> Option<WirePacket> {
        match packet {
            Packet::Event {
                nsp,
                event,
                payload,
                id,
            } => {
                let (args, attachments) = payload.into_parts();
                let mut data = Vec::with_capacity(1 + args.len());
                data.push(Value::String(event));
                data.extend(args);
                Some(WirePacket {
                    kind: packet_type::EVENT,
                    nsp,
                    data: Some(Value::Array(data)),
                    attachments,
                    id,
                })
            }
            Packet::Ack { nsp, id, payload } => {
                let (args, attachments) = payload.into_parts();
                Some(WirePacket {
                    kind: packet_type::ACK,
                    nsp,
                    data: Some(Value::Array(args)),
                    attachments,
                    id: Some(id),
                })
            }
            _ => None,
        }
    }

    /// Drops the last argument of an event if it is this string (a recovery offset).
    pub fn strip_last_arg(&mut self, value: &str) {
        if let Some(Value::Array(items)) = &mut self.data {
            if items.len() > 1 && items.last().and_then(Value::as_str) == Some(value) {
                items.pop();
            }
        }
    }

    /// Appends a string argument to an event (a recovery offset).
    pub fn push_arg(&mut self, value: &str) {
        if let Some(Value::Array(items)) = &mut self.data {
            items.push(Value::String(value.to_string()));
        }
    }

    /// The Agora packet for an event (2 or 5); `None` for other types or a malformed event.
    pub fn into_event(self) -> Option<Packet> {
        if !matches!(self.kind, packet_type::EVENT | packet_type::BINARY_EVENT) {
            return None;
        }
        let Some(Value::Array(mut items)) = self.data else {
            return None;
        };
        if items.is_empty() {
            return None;
        }
        let event = match items.remove(0) {
            Value::String(name) => name,
            Value::Number(number) => number.to_string(),
            _ => return None,
        };
        Some(Packet::Event {
            nsp: self.nsp,
            event,
            payload: Payload::with_attachments(items, self.attachments),
            id: None,
        })
    }

    /// The MessagePack map `{type, data, nsp[, id]}`.
    pub fn to_msgpack(&self) -> Msg {
        let mut map = vec![
            (Msg::from("type"), Msg::from(self.kind)),
            (
                Msg::from("data"),
                self.data
                    .as_ref()
                    .map(|data| json_to_msgpack(data, &self.attachments))
                    .unwrap_or(Msg::Nil),
            ),
            (Msg::from("nsp"), Msg::from(self.nsp.as_str())),
        ];
        if let Some(id) = self.id {
            map.push((Msg::from("id"), Msg::from(id)));
        }
        Msg::Map(map)
    }

    /// The packet object in JSON form `{type, data, nsp[, id]}`, binary values still placeholders
    /// over [`attachments`](WirePacket::attachments).
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("type".into(), Value::from(self.kind));
        object.insert("data".into(), self.data.clone().unwrap_or(Value::Null));
        object.insert("nsp".into(), Value::from(self.nsp.as_str()));
        if let Some(id) = self.id {
            object.insert("id".into(), Value::from(id));
        }
        Value::Object(object)
    }

    /// Reads the packet object (JSON form, placeholders already in place).
    pub fn from_json(value: &Value, attachments: Vec<Bytes>) -> Result<WirePacket, WireError> {
        let object = value.as_object().ok_or(WireError::Shape("packet"))?;
        let kind = object
            .get("type")
            .and_then(Value::as_u64)
            .ok_or(WireError::Shape("packet type"))?;
        let nsp = match object.get("nsp") {
            Some(Value::String(nsp)) => nsp.clone(),
            _ => "/".to_string(),
        };
        Ok(WirePacket {
            kind,
            nsp,
            data: object.get("data").cloned(),
            attachments,
            id: object.get("id").and_then(Value::as_u64),
        })
    }
}

/// A broadcast published by some node.
#[derive(Debug, Clone, PartialEq)]
pub struct WireBroadcast {
    /// The publishing node.
    pub uid: String,
    /// What is broadcast.
    pub packet: WirePacket,
    /// Sockets in any of these rooms (all when empty).
    pub rooms: Vec<String>,
    /// Minus the sockets in any of these rooms (socket ids are rooms too).
    pub except: Vec<String>,
    /// Node's broadcast flags (`volatile`, `compress`, `local`, …), passed through.
    pub flags: Value,
}

impl WireBroadcast {
    /// The broadcast flags Node sets for these send options (`volatile: true`, `compress:
    /// false`; none for the defaults).
    pub fn flags_of(send: SendOptions) -> Value {
        let mut flags = Map::new();
        if send.volatile {
            flags.insert("volatile".into(), Value::Bool(true));
        }
        if !send.compress {
            flags.insert("compress".into(), Value::Bool(false));
        }
        Value::Object(flags)
    }

    /// The send options the broadcast's flags ask for.
    pub fn send_options(&self) -> SendOptions {
        SendOptions {
            volatile: self.flags.get("volatile") == Some(&Value::Bool(true)),
            compress: self.flags.get("compress") != Some(&Value::Bool(false)),
        }
    }

    /// `[uid, packet, {rooms, except, flags}]` in MessagePack.
    pub fn encode(&self) -> Vec<u8> {
        let strings =
            |items: &[String]| Msg::Array(items.iter().map(|s| Msg::from(s.as_str())).collect());
        let options = Msg::Map(vec![
            (Msg::from("rooms"), strings(&self.rooms)),
            (Msg::from("except"), strings(&self.except)),
            (Msg::from("flags"), json_to_msgpack(&self.flags, &[])),
        ]);
        let message = Msg::Array(vec![
            Msg::from(self.uid.as_str()),
            self.packet.to_msgpack(),
            options,
        ]);
        write(&message)
    }

    /// Reads `[uid, packet, opts]`.
    pub fn decode(bytes: &[u8]) -> Result<WireBroadcast, WireError> {
        let message = read(bytes)?;
        let Msg::Array(parts) = message else {
            return Err(WireError::Shape("broadcast is not an array"));
        };
        let mut parts = parts.into_iter();
        let (Some(uid), Some(packet), Some(options)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(WireError::Shape("broadcast has fewer than 3 parts"));
        };
        let uid = match uid {
            Msg::String(uid) => text(uid),
            other => other.to_string(),
        };
        let mut attachments = Vec::new();
        let packet = msgpack_to_json(packet, &mut attachments);
        let packet = WirePacket::from_json(&packet, attachments)?;
        let options = msgpack_to_json(options, &mut Vec::new());
        Ok(WireBroadcast {
            uid,
            packet,
            rooms: room_list(options.get("rooms")),
            except: room_list(options.get("except")),
            flags: options.get("flags").cloned().unwrap_or(Value::Null),
        })
    }
}

/// Room names from a JSON array (numbers become their text), without repeats.
pub fn room_list(value: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    unique(items.iter().filter_map(|item| match item {
        Value::String(room) => Some(room.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }))
}

/// The names in their first order, without repeats (as Node's `Set`s of rooms).
pub fn unique(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names
        .into_iter()
        .filter(|name| seen.insert(name.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What notepack.io (the Node adapter's MessagePack) produces for
    /// `["abc", {type: 2, data: ["msg", "hi", Buffer.from([1, 2])], nsp: "/"},
    ///  {rooms: ["r"], except: ["s"], flags: {}}]`.
    const NODE_BROADCAST: &[u8] = &[
        0x93, 0xa3, b'a', b'b', b'c', 0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a',
        b't', b'a', 0x93, 0xa3, b'm', b's', b'g', 0xa2, b'h', b'i', 0xc4, 0x02, 0x01, 0x02, 0xa3,
        b'n', b's', b'p', 0xa1, b'/', 0x83, 0xa5, b'r', b'o', b'o', b'm', b's', 0x91, 0xa1, b'r',
        0xa6, b'e', b'x', b'c', b'e', b'p', b't', 0x91, 0xa1, b's', 0xa5, b'f', b'l', b'a', b'g',
        b's', 0x80,
    ];

    #[test]
    fn decodes_a_node_broadcast() {
        let message = WireBroadcast::decode(NODE_BROADCAST).unwrap();
        assert_eq!(message.uid, "abc");
        assert_eq!(message.rooms, vec!["r"]);
        assert_eq!(message.except, vec!["s"]);
        let packet = message.packet.into_event().unwrap();
        let frames = packet.to_frames();
        assert_eq!(
            frames[0],
            Frame::Text(r#"451-["msg","hi",{"_placeholder":true,"num":0}]"#.into())
        );
        assert_eq!(frames[1], Frame::Binary(Bytes::from_static(&[1, 2])));
    }

    #[test]
    fn encodes_as_notepack_does() {
        let mut payload = Payload::new(vec![json!("hi")]);
        let placeholder = payload.attach(Bytes::from_static(&[1, 2]));
        payload.args_mut().push(placeholder);
        let frames = Packet::Event {
            nsp: "/".into(),
            event: "msg".into(),
            payload,
            id: None,
        }
        .to_frames();
        let message = WireBroadcast {
            uid: "abc".into(),
            packet: WirePacket::from_frames(&frames, Parser::Default).unwrap(),
            rooms: vec!["r".into()],
            except: vec!["s".into()],
            flags: json!({}),
        };
        assert_eq!(message.encode(), NODE_BROADCAST);
        assert_eq!(WireBroadcast::decode(&message.encode()).unwrap(), {
            let mut decoded = message.clone();
            decoded.flags = json!({});
            decoded
        });
    }

    #[test]
    fn strips_and_adds_offsets() {
        let frames = Packet::Event {
            nsp: "/".into(),
            event: "e".into(),
            payload: Payload::new(vec![json!(1), json!("off-1")]),
            id: None,
        }
        .to_frames();
        let mut packet = WirePacket::from_frames(&frames, Parser::Default).unwrap();
        packet.strip_last_arg("off-2");
        assert_eq!(packet.data, Some(json!(["e", 1, "off-1"])));
        packet.strip_last_arg("off-1");
        assert_eq!(packet.data, Some(json!(["e", 1])));
        packet.push_arg("mine");
        assert_eq!(packet.data, Some(json!(["e", 1, "mine"])));
    }

    #[test]
    fn send_options_cross_as_node_flags() {
        for send in [
            SendOptions::default(),
            SendOptions {
                volatile: true,
                compress: false,
            },
        ] {
            let message = WireBroadcast {
                uid: "u".into(),
                packet: WirePacket::from_packet(Packet::Event {
                    nsp: "/".into(),
                    event: "e".into(),
                    payload: Payload::empty(),
                    id: None,
                })
                .expect("an event"),
                rooms: Vec::new(),
                except: Vec::new(),
                flags: WireBroadcast::flags_of(send),
            };
            let decoded = WireBroadcast::decode(&message.encode()).expect("decodes");
            assert_eq!(decoded.send_options(), send);
        }
        assert_eq!(
            WireBroadcast::flags_of(SendOptions {
                volatile: true,
                compress: false
            }),
            json!({"volatile": true, "compress": false})
        );
    }
}
