//! [`Mirror`]: the cluster adapter's own copy of this node's sockets and rooms, kept in step with
//! the calls it forwards to the local adapter, so it can answer other nodes' requests (rooms of a
//! socket, every room, sockets matching rooms/except) without a round trip through the hub.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::engineio::EngineSocket;
use crate::hub::room_index::{RoomIndex, Selection};
use crate::socketio::{Room, SocketDetails, SocketId};

/// A socket of this node as the mirror keeps it: what writes to it, and what fetches tell of it.
#[derive(Clone)]
pub struct MirroredSocket {
    /// Where to write.
    pub engine: EngineSocket,
    /// Its handshake and data slot (shared with the socket, so always current).
    pub details: Arc<SocketDetails>,
}

/// Sockets of this node, by namespace, with what writes to them and their details.
///
/// Every socket is in the room named by its id, joined explicitly so that it is listed among the
/// rooms (ALL_ROOMS) and the rooms of the socket (REMOTE_FETCH), as Node lists them.
pub struct Mirror<E = MirroredSocket> {
    namespaces: HashMap<Arc<str>, RoomIndex<E>>,
    /// How many dropped sockets each namespace keeps the rooms of.
    max_kept: usize,
}

/// A socket selected by rooms.
pub struct Selected<E = MirroredSocket> {
    /// The socket.
    pub id: SocketId,
    /// What writes to it, and its details.
    pub socket: E,
    /// Its rooms (the room of its id included).
    pub rooms: Vec<Room>,
}

impl<E: Clone> Mirror<E> {
    /// An empty mirror keeping the rooms of at most `max_kept` dropped sockets per namespace
    /// (connection state recovery's most sessions).
    pub fn new(max_kept: usize) -> Mirror<E> {
        Mirror {
            namespaces: HashMap::new(),
            max_kept,
        }
    }

    /// A socket connected; it is in the room named by its id.
    pub fn add(&mut self, nsp: &Arc<str>, id: &SocketId, socket: E) {
        let max_kept = self.max_kept;
        let index = self
            .namespaces
            .entry(Arc::clone(nsp))
            .or_insert_with(|| RoomIndex::new(max_kept));
        index.insert(id.clone(), socket);
        index.join(id, [Room::from(id.as_str())]);
    }

    /// A socket left; answers the rooms it was in.
    pub fn remove(&mut self, nsp: &str, id: &SocketId) -> HashSet<Room> {
        let Some(index) = self.namespaces.get_mut(nsp) else {
            return HashSet::new();
        };
        let rooms = index.remove(id).map(|(_, rooms)| rooms).unwrap_or_default();
        if index.is_empty() {
            self.namespaces.remove(nsp);
        }
        rooms
    }

    /// A socket joins rooms.
    pub fn join(&mut self, nsp: &str, id: &SocketId, rooms: impl IntoIterator<Item = Room>) {
        if let Some(index) = self.namespaces.get_mut(nsp) {
            index.join(id, rooms);
        }
    }

    /// A socket leaves rooms.
    pub fn leave(&mut self, nsp: &str, id: &SocketId, rooms: &[Room]) {
        if let Some(index) = self.namespaces.get_mut(nsp) {
            index.leave(id, rooms);
        }
    }

    /// A socket's connection dropped: it leaves, and its rooms are remembered for `keep` (the
    /// oldest kept give way beyond the cap).
    pub fn detach(&mut self, nsp: &str, id: &SocketId, keep: Duration) {
        if let Some(index) = self.namespaces.get_mut(nsp) {
            index.detach(id, keep);
        }
    }

    /// A detached socket came back: with its rooms if `recovered`, else afresh.
    pub fn restore(&mut self, nsp: &Arc<str>, id: &SocketId, socket: E, recovered: bool) {
        let kept = self
            .namespaces
            .get_mut(&**nsp)
            .and_then(|index| index.take_kept(id));
        self.add(nsp, id, socket);
        if let (true, Some(rooms)) = (recovered, kept) {
            self.join(nsp, id, rooms);
        }
    }

    /// Is this socket connected here?
    pub fn contains(&self, nsp: &str, id: &str) -> bool {
        self.namespaces
            .get(nsp)
            .is_some_and(|index| index.contains(id))
    }

    /// Every room with a member here.
    pub fn rooms(&self, nsp: &str) -> Vec<Room> {
        self.namespaces
            .get(nsp)
            .map(|index| index.rooms().cloned().collect())
            .unwrap_or_default()
    }

    /// The sockets the selection takes.
    pub fn select(&self, nsp: &str, selection: Selection<'_>) -> Vec<Selected<E>> {
        let mut selected = Vec::new();
        if let Some(index) = self.namespaces.get(nsp) {
            index.select(selection, |id, socket, rooms| {
                selected.push(Selected {
                    id: id.clone(),
                    socket: socket.clone(),
                    rooms: rooms.iter().cloned().collect(),
                });
            });
        }
        selected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Duration = Duration::from_secs(60);

    fn rooms(items: &[&str]) -> Vec<Room> {
        items.iter().map(|s| Room::from(*s)).collect()
    }

    /// The ids of the sockets in any of `to` and in none of `except`, sorted.
    fn ids(mirror: &Mirror<()>, to: &[&str], except: &[&str]) -> Vec<String> {
        let (to, except) = (rooms(to), rooms(except));
        let selection = Selection {
            rooms: &to,
            except_rooms: &except,
            except: None,
        };
        let mut ids: Vec<String> = mirror
            .select("/", selection)
            .into_iter()
            .map(|s| s.id.to_string())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn selects_by_rooms_and_except_with_id_rooms() {
        let nsp: Arc<str> = "/".into();
        let mut mirror = Mirror::<()>::new(10);
        for id in ["a", "b", "c"] {
            mirror.add(&nsp, &SocketId::from(id), ());
        }
        mirror.join("/", &"a".into(), [Room::from("r")]);
        mirror.join("/", &"b".into(), [Room::from("r"), Room::from("q")]);
        assert_eq!(ids(&mirror, &[], &[]), ["a", "b", "c"]);
        assert_eq!(ids(&mirror, &["r"], &[]), ["a", "b"]);
        assert_eq!(ids(&mirror, &["r"], &["q"]), ["a"]);
        assert_eq!(ids(&mirror, &["c", "q"], &[]), ["b", "c"]);
        assert_eq!(ids(&mirror, &[], &["a"]), ["b", "c"]);
        let mut all = mirror.rooms("/");
        all.sort();
        assert_eq!(all, rooms(&["a", "b", "c", "q", "r"]));
        mirror.leave("/", &"b".into(), &[Room::from("r")]);
        assert_eq!(ids(&mirror, &["r"], &[]), ["a"]);
        assert!(mirror.contains("/", "c"));
        assert!(!mirror.contains("/other", "c"));
    }

    #[test]
    fn detached_sockets_get_their_rooms_back_only_when_recovered() {
        let nsp: Arc<str> = "/".into();
        let mut mirror = Mirror::<()>::new(10);
        for id in ["a", "b"] {
            mirror.add(&nsp, &SocketId::from(id), ());
            mirror.join("/", &id.into(), [Room::from("r")]);
        }
        mirror.detach(&nsp, &"a".into(), KEEP);
        mirror.detach(&nsp, &"b".into(), KEEP);
        assert!(ids(&mirror, &["r"], &[]).is_empty());
        mirror.restore(&nsp, &"a".into(), (), true);
        mirror.restore(&nsp, &"b".into(), (), false);
        assert_eq!(ids(&mirror, &["r"], &[]), ["a"]);
        assert_eq!(ids(&mirror, &["b"], &[]), ["b"]);
        mirror.remove("/", &"a".into());
        mirror.remove("/", &"b".into());
        assert!(mirror.rooms("/").is_empty());
    }

    #[test]
    fn keeps_the_rooms_of_at_most_max_kept_dropped_sockets() {
        let nsp: Arc<str> = "/".into();
        let mut mirror = Mirror::<()>::new(2);
        for id in ["a", "b", "c"] {
            mirror.add(&nsp, &SocketId::from(id), ());
            mirror.join("/", &id.into(), [Room::from("r")]);
            mirror.detach(&nsp, &id.into(), KEEP);
        }
        for id in ["a", "b", "c"] {
            mirror.restore(&nsp, &id.into(), (), true);
        }
        assert_eq!(
            ids(&mirror, &["r"], &[]),
            ["b", "c"],
            "the oldest dropped socket gave way"
        );
    }
}
