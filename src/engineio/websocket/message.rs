//! Whole messages from frames: fragments joined, control frames between them, text checked as
//! UTF-8 (as each fragment arrives, so a bad one fails fast), compressed messages inflated.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use super::deflate::{inflate, InflateError};
use super::frame::{CloseCode, FrameDecoder, FrameError, OpCode};

/// A message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum WsMessage {
    /// A UTF-8 message.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
    /// A ping, whose payload the pong returns.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The client closes, with its status code if it gave one.
    Close(Option<u16>),
}

/// Why the connection must close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WsError {
    /// A frame broke RFC 6455.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A continuation frame with no message to continue, or a new message before the last ended.
    #[error("bad fragmentation")]
    Fragmentation,
    /// RSV1 on a frame that is not the first of a data message.
    #[error("RSV1 on a frame that cannot be compressed")]
    MisplacedRsv1,
    /// A text message, or a close reason, that is not UTF-8.
    #[error("text is not UTF-8")]
    InvalidUtf8,
    /// A message larger than the maximum payload.
    #[error("message larger than the maximum payload")]
    TooLarge,
    /// A compressed message that does not inflate.
    #[error("compressed message does not inflate")]
    Corrupt,
    /// A close frame with one byte, or a status code no one may send.
    #[error("malformed close frame")]
    BadClose,
    /// Reading the connection failed.
    #[error("connection failed")]
    Io,
}

impl WsError {
    /// The close code answering it.
    pub fn close_code(self) -> CloseCode {
        match self {
            WsError::Frame(error) => error.close_code(),
            WsError::InvalidUtf8 | WsError::Corrupt => CloseCode::Invalid,
            WsError::TooLarge => CloseCode::Size,
            _ => CloseCode::Protocol,
        }
    }
}

impl From<InflateError> for WsError {
    fn from(error: InflateError) -> WsError {
        match error {
            InflateError::TooLarge => WsError::TooLarge,
            InflateError::Corrupt => WsError::Corrupt,
        }
    }
}

/// A message whose last fragment has not arrived.
struct Partial {
    text: bool,
    compressed: bool,
    data: BytesMut,
    /// How much of `data` is known to be valid UTF-8 (uncompressed text only).
    checked: usize,
}

impl Partial {
    /// Fails as soon as the text so far cannot be the start of valid UTF-8.
    fn check_utf8(&mut self) -> Result<(), WsError> {
        if !self.text || self.compressed {
            return Ok(());
        }
        match std::str::from_utf8(&self.data[self.checked..]) {
            Ok(_) => self.checked = self.data.len(),
            Err(error) if error.error_len().is_none() => self.checked += error.valid_up_to(),
            Err(_) => return Err(WsError::InvalidUtf8),
        }
        Ok(())
    }
}

/// Turns the bytes read from a client into its messages.
pub struct MessageReader {
    frames: FrameDecoder,
    partial: Option<Partial>,
}

impl MessageReader {
    /// A reader bounded to `max_payload` bytes per message (inflated), accepting compressed
    /// messages if `deflate` was negotiated.
    pub fn new(max_payload: usize, deflate: bool) -> MessageReader {
        MessageReader {
            frames: FrameDecoder {
                max_payload,
                allow_rsv1: deflate,
            },
            partial: None,
        }
    }

    /// The next whole message from the front of `buf`, if it has arrived.
    pub fn read(&mut self, buf: &mut BytesMut) -> Result<Option<WsMessage>, WsError> {
        while let Some(frame) = self.frames.decode(buf)? {
            if frame.compressed && !matches!(frame.opcode, OpCode::Text | OpCode::Binary) {
                return Err(WsError::MisplacedRsv1);
            }
            let message = match frame.opcode {
                OpCode::Ping => Some(WsMessage::Ping(frame.payload.freeze())),
                OpCode::Pong => Some(WsMessage::Pong),
                OpCode::Close => Some(WsMessage::Close(close_code(&frame.payload)?)),
                OpCode::Text | OpCode::Binary => {
                    if self.partial.is_some() {
                        return Err(WsError::Fragmentation);
                    }
                    let mut partial = Partial {
                        text: frame.opcode == OpCode::Text,
                        compressed: frame.compressed,
                        data: frame.payload,
                        checked: 0,
                    };
                    if frame.fin {
                        Some(self.finish(partial)?)
                    } else {
                        partial.check_utf8()?;
                        self.partial = Some(partial);
                        None
                    }
                }
                OpCode::Continuation => {
                    let partial = self.partial.as_mut().ok_or(WsError::Fragmentation)?;
                    if partial.data.len() + frame.payload.len() > self.frames.max_payload {
                        return Err(WsError::TooLarge);
                    }
                    partial.data.extend_from_slice(&frame.payload);
                    partial.check_utf8()?;
                    match (frame.fin, self.partial.take()) {
                        (true, Some(partial)) => Some(self.finish(partial)?),
                        (_, partial) => {
                            self.partial = partial;
                            None
                        }
                    }
                }
            };
            if message.is_some() {
                return Ok(message);
            }
        }
        Ok(None)
    }

    fn finish(&self, partial: Partial) -> Result<WsMessage, WsError> {
        let data = if partial.compressed {
            inflate(partial.data, self.frames.max_payload)?
        } else {
            partial.data.freeze()
        };
        if partial.text {
            ByteString::try_from(data)
                .map(WsMessage::Text)
                .map_err(|_| WsError::InvalidUtf8)
        } else {
            Ok(WsMessage::Binary(data))
        }
    }
}

/// The status code of a close frame's payload (RFC 6455 §7.4).
fn close_code(payload: &[u8]) -> Result<Option<u16>, WsError> {
    let Some((code, reason)) = payload.split_first_chunk::<2>() else {
        return match payload.len() {
            0 => Ok(None),
            _ => Err(WsError::BadClose),
        };
    };
    let code = u16::from_be_bytes(*code);
    if !matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999) {
        return Err(WsError::BadClose);
    }
    std::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
    Ok(Some(code))
}

#[cfg(test)]
mod tests {
    use super::super::deflate::negotiate;
    use super::super::frame::client_frame;
    use super::*;

    fn read_all(
        reader: &mut MessageReader,
        frames: &[BytesMut],
    ) -> Result<Vec<WsMessage>, WsError> {
        let mut buf = BytesMut::new();
        for frame in frames {
            buf.extend_from_slice(frame);
        }
        let mut messages = Vec::new();
        while let Some(message) = reader.read(&mut buf)? {
            messages.push(message);
        }
        Ok(messages)
    }

    fn read(frames: &[BytesMut]) -> Result<Vec<WsMessage>, WsError> {
        read_all(&mut MessageReader::new(1_000, false), frames)
    }

    #[test]
    fn joins_fragments_with_control_frames_between_them() {
        let messages = read(&[
            client_frame(0x01, b"he"),
            client_frame(0x89, b"p"),
            client_frame(0x00, b"l"),
            client_frame(0x8A, b""),
            client_frame(0x80, b"lo"),
            client_frame(0x82, &[1, 2]),
        ])
        .unwrap();
        assert_eq!(
            messages,
            [
                WsMessage::Ping(Bytes::from_static(b"p")),
                WsMessage::Pong,
                WsMessage::Text(ByteString::from_static("hello")),
                WsMessage::Binary(Bytes::from_static(&[1, 2])),
            ]
        );
    }

    #[test]
    fn utf8_split_across_fragments_is_valid_and_a_bad_byte_fails_before_the_end() {
        let euro = "€".as_bytes();
        let split = read(&[
            client_frame(0x01, &euro[..1]),
            client_frame(0x80, &euro[1..]),
        ])
        .unwrap();
        assert_eq!(split, [WsMessage::Text(ByteString::from_static("€"))]);
        let mut reader = MessageReader::new(1_000, false);
        let early = read_all(&mut reader, &[client_frame(0x01, b"ok\xFF")]);
        assert_eq!(early, Err(WsError::InvalidUtf8));
        assert_eq!(WsError::InvalidUtf8.close_code(), CloseCode::Invalid);
        assert_eq!(
            read(&[client_frame(0x81, b"\xC0\xAF")]),
            Err(WsError::InvalidUtf8)
        );
    }

    #[test]
    fn refuses_bad_fragmentation_and_oversize_messages() {
        assert_eq!(
            read(&[client_frame(0x80, b"x")]),
            Err(WsError::Fragmentation)
        );
        assert_eq!(
            read(&[client_frame(0x01, b"x"), client_frame(0x81, b"y")]),
            Err(WsError::Fragmentation)
        );
        let too_large = read(&[client_frame(0x02, &[0; 600]), client_frame(0x80, &[0; 600])]);
        assert_eq!(too_large, Err(WsError::TooLarge));
        assert_eq!(WsError::TooLarge.close_code(), CloseCode::Size);
    }

    #[test]
    fn close_frames_are_checked() {
        assert_eq!(
            read(&[client_frame(0x88, b"")]).unwrap(),
            [WsMessage::Close(None)]
        );
        let normal = read(&[client_frame(0x88, b"\x03\xE8bye")]).unwrap();
        assert_eq!(normal, [WsMessage::Close(Some(1000))]);
        for bad in [&b"\x03"[..], b"\x03\xEC", b"\x00\x00", b"\x13\x88"] {
            assert_eq!(read(&[client_frame(0x88, bad)]), Err(WsError::BadClose));
        }
        assert_eq!(
            read(&[client_frame(0x88, b"\x03\xE8\xFF")]),
            Err(WsError::InvalidUtf8)
        );
    }

    #[test]
    fn compressed_messages_inflate_only_once_negotiated() {
        let deflate = negotiate(["permessage-deflate"]).unwrap().deflate;
        let text = Bytes::from("x".repeat(2_000));
        let compressed = deflate.compress(&text).unwrap();
        let frame = client_frame(0xC1, &compressed);
        assert_eq!(
            read(std::slice::from_ref(&frame)),
            Err(WsError::Frame(FrameError::ReservedBits))
        );
        let mut reader = MessageReader::new(10_000, true);
        let messages = read_all(&mut reader, &[frame]).unwrap();
        assert_eq!(
            messages,
            [WsMessage::Text(ByteString::try_from(text).unwrap())]
        );
        let mut small = MessageReader::new(1_000, true);
        let bomb = read_all(&mut small, &[client_frame(0xC1, &compressed)]);
        assert_eq!(bomb, Err(WsError::TooLarge));
        let ping = read_all(&mut reader, &[client_frame(0xC9, b"")]);
        assert_eq!(ping, Err(WsError::MisplacedRsv1));
    }
}
