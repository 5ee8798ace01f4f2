//! Departures nobody else announces: the users of a cluster node that died without a word.
//!
//! A node's presence rooms ([`presence::TRACKED_PREFIXES`]) are kept in Redis after each of its
//! heartbeats (`cluster::node_rooms` on `cluster::heartbeat`, the cluster's one heartbeat, also
//! used by connection state recovery). When its heartbeats stop for [`NODE_TTL`], one surviving
//! node is handed the rooms the dead node had, and announces what a normal disconnect would have:
//! `chat:presence` with `"online":false` in each chat room a user no longer has a socket in on
//! any node, the new member counts (`chat:rooms`), and a new `online` list if a user is no longer
//! online anywhere.
//! A user with a socket on another node (or who came back there meanwhile) is not announced.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;

use super::presence::{self, parse_member_room, parse_online_room};
use super::{chat, welcome, AppContext};
use crate::cluster::{DeadNode, DEFAULT_REQUESTS_TIMEOUT, HEARTBEAT_INTERVAL, NODE_TTL};
use crate::socketio::BroadcastOperator;

/// Longest time from a node's death to the announcement of its users' departures, by default:
/// its heartbeat goes stale ([`NODE_TTL`]), a survivor notices after its next heartbeat
/// ([`HEARTBEAT_INTERVAL`]), asks every node who is present (the cluster's requests timeout,
/// 5 s), then announces.
pub const DEPARTURE_BOUND: Duration = Duration::from_secs(15);

const _: () = assert!(
    NODE_TTL.as_millis() + HEARTBEAT_INTERVAL.as_millis() + DEFAULT_REQUESTS_TIMEOUT.as_millis()
        <= DEPARTURE_BOUND.as_millis(),
    "a dead node's departures could be announced later than DEPARTURE_BOUND"
);

/// Runs for the life of the server: announces the departures of each dead node this node
/// claimed (`audience`: the main namespace).
pub async fn announce_dead_nodes(
    ctx: AppContext,
    audience: BroadcastOperator,
    mut dead: mpsc::Receiver<DeadNode>,
) {
    while let Some(node) = dead.recv().await {
        let departures = announce(&ctx, &audience, &node.rooms).await;
        tracing::info!(
            node = %node.uid,
            users_gone = departures.users,
            rooms_left = departures.rooms,
            "announced the departures of a dead node's users"
        );
    }
}

/// How many departures were announced.
struct Departures {
    /// Users no longer online anywhere.
    users: usize,
    /// (chat room, user) pairs no longer present.
    rooms: usize,
}

/// Announces the departures among `rooms` (a dead node's presence rooms) of whoever is no longer
/// present on any node.
async fn announce(ctx: &AppContext, audience: &BroadcastOperator, rooms: &[String]) -> Departures {
    let present = presence::present_rooms(audience).await;
    let gone: BTreeSet<&str> = rooms
        .iter()
        .map(String::as_str)
        .filter(|room| !present.contains(*room))
        .collect();
    let mut departures = Departures { users: 0, rooms: 0 };
    for room in &gone {
        if let Some((chat_room, user)) = parse_member_room(room) {
            chat::tell_departure(ctx, audience, chat_room, user);
            departures.rooms += 1;
        } else if parse_online_room(room).is_some() {
            departures.users += 1;
        }
    }
    if departures.rooms > 0 {
        chat::rooms::request_push(ctx, audience.clone());
    }
    if departures.users > 0 {
        welcome::announce_online(audience).await;
    }
    departures
}
