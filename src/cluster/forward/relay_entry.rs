//! The entry node's side of a relayed WebSocket: the client's socket is here, its session on
//! another node. The client's frames go to the owner through an [`Outbox`]; the owner's come
//! back on this node's channel and are written to the socket's sink.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::outbox::{Ended, Outbox};
use super::state::{EntryRelay, Shared};
use super::wire::Header;
use crate::engineio::{CloseReason, ForwardError, Frame, RelayDownlink, RelayUplink, SinkFull};
use crate::sync::lock;

/// Opens relay of session `sid` of the node tagged `owner` for the socket `client`: the owner is
/// asked to attach it, and the socket is closed if it is gone or has no such session.
pub(super) fn open(
    shared: &Arc<Shared>,
    owner: &str,
    sid: &str,
    client: RelayDownlink,
) -> Result<Box<dyn RelayUplink>, ForwardError> {
    if shared.relays_full() {
        return Err(ForwardError::Busy);
    }
    let relay = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let entry = EntryRelay {
        client,
        owner: owner.to_string(),
    };
    lock(&shared.entries).insert(relay, entry);
    let from = shared.tag.clone();
    let open = Header::RelayOpen {
        relay,
        from: from.clone(),
        sid: sid.to_string(),
    };
    let ended_shared = Arc::clone(shared);
    let outbox = Outbox::start(
        Arc::clone(shared),
        owner.to_string(),
        Some(open),
        Box::new(move |close| Header::RelayUp {
            relay,
            from: from.clone(),
            close,
        }),
        Box::new(move |ended| {
            let entry = lock(&ended_shared.entries).remove(&relay);
            if let (Some(entry), Ended::Lost) = (entry, ended) {
                tracing::info!(relay, "the node of a relayed session is unreachable");
                entry.client.close(CloseReason::TransportError);
            }
        }),
    );
    Ok(Box::new(Uplink {
        shared: Arc::clone(shared),
        relay,
        outbox,
    }))
}

/// The socket's handle on its relay.
struct Uplink {
    shared: Arc<Shared>,
    relay: u64,
    outbox: Outbox,
}

impl RelayUplink for Uplink {
    fn send(&mut self, frame: Frame) -> Result<(), SinkFull> {
        self.outbox.push(vec![frame])
    }

    fn close(&mut self, reason: CloseReason) {
        // Not when the owner ended the relay: it knows.
        if lock(&self.shared.entries).remove(&self.relay).is_some() {
            self.outbox.close(reason);
        }
    }
}

/// The owner's frames for relay `relay`, and its end if `close` says why: written to the socket.
pub(super) fn down(shared: &Shared, relay: u64, frames: Vec<Frame>, close: Option<CloseReason>) {
    let Some(client) = lock(&shared.entries)
        .get(&relay)
        .map(|entry| entry.client.clone())
    else {
        return;
    };
    if !frames.is_empty() && client.send(frames).is_err() {
        // The socket tells the owner as it closes (its uplink is still registered).
        client.close(CloseReason::SlowConsumer);
        return;
    }
    if let Some(reason) = close {
        lock(&shared.entries).remove(&relay);
        client.close(reason);
    }
}

/// The tags of the nodes whose sessions this node relays.
pub(super) fn peers(shared: &Shared) -> Vec<String> {
    let entries = lock(&shared.entries);
    entries.values().map(|entry| entry.owner.clone()).collect()
}

/// Ends the relays to the node tagged `owner` (`None`: to every node), whose messages can no
/// longer arrive: it died, or this node lost its subscription.
pub(super) fn lose(shared: &Shared, owner: Option<&str>) {
    let lost: Vec<EntryRelay> = {
        let mut entries = lock(&shared.entries);
        let relays: Vec<u64> = entries
            .iter()
            .filter(|(_, entry)| owner.is_none_or(|owner| entry.owner == owner))
            .map(|(relay, _)| *relay)
            .collect();
        relays
            .iter()
            .filter_map(|relay| entries.remove(relay))
            .collect()
    };
    for entry in lost {
        entry.client.close(CloseReason::TransportError);
    }
}
