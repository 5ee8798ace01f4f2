//! [`PendingHub`]: where the hub's actor runs, decided once the server's threads exist.
//!
//! Every broadcast goes from a session to the hub and from the hub to the sessions. On a server
//! with one worker thread every session lives on that thread, so the hub runs there too: both
//! hops are then calls within one thread, with no thread to wake and no context switch, and the
//! broadcasts that arrive together reach each socket together, in one write (docs/BENCHMARKS.md,
//! the second run of 2026-12-07). With several workers the hub keeps a thread of its own, so
//! that no worker carries it. Either way its address exists from the start: messages sent before
//! the actor runs wait in its mailbox.
//!
//! On the worker's thread the hub lives as long as that thread: were actix-server to restart the
//! worker (it does when a worker's thread dies; tokio catches a panic inside a task, so only one
//! outside every task would end it), the hub would not come back.

use std::sync::{Arc, Mutex};

use actix::dev::channel::{channel, AddressReceiver};
use actix::{Addr, Context};

use super::server::ChatServer;

/// Mailbox messages the hub's address buffers before `send` waits (actix's default).
const MAILBOX_CAPACITY: usize = 16;

/// The hub not started yet: its mailbox's receiving end and its state.
type NotStarted = (AddressReceiver<ChatServer>, ChatServer);

/// A hub whose address is handed out and whose actor starts on the first thread that asks.
#[derive(Clone)]
pub struct PendingHub {
    slot: Arc<Mutex<Option<NotStarted>>>,
}

impl PendingHub {
    /// The address of `hub`, and the handle that starts it.
    pub fn new(hub: ChatServer) -> (Addr<ChatServer>, PendingHub) {
        let (sender, receiver) = channel(MAILBOX_CAPACITY);
        let pending = PendingHub {
            slot: Arc::new(Mutex::new(Some((receiver, hub)))),
        };
        (Addr::new(sender), pending)
    }

    /// Starts the hub on this thread's actix runtime, unless it runs already (then nothing).
    pub fn start_here(&self) {
        // A poisoned lock means another thread panicked while taking the hub; what is left in
        // the slot (the hub, or nothing) is still whole.
        let taken = self
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some((receiver, hub)) = taken {
            Context::with_receiver(receiver).run(hub);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::messages::ListRooms;

    #[actix_rt::test]
    async fn a_message_sent_before_the_start_is_answered_once_the_hub_runs() {
        let (hub, pending) = PendingHub::new(ChatServer::default());
        let mut asked = Box::pin(hub.send(ListRooms {
            nsp: "/".into(),
            prefix: String::new(),
        }));
        let wait = std::time::Duration::from_millis(50);
        assert!(
            tokio::time::timeout(wait, &mut asked).await.is_err(),
            "nothing runs the hub yet"
        );
        pending.start_here();
        // A second start finds the slot empty and does nothing.
        pending.start_here();
        let rooms = tokio::time::timeout(std::time::Duration::from_secs(5), asked)
            .await
            .expect("the hub answers once started")
            .expect("the hub runs");
        assert!(rooms.is_empty());
    }
}
