//! Answers between nodes: read once from the wire into a typed [`ResponseMessage`], so the code
//! that waits for them reads no JSON field by name.

use serde_json::Value;

use super::packet::room_list;
use super::request::WireObject;
use super::{RequestType, WireError};
use crate::socketio::{FetchedSocket, Payload, Room, SocketId};

/// The most sockets read from one node's answer to a fetch; the rest are dropped (and logged).
pub const MAX_FETCHED_SOCKETS: usize = 10_000;

/// What a node answers to a request of this one.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// BROADCAST_CLIENT_COUNT: how many of its sockets a broadcast with acks reached.
    ClientCount(usize),
    /// BROADCAST_ACK: one client's answer (its first argument; none comes as `null`).
    Ack(Payload),
    /// The `sockets` of a SOCKETS answer: socket ids (other items skipped).
    Sockets(Vec<String>),
    /// The `sockets` of a REMOTE_FETCH answer: objects with `id`, `rooms`, `handshake`, `data`
    /// (items without an id skipped).
    Fetched(Vec<FetchedSocket>),
    /// A server's answer to a SERVER_SIDE_EMIT with an acknowledgement: its `data`.
    ServerSide(Value),
    /// The `rooms` of an ALL_ROOMS answer.
    Rooms(Vec<String>),
    /// Any other answer (a BROADCAST_CLIENT_COUNT without a usable count, say): it counts as
    /// answered, and says nothing more.
    Other,
}

/// An answer as it arrives: to which request, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMessage {
    /// The `requestId` of the request answered.
    pub request_id: String,
    /// The answer.
    pub response: Response,
}

impl ResponseMessage {
    /// Reads an answer, JSON or MessagePack.
    pub fn decode(bytes: &[u8]) -> Result<ResponseMessage, WireError> {
        ResponseMessage::parse(WireObject::decode(bytes)?)
    }

    /// Reads an answer from its object form.
    pub fn parse(object: WireObject) -> Result<ResponseMessage, WireError> {
        let request_id = object
            .str("requestId")
            .ok_or(WireError::Shape("answer without requestId"))?
            .to_string();
        let kind = object
            .body
            .get("type")
            .and_then(Value::as_u64)
            .and_then(RequestType::from_number);
        let strings = |field: &str| match object.body.get(field) {
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        };
        let fetched_sockets = fetched(&object.body);
        let response = match kind {
            Some(RequestType::BroadcastClientCount) => object
                .body
                .get("clientCount")
                .and_then(Value::as_u64)
                .and_then(|count| usize::try_from(count).ok())
                .map_or(Response::Other, Response::ClientCount),
            Some(RequestType::BroadcastAck) => {
                let WireObject {
                    mut body,
                    attachments,
                } = object;
                // An answer without arguments comes without `packet` (undefined, in Node).
                let first = body.get_mut("packet").map(Value::take).unwrap_or_default();
                Response::Ack(Payload::with_attachments(vec![first], attachments))
            }
            Some(RequestType::ServerSideEmit) => {
                Response::ServerSide(object.body.get("data").cloned().unwrap_or_default())
            }
            _ => match (fetched_sockets, strings("sockets"), strings("rooms")) {
                (Some(sockets), _, _) => Response::Fetched(sockets),
                (None, Some(sockets), _) => Response::Sockets(sockets),
                (None, None, Some(rooms)) => Response::Rooms(rooms),
                (None, None, None) => Response::Other,
            },
        };
        Ok(ResponseMessage {
            request_id,
            response,
        })
    }
}

/// The sockets of a REMOTE_FETCH answer, if its `sockets` holds only objects (at most
/// [`MAX_FETCHED_SOCKETS`]).
fn fetched(body: &Value) -> Option<Vec<FetchedSocket>> {
    let Some(Value::Array(items)) = body.get("sockets") else {
        return None;
    };
    if items.is_empty() || !items.iter().all(Value::is_object) {
        return None;
    }
    if items.len() > MAX_FETCHED_SOCKETS {
        tracing::warn!(
            sockets = items.len(),
            "a fetch answer with too many sockets: the rest are dropped"
        );
    }
    let sockets = items
        .iter()
        .take(MAX_FETCHED_SOCKETS)
        .filter_map(|item| {
            let id = item.get("id")?.as_str()?;
            Some(FetchedSocket {
                id: SocketId::from(id),
                rooms: room_list(item.get("rooms"))
                    .into_iter()
                    .map(Room::from)
                    .collect(),
                handshake: item.get("handshake").cloned().unwrap_or_default(),
                data: item.get("data").cloned().unwrap_or_default(),
            })
        })
        .collect();
    Some(sockets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_answers_by_their_shape() {
        let answer = |body: Value| {
            ResponseMessage::parse(WireObject {
                body,
                attachments: Vec::new(),
            })
        };
        assert_eq!(
            answer(json!({"requestId": "q", "sockets": ["a", {"id": "b"}]})).map(|a| a.response),
            Ok(Response::Sockets(vec!["a".into()]))
        );
        assert_eq!(
            answer(json!({"requestId": "q", "rooms": ["r"]})).map(|a| a.response),
            Ok(Response::Rooms(vec!["r".into()]))
        );
        assert_eq!(
            answer(json!({"requestId": "q", "type": 8, "clientCount": 3})).map(|a| a.response),
            Ok(Response::ClientCount(3))
        );
        assert_eq!(
            answer(json!({"requestId": "q", "type": 9})).map(|a| a.response),
            Ok(Response::Ack(Payload::new(vec![Value::Null])))
        );
        assert_eq!(
            answer(json!({"requestId": "q"})).map(|a| a.response),
            Ok(Response::Other)
        );
        assert!(answer(json!({"sockets": []})).is_err());
        assert_eq!(
            answer(json!({"requestId": "q", "type": 6, "data": {"n": 1}})).map(|a| a.response),
            Ok(Response::ServerSide(json!({"n": 1})))
        );
        let fetched = answer(json!({"requestId": "q", "sockets": [
            {"id": "s1", "rooms": ["s1", "r", 7], "handshake": {"auth": {}}, "data": {"u": 1}},
            {"rooms": ["no id"]},
        ]}));
        assert_eq!(
            fetched.map(|a| a.response),
            Ok(Response::Fetched(vec![FetchedSocket {
                id: SocketId::from("s1"),
                rooms: vec![Room::from("s1"), Room::from("r"), Room::from("7")],
                handshake: json!({"auth": {}}),
                data: json!({"u": 1}),
            }]))
        );
    }
}
