//! The msgpack parser's decoder (`--parser msgpack`): one binary WebSocket message or polling
//! packet, as socket.io-msgpack-parser writes it.
//!
//! Input: arbitrary bytes, given to `Decoder::binary` of a msgpack decoder.
//!
//! Properties:
//! - the decoder never panics;
//! - a packet that decodes, written again with the msgpack parser, reads back as itself.
#![no_main]

use agora::socketio::{Decoder, Parser};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// As the server configures it.
const MAX_ATTACHMENTS: usize = 10;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::with_parser(Parser::Msgpack, MAX_ATTACHMENTS);
    if let Ok(Some(packet)) = decoder.binary(Bytes::copy_from_slice(data)) {
        let frames = Parser::Msgpack.frames(&packet);
        let again = Decoder::read_frames(Parser::Msgpack, &frames);
        assert_eq!(
            again.as_ref(),
            Ok(&packet),
            "round trip of {data:?} through {frames:?}"
        );
    }
});
