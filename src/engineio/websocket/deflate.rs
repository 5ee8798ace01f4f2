//! permessage-deflate (RFC 7692): the negotiation, and compressing and inflating messages.
//!
//! Memory decides the design: a deflate context with zlib's defaults is about 300 KiB, far more
//! than an idle connection may cost here. So the server always answers with
//! `server_no_context_takeover` and `client_no_context_takeover`: every message is compressed
//! and inflated on its own, and one compressor and one inflater per worker thread serve every
//! connection on it, reset between messages. A connection with the extension costs nothing more
//! than one without it.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Messages shorter than this are sent uncompressed (Node's `perMessageDeflate.threshold`).
pub const COMPRESSION_THRESHOLD: usize = 1024;
/// The deflate level: 1 keeps most of the gain on JSON for a fraction of the default's CPU.
const DEFLATE_LEVEL: u32 = 1;
/// What a sync flush ends with, left off on the wire (RFC 7692 §7.2.1).
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];
/// The window the compressor uses (32 KiB, the largest deflate has).
const WINDOW_BITS: u8 = 15;
/// The smallest window a client may ask of the server.
const MIN_WINDOW_BITS: u8 = 8;
/// The extension's name in `Sec-WebSocket-Extensions`.
const NAME: &str = "permessage-deflate";

thread_local! {
    static DEFLATER: RefCell<Deflater> = RefCell::new(Deflater::new());
    static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// What one client agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    /// The largest message compressed: the client's `server_max_window_bits` bounds how far back
    /// the compressor may refer, and a message no longer than the window cannot refer further.
    /// Larger messages go uncompressed.
    largest: usize,
}

/// The agreed extension and the `Sec-WebSocket-Extensions` value answering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The settings for this connection.
    pub deflate: Deflate,
    /// The response header's value.
    pub response: String,
}

/// Picks the first valid permessage-deflate offer among the `Sec-WebSocket-Extensions` values;
/// `None` when there is none (an offer with unknown, repeated or malformed parameters is
/// declined, as RFC 7692 §5 asks).
pub fn negotiate<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Agreement> {
    headers
        .into_iter()
        .flat_map(|value| value.split(','))
        .find_map(accept_offer)
}

fn accept_offer(offer: &str) -> Option<Agreement> {
    let mut parts = offer.split(';').map(str::trim);
    if parts.next()? != NAME {
        return None;
    }
    let mut seen = Vec::new();
    let mut server_bits = None;
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param, None),
        };
        if seen.contains(&name) {
            return None;
        }
        seen.push(name);
        match (name, value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => {}
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(bits)) => {
                window_bits(bits)?;
            }
            ("server_max_window_bits", Some(bits)) => server_bits = Some(window_bits(bits)?),
            _ => return None,
        }
    }
    let mut response = format!("{NAME}; server_no_context_takeover; client_no_context_takeover");
    if let Some(bits) = server_bits {
        response.push_str(&format!("; server_max_window_bits={bits}"));
    }
    Some(Agreement {
        deflate: Deflate {
            // The compressor's own window is the largest there is: only a smaller one bounds.
            largest: server_bits.map_or(usize::MAX, |bits| 1 << bits),
        },
        response,
    })
}

fn window_bits(value: &str) -> Option<u8> {
    let bits: u8 = value.parse().ok()?;
    (MIN_WINDOW_BITS..=WINDOW_BITS)
        .contains(&bits)
        .then_some(bits)
}

impl Deflate {
    /// `payload` compressed for the wire, or `None` when it goes as it is: shorter than
    /// [`COMPRESSION_THRESHOLD`], longer than the client's window, or not smaller compressed.
    pub fn compress(&self, payload: &Bytes) -> Option<Bytes> {
        if payload.len() < COMPRESSION_THRESHOLD || payload.len() > self.largest {
            return None;
        }
        DEFLATER.with_borrow_mut(|deflater| deflater.compress(payload))
    }
}

/// The thread's compressor, and the last message it compressed: a broadcast hands the same
/// frame to every recipient, and without context takeover they all get the same bytes.
struct Deflater {
    compress: Compress,
    last: Option<(Bytes, Bytes)>,
}

impl Deflater {
    fn new() -> Deflater {
        Deflater {
            compress: Compress::new(Compression::new(DEFLATE_LEVEL), false),
            last: None,
        }
    }

    fn compress(&mut self, payload: &Bytes) -> Option<Bytes> {
        // Holding the last payload keeps its buffer alive, so the same address and length mean
        // the same bytes.
        if let Some((input, output)) = &self.last {
            if input.as_ptr() == payload.as_ptr() && input.len() == payload.len() {
                return Some(output.clone());
            }
        }
        let output = self.deflate(payload)?;
        self.last = Some((payload.clone(), output.clone()));
        Some(output)
    }

    /// `input` compressed in one call into a buffer the size of `input`: output that would not
    /// fit is not worth sending compressed anyway. One call matters: when miniz_oxide fills the
    /// output mid-message, its next call only writes out what it had pending and returns with
    /// room to spare, the last few KiB of input still in its lookahead, so a loop that stops at
    /// spare room sends a truncated message (Autobahn 12.2.9 found it). So anything short of a
    /// complete flush (all input taken, room left, the sync tail written) goes uncompressed.
    fn deflate(&mut self, input: &[u8]) -> Option<Bytes> {
        self.compress.reset();
        let mut out = Vec::with_capacity(input.len() + SYNC_TAIL.len());
        self.compress
            .compress_vec(input, &mut out, FlushCompress::Sync)
            .ok()?;
        let complete = self.compress.total_in() as usize == input.len()
            && out.len() < out.capacity()
            && out.ends_with(&SYNC_TAIL);
        if !complete {
            return None;
        }
        out.truncate(out.len() - SYNC_TAIL.len());
        if out.len() >= input.len() {
            return None;
        }
        // The frame keeps its allocation while it waits in queues: only what it uses.
        out.shrink_to_fit();
        Some(Bytes::from(out))
    }
}

/// Why a compressed message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// It inflates past the maximum payload (a zip bomb, or just too large).
    #[error("message inflates past the maximum payload")]
    TooLarge,
    /// It is not a deflate stream.
    #[error("message does not inflate")]
    Corrupt,
}

/// Inflates one compressed message (without context takeover), stopping as soon as the output
/// passes `max` bytes.
pub fn inflate(mut data: BytesMut, max: usize) -> Result<Bytes, InflateError> {
    data.extend_from_slice(&SYNC_TAIL);
    INFLATER.with_borrow_mut(|inflater| {
        inflater.reset(false);
        let mut out: Vec<u8> = Vec::with_capacity((data.len() * 4).min(max + 1));
        loop {
            if out.len() == out.capacity() {
                // Capacity never passes max + 1: one byte over is enough to know.
                out.reserve_exact(out.capacity().max(1024).min(max + 1 - out.len()));
            }
            let (before_in, before_out) = (inflater.total_in(), out.len());
            let consumed = before_in as usize;
            let status = inflater
                .decompress_vec(&data[consumed..], &mut out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            if out.len() > max {
                return Err(InflateError::TooLarge);
            }
            let all_in = inflater.total_in() as usize == data.len();
            if status == Status::StreamEnd || (all_in && out.len() < out.capacity()) {
                break;
            }
            if inflater.total_in() == before_in && out.len() == before_out {
                return Err(InflateError::Corrupt);
            }
        }
        Ok(Bytes::from(out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(offer: &str) -> Option<Agreement> {
        negotiate([offer])
    }

    #[test]
    fn accepts_the_offers_of_browsers_and_node_without_context_takeover() {
        let chrome = agree("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(
            chrome.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        let asks_a_window = agree("permessage-deflate; server_max_window_bits=10").unwrap();
        assert!(asks_a_window
            .response
            .ends_with("; server_max_window_bits=10"));
        assert_eq!(asks_a_window.deflate.largest, 1024);
        let quoted = agree("permessage-deflate; client_max_window_bits=\"12\"");
        assert!(quoted.is_some());
    }

    #[test]
    fn declines_malformed_offers_and_takes_the_next() {
        for offer in [
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; unknown",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        ] {
            assert_eq!(agree(offer), None, "{offer}");
        }
        let second = negotiate(["permessage-deflate; bogus, permessage-deflate"]).unwrap();
        assert_eq!(second.deflate.largest, usize::MAX);
    }

    #[test]
    fn compresses_only_above_the_threshold_and_inflates_back() {
        let deflate = agree("permessage-deflate").unwrap().deflate;
        assert_eq!(deflate.compress(&Bytes::from(vec![b'a'; 1_023])), None);
        let message = Bytes::from(r#"42["chat",{"text":"hello"}]"#.repeat(100));
        let compressed = deflate.compress(&message).unwrap();
        assert!(compressed.len() < message.len() / 10);
        assert!(!compressed.ends_with(&SYNC_TAIL));
        let inflated = inflate(BytesMut::from(&compressed[..]), message.len()).unwrap();
        assert_eq!(inflated, message);
        assert_eq!(
            deflate.compress(&message),
            Some(compressed),
            "same bytes again"
        );
    }

    #[test]
    fn a_message_whose_compression_overflows_a_half_size_buffer_inflates_whole() {
        // 60,000 letters from 64, pseudo-random: about 44 KB compressed, and miniz_oxide's first
        // block ends within its 4 KiB lookahead of the end, where an output buffer that fills
        // once used to lose the lookahead.
        let mut state: u32 = 7;
        let message: Vec<u8> = (0..60_000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b'!' + (state >> 16) as u8 % 64
            })
            .collect();
        let deflate = agree("permessage-deflate").unwrap().deflate;
        let compressed = deflate.compress(&Bytes::from(message.clone())).unwrap();
        assert!(compressed.len() > message.len() / 2);
        let inflated = inflate(BytesMut::from(&compressed[..]), message.len()).unwrap();
        assert_eq!(inflated.len(), message.len());
        assert!(inflated == message);
    }

    #[test]
    fn a_compressed_frame_holds_no_more_memory_than_its_bytes() {
        let message = r#"42["chat",{"text":"hello"}]"#.repeat(100);
        let compressed = Deflater::new().deflate(message.as_bytes()).unwrap();
        let len = compressed.len();
        let owned = compressed.try_into_mut().expect("the only handle");
        assert_eq!(owned.capacity(), len);
    }

    #[test]
    fn a_message_longer_than_the_clients_window_goes_uncompressed() {
        let deflate = agree("permessage-deflate; server_max_window_bits=10")
            .unwrap()
            .deflate;
        assert!(deflate.compress(&Bytes::from(vec![b'a'; 1_024])).is_some());
        assert_eq!(deflate.compress(&Bytes::from(vec![b'a'; 1_025])), None);
    }

    #[test]
    fn a_zip_bomb_stops_at_the_bound() {
        let deflate = agree("permessage-deflate").unwrap().deflate;
        let bomb = deflate.compress(&Bytes::from(vec![0; 10_000_000])).unwrap();
        // 10 MB of zeros deflate to about 10 KB.
        assert!(bomb.len() < 100_000);
        assert_eq!(
            inflate(BytesMut::from(&bomb[..]), 1_000_000),
            Err(InflateError::TooLarge)
        );
        assert_eq!(
            inflate(BytesMut::from(&b"\xff\xff\xff\xff not deflate"[..]), 1_000),
            Err(InflateError::Corrupt)
        );
    }
}
