//! Engine.IO decoders: `Packet::decode_text` (one WebSocket text frame or one polling packet) and
//! `payload::decode` (a long-polling request body).
//!
//! Input: arbitrary bytes, turned into text with `String::from_utf8_lossy` (the server only ever
//! decodes valid UTF-8, and lossy conversion keeps the fuzzer's mutations useful).
//!
//! Properties:
//! - neither decoder panics;
//! - a packet that decodes, re-encoded as the frame the server would write, decodes to itself;
//! - a payload that decodes has one packet per `\x1e`-separated part, its text messages hold no
//!   separator, and `decode(encode(frames(decode(x))))` gives the same packets back.
#![no_main]

use agora::engineio::packet::{Frame, Message, Packet};
use agora::engineio::payload;
use bytestring::ByteString;
use libfuzzer_sys::fuzz_target;

/// The frame that carries `packet` (the inverse of `decode_text`, up to the ignored tails of
/// `1`, `5`, `6` and non-probe pings and pongs).
fn frame_of(packet: &Packet) -> Frame {
    match packet {
        Packet::Close => Frame::close(),
        Packet::Ping { probe: false } => Frame::ping(),
        Packet::Ping { probe: true } => Frame::Text(ByteString::from_static("2probe")),
        Packet::Pong { probe: false } => Frame::Text(ByteString::from_static("3")),
        Packet::Pong { probe: true } => Frame::pong_probe(),
        Packet::Message(Message::Text(text)) => Frame::text_message(text),
        Packet::Message(Message::Binary(bytes)) => Frame::binary_message(bytes.clone()),
        Packet::Upgrade => Frame::Text(ByteString::from_static("5")),
        Packet::Noop => Frame::noop(),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();

    // One packet, as from a WebSocket text frame.
    if let Ok(packet) = Packet::decode_text(ByteString::from(text.as_str())) {
        let mut encoded = String::new();
        frame_of(&packet).write_polling(&mut encoded);
        let again = Packet::decode_text(ByteString::from(encoded.as_str()));
        assert_eq!(
            again.as_ref(),
            Ok(&packet),
            "packet round trip: {text:?} -> {packet:?} -> {encoded:?}"
        );
    }

    // A polling payload.
    if let Ok(packets) = payload::decode(ByteString::from(text.as_str())) {
        assert_eq!(
            packets.len(),
            text.split(payload::RECORD_SEPARATOR).count(),
            "one packet per part of {text:?}"
        );
        for packet in &packets {
            if let Packet::Message(Message::Text(message)) = packet {
                assert!(
                    !message.contains(payload::RECORD_SEPARATOR),
                    "separator inside a message of {text:?}"
                );
            }
        }
        let frames: Vec<Frame> = packets.iter().map(frame_of).collect();
        let body = payload::encode(&frames);
        let again = payload::decode(ByteString::from(body.as_str()));
        assert_eq!(
            again.as_ref(),
            Ok(&packets),
            "payload round trip: {text:?} -> {body:?}"
        );
    }
});
