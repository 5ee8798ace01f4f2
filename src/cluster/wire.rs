//! The wire format of the Node `@socket.io/redis-adapter` (8.x, classic PUBLISH/PSUBSCRIBE mode),
//! so Agora nodes and Node.js Socket.IO servers can share one Redis.
//!
//! - Broadcasts go to `<key>#<nsp>#` (no room or several) or `<key>#<nsp>#<room>#` (one room) as a
//!   MessagePack array `[uid, packet, {rooms, except, flags}]`; `packet` is the socket.io-parser
//!   object `{type, data, nsp}` with binary arguments as MessagePack `bin`. Every node listens with
//!   `PSUBSCRIBE <key>#<nsp>#*` and drops its own messages by `uid`.
//! - Requests go to `<key>-request#<nsp>#` as JSON (or MessagePack) objects `{uid, requestId, type,
//!   …}`; answers go to `<key>-response#<nsp>#` (or `…#<uid>#` for a node that asked for it), as
//!   JSON or MessagePack.
//!
//! Arguments travel inside Agora as JSON with `{"_placeholder":true,"num":N}` for binary values
//! (see [`Payload`]); this module converts between that form and MessagePack.

use std::collections::BTreeSet;

use bytes::Bytes;
use rmpv::Value as Msg;
use serde_json::{Map, Number, Value};

use crate::engineio::Frame;
use crate::socketio::packet::Packet;
use crate::socketio::Payload;

/// The channel prefix of the Node adapter.
pub const DEFAULT_KEY: &str = "socket.io";

/// socket.io-parser packet types.
pub mod packet_type {
    pub const CONNECT: u64 = 0;
    pub const DISCONNECT: u64 = 1;
    pub const EVENT: u64 = 2;
    pub const ACK: u64 = 3;
    pub const CONNECT_ERROR: u64 = 4;
    pub const BINARY_EVENT: u64 = 5;
    pub const BINARY_ACK: u64 = 6;
}

/// The request types of the Node adapter, numbered as it numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    Sockets = 0,
    AllRooms = 1,
    RemoteJoin = 2,
    RemoteLeave = 3,
    RemoteDisconnect = 4,
    RemoteFetch = 5,
    ServerSideEmit = 6,
    Broadcast = 7,
    BroadcastClientCount = 8,
    BroadcastAck = 9,
}

impl RequestType {
    /// The type with this number.
    pub fn from_number(number: u64) -> Option<RequestType> {
        use RequestType::*;
        Some(match number {
            0 => Sockets,
            1 => AllRooms,
            2 => RemoteJoin,
            3 => RemoteLeave,
            4 => RemoteDisconnect,
            5 => RemoteFetch,
            6 => ServerSideEmit,
            7 => Broadcast,
            8 => BroadcastClientCount,
            9 => BroadcastAck,
            _ => return None,
        })
    }
}

/// A message that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not valid MessagePack")]
    MessagePack,
    #[error("not valid JSON")]
    Json,
    #[error("unexpected shape: {0}")]
    Shape(&'static str),
}

/// The Redis channel names of one cluster (one key prefix).
#[derive(Debug, Clone)]
pub struct Channels {
    key: String,
}

/// What a channel carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind<'a> {
    /// A broadcast; the rest of the channel after `<key>#` (the namespace and maybe a room).
    Broadcast(&'a str),
    /// A request to the nodes serving this namespace.
    Request(&'a str),
    /// A response (to some node) about this namespace; the namespace may end in `#<uid>`.
    Response(&'a str),
}

impl Channels {
    /// Channels under `key` (`socket.io` for the Node adapter's default).
    pub fn new(key: &str) -> Channels {
        Channels {
            key: key.to_string(),
        }
    }

    /// `<key>#<nsp>#`, plus `<room>#` for a broadcast to exactly one room.
    pub fn broadcast(&self, nsp: &str, rooms: &[impl AsRef<str>]) -> String {
        match rooms {
            [room] => format!("{}#{nsp}#{}#", self.key, room.as_ref()),
            _ => format!("{}#{nsp}#", self.key),
        }
    }

    /// The pattern matching every broadcast channel of `nsp` (glob characters escaped).
    pub fn broadcast_pattern(&self, nsp: &str) -> String {
        let mut pattern = glob_escape(&format!("{}#{nsp}#", self.key));
        pattern.push('*');
        pattern
    }

    /// `<key>-request#<nsp>#`.
    pub fn request(&self, nsp: &str) -> String {
        format!("{}-request#{nsp}#", self.key)
    }

    /// `<key>-response#<nsp>#`: where Node nodes answer by default.
    pub fn response(&self, nsp: &str) -> String {
        format!("{}-response#{nsp}#", self.key)
    }

    /// `<key>-response#<nsp>#<uid>#`: the node-specific response channel.
    pub fn specific_response(&self, nsp: &str, uid: &str) -> String {
        format!("{}-response#{nsp}#{uid}#", self.key)
    }

    /// Which kind of channel this is, with the part after the prefix; `None` for another cluster.
    pub fn classify<'a>(&self, channel: &'a str) -> Option<ChannelKind<'a>> {
        let rest = channel.strip_prefix(self.key.as_str())?;
        if let Some(rest) = rest.strip_prefix('#') {
            Some(ChannelKind::Broadcast(rest))
        } else if let Some(rest) = rest.strip_prefix("-request#") {
            Some(ChannelKind::Request(rest.strip_suffix('#')?))
        } else if let Some(rest) = rest.strip_prefix("-response#") {
            Some(ChannelKind::Response(rest.strip_suffix('#')?))
        } else {
            None
        }
    }

    /// Does this broadcast channel (as after `<key>#`) belong to `nsp`?
    pub fn broadcast_is_for(rest: &str, nsp: &str) -> bool {
        rest.strip_prefix(nsp)
            .is_some_and(|after| after.starts_with('#'))
    }
}

/// Escapes Redis glob characters.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A socket.io-parser packet as the Node adapter carries it, arguments in Agora's form.
#[derive(Debug, Clone, PartialEq)]
pub struct WirePacket {
    /// socket.io-parser type (see [`packet_type`]).
    pub kind: u64,
    pub nsp: String,
    /// `data`: for an event, `[name, ...args]`; binary values are placeholders.
    pub data: Option<Value>,
    /// The binary values the placeholders in `data` point at.
    pub attachments: Vec<Bytes>,
    pub id: Option<u64>,
}

impl WirePacket {
    /// The packet of an event broadcast in this process, from its encoded frames (a text frame
    /// `4…`, then one binary frame per attachment). `None` for anything else.
    pub fn from_frames(frames: &[Frame]) -> Option<WirePacket> {
        let (Frame::Text(text), rest) = frames.split_first()? else {
            return None;
        };
        let text = text.strip_prefix('4')?;
        let mut partial = Packet::decode(text, rest.len()).ok()?;
        if partial.expected != rest.len() {
            return None;
        }
        let attachments: Vec<Bytes> = rest
            .iter()
            .map(|frame| match frame {
                Frame::Binary(bytes) => Some(bytes.clone()),
                Frame::Text(_) => None,
            })
            .collect::<Option<_>>()?;
        if let Some(payload) = partial.packet.payload_mut() {
            payload.attachments = attachments;
        }
        WirePacket::from_packet(partial.packet)
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
                let mut data = Vec::with_capacity(1 + payload.args.len());
                data.push(Value::String(event));
                data.extend(payload.args);
                Some(WirePacket {
                    kind: packet_type::EVENT,
                    nsp,
                    data: Some(Value::Array(data)),
                    attachments: payload.attachments,
                    id,
                })
            }
            Packet::Ack { nsp, id, payload } => Some(WirePacket {
                kind: packet_type::ACK,
                nsp,
                data: Some(Value::Array(payload.args)),
                attachments: payload.attachments,
                id: Some(id),
            }),
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
            payload: Payload {
                args: items,
                attachments: self.attachments,
            },
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
    pub packet: WirePacket,
    /// Sockets in any of these rooms (all when empty).
    pub rooms: Vec<String>,
    /// Minus the sockets in any of these rooms (socket ids are rooms too).
    pub except: Vec<String>,
    /// Node's broadcast flags (`volatile`, `compress`, `local`, …), passed through.
    pub flags: Value,
}

impl WireBroadcast {
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

/// A request or response: a JSON object (from JSON, or from MessagePack with binary values
/// turned into placeholders over `attachments`).
#[derive(Debug, Clone, PartialEq)]
pub struct WireObject {
    pub body: Value,
    pub attachments: Vec<Bytes>,
}

impl WireObject {
    /// Reads JSON when the message starts with `{`, MessagePack otherwise (as the Node adapter).
    pub fn decode(bytes: &[u8]) -> Result<WireObject, WireError> {
        let (body, attachments) = if bytes.first() == Some(&b'{') {
            let body = serde_json::from_slice(bytes).map_err(|_| WireError::Json)?;
            (body, Vec::new())
        } else {
            let mut attachments = Vec::new();
            let body = msgpack_to_json(read(bytes)?, &mut attachments);
            (body, attachments)
        };
        if !body.is_object() {
            return Err(WireError::Shape("not an object"));
        }
        Ok(WireObject { body, attachments })
    }

    /// MessagePack, placeholders turned back into the binary values they stand for (what the
    /// Node adapter's `parser.encode` produces).
    pub fn encode(&self) -> Vec<u8> {
        write(&json_to_msgpack(&self.body, &self.attachments))
    }

    /// The `type` field.
    pub fn request_type(&self) -> Option<RequestType> {
        self.body
            .get("type")
            .and_then(Value::as_u64)
            .and_then(RequestType::from_number)
    }

    /// A string field.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(Value::as_str)
    }

    /// `requestId`.
    pub fn request_id(&self) -> Option<&str> {
        self.str("requestId")
    }

    /// `opts.rooms` and `opts.except`, when there is an `opts` object.
    pub fn opts(&self) -> Option<(Vec<String>, Vec<String>)> {
        let opts = self.body.get("opts")?.as_object()?;
        Some((room_list(opts.get("rooms")), room_list(opts.get("except"))))
    }
}

fn read(bytes: &[u8]) -> Result<Msg, WireError> {
    let mut reader = bytes;
    rmpv::decode::read_value(&mut reader).map_err(|_| WireError::MessagePack)
}

fn write(value: &Msg) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// MessagePack to JSON: binary (and extension) values become placeholders over `attachments`;
/// map keys become strings.
pub fn msgpack_to_json(value: Msg, attachments: &mut Vec<Bytes>) -> Value {
    match value {
        Msg::Nil => Value::Null,
        Msg::Boolean(b) => Value::Bool(b),
        Msg::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => Value::from(n),
            (None, Some(n)) => Value::from(n),
            _ => Value::Null,
        },
        Msg::F32(f) => Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number),
        Msg::F64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Msg::String(s) => Value::String(text(s)),
        Msg::Binary(bytes) | Msg::Ext(_, bytes) => {
            let num = attachments.len();
            attachments.push(Bytes::from(bytes));
            serde_json::json!({ "_placeholder": true, "num": num })
        }
        Msg::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| msgpack_to_json(item, attachments))
                .collect(),
        ),
        Msg::Map(entries) => {
            let mut object = Map::with_capacity(entries.len());
            for (key, value) in entries {
                let key = match key {
                    Msg::String(s) => text(s),
                    other => other.to_string(),
                };
                object.insert(key, msgpack_to_json(value, attachments));
            }
            Value::Object(object)
        }
    }
}

/// A MessagePack string as text (invalid UTF-8 replaced).
fn text(s: rmpv::Utf8String) -> String {
    if s.is_str() {
        s.into_str().unwrap_or_default()
    } else {
        String::from_utf8_lossy(&s.into_bytes()).into_owned()
    }
}

/// JSON to MessagePack: with `attachments`, placeholders become the binary values they stand for.
pub fn json_to_msgpack(value: &Value, attachments: &[Bytes]) -> Msg {
    match value {
        Value::Null => Msg::Nil,
        Value::Bool(b) => Msg::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Msg::from(i)
            } else if let Some(u) = n.as_u64() {
                Msg::from(u)
            } else {
                Msg::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Msg::from(s.as_str()),
        Value::Array(items) => Msg::Array(
            items
                .iter()
                .map(|item| json_to_msgpack(item, attachments))
                .collect(),
        ),
        Value::Object(object) => {
            if !attachments.is_empty() {
                if let Some(bytes) = placeholder(object).and_then(|num| attachments.get(num)) {
                    return Msg::Binary(bytes.to_vec());
                }
            }
            Msg::Map(
                object
                    .iter()
                    .map(|(key, value)| {
                        (Msg::from(key.as_str()), json_to_msgpack(value, attachments))
                    })
                    .collect(),
            )
        }
    }
}

fn placeholder(object: &Map<String, Value>) -> Option<usize> {
    if object.get("_placeholder")? != &Value::Bool(true) {
        return None;
    }
    object.get("num")?.as_u64().map(|n| n as usize)
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
    fn channel_names_match_the_node_adapter() {
        let channels = Channels::new(DEFAULT_KEY);
        assert_eq!(channels.broadcast("/", &[] as &[&str]), "socket.io#/#");
        assert_eq!(channels.broadcast("/chat", &["r1"]), "socket.io#/chat#r1#");
        assert_eq!(channels.broadcast("/chat", &["a", "b"]), "socket.io#/chat#");
        assert_eq!(channels.broadcast_pattern("/"), "socket.io#/#*");
        assert_eq!(channels.broadcast_pattern("/a*b"), "socket.io#/a\\*b#*");
        assert_eq!(channels.request("/"), "socket.io-request#/#");
        assert_eq!(channels.response("/x"), "socket.io-response#/x#");
        assert_eq!(
            channels.specific_response("/x", "u1"),
            "socket.io-response#/x#u1#"
        );
        assert_eq!(
            channels.classify("socket.io#/chat#r1#"),
            Some(ChannelKind::Broadcast("/chat#r1#"))
        );
        assert_eq!(
            channels.classify("socket.io-request#/chat#"),
            Some(ChannelKind::Request("/chat"))
        );
        assert_eq!(
            channels.classify("socket.io-response#/chat#u1#"),
            Some(ChannelKind::Response("/chat#u1"))
        );
        assert_eq!(channels.classify("other#/chat#"), None);
        assert!(Channels::broadcast_is_for("/chat#r1#", "/chat"));
        assert!(!Channels::broadcast_is_for("/chatter#", "/chat"));
    }

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
        payload.args.push(placeholder);
        let frames = Packet::Event {
            nsp: "/".into(),
            event: "msg".into(),
            payload,
            id: None,
        }
        .to_frames();
        let message = WireBroadcast {
            uid: "abc".into(),
            packet: WirePacket::from_frames(&frames).unwrap(),
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
    fn converts_nested_binary_both_ways() {
        let original = Msg::Array(vec![
            Msg::from("ev"),
            Msg::Map(vec![(
                Msg::from("file"),
                Msg::Array(vec![Msg::Binary(vec![9]), Msg::Binary(vec![8, 7])]),
            )]),
            Msg::F64(1.5),
            Msg::from(-3),
            Msg::Nil,
        ]);
        let mut attachments = Vec::new();
        let json = msgpack_to_json(original.clone(), &mut attachments);
        assert_eq!(
            json,
            json!(["ev", {"file": [{"_placeholder": true, "num": 0}, {"_placeholder": true, "num": 1}]}, 1.5, -3, null])
        );
        assert_eq!(attachments.len(), 2);
        assert_eq!(json_to_msgpack(&json, &attachments), original);
    }

    #[test]
    fn reads_json_and_msgpack_requests() {
        let json =
            WireObject::decode(br#"{"uid":"u","requestId":"q","type":0,"rooms":["a",1]}"#).unwrap();
        assert_eq!(json.request_type(), Some(RequestType::Sockets));
        assert_eq!(json.request_id(), Some("q"));
        assert_eq!(room_list(json.body.get("rooms")), vec!["a", "1"]);
        let msgpack = write(&Msg::Map(vec![
            (Msg::from("type"), Msg::from(7)),
            (Msg::from("requestId"), Msg::from("q2")),
            (
                Msg::from("opts"),
                Msg::Map(vec![
                    (Msg::from("rooms"), Msg::Array(vec![Msg::from("r")])),
                    (Msg::from("except"), Msg::Array(vec![])),
                ]),
            ),
        ]));
        let request = WireObject::decode(&msgpack).unwrap();
        assert_eq!(request.request_type(), Some(RequestType::Broadcast));
        assert_eq!(request.opts(), Some((vec!["r".into()], vec![])));
        assert!(WireObject::decode(b"[1]").is_err());
        assert!(WireObject::decode(b"{oops").is_err());
    }

    #[test]
    fn a_broadcast_request_with_binary_survives_the_round_trip() {
        let mut payload = Payload::new(vec![json!("hi")]);
        let placeholder = payload.attach(Bytes::from_static(&[1, 2]));
        payload.args.push(placeholder);
        let packet = WirePacket::from_packet(Packet::Event {
            nsp: "/".into(),
            event: "question".into(),
            payload,
            id: None,
        })
        .unwrap();
        let request = WireObject {
            body: json!({
                "uid": "u",
                "requestId": "q",
                "type": RequestType::Broadcast as u8,
                "packet": packet.to_json(),
                "opts": {"rooms": ["r"], "except": [], "flags": {"timeout": 500}},
            }),
            attachments: packet.attachments.clone(),
        };
        let bytes = request.encode();
        assert_ne!(
            bytes.first(),
            Some(&b'{'),
            "MessagePack, as the Node adapter sends it"
        );
        let decoded = WireObject::decode(&bytes).unwrap();
        assert_eq!(decoded.request_type(), Some(RequestType::Broadcast));
        assert_eq!(decoded.opts(), Some((vec!["r".into()], vec![])));
        assert_eq!(decoded.body["opts"]["flags"]["timeout"], json!(500));
        let back = WirePacket::from_json(&decoded.body["packet"], decoded.attachments).unwrap();
        assert_eq!(back, packet);
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
        let mut packet = WirePacket::from_frames(&frames).unwrap();
        packet.strip_last_arg("off-2");
        assert_eq!(packet.data, Some(json!(["e", 1, "off-1"])));
        packet.strip_last_arg("off-1");
        assert_eq!(packet.data, Some(json!(["e", 1])));
        packet.push_arg("mine");
        assert_eq!(packet.data, Some(json!(["e", 1, "mine"])));
    }
}
