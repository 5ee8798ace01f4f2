//! [`ClusterStatus`]: the adapter's connection state and counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The adapter's connection state and counters, shared with whoever reports them (readiness,
/// metrics). Cheap to clone.
#[derive(Clone, Default)]
pub struct ClusterStatus {
    inner: Arc<StatusInner>,
}

#[derive(Default)]
struct StatusInner {
    publisher: AtomicBool,
    subscriber: AtomicBool,
    published: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    reconnects: AtomicU64,
}

impl ClusterStatus {
    /// True while both Redis connections (publish and subscribe) are up.
    pub fn is_connected(&self) -> bool {
        self.inner.publisher.load(Ordering::Relaxed)
            && self.inner.subscriber.load(Ordering::Relaxed)
    }

    /// Messages published to Redis.
    pub fn published(&self) -> u64 {
        self.inner.published.load(Ordering::Relaxed)
    }

    /// Messages received from Redis.
    pub fn received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    /// Outgoing messages dropped because Redis was away or too slow.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Connections re-established after a loss.
    pub fn reconnects(&self) -> u64 {
        self.inner.reconnects.load(Ordering::Relaxed)
    }

    /// The publish connection is up or down.
    pub(super) fn set_publisher(&self, up: bool) {
        self.inner.publisher.store(up, Ordering::Relaxed);
    }

    /// The subscribe connection is up or down.
    pub(super) fn set_subscriber(&self, up: bool) {
        self.inner.subscriber.store(up, Ordering::Relaxed);
    }

    /// Counts outgoing messages dropped, logging now and then.
    pub(super) fn count_dropped(&self, n: u64) {
        let before = self.inner.dropped.fetch_add(n, Ordering::Relaxed);
        // Logged at 1, 2, 4, 8… so an outage does not flood the log.
        let after = before + n;
        if n > 0 && (before == 0 || before.ilog2() != after.ilog2()) {
            tracing::warn!(
                dropped = after,
                "cluster messages dropped (Redis away or too slow)"
            );
        }
    }

    /// Is the publish connection up?
    pub(super) fn publisher_up(&self) -> bool {
        self.inner.publisher.load(Ordering::Relaxed)
    }

    /// Counts messages published to Redis.
    pub(super) fn count_published(&self, n: u64) {
        self.inner.published.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a message received from Redis.
    pub(super) fn count_received(&self) {
        self.inner.received.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection re-established after a loss.
    pub(super) fn count_reconnect(&self) {
        self.inner.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}
