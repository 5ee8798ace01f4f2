//! Socket.IO decoding: the stateful `Decoder` that reassembles binary packets, fed a sequence of
//! Engine.IO messages.
//!
//! Input: messages separated by `\n`. A message starting with `b` is a binary message made of the
//! bytes after the `b`; any other message is a text message (the Socket.IO packet, bytes turned
//! into text with `String::from_utf8_lossy`). Errors do not reset anything: the decoder is fed the
//! next message in whatever state the error left it, so every state it can reach gets exercised.
//!
//! Properties:
//! - the decoder never panics;
//! - every packet it produces encodes (`to_frames`) into one text frame (`4…`) and one binary frame
//!   per attachment, and those frames fed to a fresh decoder — as WebSocket frames, and as one
//!   long-polling payload when no text frame holds the record separator — give back the same
//!   packet, the last frame completing it. JSON floats may move by a few ULPs on the way, as
//!   serde_json's default (not `float_roundtrip`) parser is not exact; anything else must match.
#![no_main]

use agora::engineio::packet::{Frame, Message, Packet as EnginePacket};
use agora::engineio::payload as engine_payload;
use agora::socketio::packet::Packet;
use agora::socketio::{Decoder, Payload};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A small limit, so that both sides of it get reached.
const MAX_ATTACHMENTS: usize = 8;

/// How far apart two JSON floats may be after a round trip, in units in the last place.
const MAX_FLOAT_ULPS: u64 = 2;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(MAX_ATTACHMENTS);
    for chunk in data.split(|b| *b == b'\n') {
        let result = match chunk.split_first() {
            Some((b'b', bytes)) => decoder.binary(Bytes::copy_from_slice(bytes)),
            _ => decoder.text(&String::from_utf8_lossy(chunk)),
        };
        if let Ok(Some(packet)) = result {
            check_round_trip(&packet);
        }
    }
});

fn check_round_trip(packet: &Packet) {
    let frames = packet.to_frames();
    let attachments = match packet {
        Packet::Event { payload, .. } | Packet::Ack { payload, .. } => payload.attachments.len(),
        _ => 0,
    };
    assert_eq!(frames.len(), 1 + attachments, "frames of {packet:?}");
    assert!(
        matches!(&frames[0], Frame::Text(text) if text.starts_with('4')),
        "first frame of {packet:?}: {:?}",
        frames[0]
    );
    assert!(
        frames[1..].iter().all(|f| matches!(f, Frame::Binary(_))),
        "attachment frames of {packet:?}: {frames:?}"
    );

    // WebSocket: each frame is one Engine.IO message.
    let messages: Vec<Message> = frames
        .iter()
        .map(|frame| match frame {
            Frame::Text(text) => match EnginePacket::decode_text(text.clone()) {
                Ok(EnginePacket::Message(message)) => message,
                other => panic!("text frame {text:?} of {packet:?} decoded to {other:?}"),
            },
            Frame::Binary(bytes) => Message::Binary(bytes.clone()),
        })
        .collect();
    redecode(packet, &messages, "websocket");

    // Long-polling: all frames in one payload. A namespace is raw text and may hold `\x1e`, which
    // a payload cannot carry; JSON escapes it everywhere else.
    let splittable = frames.iter().any(
        |f| matches!(f, Frame::Text(text) if text.contains(engine_payload::RECORD_SEPARATOR)),
    );
    if !splittable {
        let body = engine_payload::encode(&frames);
        let messages: Vec<Message> = match engine_payload::decode(body.as_str().into()) {
            Ok(packets) => packets
                .into_iter()
                .map(|p| match p {
                    EnginePacket::Message(message) => message,
                    other => panic!("payload {body:?} of {packet:?} holds {other:?}"),
                })
                .collect(),
            Err(error) => panic!("payload {body:?} of {packet:?} does not decode: {error}"),
        };
        redecode(packet, &messages, "polling");
    }
}

fn redecode(packet: &Packet, messages: &[Message], transport: &str) {
    let mut fresh = Decoder::new(MAX_ATTACHMENTS);
    let last = messages.len() - 1;
    for (i, message) in messages.iter().enumerate() {
        let result = match message {
            Message::Text(text) => fresh.text(text),
            Message::Binary(bytes) => fresh.binary(bytes.clone()),
        };
        match result {
            Ok(None) if i < last => {}
            Ok(Some(again)) if i == last => assert!(
                same_packet(packet, &again),
                "{transport} round trip changed the packet:\n  {packet:?}\n  {again:?}\n  via {messages:?}"
            ),
            other => panic!(
                "{transport} round trip of {packet:?}: message {i} of {} ({message:?}) gave {other:?}",
                messages.len()
            ),
        }
    }
}

fn same_packet(a: &Packet, b: &Packet) -> bool {
    match (a, b) {
        (
            Packet::Connect { nsp, data },
            Packet::Connect {
                nsp: nsp2,
                data: data2,
            },
        ) => {
            nsp == nsp2
                && match (data, data2) {
                    (Some(x), Some(y)) => same_value(x, y),
                    (None, None) => true,
                    _ => false,
                }
        }
        (Packet::Disconnect { nsp }, Packet::Disconnect { nsp: nsp2 }) => nsp == nsp2,
        (
            Packet::Event {
                nsp,
                event,
                payload,
                id,
            },
            Packet::Event {
                nsp: nsp2,
                event: event2,
                payload: payload2,
                id: id2,
            },
        ) => nsp == nsp2 && event == event2 && id == id2 && same_payload(payload, payload2),
        (
            Packet::Ack { nsp, id, payload },
            Packet::Ack {
                nsp: nsp2,
                id: id2,
                payload: payload2,
            },
        ) => nsp == nsp2 && id == id2 && same_payload(payload, payload2),
        (
            Packet::ConnectError { nsp, data },
            Packet::ConnectError {
                nsp: nsp2,
                data: data2,
            },
        ) => nsp == nsp2 && same_value(data, data2),
        _ => false,
    }
}

fn same_payload(a: &Payload, b: &Payload) -> bool {
    a.attachments == b.attachments
        && a.args().len() == b.args().len()
        && a.args().iter().zip(b.args()).all(|(x, y)| same_value(x, y))
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || ulps_apart(x, y) <= MAX_FLOAT_ULPS
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(key, x)| ys.get(key).is_some_and(|y| same_value(x, y)))
        }
        _ => a == b,
    }
}

/// Distance between two finite floats counted in representable values.
fn ulps_apart(x: f64, y: f64) -> u64 {
    fn ordered(v: f64) -> i64 {
        let bits = v.to_bits() as i64;
        if bits < 0 {
            i64::MIN - bits
        } else {
            bits
        }
    }
    if !x.is_finite() || !y.is_finite() {
        return u64::MAX;
    }
    ordered(x).abs_diff(ordered(y))
}
