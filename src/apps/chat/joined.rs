//! The chat rooms each socket joined, kept on the socket, with the per-socket cap on them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::socketio::Socket;

/// The chat rooms a socket joined, kept on the socket so that a socket recovered after a dropped
/// connection (which keeps its extensions) can be present in them again.
#[derive(Clone, Default)]
struct JoinedRooms(Arc<Mutex<HashSet<String>>>);

/// Gives a new socket its (empty) set of joined rooms, before any event can race to create it.
pub fn prepare(socket: &Socket) {
    if socket.extension::<JoinedRooms>().is_none() {
        socket.insert_extension(JoinedRooms::default());
    }
}

/// The socket's joined chat rooms.
pub fn joined_rooms(socket: &Socket) -> JoinedGuard {
    let rooms = socket.extension::<JoinedRooms>().unwrap_or_else(|| {
        let rooms = JoinedRooms::default();
        socket.insert_extension(rooms.clone());
        rooms
    });
    JoinedGuard(rooms.0)
}

/// Access to a socket's joined chat rooms.
pub struct JoinedGuard(Arc<Mutex<HashSet<String>>>);

/// What [`JoinedGuard::reserve`] found.
pub enum Reserved {
    /// The socket had joined the room already.
    Already,
    /// The room is the socket's now, until the reservation is dropped without being kept.
    New(Reservation),
    /// The socket is in as many rooms as it may be.
    Full,
}

impl JoinedGuard {
    fn lock(&self) -> MutexGuard<'_, HashSet<String>> {
        crate::sync::lock(&self.0)
    }

    /// Takes a place for `room` among the socket's rooms if it has fewer than `cap`; checked and
    /// taken at once, so a burst of joins cannot overshoot the cap.
    pub fn reserve(&self, room: &str, cap: usize) -> Reserved {
        let mut rooms = self.lock();
        if rooms.contains(room) {
            return Reserved::Already;
        }
        if rooms.len() >= cap {
            return Reserved::Full;
        }
        rooms.insert(room.to_string());
        Reserved::New(Reservation {
            rooms: Arc::clone(&self.0),
            room: Some(room.to_string()),
        })
    }

    /// Removes the room; false if the socket had not joined it.
    pub fn remove(&self, room: &str) -> bool {
        self.lock().remove(room)
    }

    /// Whether the socket joined the room.
    pub fn contains(&self, room: &str) -> bool {
        self.lock().contains(room)
    }

    /// Every room the socket joined.
    pub fn all(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }
}

/// A room taken among a socket's rooms by a join still under way: given back when dropped,
/// unless [`Reservation::keep`] was called.
pub struct Reservation {
    rooms: Arc<Mutex<HashSet<String>>>,
    room: Option<String>,
}

impl Reservation {
    /// The join went through: the room stays the socket's.
    pub fn keep(mut self) {
        self.room = None;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(room) = self.room.take() {
            crate::sync::lock(&self.rooms).remove(&room);
        }
    }
}
