//! A WebSocket client on a bare TCP stream, for tests that look at frames as they are on the
//! wire: the RSV1 bit, compressed payloads, frames no library would send.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::within_wait;

/// The first byte of a final text frame.
pub const TEXT: u8 = 0x81;
/// The first byte of a final text frame with RSV1 (compressed).
pub const COMPRESSED_TEXT: u8 = 0xC1;
/// The opcode of a close frame.
pub const CLOSE: u8 = 0x8;

/// A frame from the server.
#[derive(Debug)]
pub struct RawFrame {
    /// FIN, RSV1-3 and the opcode.
    pub first: u8,
    /// The payload as sent (compressed if RSV1 is set).
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// RSV1: the payload is compressed.
    pub fn compressed(&self) -> bool {
        self.first & 0x40 != 0
    }

    /// The status code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.first & 0x0F == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// A connected raw client.
pub struct RawWs {
    stream: TcpStream,
    buf: BytesMut,
    /// The server's `Sec-WebSocket-Extensions`, if it sent one.
    pub extensions: Option<String>,
    /// Bytes read from the server's frames (headers included), for measuring compression.
    pub frame_bytes: usize,
}

impl RawWs {
    /// Opens `path` on `127.0.0.1:port`, offering `extensions` if given; panics unless the
    /// server switches protocols.
    pub async fn connect(port: u16, path: &str, extensions: Option<&str>) -> RawWs {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        // Each write leaves at once, so a frame written a byte at a time arrives that way.
        stream.set_nodelay(true).expect("nodelay");
        let offer = extensions
            .map(|value| format!("Sec-WebSocket-Extensions: {value}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{offer}\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut buf = BytesMut::new();
        let end = loop {
            if let Some(end) = buf.windows(4).position(|window| window == b"\r\n\r\n") {
                break end + 4;
            }
            let read = within_wait("the handshake", stream.read_buf(&mut buf))
                .await
                .expect("read");
            assert!(read > 0, "connection closed during the handshake");
        };
        let head = String::from_utf8_lossy(&buf.split_to(end)).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let extensions = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_string())
        });
        RawWs {
            stream,
            buf,
            extensions,
            frame_bytes: 0,
        }
    }

    /// Writes bytes as they are (a frame no client library would send).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Sends one masked frame with this first byte.
    pub async fn send(&mut self, first: u8, payload: &[u8]) {
        self.send_raw(&masked_frame(first, payload)).await;
    }

    /// The next frame from the server; panics after `WAIT` or if the connection ends.
    pub async fn recv(&mut self) -> RawFrame {
        within_wait("a frame", self.next_frame()).await
    }

    /// The next frame that is not an Engine.IO ping.
    pub async fn recv_data(&mut self) -> RawFrame {
        loop {
            let frame = self.recv().await;
            if frame.payload != b"2" {
                return frame;
            }
        }
    }

    /// Whether the server stays silent (no frame, no close) for `wait`.
    pub async fn silent_for(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.next_frame()).await.is_err()
    }

    async fn next_frame(&mut self) -> RawFrame {
        loop {
            if let Some(frame) = self.parse() {
                return frame;
            }
            let read = self.stream.read_buf(&mut self.buf).await.expect("read");
            assert!(read > 0, "connection closed without a close frame");
        }
    }

    fn parse(&mut self) -> Option<RawFrame> {
        let [first, second, ..] = self.buf[..] else {
            return None;
        };
        let (length, header) = match second & 0x7F {
            126 => (
                usize::from(u16::from_be_bytes(self.buf.get(2..4)?.try_into().ok()?)),
                4,
            ),
            127 => (
                u64::from_be_bytes(self.buf.get(2..10)?.try_into().ok()?) as usize,
                10,
            ),
            short => (usize::from(short), 2),
        };
        if self.buf.len() < header + length {
            return None;
        }
        self.buf.advance(header);
        self.frame_bytes += header + length;
        let payload = self.buf.split_to(length).to_vec();
        Some(RawFrame { first, payload })
    }
}

/// One masked frame with this first byte (FIN, RSV1-3 and the opcode), as a client writes it.
pub fn masked_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![first];
    let length = payload.len();
    if length < 126 {
        frame.push(0x80 | length as u8);
    } else if let Ok(medium) = u16::try_from(length) {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&medium.to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(length as u64).to_be_bytes());
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    frame
}

/// Compresses one message as a permessage-deflate client does (no context takeover).
pub fn deflate(message: &[u8]) -> Vec<u8> {
    let mut compress = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(message.len() + 64);
    compress
        .compress_vec(message, &mut out, flate2::FlushCompress::Sync)
        .expect("deflate");
    assert_eq!(compress.total_in() as usize, message.len(), "output space");
    out.truncate(out.len() - 4);
    out
}

/// Inflates one message from the server.
pub fn inflate(payload: &[u8]) -> Vec<u8> {
    let mut decompress = flate2::Decompress::new(false);
    let mut input = payload.to_vec();
    input.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    let mut out = Vec::with_capacity(payload.len() * 100 + 1024);
    decompress
        .decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync)
        .expect("inflate");
    out
}
