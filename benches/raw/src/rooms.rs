//! The rooms: one map shared by every connection task, behind a read-write lock that is never held
//! across an `await`.

use std::collections::HashMap;
use std::sync::RwLock;

use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A connection's number, unique for the life of the process.
pub type ConnId = u64;

/// Where a connection's frames go: its task's queue. A frame is a [`Utf8Bytes`], so a broadcast's
/// one encoded frame is shared by every recipient (cloning bumps a reference count).
pub type Outbox = UnboundedSender<Utf8Bytes>;

/// Room name → members and their outboxes.
#[derive(Default)]
pub struct Rooms(RwLock<HashMap<String, HashMap<ConnId, Outbox>>>);

impl Rooms {
    /// Adds `id` to `room`. Returns false if it was already a member.
    pub fn join(&self, room: String, id: ConnId, outbox: &Outbox) -> bool {
        let mut rooms = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        rooms
            .entry(room)
            .or_default()
            .insert(id, outbox.clone())
            .is_none()
    }

    /// Removes `id` from each of `rooms`, and rooms left empty with it.
    pub fn leave_all(&self, rooms: &[String], id: ConnId) {
        if rooms.is_empty() {
            return;
        }
        let mut map = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for room in rooms {
            if let Some(members) = map.get_mut(room) {
                members.remove(&id);
                if members.is_empty() {
                    map.remove(room);
                }
            }
        }
    }

    /// Queues `frame` for every member of `room` but `except`.
    pub fn broadcast(&self, room: &str, except: ConnId, frame: &Utf8Bytes) {
        let rooms = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(members) = rooms.get(room) else {
            return;
        };
        for (id, outbox) in members {
            if *id != except {
                // A member whose task has ended is removed by that task; nothing to do here.
                let _ = outbox.send(frame.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_reach_the_other_members_until_they_leave() {
        let rooms = Rooms::default();
        let (a, mut a_rx) = tokio::sync::mpsc::unbounded_channel();
        let (b, mut b_rx) = tokio::sync::mpsc::unbounded_channel();
        assert!(rooms.join("r".into(), 1, &a));
        assert!(rooms.join("r".into(), 2, &b));
        assert!(!rooms.join("r".into(), 2, &b));

        rooms.broadcast("r", 1, &Utf8Bytes::from_static("hi"));
        rooms.broadcast("elsewhere", 1, &Utf8Bytes::from_static("no"));
        assert_eq!(b_rx.try_recv().map(|f| f.to_string()), Ok("hi".into()));
        assert!(b_rx.try_recv().is_err());
        assert!(a_rx.try_recv().is_err());

        rooms.leave_all(&["r".into()], 2);
        rooms.broadcast("r", 1, &Utf8Bytes::from_static("again"));
        assert!(b_rx.try_recv().is_err());
        rooms.leave_all(&["r".into()], 1);
        assert!(rooms.0.read().expect("not poisoned").is_empty());
    }
}
