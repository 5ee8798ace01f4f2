//! Who is online and who is in which chat room, kept as Socket.IO rooms so that the answer spans
//! every node of a cluster: each socket of a user joins `online\n<name>`, and `member\n<room>\n<name>`
//! for each chat room it joined. Names and chat room names never contain a newline, so these rooms
//! cannot be confused with each other or with the app's other rooms. A node that dies takes its
//! sockets' rooms with it, so its users drop out of these lists by themselves; the rooms it had
//! are kept in Redis ([`TRACKED_PREFIXES`]) so that a surviving node announces those departures
//! (`apps::departures`).

use std::collections::{BTreeMap, BTreeSet};

use crate::socketio::{BroadcastOperator, Socket};

const ONLINE: &str = "online\n";
const MEMBER: &str = "member\n";

/// The prefixes of the presence rooms, which a cluster node records for the node that will
/// notice its death.
pub const TRACKED_PREFIXES: [&str; 2] = [ONLINE, MEMBER];

/// The room every socket of `user` is in while connected.
pub fn online_room(user: &str) -> String {
    format!("{ONLINE}{user}")
}

/// The room every socket of `user` that joined chat room `room` is in.
pub fn member_room(room: &str, user: &str) -> String {
    format!("{MEMBER}{room}\n{user}")
}

/// How many sockets other than this one are in `room`, on every node.
pub async fn others_in(socket: &Socket, room: String) -> usize {
    let ids = socket.to(room).sockets().await;
    ids.iter().filter(|id| *id != socket.id()).count()
}

/// The names of the users online on every node, sorted (`audience`: the namespace).
pub async fn online_users(audience: &BroadcastOperator) -> Vec<String> {
    let rooms = audience.cluster_rooms(ONLINE).await;
    let names: BTreeSet<&str> = rooms.iter().filter_map(|r| parse_online_room(r)).collect();
    names.into_iter().map(str::to_string).collect()
}

/// Every presence room that has a socket on any node (`audience`: the namespace).
pub async fn present_rooms(audience: &BroadcastOperator) -> BTreeSet<String> {
    let mut present = BTreeSet::new();
    for prefix in TRACKED_PREFIXES {
        present.extend(
            audience
                .cluster_rooms(prefix)
                .await
                .iter()
                .map(|room| room.to_string()),
        );
    }
    present
}

/// The names of the users in chat room `room` on every node, sorted.
pub async fn members(socket: &Socket, room: &str) -> Vec<String> {
    let prefix = format!("{MEMBER}{room}\n");
    let rooms = socket.cluster_rooms(&prefix).await;
    let names: BTreeSet<&str> = rooms
        .iter()
        .filter_map(|r| r.strip_prefix(&*prefix))
        .collect();
    names.into_iter().map(str::to_string).collect()
}

/// How many users are in each chat room that has any, on every node (`audience`: the namespace).
pub async fn member_counts(audience: &BroadcastOperator) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for room in audience.cluster_rooms(MEMBER).await {
        if let Some((chat_room, _user)) = parse_member_room(&room) {
            *counts.entry(chat_room.to_string()).or_default() += 1;
        }
    }
    counts
}

/// The chat rooms `user` is in (through any of their sockets), on every node.
pub async fn rooms_of(socket: &Socket, user: &str) -> BTreeSet<String> {
    socket
        .cluster_rooms(MEMBER)
        .await
        .iter()
        .filter_map(|room| parse_member_room(room))
        .filter(|(_, name)| *name == user)
        .map(|(room, _)| room.to_string())
        .collect()
}

/// The chat room and user of a [`member_room`].
pub fn parse_member_room(room: &str) -> Option<(&str, &str)> {
    room.strip_prefix(MEMBER)?.rsplit_once('\n')
}

/// The user of an [`online_room`].
pub fn parse_online_room(room: &str) -> Option<&str> {
    room.strip_prefix(ONLINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_rooms_read_back_whatever_the_room_name() {
        for room in ["lobby", "a:b", "member", "x y \u{e9}"] {
            assert_eq!(
                parse_member_room(&member_room(room, "ann")),
                Some((room, "ann"))
            );
        }
        assert_eq!(parse_member_room(&online_room("ann")), None);
        assert_eq!(parse_member_room("chat:lobby"), None);
        assert_eq!(parse_online_room(&online_room("ann")), Some("ann"));
        assert_eq!(parse_online_room(&member_room("lobby", "ann")), None);
    }
}
