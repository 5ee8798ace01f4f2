//! Who is online: names of the users with at least one socket on the main namespace.

use std::collections::{BTreeMap, HashMap};

use crate::socketio::SocketId;

/// Online users, counted by socket so that a user with two tabs stays online until both close.
#[derive(Default)]
pub struct Presence {
    names: HashMap<SocketId, String>,
    sockets_per_name: BTreeMap<String, usize>,
}

impl Presence {
    /// A socket of `name` came online; true if the user was offline before.
    pub fn arrive(&mut self, id: SocketId, name: String) -> bool {
        if self.names.contains_key(&id) {
            return false;
        }
        self.names.insert(id, name.clone());
        let count = self.sockets_per_name.entry(name).or_default();
        *count += 1;
        *count == 1
    }

    /// A socket went away; true if that was its user's last one.
    pub fn depart(&mut self, id: &SocketId) -> bool {
        let Some(name) = self.names.remove(id) else {
            return false;
        };
        match self.sockets_per_name.get_mut(&name) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            _ => {
                self.sockets_per_name.remove(&name);
                true
            }
        }
    }

    /// The online names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.sockets_per_name.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_stays_online_until_the_last_socket_goes() {
        let mut presence = Presence::default();
        let (a, b) = (SocketId::random(), SocketId::random());
        assert!(presence.arrive(a.clone(), "ann".into()));
        assert!(!presence.arrive(b.clone(), "ann".into()));
        assert_eq!(presence.names(), vec!["ann".to_string()]);
        assert!(!presence.depart(&a));
        assert_eq!(presence.names(), vec!["ann".to_string()]);
        assert!(presence.depart(&b));
        assert!(presence.names().is_empty());
        assert!(!presence.depart(&b), "departing twice changes nothing");
    }
}
