//! What forwarding sends over Redis: one message per PUBLISH, a JSON header line then the raw
//! body, on the channel of the node it is for (`<key>-forward#<tag>#`).

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::web::Bytes;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};

use crate::engineio::Frame;

/// Ends the JSON header; compact JSON never holds a raw newline, so the first one is the end.
const HEADER_END: u8 = b'\n';

/// The channel a node listens on for forwarded requests, answers and cancellations.
pub(super) fn channel(key: &str, tag: &str) -> String {
    format!("{key}-forward#{tag}#")
}

/// The header of a forwarding message; the body follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(super) enum Header {
    /// A polling request for the receiving node's session; answer on `from`'s channel with `id`.
    Request {
        id: u64,
        from: String,
        method: String,
        query: String,
        headers: Vec<(String, String)>,
    },
    /// The answer to request `id` of the receiving node.
    Response {
        id: u64,
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// The client of request `id` of node `from` went away: stop serving it.
    Cancel { id: u64, from: String },
    /// Node `from` relays a WebSocket upgrade of the receiving node's session `sid` as `relay`.
    RelayOpen {
        relay: u64,
        from: String,
        sid: String,
    },
    /// The client's frames (the body) on relay `relay` of node `from`; then its end, if `close`
    /// names why.
    RelayUp {
        relay: u64,
        from: String,
        close: Option<String>,
    },
    /// The session's frames (the body) for the receiving node's relay `relay`; then its end, if
    /// `close` names why.
    RelayDown { relay: u64, close: Option<String> },
}

/// Marks a text frame in a relay message's body.
const TEXT_FRAME: u8 = b't';
/// Marks a binary frame in a relay message's body.
const BINARY_FRAME: u8 = b'b';
/// Bytes of a relayed frame's kind and length before its bytes.
const FRAME_PREFIX: usize = 5;

/// A forwarding message that cannot be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum WireError {
    /// No header line.
    #[error("no header line")]
    NoHeader,
    /// The header is not the JSON expected.
    #[error("bad header: {0}")]
    BadHeader(#[from] serde_json::Error),
    /// A relay message's frames are cut short, of an unknown kind, or text that is not UTF-8.
    #[error("bad relayed frames")]
    BadFrames,
}

/// A header and its body as one Redis payload.
pub(super) fn encode(header: &Header, body: &[u8]) -> Vec<u8> {
    // Serializing a plain enum of strings and numbers cannot fail.
    let mut payload = serde_json::to_vec(header).unwrap_or_default();
    payload.push(HEADER_END);
    payload.extend_from_slice(body);
    payload
}

/// Splits a Redis payload into its header and body.
pub(super) fn decode(payload: &[u8]) -> Result<(Header, &[u8]), WireError> {
    let end = payload
        .iter()
        .position(|&b| b == HEADER_END)
        .ok_or(WireError::NoHeader)?;
    let header = serde_json::from_slice(&payload[..end])?;
    Ok((header, &payload[end + 1..]))
}

/// Relayed frames as a message body: each is its kind (`t`, `b`), its length (4 bytes, big
/// endian) and its bytes.
pub(super) fn encode_frames(frames: &[Frame]) -> Vec<u8> {
    let size = frames.iter().map(|frame| FRAME_PREFIX + frame.len()).sum();
    let mut body = Vec::with_capacity(size);
    for frame in frames {
        let (kind, bytes) = match frame {
            Frame::Text(text) => (TEXT_FRAME, &text.as_bytes()[..]),
            Frame::Binary(bytes) => (BINARY_FRAME, &bytes[..]),
        };
        body.push(kind);
        // A frame is bounded by `maxPayload`, far below 4 GiB.
        body.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        body.extend_from_slice(bytes);
    }
    body
}

/// Reads back the frames [`encode_frames`] wrote.
pub(super) fn decode_frames(body: &[u8]) -> Result<Vec<Frame>, WireError> {
    let body = Bytes::copy_from_slice(body);
    let mut frames = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let prefix = body
            .get(at..at + FRAME_PREFIX)
            .ok_or(WireError::BadFrames)?;
        let mut length = [0u8; 4];
        length.copy_from_slice(&prefix[1..]);
        let start = at + FRAME_PREFIX;
        let end = start + u32::from_be_bytes(length) as usize;
        if end > body.len() {
            return Err(WireError::BadFrames);
        }
        let bytes = body.slice(start..end);
        frames.push(match prefix[0] {
            TEXT_FRAME => {
                Frame::Text(ByteString::try_from(bytes).map_err(|_| WireError::BadFrames)?)
            }
            BINARY_FRAME => Frame::Binary(bytes),
            _ => return Err(WireError::BadFrames),
        });
        at = end;
    }
    Ok(frames)
}

/// Headers as name/value pairs (values that are not text are left out).
pub(super) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect()
}

/// Name/value pairs back as headers (invalid ones are left out).
pub(super) fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_binary_bodies() {
        let header = Header::Response {
            id: 7,
            status: 200,
            headers: vec![("content-encoding".into(), "gzip".into())],
        };
        let body = [0x1f, 0x8b, b'\n', 0, 255];
        let payload = encode(&header, &body);
        let (decoded, rest) = decode(&payload).expect("decodes");
        assert_eq!(decoded, header);
        assert_eq!(rest, body);
        assert!(decode(b"no header").is_err());
        assert!(decode(b"{\"kind\":\"nope\"}\n").is_err());
    }

    #[test]
    fn relayed_frames_round_trip_and_cut_ones_are_refused() {
        let frames = vec![
            Frame::Text("4héllo".into()),
            Frame::Binary(Bytes::from_static(&[0, b'\n', 255])),
            Frame::Text("".into()),
        ];
        let body = encode_frames(&frames);
        assert_eq!(decode_frames(&body).expect("decodes"), frames);
        assert!(decode_frames(&body[..body.len() - 1]).is_err());
        assert!(decode_frames(b"x\0\0\0\0").is_err());
        assert!(decode_frames(b"t\0\0\0\x01\xff").is_err());
        assert!(decode_frames(&[]).expect("no frames").is_empty());
    }

    #[test]
    fn headers_survive_the_trip() {
        let pairs = vec![
            ("accept-encoding".to_string(), "gzip".to_string()),
            ("bad name".to_string(), "x".to_string()),
        ];
        let map = header_map(&pairs);
        assert_eq!(map.len(), 1);
        assert_eq!(header_pairs(&map), pairs[..1].to_vec());
    }
}
