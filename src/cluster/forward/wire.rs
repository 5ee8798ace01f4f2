//! What forwarding sends over Redis: one message per PUBLISH, a JSON header line then the raw
//! body, on the channel of the node it is for (`<key>-forward#<tag>#`).

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

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
}

/// A forwarding message that cannot be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum WireError {
    /// No header line.
    #[error("no header line")]
    NoHeader,
    /// The header is not the JSON expected.
    #[error("bad header: {0}")]
    BadHeader(#[from] serde_json::Error),
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
