//! Who is in which chat room, by user name and counted per socket, so a user with two tabs in a
//! room stays present until the last tab leaves.

use std::collections::{BTreeMap, HashMap};

use crate::socketio::SocketId;

/// Chat room membership.
#[derive(Default)]
pub struct ChatRooms {
    /// Room → user → number of that user's sockets in the room.
    rooms: BTreeMap<String, BTreeMap<String, usize>>,
    /// Socket → the (room, user) pairs it joined.
    sockets: HashMap<SocketId, Vec<(String, String)>>,
}

/// A socket's user entered or left a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    pub room: String,
    pub user: String,
    /// True for the user's first socket in the room (on join) or the last (on leave).
    pub changed: bool,
}

impl ChatRooms {
    /// Adds the socket to the room; joining twice changes nothing. Answers the change and the
    /// room's members afterwards.
    pub fn join(&mut self, room: &str, id: &SocketId, user: &str) -> (PresenceChange, Vec<String>) {
        let joined = self.sockets.entry(id.clone()).or_default();
        let already = joined.iter().any(|(r, _)| r == room);
        let mut changed = false;
        if !already {
            joined.push((room.to_string(), user.to_string()));
            let count = self
                .rooms
                .entry(room.to_string())
                .or_default()
                .entry(user.to_string())
                .or_default();
            *count += 1;
            changed = *count == 1;
        }
        let change = PresenceChange {
            room: room.to_string(),
            user: user.to_string(),
            changed,
        };
        (change, self.members(room))
    }

    /// Takes the socket out of a room; `None` if it was not in it.
    pub fn leave(&mut self, room: &str, id: &SocketId) -> Option<PresenceChange> {
        let joined = self.sockets.get_mut(id)?;
        let index = joined.iter().position(|(r, _)| r == room)?;
        let (room, user) = joined.remove(index);
        if joined.is_empty() {
            self.sockets.remove(id);
        }
        Some(self.release(room, user))
    }

    /// Takes the socket out of every room (on disconnect).
    pub fn leave_all(&mut self, id: &SocketId) -> Vec<PresenceChange> {
        self.sockets
            .remove(id)
            .unwrap_or_default()
            .into_iter()
            .map(|(room, user)| self.release(room, user))
            .collect()
    }

    /// True if the socket joined the room.
    pub fn is_member(&self, room: &str, id: &SocketId) -> bool {
        self.sockets
            .get(id)
            .is_some_and(|joined| joined.iter().any(|(r, _)| r == room))
    }

    /// The names present in a room, sorted.
    pub fn members(&self, room: &str) -> Vec<String> {
        self.rooms
            .get(room)
            .map(|users| users.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every occupied room with its number of present users.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.rooms
            .iter()
            .map(|(room, users)| (room.clone(), users.len()))
            .collect()
    }

    fn release(&mut self, room: String, user: String) -> PresenceChange {
        let mut changed = false;
        if let Some(users) = self.rooms.get_mut(&room) {
            if let Some(count) = users.get_mut(&user) {
                *count -= 1;
                if *count == 0 {
                    users.remove(&user);
                    changed = true;
                }
            }
            if users.is_empty() {
                self.rooms.remove(&room);
            }
        }
        PresenceChange {
            room,
            user,
            changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tabs_keep_a_user_present_until_the_last_leaves() {
        let mut rooms = ChatRooms::default();
        let (tab1, tab2) = (SocketId::random(), SocketId::random());
        let (change, members) = rooms.join("lobby", &tab1, "ann");
        assert!(change.changed);
        assert_eq!(members, vec!["ann".to_string()]);
        assert!(!rooms.join("lobby", &tab2, "ann").0.changed);
        assert!(
            !rooms.join("lobby", &tab2, "ann").0.changed,
            "joining twice"
        );
        assert_eq!(rooms.counts()["lobby"], 1);
        assert!(!rooms.leave("lobby", &tab1).unwrap().changed);
        assert!(rooms.is_member("lobby", &tab2));
        let changes = rooms.leave_all(&tab2);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].changed);
        assert!(rooms.counts().is_empty());
        assert!(rooms.leave("lobby", &tab2).is_none());
    }
}
