//! Connection state recovery (Socket.IO 4.6+): a socket whose connection drops is kept for a while,
//! so a client that reconnects with its private id (`pid`) and the offset of the last packet it got
//! gets the same socket id, its rooms, and every room/broadcast packet it missed, in order.
//!
//! This half lives in the Socket.IO layer: the kept sockets by `pid` (their id and extensions) and
//! the packet offsets. The rooms and the packet log are the adapter's half.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rand::RngCore;

use super::socket::Socket;
use crate::expiring::ExpiringMap;

/// Default time a disconnected socket is kept.
pub const DEFAULT_MAX_DISCONNECTION: Duration = Duration::from_secs(120);
/// Default cap on kept sockets.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// Settings of connection state recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected socket can be recovered.
    pub max_disconnection: Duration,
    /// At most this many disconnected sockets are kept (the oldest go first).
    pub max_sessions: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection: DEFAULT_MAX_DISCONNECTION,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }
}

/// A unique packet offset: a per-process random prefix (so offsets of an earlier run never match)
/// and a counter.
pub fn next_offset() -> String {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| rand::thread_rng().next_u32());
    format!("{prefix:08x}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A fresh private session id: an opaque random UUID (v4) the client presents to recover.
pub fn new_pid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Disconnected sockets that may come back, by `pid`: at most `max_sessions` of them (the oldest
/// give way), each for `max_disconnection`.
pub(crate) struct KeptSockets {
    config: RecoveryConfig,
    sockets: Mutex<ExpiringMap<String, Socket>>,
}

impl KeptSockets {
    pub(crate) fn new(config: RecoveryConfig) -> KeptSockets {
        KeptSockets {
            config,
            sockets: Mutex::new(ExpiringMap::new(config.max_sessions)),
        }
    }

    pub(crate) fn config(&self) -> RecoveryConfig {
        self.config
    }

    /// Keeps a disconnected socket for the recovery window.
    pub(crate) fn keep(&self, pid: String, socket: Socket) {
        let mut sockets = self.lock();
        sockets.insert(pid, socket, self.config.max_disconnection);
        crate::metrics::get()
            .recovery_sessions
            .set(sockets.len() as i64);
    }

    /// Takes back a kept socket, if its window is still open.
    pub(crate) fn take(&self, pid: &str) -> Option<Socket> {
        let mut sockets = self.lock();
        let socket = sockets.take(pid);
        crate::metrics::get()
            .recovery_sessions
            .set(sockets.len() as i64);
        socket
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ExpiringMap<String, Socket>> {
        // Each critical section is one map operation.
        crate::sync::lock(&self.sockets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_unique_and_ordered_within_a_process() {
        let a = next_offset();
        let b = next_offset();
        assert_ne!(a, b);
        assert_eq!(a.split('-').next(), b.split('-').next());
    }
}
