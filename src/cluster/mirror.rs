//! [`Mirror`]: the cluster adapter's own copy of this node's sockets and rooms, kept in step with
//! the calls it forwards to the local adapter, so it can answer other nodes' requests (rooms of a
//! socket, every room, sockets matching rooms/except) without a round trip through the hub.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engineio::EngineSocket;
use crate::socketio::{Room, SocketId};

/// Sockets of this node, by namespace, with what writes to them (an [`EngineSocket`]).
pub struct Mirror<E = EngineSocket> {
    namespaces: HashMap<Arc<str>, Namespace<E>>,
}

struct Namespace<E> {
    members: HashMap<SocketId, Member<E>>,
    rooms: HashMap<Room, HashSet<SocketId>>,
    /// Sockets whose connection dropped, with their rooms, while they may come back.
    detached: HashMap<SocketId, (HashSet<Room>, Instant)>,
}

struct Member<E> {
    engine: E,
    rooms: HashSet<Room>,
}

/// A socket selected by rooms.
pub struct Selected<E = EngineSocket> {
    pub id: SocketId,
    pub engine: E,
    pub rooms: Vec<Room>,
}

impl<E> Default for Mirror<E> {
    fn default() -> Self {
        Mirror {
            namespaces: HashMap::new(),
        }
    }
}

impl<E> Default for Namespace<E> {
    fn default() -> Self {
        Namespace {
            members: HashMap::new(),
            rooms: HashMap::new(),
            detached: HashMap::new(),
        }
    }
}

impl<E: Clone> Mirror<E> {
    /// A socket connected; it is in the room named by its id.
    pub fn add(&mut self, nsp: &Arc<str>, id: &SocketId, engine: E) {
        let ns = self.namespaces.entry(Arc::clone(nsp)).or_default();
        ns.members.insert(
            id.clone(),
            Member {
                engine,
                rooms: HashSet::new(),
            },
        );
        ns.join(id, [Room::from(id.as_str())]);
    }

    /// A socket left; answers the rooms it was in.
    pub fn remove(&mut self, nsp: &str, id: &SocketId) -> HashSet<Room> {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return HashSet::new();
        };
        let rooms = ns.remove(id);
        if ns.members.is_empty() && ns.detached.is_empty() {
            self.namespaces.remove(nsp);
        }
        rooms
    }

    pub fn join(&mut self, nsp: &str, id: &SocketId, rooms: impl IntoIterator<Item = Room>) {
        if let Some(ns) = self.namespaces.get_mut(nsp) {
            ns.join(id, rooms);
        }
    }

    pub fn leave(&mut self, nsp: &str, id: &SocketId, rooms: &[Room]) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        if let Some(member) = ns.members.get_mut(id) {
            for room in rooms {
                member.rooms.remove(room);
                remove_from_room(&mut ns.rooms, room, id);
            }
        }
    }

    /// A socket's connection dropped: it leaves, and its rooms are remembered for `keep`.
    pub fn detach(&mut self, nsp: &Arc<str>, id: &SocketId, keep: Duration) {
        let rooms = self.remove(nsp, id);
        let now = Instant::now();
        let ns = self.namespaces.entry(Arc::clone(nsp)).or_default();
        ns.detached.retain(|_, (_, until)| *until > now);
        ns.detached.insert(id.clone(), (rooms, now + keep));
    }

    /// A detached socket came back: with its rooms if `recovered`, else afresh.
    pub fn restore(&mut self, nsp: &Arc<str>, id: &SocketId, engine: E, recovered: bool) {
        let kept = self
            .namespaces
            .get_mut(&**nsp)
            .and_then(|ns| ns.detached.remove(id));
        self.add(nsp, id, engine);
        if let (true, Some((rooms, _))) = (recovered, kept) {
            self.join(nsp, id, rooms);
        }
    }

    /// Is this socket connected here?
    pub fn contains(&self, nsp: &str, id: &str) -> bool {
        self.namespaces
            .get(nsp)
            .is_some_and(|ns| ns.members.contains_key(id))
    }

    /// Every room with a member here.
    pub fn rooms(&self, nsp: &str) -> Vec<Room> {
        self.namespaces
            .get(nsp)
            .map(|ns| ns.rooms.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The sockets in any of `rooms` (all when empty) and in none of `except`.
    pub fn select(&self, nsp: &str, rooms: &[String], except: &[String]) -> Vec<Selected<E>> {
        let Some(ns) = self.namespaces.get(nsp) else {
            return Vec::new();
        };
        let excluded: HashSet<&SocketId> = except
            .iter()
            .filter_map(|room| ns.rooms.get(room.as_str()))
            .flatten()
            .collect();
        let included: BTreeSet<&SocketId> = if rooms.is_empty() {
            ns.members.keys().collect()
        } else {
            rooms
                .iter()
                .filter_map(|room| ns.rooms.get(room.as_str()))
                .flatten()
                .collect()
        };
        included
            .into_iter()
            .filter(|id| !excluded.contains(id))
            .filter_map(|id| {
                let member = ns.members.get(id)?;
                Some(Selected {
                    id: id.clone(),
                    engine: member.engine.clone(),
                    rooms: member.rooms.iter().cloned().collect(),
                })
            })
            .collect()
    }
}

impl<E> Namespace<E> {
    fn join(&mut self, id: &SocketId, rooms: impl IntoIterator<Item = Room>) {
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        for room in rooms {
            self.rooms
                .entry(room.clone())
                .or_default()
                .insert(id.clone());
            member.rooms.insert(room);
        }
    }

    fn remove(&mut self, id: &SocketId) -> HashSet<Room> {
        let Some(member) = self.members.remove(id) else {
            return HashSet::new();
        };
        for room in &member.rooms {
            remove_from_room(&mut self.rooms, room, id);
        }
        member.rooms
    }
}

fn remove_from_room(rooms: &mut HashMap<Room, HashSet<SocketId>>, room: &Room, id: &SocketId) {
    if let Some(members) = rooms.get_mut(room) {
        members.remove(id);
        if members.is_empty() {
            rooms.remove(room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(selected: Vec<Selected<()>>) -> Vec<String> {
        selected.into_iter().map(|s| s.id.to_string()).collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selects_by_rooms_and_except_with_id_rooms() {
        let nsp: Arc<str> = "/".into();
        let mut mirror = Mirror::<()>::default();
        for id in ["a", "b", "c"] {
            mirror.add(&nsp, &SocketId::from(id), ());
        }
        mirror.join("/", &"a".into(), [Room::from("r")]);
        mirror.join("/", &"b".into(), [Room::from("r"), Room::from("q")]);
        assert_eq!(ids(mirror.select("/", &[], &[])), ["a", "b", "c"]);
        assert_eq!(ids(mirror.select("/", &strings(&["r"]), &[])), ["a", "b"]);
        assert_eq!(
            ids(mirror.select("/", &strings(&["r"]), &strings(&["q"]))),
            ["a"]
        );
        assert_eq!(
            ids(mirror.select("/", &strings(&["c", "q"]), &[])),
            ["b", "c"]
        );
        assert_eq!(ids(mirror.select("/", &[], &strings(&["a"]))), ["b", "c"]);
        let mut rooms = mirror.rooms("/");
        rooms.sort();
        assert_eq!(rooms, ["a", "b", "c", "q", "r"].map(Room::from));
        mirror.leave("/", &"b".into(), &[Room::from("r")]);
        assert_eq!(ids(mirror.select("/", &strings(&["r"]), &[])), ["a"]);
        assert!(mirror.contains("/", "c"));
        assert!(!mirror.contains("/other", "c"));
    }

    #[test]
    fn detached_sockets_get_their_rooms_back_only_when_recovered() {
        let nsp: Arc<str> = "/".into();
        let mut mirror = Mirror::<()>::default();
        for id in ["a", "b"] {
            mirror.add(&nsp, &SocketId::from(id), ());
            mirror.join("/", &id.into(), [Room::from("r")]);
        }
        mirror.detach(&nsp, &"a".into(), Duration::from_secs(60));
        mirror.detach(&nsp, &"b".into(), Duration::from_secs(60));
        assert!(mirror.select("/", &strings(&["r"]), &[]).is_empty());
        mirror.restore(&nsp, &"a".into(), (), true);
        mirror.restore(&nsp, &"b".into(), (), false);
        assert_eq!(ids(mirror.select("/", &strings(&["r"]), &[])), ["a"]);
        assert_eq!(ids(mirror.select("/", &strings(&["b"]), &[])), ["b"]);
        mirror.remove("/", &"a".into());
        mirror.remove("/", &"b".into());
        assert!(mirror.rooms("/").is_empty());
    }
}
