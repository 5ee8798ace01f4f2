//! Ack ids, and [`PendingAcks`]: the acknowledgements a socket waits for from its client.
//!
//! Every ack id comes from one counter for the whole process, shared by a socket's own
//! [`Socket::emit_with_ack`](super::Socket::emit_with_ack) and by broadcasts with acks, whose one
//! id is registered on every socket they reach. So a broadcast's id can never be pending already
//! on one of those sockets for an ack of its own, however the two interleave. Node's Socket.IO
//! shares one counter per namespace (`nsp._ids`) for the same reason; ours is per process because
//! the cluster adapter gives ids to other nodes' broadcasts without seeing a namespace. At a
//! million acks a second the counter stays below 2^53 (what a JavaScript client reads exactly)
//! for centuries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::payload::Payload;
use super::types::AckReport;

static NEXT_ACK_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh ack id, never handed out before in this process.
pub fn next_ack_id() -> u64 {
    NEXT_ACK_ID.fetch_add(1, Ordering::Relaxed)
}

/// The acks one socket waits for, by id. Cheap to clone: clones share the same waiters, so the
/// adapter that delivers a broadcast can register its ack id on each socket it reaches.
#[derive(Clone, Default)]
pub struct PendingAcks {
    waiting: Arc<Mutex<HashMap<u64, Waiter>>>,
}

/// Who gets an ack when it comes.
enum Waiter {
    /// The socket's own `emit_with_ack`: the whole answer.
    Emit(oneshot::Sender<Payload>),
    /// A broadcast's collector: the answer's first argument, as Socket.IO passes it on.
    Broadcast(mpsc::UnboundedSender<AckReport>),
}

impl Waiter {
    fn is_closed(&self) -> bool {
        match self {
            Waiter::Emit(sender) => sender.is_closed(),
            Waiter::Broadcast(sender) => sender.is_closed(),
        }
    }
}

impl PendingAcks {
    /// Waits for the ack of a new id (the caller sends the event with it).
    pub(crate) fn wait(&self) -> (u64, oneshot::Receiver<Payload>) {
        let (sender, receiver) = oneshot::channel();
        let id = next_ack_id();
        self.lock().insert(id, Waiter::Emit(sender));
        (id, receiver)
    }

    /// Stops waiting for `id` (timed out, or never sent).
    pub(crate) fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// The socket is about to get a broadcast asking for ack `id`: its client's answer goes to
    /// `reports` as an [`AckReport::Answer`]. Waiters nobody listens to any more (a collector that
    /// finished, an emit whose future was dropped) are forgotten on the way.
    pub fn expect_broadcast(&self, id: u64, reports: &mpsc::UnboundedSender<AckReport>) {
        let mut waiting = self.lock();
        waiting.retain(|_, waiter| !waiter.is_closed());
        waiting.insert(id, Waiter::Broadcast(reports.clone()));
    }

    /// The client acknowledged `id`; false if nobody waited for it.
    pub(crate) fn resolve(&self, id: u64, payload: Payload) -> bool {
        let Some(waiter) = self.lock().remove(&id) else {
            return false;
        };
        match waiter {
            Waiter::Emit(sender) => {
                let _ = sender.send(payload);
            }
            Waiter::Broadcast(reports) => {
                let _ = reports.send(AckReport::Answer(first_argument(payload)));
            }
        }
        true
    }

    /// The socket is gone: nothing more will be acknowledged.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// Every critical section here is one map operation.
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Waiter>> {
        crate::sync::lock(&self.waiting)
    }
}

/// The first argument alone (`null` when there is none), with the attachments it may point at.
fn first_argument(payload: Payload) -> Payload {
    let (args, attachments) = payload.into_parts();
    let first = args.into_iter().next().unwrap_or(Value::Null);
    Payload::with_attachments(vec![first], attachments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_reused_across_sockets_and_broadcasts() {
        let (a, b) = (PendingAcks::default(), PendingAcks::default());
        let (own, _answer) = a.wait();
        let broadcast = next_ack_id();
        let (other, _) = b.wait();
        assert!(own != broadcast && broadcast != other && own != other);
    }

    #[test]
    fn a_broadcast_ack_reports_the_first_argument() {
        let acks = PendingAcks::default();
        let (reports, mut received) = mpsc::unbounded_channel();
        acks.expect_broadcast(7, &reports);
        let answer = Payload::new(vec![Value::from(1), Value::from(2)]);
        assert!(acks.resolve(7, answer));
        assert!(!acks.resolve(7, Payload::empty()), "answered once only");
        match received.try_recv() {
            Ok(AckReport::Answer(payload)) => assert_eq!(payload.args(), [Value::from(1)]),
            other => panic!("expected the answer, got {other:?}"),
        }
    }

    #[test]
    fn a_disconnection_drops_the_broadcast_waiters() {
        let acks = PendingAcks::default();
        let (reports, mut received) = mpsc::unbounded_channel();
        acks.expect_broadcast(next_ack_id(), &reports);
        drop(reports);
        acks.clear();
        assert!(matches!(
            received.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
    }
}
