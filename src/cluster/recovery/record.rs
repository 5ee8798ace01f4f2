//! [`SessionRecord`]: what Redis keeps of one socket for connection state recovery, by its
//! private id, while it lives and after its connection drops.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::socketio::{ClaimedSession, Room, SocketId};

/// Most rooms a record keeps; a socket in more rooms cannot recover on another node.
pub const MAX_RECORD_ROOMS: usize = 1_000;

/// One socket's session as the cluster keeps it (JSON, read by the claim script too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The socket's id.
    pub sid: String,
    /// Its namespace.
    pub nsp: String,
    /// Its rooms, the room of its id included.
    pub rooms: Vec<String>,
    /// Its `data` slot (at most 16 KiB as JSON).
    pub data: Value,
    /// The uid of the node that has (or had) it.
    pub node: String,
    /// Its connection dropped and its node said so (the key then expires with the window); while
    /// false, the socket counts as live as long as its node is.
    pub detached: bool,
}

impl SessionRecord {
    /// A record of these rooms, or `None` beyond [`MAX_RECORD_ROOMS`].
    pub fn new(
        id: &SocketId,
        nsp: &str,
        rooms: impl IntoIterator<Item = Room>,
        data: Value,
        node: &str,
    ) -> Option<SessionRecord> {
        let rooms: Vec<String> = rooms.into_iter().map(|room| room.to_string()).collect();
        if rooms.len() > MAX_RECORD_ROOMS {
            return None;
        }
        Some(SessionRecord {
            sid: id.to_string(),
            nsp: nsp.to_string(),
            rooms,
            data,
            node: node.to_string(),
            detached: false,
        })
    }

    /// The session handed to the Socket.IO layer.
    pub fn into_claimed(self) -> ClaimedSession {
        ClaimedSession {
            id: SocketId::from(self.sid.as_str()),
            nsp: self.nsp,
            rooms: self.rooms.into_iter().map(Room::from).collect(),
            data: self.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_as_json_and_caps_rooms() {
        let id = SocketId::from("s1");
        let record = SessionRecord::new(
            &id,
            "/",
            [Room::from("s1"), Room::from("r")],
            json!({"a": 1}),
            "n",
        )
        .expect("two rooms");
        let text = serde_json::to_string(&record).unwrap();
        let back: SessionRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, record);
        let claimed = back.into_claimed();
        assert_eq!(claimed.id, id);
        assert_eq!(claimed.rooms, [Room::from("s1"), Room::from("r")]);
        let many = (0..=MAX_RECORD_ROOMS).map(|i| Room::from(i.to_string().as_str()));
        assert!(SessionRecord::new(&id, "/", many, json!({}), "n").is_none());
    }
}
