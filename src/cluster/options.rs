//! [`ClusterOptions`] and [`ClusterError`].

use std::time::Duration;

use redis::RedisError;

use super::wire::DEFAULT_KEY;
#[cfg(doc)]
use crate::socketio::Adapter;
use crate::socketio::{Parser, DEFAULT_MAX_SESSIONS};

/// How long a cluster-wide query waits for the other nodes, by default.
pub const DEFAULT_REQUESTS_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of the Redis adapter.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Channel prefix; `socket.io`, as the Node adapter's default `key`.
    pub key: String,
    /// How long a cluster-wide query ([`Adapter::sockets`]) waits for the other nodes.
    pub requests_timeout: Duration,
    /// Namespaces listened to from the start; others once their first socket connects here.
    pub namespaces: Vec<String>,
    /// Give broadcasts from other nodes a recovery offset of this node, so they are replayed to
    /// sockets that recover here (set it when connection state recovery is on).
    pub recovery: bool,
    /// The recovery window: with `recovery`, dropped sessions and the packets they miss are kept
    /// in Redis this long, so they can recover on any node (`None`: on this node only).
    pub recovery_window: Option<Duration>,
    /// Most sockets whose rooms are kept, per namespace, while their connection is down
    /// (connection state recovery's `--recovery-max-sessions`).
    pub recovery_max_sessions: usize,
    /// Outgoing messages that may wait for Redis; beyond that new ones are dropped.
    pub queue_capacity: usize,
    /// Time allowed for each connection attempt and each command.
    pub connect_timeout: Duration,
    /// How this node's Socket.IO server writes packets (`--parser`): broadcasts from other nodes
    /// are written so, and local ones read back so before they are relayed.
    pub parser: Parser,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            key: DEFAULT_KEY.to_string(),
            requests_timeout: DEFAULT_REQUESTS_TIMEOUT,
            namespaces: vec!["/".to_string()],
            recovery: false,
            recovery_window: None,
            recovery_max_sessions: DEFAULT_MAX_SESSIONS,
            queue_capacity: 65_536,
            connect_timeout: Duration::from_secs(3),
            parser: Parser::Default,
        }
    }
}

/// Why the adapter could not join the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL {url}: {source}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        #[source]
        /// What the Redis client said.
        source: RedisError,
    },
    /// Redis refused or could not be reached.
    #[error("cannot connect to Redis at {url}: {source}")]
    Connect {
        /// The URL given.
        url: String,
        #[source]
        /// What the Redis client said.
        source: RedisError,
    },
    /// Redis did not answer in time.
    #[error("timed out connecting to Redis at {url}")]
    Timeout {
        /// The URL given.
        url: String,
    },
    /// The link to Redis is down.
    #[error("not connected to Redis")]
    Disconnected,
}
