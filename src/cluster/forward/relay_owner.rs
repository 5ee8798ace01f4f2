//! The owner's side of a relayed WebSocket: another node holds the client's socket, this node
//! its session. The session writes to a [`RelaySink`], published to the entry node through an
//! [`Outbox`]; the client's frames arrive on this node's channel and go to the session.

use std::sync::{Arc, Mutex};

use super::outbox::{Ended, Outbox};
use super::state::{ServedKey, Shared};
use super::wire::Header;
use crate::engineio::{
    forward_outbox, CloseReason, Engine, EngineConnection, Frame, Outbox as SessionOutbox,
    OutboxForwarder, RelayedSocket, TransportSink,
};
use crate::sync::lock;

/// Node `from` relays a WebSocket as `relay` for this node's session `sid`: attach it there as
/// an upgrade probe, or tell that node to close it.
pub(super) fn open(shared: &Arc<Shared>, engine: &Engine, from: String, relay: u64, sid: &str) {
    let key: ServedKey = (from.clone(), relay);
    let ended_shared = Arc::clone(shared);
    let ended_key = key.clone();
    let outbox = Outbox::start(
        Arc::clone(shared),
        from,
        None,
        Box::new(move |close| Header::RelayDown { relay, close }),
        Box::new(move |ended| {
            let socket = lock(&ended_shared.owned).remove(&ended_key);
            if let (Some(socket), Ended::Lost) = (socket, ended) {
                tracing::info!(relay, "the node relaying a WebSocket is unreachable");
                socket.closed(CloseReason::TransportError);
            }
        }),
    );
    if shared.relays_full() {
        tracing::warn!(relay, "too many relayed WebSockets; refusing one");
        outbox.close(CloseReason::TransportError);
        return;
    }
    let sink = Arc::new(RelaySink {
        outbox: Arc::new(outbox),
        shared: Arc::clone(shared),
        key: key.clone(),
        forwarder: Mutex::new(None),
    });
    match engine.attach_relay(sid, Arc::clone(&sink) as Arc<dyn TransportSink>) {
        Ok(socket) => {
            lock(&shared.owned).insert(key, socket);
        }
        Err(error) => {
            tracing::debug!(%error, sid, "a relayed upgrade of an unknown session");
            sink.outbox.close(CloseReason::TransportError);
        }
    }
}

/// The client's frames on relay `key`, and its end if `close` says why: handed to the session.
pub(super) fn up(shared: &Shared, key: &ServedKey, frames: Vec<Frame>, close: Option<CloseReason>) {
    let mut owned = lock(&shared.owned);
    let Some(socket) = owned.get(key) else {
        return;
    };
    for frame in frames {
        socket.deliver(frame);
    }
    if let Some(reason) = close {
        if let Some(socket) = owned.remove(key) {
            socket.closed(reason);
        }
    }
}

/// The tags of the nodes that relay this node's sessions.
pub(super) fn peers(shared: &Shared) -> Vec<String> {
    let owned = lock(&shared.owned);
    owned.keys().map(|(from, _)| from.clone()).collect()
}

/// Ends the relays of the node tagged `entry` (`None`: of every node), whose messages can no
/// longer arrive: it died, or this node lost its subscription.
pub(super) fn lose(shared: &Shared, entry: Option<&str>) {
    let lost: Vec<RelayedSocket> = {
        let mut owned = lock(&shared.owned);
        let keys: Vec<ServedKey> = owned
            .keys()
            .filter(|(from, _)| entry.is_none_or(|entry| from == entry))
            .cloned()
            .collect();
        keys.iter().filter_map(|key| owned.remove(key)).collect()
    };
    for socket in lost {
        socket.closed(CloseReason::TransportError);
    }
}

/// The session's handle on a relayed WebSocket: its frames are published to the entry node.
struct RelaySink {
    outbox: Arc<Outbox>,
    shared: Arc<Shared>,
    key: ServedKey,
    /// Moves the session's frames into `outbox` once the session is attached.
    forwarder: Mutex<Option<OutboxForwarder>>,
}

impl RelaySink {
    fn fell_behind(&self) {
        fell_behind(&self.outbox, &self.shared, &self.key);
    }
}

/// The entry node of relay `key` cannot take the session's frames as fast as they come: the
/// relay and the transport end as a slow consumer's.
fn fell_behind(outbox: &Outbox, shared: &Shared, key: &ServedKey) {
    tracing::warn!("a relayed WebSocket's node takes frames slower than its session sends");
    outbox.close(CloseReason::SlowConsumer);
    if let Some(socket) = lock(&shared.owned).remove(key) {
        socket.closed(CloseReason::SlowConsumer);
    }
}

impl TransportSink for RelaySink {
    fn answer_probe(&self) {
        if self.outbox.push(vec![Frame::pong_probe()]).is_err() {
            self.fell_behind();
        }
    }

    fn attach(&self, session: Arc<SessionOutbox>) {
        let (outbox, shared, key) = (
            Arc::clone(&self.outbox),
            Arc::clone(&self.shared),
            self.key.clone(),
        );
        let forwarder = forward_outbox(session, move |frames| {
            if outbox.push(frames).is_ok() {
                return true;
            }
            fell_behind(&outbox, &shared, &key);
            false
        });
        *lock(&self.forwarder) = Some(forwarder);
    }

    fn close(&self, reason: CloseReason) {
        // The session's last frames (its close packet) go before the relay's end.
        if let Some(forwarder) = lock(&self.forwarder).take() {
            let last = forwarder.finish();
            if !last.is_empty() && self.outbox.push(last).is_err() {
                self.fell_behind();
                return;
            }
        }
        self.outbox.close(reason);
    }

    fn adopt(&self, mut connection: Box<dyn EngineConnection>) {
        // Only a session that starts on a WebSocket hands its connection over; a relayed one is
        // always an upgrade, so this does not happen. Were it to, the connection is told it ends.
        connection.on_close(CloseReason::TransportError);
    }
}
