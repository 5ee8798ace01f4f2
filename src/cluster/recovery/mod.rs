//! Connection state recovery across nodes (with `--redis-url`): what a dropped socket needs to
//! come back lives in Redis, so its client can recover on any node, even after its node died.
//!
//! - **Sessions.** Each socket's [`SessionRecord`] (id, namespace, rooms, `data`, node) is written
//!   under its private id (`<key>-recovery#session#<pid>`) when it connects, and rewritten when it
//!   joins or leaves rooms or its data changes; while it lives the key has a lease
//!   (window + [`SESSION_LEASE`]) the node renews. When its connection drops the node marks it
//!   detached and the key expires with the recovery window; a socket that leaves for good is
//!   deleted. A node that dies without a word leaves its live records: they count as dropped at
//!   the node's last heartbeat ([`heartbeat`](super::heartbeat)).
//! - **The log.** Every recoverable packet an Agora node emits (an event, no ack asked, not
//!   volatile, not `local`) is first added to one stream per cluster (`<key>-recovery#log`,
//!   fields `n` namespace and `m` the Node adapter's broadcast message without offset). Its entry
//!   id is its offset: the packet is then delivered here with it and published to the other nodes
//!   with `flags.offset` (which Node's adapter ignores), so every Agora node delivers it with the
//!   same offset. The stream is trimmed to the window (by entry time) and to [`MAX_LOG_ENTRIES`].
//! - **Claims.** A client that comes back with `pid` to a node that does not hold its socket has
//!   the record claimed by a Lua script: one node wins, and only a detached record or one whose
//!   node is dead (and died within the window) is handed out. A live record of a live node is
//!   retried for [`CLAIM_PATIENCE`] (its node may not have seen the drop yet). The missed packets
//!   are read from the stream after the client's offset, and replayed before live ones by the hub.
//!
//! The adapter's side of this (which socket has which pid, when to write) is in
//! `cluster/sessions.rs`; the writes go through one task (`cluster/log_writer.rs`) in pipelined
//! batches.

mod claim;
mod record;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::link::Link;
use super::wire::WireBroadcast;
use crate::socketio::BroadcastOptions;

pub use self::record::{SessionRecord, MAX_RECORD_ROOMS};

/// How long past the window a live socket's record is kept if its node stops renewing it.
pub const SESSION_LEASE: Duration = Duration::from_secs(300);
/// How often a node renews the leases of its live sockets and trims the log.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);
/// Most packets kept in the log (approximately: trimmed with `MAXLEN ~`).
pub const MAX_LOG_ENTRIES: usize = 100_000;
/// Most packets replayed to one recovering socket; more missed than that cannot be recovered.
pub const MAX_REPLAY: usize = 10_000;
/// How long a claim of a socket still live on a live node is retried.
pub const CLAIM_PATIENCE: Duration = Duration::from_secs(5);
/// The wait between two tries of such a claim.
pub const CLAIM_RETRY: Duration = Duration::from_millis(250);
/// Most writes waiting for the writer task; beyond, packets are delivered without the log.
pub const WRITE_QUEUE: usize = 65_536;

/// The Redis keys of one cluster's recovery state.
pub(super) struct Keys {
    session_prefix: String,
    /// The stream of logged packets.
    pub(super) log: String,
    nodes: String,
}

impl Keys {
    fn new(key: &str) -> Keys {
        Keys {
            session_prefix: format!("{key}-recovery#session#"),
            log: format!("{key}-recovery#log"),
            nodes: super::heartbeat::nodes_key(key),
        }
    }

    /// The key of the session of `pid`.
    pub(super) fn session(&self, pid: &str) -> String {
        format!("{}{pid}", self.session_prefix)
    }
}

/// A recoverable broadcast of this node, waiting for its offset.
pub(super) struct LoggedBroadcast {
    /// The namespace.
    pub(super) nsp: Arc<str>,
    /// The broadcast as published, without offset.
    pub(super) message: WireBroadcast,
    /// Who gets it here.
    pub(super) options: BroadcastOptions,
    /// Whether other nodes may have recipients.
    pub(super) publish: bool,
}

/// Work for the writer task.
pub(super) enum Write {
    /// Log, then deliver and publish with the entry id as offset.
    Packet(Box<LoggedBroadcast>),
    /// Write a session record (JSON, for this long) or delete it (`None`).
    Session {
        pid: String,
        record: Option<(String, Duration)>,
    },
}

/// The recovery state a node shares through Redis.
pub(super) struct RecoveryStore {
    pub(super) link: Link,
    pub(super) keys: Keys,
    /// The recovery window.
    pub(super) window: Duration,
    writes: mpsc::Sender<Write>,
}

impl RecoveryStore {
    /// A store for the cluster `key` and recovery `window`, and the queue its writer task reads.
    pub(super) fn new(
        link: Link,
        key: &str,
        window: Duration,
    ) -> (RecoveryStore, mpsc::Receiver<Write>) {
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        let store = RecoveryStore {
            link,
            keys: Keys::new(key),
            window,
            writes,
        };
        (store, queue)
    }

    /// Queues a write; false when the queue is full or the task gone (the write is dropped).
    pub(super) fn write(&self, write: Write) -> bool {
        self.writes.try_send(write).is_ok()
    }
}

impl LoggedBroadcast {
    /// The packet's frames with `offset` as its last argument, or `None` if it is no event.
    pub(super) fn frames_with(
        &self,
        offset: &str,
        parser: crate::socketio::Parser,
    ) -> Option<Arc<[crate::engineio::Frame]>> {
        let mut packet = self.message.packet.clone();
        packet.push_arg(offset);
        Some(parser.shared_frames(&packet.into_event()?))
    }
}
