//! Socket.IO v5 packets: `<type>[<attachments>-][<nsp>,][<ack id>][JSON]`.

use std::io::Write as _;

use bytes::Bytes;
use serde_json::Value;

use super::error::ProtocolError;
use super::json_text;
use super::payload::Payload;
use crate::engineio::{Frame, Frames};

/// Event names a client may not emit, because the client library uses them itself.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The main namespace.
pub const MAIN_NAMESPACE: &str = "/";

/// A Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// `0`: connect to a namespace, with an optional `auth` object; from the server, the answer.
    Connect {
        /// The namespace.
        nsp: String,
        /// From the client, its `auth`; from the server, `{sid, pid?}`.
        data: Option<Value>,
    },
    /// `1`: leave a namespace.
    Disconnect {
        /// The namespace.
        nsp: String,
    },
    /// `2` or `5` (binary): an event, maybe asking for an ack.
    Event {
        /// The namespace.
        nsp: String,
        /// The event name.
        event: String,
        /// The arguments.
        payload: Payload,
        /// The ack id, when an acknowledgement is asked for.
        id: Option<u64>,
    },
    /// `3` or `6` (binary): an acknowledgement.
    Ack {
        /// The namespace.
        nsp: String,
        /// The id of the event acknowledged.
        id: u64,
        /// The answer's arguments.
        payload: Payload,
    },
    /// `4`: a refused connection to a namespace.
    ConnectError {
        /// The namespace.
        nsp: String,
        /// `{message, data?}` for the client.
        data: Value,
    },
}

/// A packet whose binary attachments have not all arrived yet.
#[derive(Debug)]
pub struct PartialPacket {
    /// The packet, its placeholders not yet filled.
    pub packet: Packet,
    /// How many attachments it announced.
    pub expected: usize,
}

impl Packet {
    /// The namespace the packet is for.
    pub fn nsp(&self) -> &str {
        match self {
            Packet::Connect { nsp, .. }
            | Packet::Disconnect { nsp }
            | Packet::Event { nsp, .. }
            | Packet::Ack { nsp, .. }
            | Packet::ConnectError { nsp, .. } => nsp,
        }
    }

    /// Encodes the packet into Engine.IO frames: one text frame, then one binary frame per attachment.
    /// The text is written once, straight into the frame (no intermediate strings or copies of the
    /// arguments): this runs for every emit and every ack.
    pub fn to_frames(&self) -> Vec<Frame> {
        let (text, attachments) = self.text_frame();
        let mut frames = Vec::with_capacity(1 + attachments.len());
        frames.push(text);
        frames.extend(attachments.iter().cloned().map(Frame::binary_message));
        frames
    }

    /// Encodes the packet for one session: a packet without attachments is one frame, not a list.
    pub fn to_session_frames(&self) -> Frames {
        let (text, attachments) = self.text_frame();
        if attachments.is_empty() {
            return Frames::One(text);
        }
        let binary = attachments.iter().cloned().map(Frame::binary_message);
        Frames::Shared(std::iter::once(text).chain(binary).collect())
    }

    /// The text frame, and the attachments that follow it.
    fn text_frame(&self) -> (Frame, &[Bytes]) {
        let mut attachments: &[Bytes] = &[];
        let text = Frame::text_message_with(|out| {
            attachments = self
                .write_text(out)
                .map(|p| &p.attachments[..])
                .unwrap_or_default();
        });
        (text, attachments)
    }

    /// Writes the text part of the packet; returns the payload whose attachments follow it.
    fn write_text(&self, out: &mut Vec<u8>) -> Option<&Payload> {
        let (kind, nsp, id, payload) = match self {
            Packet::Connect { nsp, .. } => (b'0', nsp, None, None),
            Packet::Disconnect { nsp } => (b'1', nsp, None, None),
            Packet::Event {
                nsp, id, payload, ..
            } => {
                let kind = if payload.attachments.is_empty() {
                    b'2'
                } else {
                    b'5'
                };
                (kind, nsp, *id, Some(payload))
            }
            Packet::Ack { nsp, id, payload } => {
                let kind = if payload.attachments.is_empty() {
                    b'3'
                } else {
                    b'6'
                };
                (kind, nsp, Some(*id), Some(payload))
            }
            Packet::ConnectError { nsp, .. } => (b'4', nsp, None, None),
        };
        out.push(kind);
        // Writing to a Vec cannot fail, here and below, nor can serializing a JSON value.
        if let Some(payload) = payload.filter(|p| !p.attachments.is_empty()) {
            let _ = write!(out, "{}-", payload.attachments.len());
        }
        if nsp != MAIN_NAMESPACE {
            out.extend_from_slice(nsp.as_bytes());
            out.push(b',');
        }
        if let Some(id) = id {
            let _ = write!(out, "{id}");
        }
        match self {
            Packet::Connect {
                data: Some(data), ..
            }
            | Packet::ConnectError { data, .. } => {
                let _ = serde_json::to_writer(&mut *out, data);
            }
            Packet::Event { event, payload, .. } => {
                out.push(b'[');
                let _ = serde_json::to_writer(&mut *out, event);
                if !payload.is_empty() {
                    out.push(b',');
                    payload.write_elements(out);
                }
                out.push(b']');
            }
            Packet::Ack { payload, .. } => {
                out.push(b'[');
                payload.write_elements(out);
                out.push(b']');
            }
            _ => {}
        }
        payload
    }

    /// Decodes the text part of a packet. Binary packets come back partial, waiting for attachments.
    pub fn decode(text: &str, max_attachments: usize) -> Result<PartialPacket, ProtocolError> {
        let mut rest = text;
        let kind = take_char(&mut rest).ok_or(ProtocolError::Empty)?;
        let binary = matches!(kind, '5' | '6');
        if !('0'..='6').contains(&kind) {
            return Err(ProtocolError::UnknownType(kind));
        }
        let expected = if binary {
            let digits = take_digits(&mut rest);
            let count: usize = digits
                .parse()
                .map_err(|_| ProtocolError::InvalidAttachments)?;
            if take_char(&mut rest) != Some('-') {
                return Err(ProtocolError::InvalidAttachments);
            }
            if count > max_attachments {
                return Err(ProtocolError::TooManyAttachments(count));
            }
            count
        } else {
            0
        };
        let nsp = if rest.starts_with('/') {
            let end = rest.find(',').unwrap_or(rest.len());
            let nsp = rest[..end].to_string();
            rest = rest.get(end + 1..).unwrap_or("");
            nsp
        } else {
            MAIN_NAMESPACE.to_string()
        };
        let digits = take_digits(&mut rest);
        let id = if digits.is_empty() {
            None
        } else {
            Some(
                digits
                    .parse::<u64>()
                    .map_err(|_| ProtocolError::InvalidAckId)?,
            )
        };
        if matches!(kind, '2' | '3') && !rest.is_empty() {
            let packet = Packet::from_text(kind, nsp, id, rest)?;
            return Ok(PartialPacket { packet, expected });
        }
        let data = if rest.is_empty() {
            None
        } else {
            Some(serde_json::from_str::<Value>(rest).map_err(|_| ProtocolError::InvalidJson)?)
        };
        let packet = Packet::from_parts(kind as u8 - b'0', nsp, id, data)?;
        Ok(PartialPacket { packet, expected })
    }

    /// Builds a text event (`2`) or ack (`3`) from its JSON, keeping the arguments as text: checked
    /// as the other packets' values are, but not parsed until a handler asks for them.
    fn from_text(
        kind: char,
        nsp: String,
        id: Option<u64>,
        json: &str,
    ) -> Result<Packet, ProtocolError> {
        let array = json_text::read_array(json)
            .map_err(|_| ProtocolError::InvalidJson)?
            .ok_or(ProtocolError::InvalidPayload)?;
        let packet = if kind == '3' {
            Packet::Ack {
                nsp,
                id: id.ok_or(ProtocolError::InvalidPayload)?,
                payload: Payload::from_checked_text(array.elements),
            }
        } else {
            let name = array.first.ok_or(ProtocolError::InvalidPayload)?;
            let name = serde_json::from_str(name).map_err(|_| ProtocolError::InvalidJson)?;
            Packet::Event {
                nsp,
                event: event_name(name)?,
                payload: Payload::from_checked_text(array.after_first),
                id,
            }
        };
        // Only a binary packet's attachments can stand behind a placeholder.
        if array.has_placeholder {
            return Err(ProtocolError::InvalidPlaceholders);
        }
        Ok(packet)
    }

    /// Builds a packet of type `kind` (0–6) from its decoded parts, checking that they fit the type,
    /// whichever parser read them.
    pub(crate) fn from_parts(
        kind: u8,
        nsp: String,
        id: Option<u64>,
        data: Option<Value>,
    ) -> Result<Packet, ProtocolError> {
        Ok(match kind {
            0 => match data {
                None | Some(Value::Object(_)) if id.is_none() => Packet::Connect { nsp, data },
                _ => return Err(ProtocolError::InvalidPayload),
            },
            1 => match (data, id) {
                (None, None) => Packet::Disconnect { nsp },
                _ => return Err(ProtocolError::InvalidPayload),
            },
            2 | 5 => {
                let Some(Value::Array(mut items)) = data else {
                    return Err(ProtocolError::InvalidPayload);
                };
                if items.is_empty() {
                    return Err(ProtocolError::InvalidPayload);
                }
                let event = event_name(items.remove(0))?;
                Packet::Event {
                    nsp,
                    event,
                    payload: Payload::new(items),
                    id,
                }
            }
            3 | 6 => {
                let (Some(id), Some(Value::Array(items))) = (id, data) else {
                    return Err(ProtocolError::InvalidPayload);
                };
                Packet::Ack {
                    nsp,
                    id,
                    payload: Payload::new(items),
                }
            }
            4 => match data {
                Some(data @ (Value::Object(_) | Value::String(_))) if id.is_none() => {
                    Packet::ConnectError { nsp, data }
                }
                _ => return Err(ProtocolError::InvalidPayload),
            },
            _ => {
                return Err(ProtocolError::UnknownType(char::from(
                    b'0'.saturating_add(kind),
                )))
            }
        })
    }

    /// The payload that binary attachments are added to.
    pub fn payload_mut(&mut self) -> Option<&mut Payload> {
        match self {
            Packet::Event { payload, .. } | Packet::Ack { payload, .. } => Some(payload),
            _ => None,
        }
    }
}

/// An event's name: a string, or a number written as one; not one the client library reserves.
fn event_name(value: Value) -> Result<String, ProtocolError> {
    let event = match value {
        Value::String(name) => name,
        Value::Number(number) => number.to_string(),
        _ => return Err(ProtocolError::InvalidPayload),
    };
    if RESERVED_EVENTS.contains(&event.as_str()) {
        return Err(ProtocolError::ReservedEvent(event));
    }
    Ok(event)
}

fn take_char(rest: &mut &str) -> Option<char> {
    let mut chars = rest.chars();
    let c = chars.next()?;
    *rest = chars.as_str();
    Some(c)
}

fn take_digits<'a>(rest: &mut &'a str) -> &'a str {
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(end);
    *rest = tail;
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;

    fn decode(text: &str) -> Result<PartialPacket, ProtocolError> {
        Packet::decode(text, 10)
    }

    fn text_of(packet: &Packet) -> String {
        match &packet.to_frames()[0] {
            Frame::Text(text) => text[1..].to_string(),
            Frame::Binary(_) => unreachable!("the first frame is always text"),
        }
    }

    #[test]
    fn encodes_as_the_spec_shows() {
        let connect = Packet::Connect {
            nsp: "/admin".into(),
            data: Some(json!({"sid": "abc"})),
        };
        assert_eq!(text_of(&connect), r#"0/admin,{"sid":"abc"}"#);
        let event = Packet::Event {
            nsp: "/".into(),
            event: "hello".into(),
            payload: Payload::new(vec![json!(1)]),
            id: Some(12),
        };
        assert_eq!(text_of(&event), r#"212["hello",1]"#);
        let awkward = Packet::Event {
            nsp: "/".into(),
            event: "say \"hi\"\n".into(),
            payload: Payload::new(vec![json!("é"), json!({"k": [1, null]})]),
            id: None,
        };
        assert_eq!(text_of(&awkward), r#"2["say \"hi\"\n","é",{"k":[1,null]}]"#);
        let answer = Packet::Ack {
            nsp: "/".into(),
            id: 0,
            payload: Payload::new(vec![json!(1), json!("two")]),
        };
        assert_eq!(text_of(&answer), r#"30[1,"two"]"#);
        let empty = Packet::Ack {
            nsp: "/".into(),
            id: 5,
            payload: Payload::empty(),
        };
        assert_eq!(text_of(&empty), "35[]");
        let mut payload = Payload::empty();
        let placeholder = payload.attach(Bytes::from_static(&[1, 2]));
        payload.args_mut().push(placeholder);
        let ack = Packet::Ack {
            nsp: "/admin".into(),
            id: 3,
            payload,
        };
        let frames = ack.to_frames();
        assert_eq!(
            frames[0],
            Frame::Text(r#"461-/admin,3[{"_placeholder":true,"num":0}]"#.into())
        );
        assert_eq!(frames[1], Frame::Binary(Bytes::from_static(&[1, 2])));
    }

    #[test]
    fn decodes_every_type() {
        assert_eq!(
            decode("0").unwrap().packet,
            Packet::Connect {
                nsp: "/".into(),
                data: None
            }
        );
        assert_eq!(
            decode(r#"0/admin,{"token":"t"}"#).unwrap().packet,
            Packet::Connect {
                nsp: "/admin".into(),
                data: Some(json!({"token": "t"}))
            }
        );
        assert_eq!(
            decode("1/admin,").unwrap().packet,
            Packet::Disconnect {
                nsp: "/admin".into()
            }
        );
        let event = decode(r#"2/admin,7["a",{"b":1}]"#).unwrap().packet;
        assert_eq!(
            event,
            Packet::Event {
                nsp: "/admin".into(),
                event: "a".into(),
                payload: Payload::new(vec![json!({"b": 1})]),
                id: Some(7)
            }
        );
        let partial = decode(r#"52-["up",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(partial.expected, 2);
        assert!(matches!(
            decode("33[1]").unwrap().packet,
            Packet::Ack { id: 3, .. }
        ));
    }

    #[test]
    fn refuses_bad_packets() {
        let cases = [
            ("", ProtocolError::Empty),
            ("9", ProtocolError::UnknownType('9')),
            ("a", ProtocolError::UnknownType('a')),
            (r#"2["a""#, ProtocolError::InvalidJson),
            (r#"2{"a":1}"#, ProtocolError::InvalidPayload),
            ("2[]", ProtocolError::InvalidPayload),
            ("2[{}]", ProtocolError::InvalidPayload),
            (
                r#"2["disconnect"]"#,
                ProtocolError::ReservedEvent("disconnect".into()),
            ),
            ("0[1]", ProtocolError::InvalidPayload),
            ("0\"x\"", ProtocolError::InvalidPayload),
            ("1{}", ProtocolError::InvalidPayload),
            ("3[1]", ProtocolError::InvalidPayload),
            ("3{}", ProtocolError::InvalidPayload),
            ("5[\"a\"]", ProtocolError::InvalidAttachments),
            ("5x-[\"a\"]", ProtocolError::InvalidAttachments),
            ("511-[\"a\"]", ProtocolError::TooManyAttachments(11)),
            (
                "299999999999999999999999[\"a\"]",
                ProtocolError::InvalidAckId,
            ),
            (r#"2["a",1e400]"#, ProtocolError::InvalidJson),
            (r#"2[1e400]"#, ProtocolError::InvalidJson),
            (r#"2[["a"]]"#, ProtocolError::InvalidPayload),
            (r#"2"a""#, ProtocolError::InvalidPayload),
            (
                r#"2["a",{"_placeholder":true,"num":0}]"#,
                ProtocolError::InvalidPlaceholders,
            ),
            (
                r#"31[{"x":{"_placeholder":true}}]"#,
                ProtocolError::InvalidPlaceholders,
            ),
        ];
        for (text, error) in cases {
            assert_eq!(decode(text).err(), Some(error), "{text:?}");
        }
    }

    /// An event's arguments go back out in an ack as the client wrote them: read once, not
    /// parsed and written again.
    #[test]
    fn arguments_read_as_text_are_written_back_unchanged() {
        let text = r#"27["echo" , {"b" : "\u00e9", "n": 1.50}, [ ]]"#;
        let Packet::Event { event, payload, .. } = decode(text).unwrap().packet else {
            panic!("an event");
        };
        assert_eq!(event, "echo");
        let echoed = Packet::Ack {
            nsp: "/".into(),
            id: 7,
            payload,
        };
        assert_eq!(text_of(&echoed), r#"37[{"b" : "\u00e9", "n": 1.50}, [ ]]"#);
        let Packet::Ack { payload, .. } = decode(r#"3/x,2[ 1 ,"two" ]"#).unwrap().packet else {
            panic!("an ack");
        };
        assert_eq!(payload.args(), [json!(1), json!("two")]);
        let relayed = Packet::Event {
            nsp: "/".into(),
            event: "msg".into(),
            payload,
            id: None,
        };
        assert_eq!(text_of(&relayed), r#"2["msg",1 ,"two"]"#);
        let bare = decode(r#"2[5]"#).unwrap().packet;
        assert_eq!(text_of(&bare), r#"2["5"]"#);
    }
}
