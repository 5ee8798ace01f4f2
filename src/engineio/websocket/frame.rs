//! RFC 6455 framing: one frame decoded from, or encoded into, a byte buffer.
//!
//! Independent of where the bytes come from (an HTTP body today, an upgraded TCP stream
//! tomorrow): [`FrameDecoder::decode`] takes what has arrived so far and [`encode`] appends a
//! frame to what will be written.

use bytes::{Buf, BufMut, BytesMut};

/// Largest payload of a control frame (close, ping, pong).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// The next fragment of a text or binary message.
    Continuation,
    /// The first (or only) frame of a UTF-8 message.
    Text,
    /// The first (or only) frame of a binary message.
    Binary,
    /// The closing handshake.
    Close,
    /// A ping, to be answered with a pong of the same payload.
    Ping,
    /// A pong.
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong: never fragmented, at most [`MAX_CONTROL_PAYLOAD`] bytes.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The status codes this server closes with (RFC 6455 §7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// 1000: done.
    Normal,
    /// 1001: the server is going away.
    Away,
    /// 1002: the peer broke the protocol.
    Protocol,
    /// 1007: a text message that is not UTF-8, or a compressed message that does not inflate.
    Invalid,
    /// 1008: the peer broke a policy (too slow a reader, a refused upgrade).
    Policy,
    /// 1009: a message larger than the maximum payload.
    Size,
}

impl CloseCode {
    /// The number on the wire.
    pub fn number(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::Away => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Invalid => 1007,
            CloseCode::Policy => 1008,
            CloseCode::Size => 1009,
        }
    }
}

/// A frame that breaks RFC 6455 (or the size bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// RSV2 or RSV3 set, or RSV1 without a negotiated extension.
    #[error("reserved bits set")]
    ReservedBits,
    /// An opcode RFC 6455 reserves.
    #[error("reserved opcode {0:#x}")]
    ReservedOpCode(u8),
    /// A client frame without a mask.
    #[error("unmasked frame from a client")]
    Unmasked,
    /// A fragmented control frame, or one over 125 bytes.
    #[error("malformed control frame")]
    BadControl,
    /// A payload larger than the maximum.
    #[error("frame larger than the maximum payload")]
    TooLarge,
}

impl FrameError {
    /// The close code answering it.
    pub fn close_code(self) -> CloseCode {
        match self {
            FrameError::TooLarge => CloseCode::Size,
            _ => CloseCode::Protocol,
        }
    }
}

/// One decoded (and unmasked) frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// The last frame of its message.
    pub fin: bool,
    /// RSV1: the message is compressed (permessage-deflate).
    pub compressed: bool,
    /// What it carries.
    pub opcode: OpCode,
    /// The payload, unmasked.
    pub payload: BytesMut,
}

/// Decodes client frames: masked, within the size bound, RSV1 only when an extension allows it.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    /// Largest payload accepted.
    pub max_payload: usize,
    /// permessage-deflate was negotiated: RSV1 may be set.
    pub allow_rsv1: bool,
}

impl FrameDecoder {
    /// Takes one frame off the front of `buf`; `None` until the whole frame has arrived (the
    /// buffer is then grown to hold it, once the header has been checked).
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let [first, second, ..] = buf[..] else {
            return Ok(None);
        };
        let compressed = first & 0x40 != 0;
        if first & 0x30 != 0 || (compressed && !self.allow_rsv1) {
            return Err(FrameError::ReservedBits);
        }
        let opcode =
            OpCode::from_bits(first & 0x0F).ok_or(FrameError::ReservedOpCode(first & 0x0F))?;
        let fin = first & 0x80 != 0;
        if second & 0x80 == 0 {
            return Err(FrameError::Unmasked);
        }
        let (length, header) = match second & 0x7F {
            126 => match buf.get(2..4) {
                Some(bytes) => (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10).and_then(|bytes| bytes.try_into().ok()) {
                Some(bytes) => (u64::from_be_bytes(bytes), 10),
                None => return Ok(None),
            },
            short => (u64::from(short), 2),
        };
        if opcode.is_control() && (!fin || length > MAX_CONTROL_PAYLOAD as u64) {
            return Err(FrameError::BadControl);
        }
        let length = usize::try_from(length)
            .ok()
            .filter(|length| *length <= self.max_payload)
            .ok_or(FrameError::TooLarge)?;
        let total = header + 4 + length;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let mask = [
            buf[header],
            buf[header + 1],
            buf[header + 2],
            buf[header + 3],
        ];
        buf.advance(header + 4);
        let mut payload = buf.split_to(length);
        apply_mask(&mut payload, mask);
        Ok(Some(Frame {
            fin,
            compressed,
            opcode,
            payload,
        }))
    }
}

/// XORs `data` with the repeated 4-byte `mask` (masking and unmasking are the same), eight bytes
/// at a time.
pub fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    let [a, b, c, d] = mask;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // Whole words consumed a multiple of 4 bytes, so the rest starts at the mask's first byte.
    for (byte, key) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *byte ^= key;
    }
}

/// Appends one unmasked (server) frame with the whole payload to `out`.
pub fn encode(opcode: OpCode, compressed: bool, payload: &[u8], out: &mut BytesMut) {
    let rsv1 = if compressed { 0x40 } else { 0 };
    out.reserve(payload.len() + 10);
    put_header(0x80 | rsv1 | opcode.bits(), 0, payload.len(), out);
    out.extend_from_slice(payload);
}

/// Appends a frame header: the first byte, then the length in its shortest form, its top bit
/// `mask_bit` (0x80 when a masking key follows).
fn put_header(first: u8, mask_bit: u8, length: usize, out: &mut BytesMut) {
    out.put_u8(first);
    match length {
        short @ 0..=125 => out.put_u8(mask_bit | short as u8),
        medium @ 126..=0xFFFF => {
            out.put_u8(mask_bit | 126);
            out.put_u16(medium as u16);
        }
        long => {
            out.put_u8(mask_bit | 127);
            out.put_u64(long as u64);
        }
    }
}

#[cfg(test)]
/// A client frame: masked, with the given first byte (FIN, RSV, opcode).
pub(crate) fn client_frame(first: u8, payload: &[u8]) -> BytesMut {
    let mask = [0x37, 0xFA, 0x21, 0x3D];
    let mut out = BytesMut::new();
    put_header(first, 0x80, payload.len(), &mut out);
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], mask);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECODER: FrameDecoder = FrameDecoder {
        max_payload: 100_000,
        allow_rsv1: false,
    };

    #[test]
    fn decodes_masked_frames_of_every_length_form_arriving_byte_by_byte() {
        for size in [0, 5, 125, 126, 300, 65_535, 65_536, 70_000] {
            let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
            let wire = client_frame(0x82, &payload);
            let mut buf = BytesMut::new();
            let mut decoded = None;
            for (i, byte) in wire.iter().enumerate() {
                buf.extend_from_slice(&[*byte]);
                decoded = DECODER.decode(&mut buf).unwrap();
                assert_eq!(decoded.is_some(), i == wire.len() - 1, "size {size} at {i}");
            }
            let frame = decoded.unwrap();
            assert_eq!(frame.opcode, OpCode::Binary);
            assert!(frame.fin && !frame.compressed);
            assert_eq!(&frame.payload[..], &payload[..]);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn two_frames_in_one_buffer_come_out_in_order() {
        let mut buf = client_frame(0x01, b"hel");
        buf.extend_from_slice(&client_frame(0x80, b"lo"));
        let first = DECODER.decode(&mut buf).unwrap().unwrap();
        assert_eq!((first.opcode, first.fin), (OpCode::Text, false));
        let second = DECODER.decode(&mut buf).unwrap().unwrap();
        assert_eq!((second.opcode, second.fin), (OpCode::Continuation, true));
        assert_eq!(&second.payload[..], b"lo");
    }

    #[test]
    fn refuses_frames_that_break_the_protocol() {
        let mut unmasked = BytesMut::from(&[0x81, 0x02, b'h', b'i'][..]);
        assert_eq!(DECODER.decode(&mut unmasked), Err(FrameError::Unmasked));
        for (first, payload, error) in [
            (0x83, &b""[..], FrameError::ReservedOpCode(3)),
            (0x8B, b"", FrameError::ReservedOpCode(0xB)),
            (0xA1, b"x", FrameError::ReservedBits),
            (0x91, b"x", FrameError::ReservedBits),
            (0xC1, b"x", FrameError::ReservedBits),
            (0x09, b"", FrameError::BadControl),
            (0x89, &[0; 126], FrameError::BadControl),
        ] {
            let mut buf = client_frame(first, payload);
            assert_eq!(DECODER.decode(&mut buf), Err(error), "{first:#x}");
            assert_eq!(error.close_code(), CloseCode::Protocol);
        }
    }

    #[test]
    fn an_oversize_frame_is_refused_from_its_header_alone() {
        let decoder = FrameDecoder {
            max_payload: 1_000,
            allow_rsv1: false,
        };
        let wire = client_frame(0x82, &[0; 1_001]);
        let mut header = BytesMut::from(&wire[..4]);
        assert_eq!(decoder.decode(&mut header), Err(FrameError::TooLarge));
        assert_eq!(FrameError::TooLarge.close_code(), CloseCode::Size);
        let mut huge =
            BytesMut::from(&[0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..]);
        assert_eq!(decoder.decode(&mut huge), Err(FrameError::TooLarge));
    }

    #[test]
    fn rsv1_passes_once_negotiated() {
        let decoder = FrameDecoder {
            max_payload: 1_000,
            allow_rsv1: true,
        };
        let frame = decoder
            .decode(&mut client_frame(0xC1, b"x"))
            .unwrap()
            .unwrap();
        assert!(frame.compressed);
    }

    #[test]
    fn encodes_server_frames_unmasked_with_the_shortest_length() {
        for (size, header) in [(3, 2), (126, 4), (65_536, 10)] {
            let mut out = BytesMut::new();
            encode(OpCode::Text, size == 126, &vec![b'a'; size], &mut out);
            assert_eq!(out.len(), header + size);
            assert_eq!(out[0] & 0x0F, 0x1);
            assert_eq!(out[0] & 0x40 != 0, size == 126);
            assert_eq!(out[1] & 0x80, 0, "server frames are not masked");
        }
    }
}
