//! [`Feed`]: the admin events of this node (`socket_connected`, `room_joined`, `event_received`,
//! …), queued without blocking whoever reports them and broadcast to the `/admin` namespace, which
//! reaches the admins connected to any node of a cluster.
//!
//! The queue is bounded. When it overflows, events are dropped and counted, and once it has
//! drained a single fresh `all_sockets` list replaces them all: a burst coalesces into one
//! snapshot instead of growing memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

/// Admin events queued at most on one node.
pub const FEED_CAPACITY: usize = 4096;
/// Longest event arguments shown in the event log, as JSON bytes; longer ones are summarized.
pub const MAX_EVENT_ARGS_BYTES: usize = 4096;

/// One event for the admins.
#[derive(Debug)]
pub struct FeedItem {
    /// The event name (`socket_connected`, …).
    pub event: &'static str,
    /// Its arguments.
    pub args: Vec<Value>,
}

/// Where admin events are reported; cheap to clone.
#[derive(Clone)]
pub struct Feed {
    queue: mpsc::Sender<FeedItem>,
    shared: Arc<Shared>,
}

struct Shared {
    dropped: AtomicU64,
    /// Set when events were dropped: the admins need a fresh list of sockets.
    resync: AtomicBool,
}

/// The receiving end of a [`Feed`], drained by the task that broadcasts.
pub struct FeedReceiver {
    queue: mpsc::Receiver<FeedItem>,
    shared: Arc<Shared>,
}

impl Feed {
    /// A feed and its receiver.
    pub fn new() -> (Feed, FeedReceiver) {
        let (queue, receiver) = mpsc::channel(FEED_CAPACITY);
        let shared = Arc::new(Shared {
            dropped: AtomicU64::new(0),
            resync: AtomicBool::new(false),
        });
        (
            Feed {
                queue,
                shared: Arc::clone(&shared),
            },
            FeedReceiver {
                queue: receiver,
                shared,
            },
        )
    }

    /// Queues an event; drops it (and asks for a resync) if the queue is full.
    pub fn push(&self, event: &'static str, args: Vec<Value>) {
        if let Err(mpsc::error::TrySendError::Full(_)) =
            self.queue.try_send(FeedItem { event, args })
        {
            let dropped = self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            if !self.shared.resync.swap(true, Ordering::AcqRel) {
                tracing::warn!(
                    dropped = dropped + 1,
                    "admin feed full: dropping events until it drains"
                );
            }
        }
    }
}

impl FeedReceiver {
    /// The next event; `None` once every [`Feed`] is gone.
    pub async fn next(&mut self) -> Option<FeedItem> {
        self.queue.recv().await
    }

    /// True (once) when events were dropped and the queue is now empty: time for a snapshot.
    pub fn take_resync(&mut self) -> bool {
        self.queue.is_empty() && self.shared.resync.swap(false, Ordering::AcqRel)
    }
}

/// An event's arguments for the event log: the event name first (as Node's `onAny` gives them),
/// summarized when they are too long to show.
pub fn event_args(event: &str, args: &[Value]) -> Value {
    let mut shown = Vec::with_capacity(args.len() + 1);
    shown.push(Value::String(event.to_string()));
    let size = serde_json::to_vec(args).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_EVENT_ARGS_BYTES {
        shown.push(Value::String(format!(
            "[{size} bytes of arguments, not shown]"
        )));
    } else {
        shown.extend(args.iter().cloned());
    }
    Value::Array(shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overflow_drops_and_asks_for_a_snapshot() {
        let (feed, mut receiver) = Feed::new();
        for _ in 0..FEED_CAPACITY + 10 {
            feed.push("room_joined", vec![json!("/")]);
        }
        assert_eq!(feed.shared.dropped.load(Ordering::Relaxed), 10);
        assert!(!receiver.take_resync(), "not before the queue drained");
        while receiver.queue.try_recv().is_ok() {}
        assert!(receiver.take_resync());
        assert!(!receiver.take_resync(), "only once");
    }

    #[test]
    fn long_arguments_are_summarized() {
        assert_eq!(event_args("hi", &[json!(1)]), json!(["hi", 1]));
        let long = json!("x".repeat(MAX_EVENT_ARGS_BYTES));
        let shown = event_args("big", &[long]);
        assert_eq!(shown[0], "big");
        assert!(shown[1].as_str().unwrap().contains("not shown"));
    }
}
