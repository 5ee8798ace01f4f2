//! The hostile WebSocket client, on raw TCP.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::packets::{connect, engine_io, random_bytes};
use super::{pause, Tally, OP_WAIT};

/// WebSocket opcodes.
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;

/// A hostile WebSocket client until `until`, on raw TCP so that it can send what no WebSocket
/// library would: invalid UTF-8 text, unmasked or reserved frames, broken fragments, lengths
/// that never come, half-written frames followed by a reset.
pub(super) async fn websocket_client(
    port: u16,
    mut rng: StdRng,
    token: String,
    until: Instant,
    tally: Arc<Tally>,
) {
    let mut link: Option<Link> = None;
    while Instant::now() < until {
        tally.actions.fetch_add(1, Ordering::Relaxed);
        pause(&mut rng).await;
        let Some(ws) = link.as_mut() else {
            link = Link::open(port, &mut rng).await;
            if let Some(ws) = link.as_mut() {
                tally.sessions.fetch_add(1, Ordering::Relaxed);
                let packet = connect(&mut rng, &token);
                if rng.gen_bool(0.85) && !ws.text(&mut rng, packet.as_bytes()).await {
                    link = None;
                }
            }
            continue;
        };
        let alive = match rng.gen_range(0..63) {
            62 => {
                // Over the largest accepted message (1 MB by default).
                let big = format!(
                    "42[\"chat:send\",{{\"room\":\"lobby\",\"text\":\"{}\"}}]",
                    "x".repeat(1_100_000)
                );
                ws.text(&mut rng, big.as_bytes()).await
            }
            60 | 61 => {
                let mut alive = true;
                for _ in 0..rng.gen_range(2..60) {
                    alive = alive && ws.text(&mut rng, b"40").await;
                }
                alive
            }
            0..=34 => {
                let packet = engine_io(&mut rng, &token);
                ws.text(&mut rng, packet.as_bytes()).await
            }
            35..=37 => {
                let bytes = random_bytes(&mut rng, 3_000);
                ws.frame(&mut rng, 0x80 | BINARY, &bytes, true).await
            }
            38..=40 => {
                // A binary event whose attachments are fewer than announced, or garbage.
                let header = br#"452-["chat:send",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
                let bytes = random_bytes(&mut rng, 100);
                ws.text(&mut rng, header).await
                    && ws.frame(&mut rng, 0x80 | BINARY, &bytes, true).await
            }
            41 | 42 => {
                let bytes = random_bytes(&mut rng, 200);
                ws.frame(&mut rng, 0x80 | TEXT, &bytes, true).await
            }
            43 | 44 => {
                // A fragmented message, sometimes never finished or interrupted by another.
                let first = ws.frame(&mut rng, TEXT, b"42[\"chat:rooms\"", true).await;
                let next = *[0x80 | CONTINUATION, 0x80 | TEXT, CONTINUATION]
                    .choose(&mut rng)
                    .expect("not empty");
                first && ws.frame(&mut rng, next, b",{}]", true).await
            }
            45 => {
                ws.frame(&mut rng, 0x80 | TEXT, b"42[\"chat:rooms\"]", false)
                    .await
            }
            46 => {
                let opcode = *[0x83, 0x8b, 0xc1, 0xf1]
                    .choose(&mut rng)
                    .expect("not empty");
                ws.frame(&mut rng, opcode, b"40", true).await
            }
            47 | 48 => {
                let bytes = random_bytes(&mut rng, 300);
                ws.frame(&mut rng, 0x80 | PING, &bytes, true).await
            }
            49 => {
                let code: u16 = *[1000, 1001, 1005, 4000, 0, 65535]
                    .choose(&mut rng)
                    .expect("not empty");
                ws.frame(&mut rng, 0x80 | CLOSE, &code.to_be_bytes(), true)
                    .await
            }
            50 | 51 => {
                // A length that never comes, then a reset.
                let mut header = vec![0x80 | BINARY, 0x80 | 127];
                header.extend((1u64 << rng.gen_range(20..63)).to_be_bytes());
                header.extend([1, 2, 3, 4, 5, 6]);
                ws.raw(&header).await;
                false
            }
            52 | 53 => {
                // Half a frame, then a reset.
                let packet = engine_io(&mut rng, &token);
                let mut bytes = frame_bytes(&mut rng, 0x80 | TEXT, packet.as_bytes(), true);
                bytes.truncate(rng.gen_range(1..bytes.len()));
                ws.raw(&bytes).await;
                false
            }
            _ => ws.text(&mut rng, b"3").await,
        };
        if !alive {
            if let Some(ws) = link.take() {
                ws.close().await;
            }
        }
    }
    if let Some(ws) = link {
        ws.close().await;
    }
}

/// A raw WebSocket connection: what we write; what the server writes is read and thrown away.
/// An abrupt one has SO_LINGER 0, so that ending it resets the connection.
struct Link {
    write: WriteHalf<TcpStream>,
    drain: actix_rt::task::JoinHandle<()>,
}

impl Link {
    /// The WebSocket handshake, one time in ten on a bad URL; `None` if refused.
    async fn open(port: u16, rng: &mut StdRng) -> Option<Link> {
        let mut tcp = timeout(OP_WAIT, TcpStream::connect(("127.0.0.1", port)))
            .await
            .ok()?
            .ok()?;
        let query = match rng.gen_range(0..10) {
            0 => [
                "EIO=3&transport=websocket",
                "EIO=4&transport=websocket&sid=nope",
                "transport=websocket",
                "EIO=4&transport=polling",
            ]
            .choose(rng)?
            .to_string(),
            _ => "EIO=4&transport=websocket".into(),
        };
        let request = format!(
            "GET /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        timeout(OP_WAIT, tcp.write_all(request.as_bytes()))
            .await
            .ok()?
            .ok()?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
            let n = timeout(OP_WAIT, tcp.read(&mut buf)).await.ok()?.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&buf[..n]);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            return None;
        }
        if rng.gen_bool(0.5) {
            #[allow(deprecated)] // set_zero_linger is not in every tokio 1.x
            let _ = tcp.set_linger(Some(Duration::ZERO));
        }
        // Halves that do not shut the connection down when dropped: the last one closes it.
        let (mut read, write) = tokio::io::split(tcp);
        let drain = actix_rt::spawn(async move {
            let mut buf = vec![0u8; 16_384];
            while let Ok(n) = read.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
        Some(Link { write, drain })
    }

    /// A masked text frame; false once the connection is gone.
    async fn text(&mut self, rng: &mut StdRng, payload: &[u8]) -> bool {
        self.frame(rng, 0x80 | TEXT, payload, true).await
    }

    /// A frame with this first byte (FIN, RSV, opcode); false once the connection is gone.
    async fn frame(&mut self, rng: &mut StdRng, first: u8, payload: &[u8], masked: bool) -> bool {
        let bytes = frame_bytes(rng, first, payload, masked);
        self.raw(&bytes).await
    }

    async fn raw(&mut self, bytes: &[u8]) -> bool {
        matches!(
            timeout(OP_WAIT, self.write.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    /// Ends the connection: with a reset if it is an abrupt one, else with a FIN.
    async fn close(self) {
        let Link { write, drain } = self;
        drain.abort();
        let _ = drain.await;
        drop(write);
    }
}

/// One WebSocket frame as a client writes it (masked unless told otherwise).
fn frame_bytes(rng: &mut StdRng, first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n < 65_536 => {
            out.push(mask_bit | 126);
            out.extend((n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend((n as u64).to_be_bytes());
        }
    }
    if masked {
        let key: [u8; 4] = rng.gen();
        out.extend(key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend(payload);
    }
    out
}
