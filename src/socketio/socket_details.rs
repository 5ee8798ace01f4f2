//! [`SocketDetails`]: what a fetch of sockets tells about one besides its id and rooms, in the
//! shape Node's `fetchSockets()` gives it: the handshake and the `data` slot. Shared by the socket
//! and its adapter, so a fetch (local or from another node) sees the latest `data`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::engineio::Handshake;
use crate::sync::lock;

/// The largest `data` a socket holds, serialized as JSON: it travels in every fetch answer across
/// the cluster, so it stays small.
pub const MAX_SOCKET_DATA_BYTES: usize = 16 * 1024;

/// Why a socket's `data` was not replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketDataError {
    /// The value is larger than [`MAX_SOCKET_DATA_BYTES`] as JSON.
    #[error("socket data of {size} bytes is larger than {MAX_SOCKET_DATA_BYTES}")]
    TooLarge {
        /// Its size as JSON.
        size: usize,
    },
}

/// A socket's handshake (Node's `socket.handshake`) and its `data` slot.
#[derive(Debug)]
pub struct SocketDetails {
    handshake: Source,
    data: Mutex<Value>,
}

/// Where the handshake comes from: a socket of this server keeps the request it already holds
/// and writes Node's JSON only when fetched (idle sockets pay nothing for it).
#[derive(Debug)]
enum Source {
    /// The request that opened the connection, the CONNECT `auth`, and when the socket came.
    Request {
        handshake: Arc<Handshake>,
        auth: Value,
        issued: SystemTime,
    },
    /// Already in Node's shape.
    Json(Value),
}

impl SocketDetails {
    /// The details of a socket that connected now, with the client's CONNECT `auth`.
    pub fn new(handshake: &Arc<Handshake>, auth: &Value) -> Arc<SocketDetails> {
        SocketDetails::with(Source::Request {
            handshake: Arc::clone(handshake),
            auth: auth.clone(),
            issued: SystemTime::now(),
        })
    }

    /// Details with this handshake, already in Node's shape, and data.
    pub fn from_parts(handshake: Value, data: Value) -> Arc<SocketDetails> {
        let details = SocketDetails::with(Source::Json(handshake));
        *lock(&details.data) = data;
        details
    }

    fn with(handshake: Source) -> Arc<SocketDetails> {
        Arc::new(SocketDetails {
            handshake,
            data: Mutex::new(json!({})),
        })
    }

    /// The handshake in Node's shape: `headers`, `time`, `address`, `xdomain`, `secure`,
    /// `issued`, `url`, `query`, `auth`.
    pub fn handshake(&self) -> Value {
        match &self.handshake {
            Source::Request {
                handshake,
                auth,
                issued,
            } => node_handshake(handshake, auth, *issued),
            Source::Json(json) => json.clone(),
        }
    }

    /// A copy of the `data` slot (`{}` until set).
    pub fn data(&self) -> Value {
        lock(&self.data).clone()
    }

    /// Replaces the `data` slot, if it is at most [`MAX_SOCKET_DATA_BYTES`] as JSON.
    pub fn set_data(&self, data: Value) -> Result<(), SocketDataError> {
        let size = serde_json::to_vec(&data).map_or(usize::MAX, |bytes| bytes.len());
        if size > MAX_SOCKET_DATA_BYTES {
            return Err(SocketDataError::TooLarge { size });
        }
        *lock(&self.data) = data;
        Ok(())
    }
}

/// The handshake as Node's `socket.handshake` shows it, for a socket created at `now`.
fn node_handshake(handshake: &Handshake, auth: &Value, now: SystemTime) -> Value {
    let mut headers = Map::new();
    for (name, value) in handshake.headers.iter() {
        let value = String::from_utf8_lossy(value);
        match headers.get_mut(name) {
            Some(Value::String(joined)) => {
                // Node joins repeated headers with ", " (cookies with "; ").
                joined.push_str(if name == "cookie" { "; " } else { ", " });
                joined.push_str(&value);
            }
            _ => {
                headers.insert(name.to_string(), Value::String(value.into_owned()));
            }
        }
    }
    let url = if handshake.query.is_empty() {
        handshake.path.clone()
    } else {
        format!("{}?{}", handshake.path, handshake.query)
    };
    let issued = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    json!({
        "headers": headers,
        "time": js_date(issued),
        "address": handshake.peer.as_ref().map(address).unwrap_or_default(),
        "xdomain": handshake.headers.contains_key("origin"),
        "secure": handshake.secure,
        "issued": u64::try_from(issued).unwrap_or(u64::MAX),
        "url": url,
        "query": query_object(&handshake.query),
        "auth": auth,
    })
}

/// The client's IP address, as Node's `conn.remoteAddress` (without the port).
fn address(peer: &SocketAddr) -> String {
    peer.ip().to_string()
}

/// The query string as Node's `url.parse(url, true).query`: a repeated key holds an array.
fn query_object(query: &str) -> Value {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut object = Map::new();
    for (key, value) in pairs {
        match object.get_mut(&key) {
            Some(Value::Array(values)) => values.push(json!(value)),
            Some(first) => *first = json!([first.take(), value]),
            None => {
                object.insert(key, json!(value));
            }
        }
    }
    Value::Object(object)
}

/// A time as JavaScript's `String(new Date())` writes it in UTC:
/// `Sun Dec 06 2026 18:36:14 GMT+0000 (Coordinated Universal Time)`.
fn js_date(millis: u128) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = u64::try_from(millis / 1000).unwrap_or(u64::MAX);
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        year,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The (year, month 1–12, day 1–31) of a count of days since 1970-01-01 (Howard Hinnant's
/// algorithm, for dates after 1970).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::{Sid, TransportKind};
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
    use std::time::Duration;

    #[test]
    fn dates_read_as_javascript_writes_them() {
        assert_eq!(
            js_date(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date(1_796_582_174_000),
            "Sun Dec 06 2026 18:36:14 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date(951_782_400_000),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    #[test]
    fn the_handshake_has_nodes_shape() {
        let mut headers = HeaderMap::new();
        let name = HeaderName::from_static("x-tag");
        headers.append(name.clone(), HeaderValue::from_static("a"));
        headers.append(name, HeaderValue::from_static("b"));
        headers.insert(
            HeaderName::from_static("origin"),
            HeaderValue::from_static("http://o.example"),
        );
        let handshake = Handshake {
            sid: Sid::random(),
            headers: (&headers).into(),
            path: "/socket.io/".into(),
            query: "EIO=4&transport=polling&k=1&k=2&sp=a%20b".into(),
            secure: false,
            peer: Some("10.1.2.3:5555".parse().unwrap()),
            transport: TransportKind::Polling,
        };
        let at = UNIX_EPOCH + Duration::from_millis(1_796_582_174_123);
        let json = node_handshake(&handshake, &json!({"token": "t"}), at);
        assert_eq!(
            json,
            json!({
                "headers": {"x-tag": "a, b", "origin": "http://o.example"},
                "time": "Sun Dec 06 2026 18:36:14 GMT+0000 (Coordinated Universal Time)",
                "address": "10.1.2.3",
                "xdomain": true,
                "secure": false,
                "issued": 1_796_582_174_123_u64,
                "url": "/socket.io/?EIO=4&transport=polling&k=1&k=2&sp=a%20b",
                "query": {"EIO": "4", "transport": "polling", "k": ["1", "2"], "sp": "a b"},
                "auth": {"token": "t"},
            })
        );
    }

    #[test]
    fn data_is_bounded() {
        let details = SocketDetails::from_parts(json!({}), json!({}));
        assert!(details.set_data(json!({"user": "ann"})).is_ok());
        assert_eq!(details.data(), json!({"user": "ann"}));
        let big = json!("x".repeat(MAX_SOCKET_DATA_BYTES));
        assert!(matches!(
            details.set_data(big),
            Err(SocketDataError::TooLarge { .. })
        ));
        assert_eq!(
            details.data(),
            json!({"user": "ann"}),
            "the old value stays"
        );
    }
}
