//! Requests between nodes: read once from the wire into a typed [`RequestMessage`], so the code
//! that answers reads no JSON field by name.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use super::packet::{room_list, WirePacket};
use super::{RequestType, WireError};
use crate::socketio::msgpack::{json_to_msgpack, msgpack_to_json, read, write};
use crate::socketio::packet::Packet;
use crate::socketio::{Payload, Room};

/// The most arguments a server-side event from another node may carry (the event name aside).
pub const MAX_SERVER_SIDE_ARGS: usize = 64;

/// A request or response: a JSON object (from JSON, or from MessagePack with binary values
/// turned into placeholders over `attachments`).
#[derive(Debug, Clone, PartialEq)]
pub struct WireObject {
    /// The object, binary values as placeholders.
    pub body: Value,
    /// The binary values the placeholders in `body` point at.
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

    /// A string field.
    pub(super) fn str(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(Value::as_str)
    }

    /// `opts.rooms` and `opts.except`, when there is an `opts` object.
    fn filter(&self) -> Option<RoomFilter> {
        let opts = self.body.get("opts")?.as_object()?;
        Some(RoomFilter {
            rooms: rooms(opts.get("rooms")),
            except: rooms(opts.get("except")),
        })
    }
}

/// Room names from a JSON array (numbers become their text), without repeats.
fn rooms(value: Option<&Value>) -> Vec<Room> {
    room_list(value).into_iter().map(Room::from).collect()
}

/// Which sockets a request is about: those in any of `rooms` (all when empty), minus those in any
/// of `except` (socket ids are rooms too). The request's `opts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomFilter {
    /// Sockets in any of these rooms; every socket when empty.
    pub rooms: Vec<Room>,
    /// Minus the sockets in any of these rooms.
    pub except: Vec<Room>,
}

/// The sockets a REMOTE_JOIN, REMOTE_LEAVE or REMOTE_DISCONNECT is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Those the filter selects, on every node (`io.in(room).socketsJoin(…)` and friends).
    Selected(RoomFilter),
    /// One socket by id, the form of older Node adapters: answered by the node that has it.
    Socket(String),
}

/// Another node's broadcast with acks (`emitWithAck`), to deliver here with an ack id of ours.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastRequest {
    /// Where to send BROADCAST_CLIENT_COUNT and BROADCAST_ACK.
    pub request_id: String,
    /// The event name.
    pub event: String,
    /// Its arguments.
    pub payload: Payload,
    /// Which sockets it is for.
    pub filter: RoomFilter,
    /// How long the asking node waits for answers (`opts.flags.timeout`), if it said.
    pub timeout: Option<Duration>,
}

/// What another node asks of this one.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// SOCKETS: the ids of the sockets in any of these rooms (all when empty).
    Sockets {
        /// The rooms.
        rooms: Vec<Room>,
    },
    /// ALL_ROOMS: every room with a member, narrowed to this prefix (Agora's own field; empty from
    /// Node.js).
    AllRooms {
        /// The prefix room names start with.
        prefix: String,
    },
    /// REMOTE_JOIN: the target sockets join the rooms.
    RemoteJoin {
        /// Which sockets.
        target: Target,
        /// The rooms they join.
        rooms: Vec<Room>,
    },
    /// REMOTE_LEAVE: the target sockets leave the rooms.
    RemoteLeave {
        /// Which sockets.
        target: Target,
        /// The rooms they leave.
        rooms: Vec<Room>,
    },
    /// REMOTE_DISCONNECT: the target sockets are disconnected.
    RemoteDisconnect {
        /// Which sockets.
        target: Target,
        /// Whether their whole connection closes, or only their namespace.
        close: bool,
    },
    /// REMOTE_FETCH (`fetchSockets()`): the selected sockets with their rooms.
    RemoteFetch {
        /// Which sockets.
        filter: RoomFilter,
    },
    /// SERVER_SIDE_EMIT: an event for this server's server-side handlers; answered when the
    /// message has a `requestId` (`serverSideEmitWithAck`).
    ServerSideEmit {
        /// The event name (the first item of `data`).
        event: String,
        /// Its arguments (the rest of `data`).
        args: Vec<Value>,
    },
    /// BROADCAST: an event to deliver with acks.
    Broadcast(BroadcastRequest),
}

/// A request as it arrives: who asks, under which id, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMessage {
    /// The asking node's `uid` (a node's own requests come back to it).
    pub uid: Option<String>,
    /// The `requestId` that answers carry.
    pub request_id: Option<String>,
    /// What is asked.
    pub request: Request,
}

impl RequestMessage {
    /// Reads a request, JSON or MessagePack.
    pub fn decode(bytes: &[u8]) -> Result<RequestMessage, WireError> {
        RequestMessage::parse(WireObject::decode(bytes)?)
    }

    /// Reads a request from its object form.
    pub fn parse(object: WireObject) -> Result<RequestMessage, WireError> {
        let kind = object
            .body
            .get("type")
            .and_then(Value::as_u64)
            .and_then(RequestType::from_number)
            .ok_or(WireError::Shape("unknown request type"))?;
        let request = match kind {
            RequestType::Sockets => Request::Sockets {
                rooms: rooms(object.body.get("rooms")),
            },
            RequestType::AllRooms => Request::AllRooms {
                prefix: object.str("prefix").unwrap_or_default().to_string(),
            },
            RequestType::RemoteJoin | RequestType::RemoteLeave => {
                let (target, rooms) = match (object.filter(), object.str("sid"), object.str("room"))
                {
                    (Some(filter), _, _) => {
                        (Target::Selected(filter), rooms(object.body.get("rooms")))
                    }
                    (None, Some(sid), Some(room)) => {
                        (Target::Socket(sid.to_string()), vec![Room::from(room)])
                    }
                    _ => return Err(WireError::Shape("no opts, nor sid and room")),
                };
                if kind == RequestType::RemoteJoin {
                    Request::RemoteJoin { target, rooms }
                } else {
                    Request::RemoteLeave { target, rooms }
                }
            }
            RequestType::RemoteDisconnect => {
                let target = match (object.filter(), object.str("sid")) {
                    (Some(filter), _) => Target::Selected(filter),
                    (None, Some(sid)) => Target::Socket(sid.to_string()),
                    _ => return Err(WireError::Shape("no opts, nor sid")),
                };
                let close = object.body.get("close").and_then(Value::as_bool);
                Request::RemoteDisconnect {
                    target,
                    close: close.unwrap_or(false),
                }
            }
            RequestType::RemoteFetch => Request::RemoteFetch {
                filter: object.filter().unwrap_or_default(),
            },
            RequestType::ServerSideEmit => server_side_emit(&object.body)?,
            RequestType::Broadcast => Request::Broadcast(BroadcastRequest::parse(&object)?),
            RequestType::BroadcastClientCount | RequestType::BroadcastAck => {
                return Err(WireError::Shape("an answer on the request channel"));
            }
        };
        Ok(RequestMessage {
            uid: object.str("uid").map(str::to_owned),
            request_id: object.str("requestId").map(str::to_owned),
            request,
        })
    }
}

/// A SERVER_SIDE_EMIT's `data`: `[event, ...args]`, the event a string, the arguments capped.
fn server_side_emit(body: &Value) -> Result<Request, WireError> {
    let Some(Value::Array(data)) = body.get("data") else {
        return Err(WireError::Shape("server-side emit without a data array"));
    };
    let Some((Value::String(event), args)) = data.split_first() else {
        return Err(WireError::Shape("server-side emit without an event name"));
    };
    if args.len() > MAX_SERVER_SIDE_ARGS {
        return Err(WireError::Shape("server-side emit with too many arguments"));
    }
    Ok(Request::ServerSideEmit {
        event: event.clone(),
        args: args.to_vec(),
    })
}

impl BroadcastRequest {
    fn parse(object: &WireObject) -> Result<BroadcastRequest, WireError> {
        let request_id = object
            .str("requestId")
            .ok_or(WireError::Shape("broadcast without requestId"))?;
        let packet = object
            .body
            .get("packet")
            .ok_or(WireError::Shape("broadcast without packet"))?;
        let packet = WirePacket::from_json(packet, object.attachments.clone())?;
        let Some(Packet::Event { event, payload, .. }) = packet.into_event() else {
            return Err(WireError::Shape(
                "broadcast of something else than an event",
            ));
        };
        let timeout = object.body.pointer("/opts/flags/timeout");
        Ok(BroadcastRequest {
            request_id: request_id.to_string(),
            event,
            payload,
            filter: object.filter().unwrap_or_default(),
            timeout: timeout.and_then(Value::as_u64).map(Duration::from_millis),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value as Msg;
    use serde_json::json;

    fn request(body: Value) -> Result<Request, WireError> {
        RequestMessage::parse(WireObject {
            body,
            attachments: Vec::new(),
        })
        .map(|message| message.request)
    }

    fn filter(rooms: &[&str], except: &[&str]) -> RoomFilter {
        let rooms_of = |items: &[&str]| items.iter().map(|s| Room::from(*s)).collect();
        RoomFilter {
            rooms: rooms_of(rooms),
            except: rooms_of(except),
        }
    }

    #[test]
    fn reads_json_and_msgpack_requests() {
        let json =
            RequestMessage::decode(br#"{"uid":"u","requestId":"q","type":0,"rooms":["a",1]}"#)
                .unwrap();
        assert_eq!(json.uid.as_deref(), Some("u"));
        assert_eq!(json.request_id.as_deref(), Some("q"));
        assert_eq!(
            json.request,
            Request::Sockets {
                rooms: vec![Room::from("a"), Room::from("1")]
            }
        );
        let msgpack = write(&Msg::Map(vec![
            (Msg::from("type"), Msg::from(5)),
            (Msg::from("requestId"), Msg::from("q2")),
            (
                Msg::from("opts"),
                Msg::Map(vec![
                    (Msg::from("rooms"), Msg::Array(vec![Msg::from("r")])),
                    (Msg::from("except"), Msg::Array(vec![])),
                ]),
            ),
        ]));
        let fetch = RequestMessage::decode(&msgpack).unwrap();
        assert_eq!(
            fetch.request,
            Request::RemoteFetch {
                filter: filter(&["r"], &[])
            }
        );
        assert!(RequestMessage::decode(b"[1]").is_err());
        assert!(RequestMessage::decode(b"{oops").is_err());
        assert!(RequestMessage::decode(br#"{"type":42}"#).is_err());
    }

    #[test]
    fn reads_both_forms_of_remote_join_leave_and_disconnect() {
        assert_eq!(
            request(json!({"type": 2, "opts": {"rooms": ["a"], "except": ["b"]}, "rooms": ["n"]})),
            Ok(Request::RemoteJoin {
                target: Target::Selected(filter(&["a"], &["b"])),
                rooms: vec![Room::from("n")],
            })
        );
        assert_eq!(
            request(json!({"type": 3, "sid": "s1", "room": "n"})),
            Ok(Request::RemoteLeave {
                target: Target::Socket("s1".into()),
                rooms: vec![Room::from("n")],
            })
        );
        assert!(request(json!({"type": 2, "sid": "s1"})).is_err());
        assert_eq!(
            request(json!({"type": 4, "opts": {"rooms": ["a"]}, "close": true})),
            Ok(Request::RemoteDisconnect {
                target: Target::Selected(filter(&["a"], &[])),
                close: true,
            })
        );
        assert_eq!(
            request(json!({"type": 4, "sid": "s1"})),
            Ok(Request::RemoteDisconnect {
                target: Target::Socket("s1".into()),
                close: false,
            })
        );
        assert_eq!(
            request(json!({"type": 1})),
            Ok(Request::AllRooms {
                prefix: String::new()
            })
        );
    }

    #[test]
    fn a_broadcast_request_with_binary_survives_the_round_trip() {
        let mut payload = Payload::new(vec![json!("hi")]);
        let placeholder = payload.attach(Bytes::from_static(&[1, 2]));
        payload.args_mut().push(placeholder);
        let packet = WirePacket::from_packet(Packet::Event {
            nsp: "/".into(),
            event: "question".into(),
            payload: payload.clone(),
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
        let decoded = RequestMessage::decode(&bytes).unwrap();
        assert_eq!(
            decoded.request,
            Request::Broadcast(BroadcastRequest {
                request_id: "q".into(),
                event: "question".into(),
                payload,
                filter: filter(&["r"], &[]),
                timeout: Some(Duration::from_millis(500)),
            })
        );
        let mut without_id = request.body.clone();
        without_id["requestId"] = Value::Null;
        assert!(super::tests::request(without_id).is_err());
    }

    #[test]
    fn reads_server_side_emits_and_refuses_malformed_ones() {
        assert_eq!(
            request(json!({"type": 6, "data": ["hello", 1, {"a": true}]})),
            Ok(Request::ServerSideEmit {
                event: "hello".into(),
                args: vec![json!(1), json!({"a": true})],
            })
        );
        for bad in [
            json!({"type": 6}),
            json!({"type": 6, "data": "hello"}),
            json!({"type": 6, "data": []}),
            json!({"type": 6, "data": [42, "x"]}),
            json!({"type": 6, "data": std::iter::once(json!("e"))
                .chain(std::iter::repeat_n(json!(0), MAX_SERVER_SIDE_ARGS + 1))
                .collect::<Vec<_>>()}),
        ] {
            assert!(request(bad.clone()).is_err(), "{bad}");
        }
    }
}
