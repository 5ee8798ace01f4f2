//! The two tasks that talk to the admins: the feed pump (this node's events, in order, coalesced
//! into one socket list after an overflow) and the `server_stats` loop.

use std::sync::Arc;

use serde_json::Value;

use super::feed::FeedReceiver;
use super::state::AdminState;
use super::stats::{ServerStats, STATS_INTERVAL};

/// Broadcasts the feed to the admins until the feed ends.
pub async fn pump(state: Arc<AdminState>, mut receiver: FeedReceiver) {
    while let Some(item) = receiver.next().await {
        state.tell_admins(item.event, item.args);
        if receiver.take_resync() {
            let sockets = state.all_sockets().await;
            state.tell_admins("all_sockets", vec![Value::Array(sockets)]);
        }
    }
}

/// Sends `server_stats` every [`STATS_INTERVAL`], and sweeps the login limiter.
pub async fn report_stats(state: Arc<AdminState>, mut stats: ServerStats) {
    let mut ticks = tokio::time::interval(STATS_INTERVAL);
    loop {
        ticks.tick().await;
        state.tell_admins("server_stats", vec![stats.report()]);
        state.gate.sweep();
    }
}
