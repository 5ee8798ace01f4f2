//! [`Registry`]: what this node knows of its own clients and sockets, to describe them to the
//! admin UI as `@socket.io/admin-ui` serializes a socket: the Engine.IO session's handshake (from
//! the engine hook), the socket's namespace and rooms (from the adapter decorator).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use super::time::{iso, now_millis};
use crate::engineio::{Handshake, Sid, TransportKind};
use crate::socketio::{Room, SocketId};
use crate::sync::lock;

/// Header values shown as this instead: they carry the client's credentials.
const REDACTED_HEADERS: [&str; 2] = ["cookie", "authorization"];
/// Characters of the session id shown as the client id (as Node shows them).
const CLIENT_ID_LEN: usize = 12;

/// One Engine.IO session of this node.
struct Client {
    /// The handshake as the UI shows it.
    handshake: Arc<Value>,
    transport: &'static str,
    /// Its sockets (one per namespace at most).
    sockets: Vec<(Arc<str>, SocketId)>,
}

/// One socket of this node.
struct SocketEntry {
    client: Sid,
    rooms: BTreeSet<Room>,
}

#[derive(Default)]
struct State {
    clients: HashMap<Sid, Client>,
    sockets: HashMap<(Arc<str>, SocketId), SocketEntry>,
    /// Sessions opened and closed since the last `server_stats`.
    opened: u64,
    closed: HashMap<&'static str, u64>,
}

/// This node's clients and sockets. Bounded by them: entries leave when they do.
#[derive(Default)]
pub struct Registry {
    state: Mutex<State>,
}

impl Registry {
    /// A session opened.
    pub fn client_opened(&self, handshake: &Handshake) {
        let client = Client {
            handshake: Arc::new(serialize_handshake(handshake)),
            transport: handshake.transport.as_str(),
            sockets: Vec::new(),
        };
        let mut state = lock(&self.state);
        state.opened += 1;
        state.clients.insert(handshake.sid.clone(), client);
    }

    /// A session closed, for this reason.
    pub fn client_closed(&self, sid: &Sid, reason: &'static str) {
        let mut state = lock(&self.state);
        state.clients.remove(sid);
        *state.closed.entry(reason).or_default() += 1;
    }

    /// A session moved from polling to a WebSocket; answers its sockets' namespaces and ids.
    pub fn client_upgraded(&self, sid: &Sid) -> Vec<(Arc<str>, SocketId)> {
        let mut state = lock(&self.state);
        let Some(client) = state.clients.get_mut(sid) else {
            return Vec::new();
        };
        client.transport = TransportKind::WebSocket.as_str();
        client.sockets.clone()
    }

    /// Open sessions, and how many of them poll.
    pub fn clients_count(&self) -> (usize, usize) {
        let state = lock(&self.state);
        let polling = TransportKind::Polling.as_str();
        let polling = state
            .clients
            .values()
            .filter(|client| client.transport == polling)
            .count();
        (state.clients.len(), polling)
    }

    /// Sessions opened, and closed by reason, since the last call.
    pub fn take_session_counts(&self) -> (u64, Vec<(&'static str, u64)>) {
        let mut state = lock(&self.state);
        let opened = std::mem::take(&mut state.opened);
        let closed = std::mem::take(&mut state.closed).into_iter().collect();
        (opened, closed)
    }

    /// A socket joined a namespace over session `client` (in the room of its own id, as in
    /// Socket.IO); answers its description.
    pub fn socket_added(&self, nsp: &Arc<str>, id: &SocketId, client: &Sid) -> Value {
        let mut state = lock(&self.state);
        let rooms = BTreeSet::from([Room::from(id.as_str())]);
        if let Some(session) = state.clients.get_mut(client) {
            session.sockets.push((Arc::clone(nsp), id.clone()));
        }
        state.sockets.insert(
            (Arc::clone(nsp), id.clone()),
            SocketEntry {
                client: client.clone(),
                rooms,
            },
        );
        describe(&state, nsp, id).unwrap_or(Value::Null)
    }

    /// A socket left; true if it was known.
    pub fn socket_removed(&self, nsp: &Arc<str>, id: &SocketId) -> bool {
        let mut state = lock(&self.state);
        let key = (Arc::clone(nsp), id.clone());
        let Some(entry) = state.sockets.remove(&key) else {
            return false;
        };
        if let Some(client) = state.clients.get_mut(&entry.client) {
            client.sockets.retain(|socket| *socket != key);
        }
        true
    }

    /// True if the socket is one of this node's.
    pub fn has_socket(&self, nsp: &Arc<str>, id: &SocketId) -> bool {
        lock(&self.state)
            .sockets
            .contains_key(&(Arc::clone(nsp), id.clone()))
    }

    /// A known socket joined (`join`) or left rooms; answers the rooms that changed.
    pub fn change_rooms(
        &self,
        nsp: &Arc<str>,
        id: &SocketId,
        rooms: &[Room],
        join: bool,
    ) -> Vec<Room> {
        let mut state = lock(&self.state);
        let Some(entry) = state.sockets.get_mut(&(Arc::clone(nsp), id.clone())) else {
            return Vec::new();
        };
        rooms
            .iter()
            .filter(|room| {
                if join {
                    entry.rooms.insert(Room::clone(room))
                } else {
                    entry.rooms.remove(*room)
                }
            })
            .cloned()
            .collect()
    }

    /// This node's sockets of `nsp`, described.
    pub fn sockets_of(&self, nsp: &str) -> Vec<Value> {
        let state = lock(&self.state);
        state
            .sockets
            .keys()
            .filter(|(name, _)| &**name == nsp)
            .filter_map(|(name, id)| describe(&state, name, id))
            .collect()
    }

    /// How many sockets this node has in each namespace.
    pub fn sockets_count(&self, nsp: &str) -> usize {
        lock(&self.state)
            .sockets
            .keys()
            .filter(|(name, _)| &**name == nsp)
            .count()
    }
}

/// A socket as `@socket.io/admin-ui` serializes it.
fn describe(state: &State, nsp: &Arc<str>, id: &SocketId) -> Option<Value> {
    let entry = state.sockets.get(&(Arc::clone(nsp), id.clone()))?;
    let client = state.clients.get(&entry.client);
    let client_id: String = entry.client.as_str().chars().take(CLIENT_ID_LEN).collect();
    Some(json!({
        "id": id.as_str(),
        "clientId": client_id,
        "transport": client.map_or("unknown", |c| c.transport),
        "nsp": &**nsp,
        "data": {},
        "handshake": client.map_or(Value::Object(Map::new()), |c| Value::clone(&c.handshake)),
        "rooms": entry.rooms.iter().map(|r| &**r).collect::<Vec<_>>(),
    }))
}

/// A socket of another node, known by its id only.
pub fn describe_remote(nsp: &str, id: &str) -> Value {
    json!({
        "id": id,
        "clientId": id.chars().take(CLIENT_ID_LEN).collect::<String>(),
        "transport": "unknown",
        "nsp": nsp,
        "data": {},
        "handshake": {},
        "rooms": [id],
    })
}

/// The handshake as Node's admin UI shows it; credentials in headers are redacted.
fn serialize_handshake(handshake: &Handshake) -> Value {
    let mut headers = Map::new();
    for (name, value) in handshake.headers.iter() {
        let shown = if REDACTED_HEADERS.contains(&name) {
            "[redacted]".to_string()
        } else {
            String::from_utf8_lossy(value).into_owned()
        };
        headers.insert(name.to_string(), Value::String(shown));
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let address = header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for"))
        .or_else(|| handshake.peer.map(|peer| peer.ip().to_string()))
        .unwrap_or_default();
    let query: Map<String, Value> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(&handshake.query)
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, Value::String(value)))
            .collect();
    let now = now_millis();
    json!({
        "address": address,
        "headers": headers,
        "query": query,
        "issued": now,
        "secure": header("x-forwarded-proto").as_deref() == Some("https"),
        "time": iso(now),
        "url": format!("/socket.io/?{}", handshake.query),
        "xdomain": headers.contains_key("origin"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    fn handshake() -> Handshake {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("cookie"),
            HeaderValue::from_static("agora_session=secret"),
        );
        Handshake {
            sid: Sid::random(),
            headers: (&headers).into(),
            path: "/socket.io/".into(),
            query: "EIO=4&transport=polling".to_string(),
            secure: false,
            peer: Some("10.1.2.3:4567".parse().unwrap()),
            transport: TransportKind::Polling,
        }
    }

    #[test]
    fn follows_a_session_and_its_sockets() {
        let registry = Registry::default();
        let session = handshake();
        registry.client_opened(&session);
        assert_eq!(registry.clients_count(), (1, 1));
        let nsp: Arc<str> = Arc::from("/");
        let id = SocketId::random();
        let described = registry.socket_added(&nsp, &id, &session.sid);
        assert_eq!(described["transport"], "polling");
        assert_eq!(described["handshake"]["address"], "10.1.2.3");
        assert_eq!(described["handshake"]["headers"]["cookie"], "[redacted]");
        assert_eq!(described["handshake"]["query"]["EIO"], "4");
        assert_eq!(described["rooms"], serde_json::json!([id.as_str()]));
        let room: Room = Arc::from("r");
        assert_eq!(
            registry
                .change_rooms(&nsp, &id, &[Arc::clone(&room)], true)
                .len(),
            1
        );
        assert!(
            registry.change_rooms(&nsp, &id, &[room], true).is_empty(),
            "already in"
        );
        assert_eq!(
            registry.client_upgraded(&session.sid),
            vec![(Arc::clone(&nsp), id.clone())]
        );
        assert_eq!(registry.clients_count(), (1, 0));
        assert_eq!(registry.sockets_count("/"), 1);
        assert!(registry.socket_removed(&nsp, &id));
        assert!(!registry.socket_removed(&nsp, &id));
        assert!(registry.client_upgraded(&session.sid).is_empty());
        registry.client_closed(&session.sid, "transport close");
        assert_eq!(registry.clients_count(), (0, 0));
        assert_eq!(
            registry.take_session_counts(),
            (1, vec![("transport close", 1)])
        );
    }
}
