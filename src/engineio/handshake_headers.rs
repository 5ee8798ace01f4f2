//! [`HandshakeHeaders`]: the headers of the request that opened a session, kept for the session's
//! whole life in one buffer and read on demand.
//!
//! A session keeps them for `socket.handshake` (middleware, `fetchSockets`, the admin UI), which
//! are read rarely. A `HeaderMap` sized for the five headers of a typical WebSocket handshake holds
//! about 1.7 KiB in a table of fixed-size entries; this holds the bytes that were sent.

use std::fmt;

use actix_web::http::header::HeaderMap;

/// Separates a header's name from its value in the buffer: not a token character, so never in a
/// name.
const NAME_END: u8 = b':';
/// Ends a header in the buffer: a header value never holds a line feed.
const VALUE_END: u8 = b'\n';

/// Request headers in one allocation: `name:value\n` per header, in the order received, names in
/// lowercase (as `HeaderName` keeps them). Repeated headers keep one line each.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HandshakeHeaders(Box<[u8]>);

impl HandshakeHeaders {
    /// Every header, name and value, one pair per line received (repeated names repeat).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0
            .split(|&byte| byte == VALUE_END)
            .filter(|line| !line.is_empty())
            .filter_map(|line| {
                let colon = line.iter().position(|&byte| byte == NAME_END)?;
                let name = std::str::from_utf8(&line[..colon]).ok()?;
                Some((name, &line[colon + 1..]))
            })
    }

    /// Every value of header `name` (any case), in the order received.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(each, _)| each.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// The first value of header `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(each, _)| each.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// The first value of header `name` as text, if it is visible ASCII (as
    /// `HeaderValue::to_str`).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        let value = self.get(name)?;
        let visible = value
            .iter()
            .all(|&byte| byte == b'\t' || (0x20..0x7f).contains(&byte));
        visible.then(|| std::str::from_utf8(value).ok()).flatten()
    }

    /// Whether header `name` (any case) was sent.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl From<&HeaderMap> for HandshakeHeaders {
    fn from(headers: &HeaderMap) -> HandshakeHeaders {
        let size = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let mut buf = Vec::with_capacity(size);
        for (name, value) in headers {
            buf.extend_from_slice(name.as_str().as_bytes());
            buf.push(NAME_END);
            buf.extend_from_slice(value.as_bytes());
            buf.push(VALUE_END);
        }
        HandshakeHeaders(buf.into_boxed_slice())
    }
}

impl fmt::Debug for HandshakeHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(name, value)| (name, String::from_utf8_lossy(value))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};
    use actix_web::web::Bytes;

    fn headers() -> HandshakeHeaders {
        let mut map = HeaderMap::new();
        let tag = HeaderName::from_static("x-tag");
        map.append(tag.clone(), HeaderValue::from_static("a"));
        map.append(tag, HeaderValue::from_static("b:c"));
        map.insert(
            HeaderName::from_static("origin"),
            HeaderValue::from_static("http://o.example"),
        );
        map.insert(
            HeaderName::from_static("x-raw"),
            HeaderValue::from_bytes(b"caf\xc3\xa9").expect("a valid header value"),
        );
        HandshakeHeaders::from(&map)
    }

    #[test]
    fn keeps_every_header_and_repeated_ones_in_order() {
        let headers = headers();
        assert_eq!(headers.iter().count(), 4);
        let tags: Vec<&[u8]> = headers.get_all("X-Tag").collect();
        assert_eq!(tags, [&b"a"[..], &b"b:c"[..]]);
        assert_eq!(headers.get("origin"), Some(&b"http://o.example"[..]));
        assert_eq!(headers.get_str("ORIGIN"), Some("http://o.example"));
        assert!(headers.contains_key("x-raw"));
        assert!(!headers.contains_key("cookie"));
        assert!(!headers.contains_key("x-ta"));
    }

    #[test]
    fn gives_no_text_for_bytes_outside_visible_ascii() {
        let headers = headers();
        assert_eq!(headers.get("x-raw"), Some(&b"caf\xc3\xa9"[..]));
        assert_eq!(headers.get_str("x-raw"), None);
    }

    #[test]
    fn keeps_no_reference_to_the_request_buffer() {
        // actix-http's header values are slices of the connection's 8 KiB read buffer: a
        // handshake holding one kept that whole buffer for the session's life.
        let buffer = Bytes::from(vec![b'v'; 8 << 10]);
        let mut map = HeaderMap::new();
        let value = HeaderValue::from_maybe_shared(buffer.slice(..4)).expect("a valid value");
        map.insert(HeaderName::from_static("x-v"), value);
        let headers = HandshakeHeaders::from(&map);
        drop(map);
        assert!(buffer.is_unique(), "the request buffer is still shared");
        assert_eq!(headers.get("x-v"), Some(&b"vvvv"[..]));
    }

    #[test]
    fn holds_the_bytes_sent_and_nothing_else() {
        let headers = headers();
        // "x-tag:a\n" + "x-tag:b:c\n" + "origin:http://o.example\n" + "x-raw:café\n"
        assert_eq!(headers.0.len(), 8 + 10 + 24 + 12);
        assert_eq!(HandshakeHeaders::default().iter().count(), 0);
    }
}
