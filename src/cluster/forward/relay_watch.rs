//! Relays whose other node died while nothing crossed them: every [`RELAY_WATCH`], one PUBSUB
//! NUMSUB asks Redis which of the relays' other nodes still listen on their channel, and the
//! relays of the silent ones end (a frame sent meanwhile finds that out by itself: its PUBLISH
//! reaches nobody).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::state::Shared;
use super::wire;
use super::{relay_entry, relay_owner};

/// How often the relays' other nodes are checked: a node that dies is noticed by the relays it
/// took part in within this (and the time Redis takes to drop its connection).
pub const RELAY_WATCH: Duration = Duration::from_secs(2);

/// Runs until the process ends.
pub(super) async fn run(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(RELAY_WATCH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let peers: BTreeSet<String> = relay_entry::peers(&shared)
            .into_iter()
            .chain(relay_owner::peers(&shared))
            .collect();
        if peers.is_empty() {
            continue;
        }
        let channels: Vec<String> = peers
            .iter()
            .map(|tag| wire::channel(&shared.options.key, tag))
            .collect();
        // Redis unreachable: the listener's own health check ends every relay if it stays so.
        let Some(listeners) = shared.subscribers(&channels).await else {
            continue;
        };
        for (tag, count) in peers.iter().zip(listeners) {
            if count == 0 {
                tracing::info!(node = %tag, "a node with relayed WebSockets is gone");
                relay_entry::lose(&shared, Some(tag));
                relay_owner::lose(&shared, Some(tag));
            }
        }
    }
}
