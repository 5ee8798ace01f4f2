//! [`RoomIndex`]: the sockets of one namespace and the rooms they are in, which sockets a broadcast
//! reaches, and the rooms of sockets whose connection dropped while they may come back.
//!
//! One type for every keeper of rooms: the hub (whose members carry where to write), the cluster
//! adapter's mirror of this node, and the recovery log (which asks whether a logged packet reached a
//! returning socket).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

// Socket ids are the server's own random strings, never chosen by a client: a fast hash is safe
// for them, and every recipient of a broadcast is looked up by id (SipHash was 6% of a fan-out to
// 10,000). Room names come from clients and keep the standard, DoS-resistant hash.
use foldhash::{HashMap as IdMap, HashSet as IdSet};

use crate::expiring::ExpiringMap;
use crate::socketio::{BroadcastOptions, Room, SocketId};

/// Sockets by id, each with a value `M` and its rooms, and the rooms by name.
///
/// Every socket is also in the room named by its own id, without that room being stored: a
/// selection naming a socket id reaches that socket.
pub struct RoomIndex<M> {
    members: IdMap<SocketId, Member<M>>,
    rooms: HashMap<Room, IdSet<SocketId>>,
    /// Rooms of sockets whose connection dropped, until they come back or their time is up.
    kept: ExpiringMap<SocketId, HashSet<Room>>,
}

struct Member<M> {
    value: M,
    rooms: HashSet<Room>,
}

/// Which sockets a broadcast is for: those in any of `rooms` (every socket when empty), minus
/// those in any of `except_rooms`, minus `except`.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    /// Sockets in any of these rooms; every socket when empty.
    pub rooms: &'a [Room],
    /// Minus the sockets in any of these rooms.
    pub except_rooms: &'a [Room],
    /// Minus this socket.
    pub except: Option<&'a SocketId>,
}

impl<'a> From<&'a BroadcastOptions> for Selection<'a> {
    fn from(options: &'a BroadcastOptions) -> Selection<'a> {
        Selection {
            rooms: &options.rooms,
            except_rooms: &options.except_rooms,
            except: options.except.as_ref(),
        }
    }
}

impl Selection<'_> {
    /// Does the selection take socket `id`, whose rooms are `rooms`? (For a socket that is not in
    /// an index any more, such as one that is coming back.)
    pub fn takes(&self, id: &SocketId, rooms: &HashSet<Room>) -> bool {
        let is_in = |room: &Room| rooms.contains(room) || **room == *id.as_str();
        if self.except == Some(id) || self.except_rooms.iter().any(is_in) {
            return false;
        }
        self.rooms.is_empty() || self.rooms.iter().any(is_in)
    }
}

impl<M> RoomIndex<M> {
    /// An empty index keeping the rooms of at most `max_kept` dropped sockets.
    pub fn new(max_kept: usize) -> RoomIndex<M> {
        RoomIndex {
            members: IdMap::default(),
            rooms: HashMap::new(),
            kept: ExpiringMap::new(max_kept),
        }
    }

    /// Adds a socket, in no room yet (a socket already there is replaced and leaves its rooms).
    pub fn insert(&mut self, id: SocketId, value: M) {
        self.remove(&id);
        self.members.insert(
            id,
            Member {
                value,
                rooms: HashSet::new(),
            },
        );
    }

    /// Removes a socket from the index and from every room; answers its value and rooms.
    pub fn remove(&mut self, id: &SocketId) -> Option<(M, HashSet<Room>)> {
        let member = self.members.remove(id)?;
        for room in &member.rooms {
            if let Some(ids) = self.rooms.get_mut(room) {
                ids.remove(id);
                if ids.is_empty() {
                    self.rooms.remove(room);
                }
            }
        }
        Some((member.value, member.rooms))
    }

    /// The value of a socket.
    pub fn get(&self, id: &str) -> Option<&M> {
        self.members.get(id).map(|member| &member.value)
    }

    /// Is this socket in the index?
    pub fn contains(&self, id: &str) -> bool {
        self.members.contains_key(id)
    }

    /// How many sockets are in the index.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when no socket is in the index and none is kept.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.kept.is_empty()
    }

    /// Puts a socket in rooms; false if the socket is not in the index.
    pub fn join(&mut self, id: &SocketId, rooms: impl IntoIterator<Item = Room>) -> bool {
        let Some(member) = self.members.get_mut(id) else {
            return false;
        };
        for room in rooms {
            self.rooms
                .entry(room.clone())
                .or_default()
                .insert(id.clone());
            member.rooms.insert(room);
        }
        true
    }

    /// Takes a socket out of rooms.
    pub fn leave(&mut self, id: &SocketId, rooms: &[Room]) {
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        for room in rooms {
            member.rooms.remove(room);
            if let Some(ids) = self.rooms.get_mut(room) {
                ids.remove(id);
                if ids.is_empty() {
                    self.rooms.remove(room);
                }
            }
        }
    }

    /// The rooms a socket is in.
    pub fn rooms_of(&self, id: &str) -> Option<&HashSet<Room>> {
        self.members.get(id).map(|member| &member.rooms)
    }

    /// Every room with at least one member (socket id rooms only where joined explicitly).
    pub fn rooms(&self) -> impl Iterator<Item = &Room> {
        self.rooms.keys()
    }

    /// How many rooms have at least one member.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Calls `visit` for every socket the selection takes, once each; answers how many.
    pub fn select(
        &self,
        selection: Selection<'_>,
        mut visit: impl FnMut(&SocketId, &M, &HashSet<Room>),
    ) -> usize {
        let mut reached = 0;
        let mut take = |id: &SocketId, member: &Member<M>| {
            if !self.excluded(&selection, id) {
                visit(id, &member.value, &member.rooms);
                reached += 1;
            }
        };
        match selection.rooms {
            [] => self.members.iter().for_each(|(id, m)| take(id, m)),
            // The common case, one room: no set of targets to build, and no chained iterator on
            // the per-recipient path (callgrind counted about 60 instructions a recipient for it).
            [room] => match self.rooms.get(room) {
                Some(ids) => {
                    for id in ids {
                        if let Some(member) = self.members.get(id) {
                            take(id, member);
                        }
                    }
                }
                None => {
                    if let Some((id, member)) = self.members.get_key_value(&**room) {
                        take(id, member);
                    }
                }
            },
            rooms => {
                let targets: HashSet<&SocketId> =
                    rooms.iter().flat_map(|room| self.room(room)).collect();
                for id in targets {
                    if let Some(member) = self.members.get(id) {
                        take(id, member);
                    }
                }
            }
        }
        reached
    }

    /// The sockets of a room, the room named by a socket's id included.
    fn room<'s>(&'s self, room: &Room) -> impl Iterator<Item = &'s SocketId> + 's {
        let explicit = self.rooms.get(room);
        let by_id = match explicit {
            Some(_) => None,
            None => self.members.get_key_value(&**room).map(|(id, _)| id),
        };
        explicit.into_iter().flatten().chain(by_id)
    }

    fn excluded(&self, selection: &Selection<'_>, id: &SocketId) -> bool {
        selection.except == Some(id)
            || selection.except_rooms.iter().any(|room| {
                **room == *id.as_str() || self.rooms.get(room).is_some_and(|ids| ids.contains(id))
            })
    }

    /// A socket's connection dropped: it leaves the index, and its rooms are kept for `keep` in
    /// case it comes back. Answers its value.
    pub fn detach(&mut self, id: &SocketId, keep: Duration) -> Option<M> {
        let (value, rooms) = self.remove(id)?;
        self.kept.insert(id.clone(), rooms, keep);
        Some(value)
    }

    /// The rooms kept for a dropped socket, taken back if its time is not up.
    pub fn take_kept(&mut self, id: &SocketId) -> Option<HashSet<Room>> {
        self.kept.take(id)
    }

    /// Forgets the dropped sockets in any of `rooms` (every one when empty; a socket id names its
    /// own socket), so they cannot come back; answers how many whose time was not up.
    pub fn forget_kept(&mut self, rooms: &[Room]) -> usize {
        if rooms.is_empty() {
            return self.kept.take_where(|_| true).len();
        }
        let by_id = rooms
            .iter()
            .filter_map(|room| self.kept.take(&**room))
            .count();
        let in_rooms = self
            .kept
            .take_where(|kept| rooms.iter().any(|room| kept.contains(room)))
            .len();
        by_id + in_rooms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Duration = Duration::from_secs(60);

    fn room(name: &str) -> Room {
        Room::from(name)
    }

    fn index(members: &[(&str, &[&str])]) -> RoomIndex<()> {
        let mut index = RoomIndex::new(100);
        for (id, rooms) in members {
            index.insert(SocketId::from(*id), ());
            index.join(&SocketId::from(*id), rooms.iter().map(|r| room(r)));
        }
        index
    }

    fn selected(
        index: &RoomIndex<()>,
        rooms: &[&str],
        except: &[&str],
        me: Option<&str>,
    ) -> Vec<String> {
        let rooms: Vec<Room> = rooms.iter().map(|r| room(r)).collect();
        let except_rooms: Vec<Room> = except.iter().map(|r| room(r)).collect();
        let me = me.map(SocketId::from);
        let mut ids = Vec::new();
        let reached = index.select(
            Selection {
                rooms: &rooms,
                except_rooms: &except_rooms,
                except: me.as_ref(),
            },
            |id, _, _| ids.push(id.to_string()),
        );
        assert_eq!(reached, ids.len());
        ids.sort();
        ids
    }

    #[test]
    fn selects_by_rooms_except_rooms_and_sender() {
        let index = index(&[("a", &["r"]), ("b", &["r", "q"]), ("c", &[])]);
        assert_eq!(selected(&index, &[], &[], None), ["a", "b", "c"]);
        assert_eq!(selected(&index, &["r"], &[], None), ["a", "b"]);
        assert_eq!(selected(&index, &["r"], &["q"], None), ["a"]);
        assert_eq!(selected(&index, &["r", "q"], &[], Some("a")), ["b"]);
        assert_eq!(
            selected(&index, &["nobody"], &[], None),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_socket_id_is_a_room_in_every_position() {
        let index = index(&[("a", &["r"]), ("b", &[]), ("c", &[])]);
        assert_eq!(selected(&index, &["b"], &[], None), ["b"]);
        assert_eq!(selected(&index, &["r", "c"], &[], None), ["a", "c"]);
        assert_eq!(selected(&index, &[], &["b"], None), ["a", "c"]);
    }

    #[test]
    fn leaving_and_removing_empty_rooms() {
        let mut index = index(&[("a", &["r"]), ("b", &["r"])]);
        index.leave(&"a".into(), &[room("r")]);
        assert_eq!(index.room_count(), 1);
        assert_eq!(index.remove(&"b".into()).map(|(_, r)| r.len()), Some(1));
        assert_eq!(index.room_count(), 0, "a room with no member is gone");
        assert!(
            !index.join(&"b".into(), [room("r")]),
            "b is not there any more"
        );
    }

    #[test]
    fn inserting_again_leaves_the_old_rooms() {
        let mut index = index(&[("a", &["r"])]);
        index.insert("a".into(), ());
        assert_eq!(index.room_count(), 0);
        assert_eq!(selected(&index, &["r"], &[], None), Vec::<String>::new());
    }

    #[test]
    fn dropped_sockets_keep_their_rooms_until_taken_back() {
        let mut index = index(&[("a", &["r"]), ("b", &["r"])]);
        assert!(index.detach(&"a".into(), KEEP).is_some());
        assert_eq!(selected(&index, &["r"], &[], None), ["b"]);
        assert!(!index.is_empty());
        let rooms = index.take_kept(&"a".into()).expect("kept");
        assert!(rooms.contains("r"));
        assert_eq!(index.take_kept(&"a".into()), None, "taken once");
        assert!(index.detach(&"nobody".into(), KEEP).is_none());
    }

    #[test]
    fn kept_rooms_are_capped_and_expire() {
        let mut index: RoomIndex<()> = RoomIndex::new(2);
        for id in ["a", "b", "c"] {
            index.insert(id.into(), ());
            index.detach(&id.into(), KEEP);
        }
        assert_eq!(index.take_kept(&"a".into()), None, "the oldest gave way");
        assert!(index.take_kept(&"c".into()).is_some());
        index.insert("d".into(), ());
        index.detach(&"d".into(), Duration::ZERO);
        assert_eq!(index.take_kept(&"d".into()), None, "expired");
    }

    #[test]
    fn kept_sockets_are_forgotten_by_room_or_by_id() {
        let mut index = index(&[("a", &["r"]), ("b", &["q"]), ("c", &["q"]), ("d", &[])]);
        for id in ["a", "b", "c", "d"] {
            index.detach(&id.into(), KEEP);
        }
        assert_eq!(index.forget_kept(&[room("r"), room("b")]), 2);
        assert_eq!(index.take_kept(&"a".into()), None);
        assert_eq!(index.take_kept(&"b".into()), None);
        assert!(index.take_kept(&"c".into()).is_some(), "c is only in q");
        assert_eq!(index.forget_kept(&[]), 1, "every one: d");
        assert!(index.is_empty());
    }

    #[test]
    fn selection_takes_a_socket_outside_the_index() {
        let rooms: HashSet<Room> = [room("r")].into_iter().collect();
        let id = SocketId::from("a");
        let to = |r: &[&str], except: &[&str]| {
            let r: Vec<Room> = r.iter().map(|x| room(x)).collect();
            let e: Vec<Room> = except.iter().map(|x| room(x)).collect();
            Selection {
                rooms: &r,
                except_rooms: &e,
                except: None,
            }
            .takes(&id, &rooms)
        };
        assert!(to(&[], &[]));
        assert!(to(&["r"], &[]));
        assert!(to(&["a"], &[]));
        assert!(!to(&["q"], &[]));
        assert!(!to(&["r"], &["a"]));
    }
}
