//! Settings of the Engine.IO layer.

use std::time::Duration;

/// Default interval between two server pings.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_millis(25_000);
/// Default time a client has to answer a ping.
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_millis(20_000);
/// Default largest accepted payload, in bytes (a polling body or a WebSocket message).
pub const DEFAULT_MAX_PAYLOAD: usize = 1_000_000;
/// Default number of frames a session may hold for a client that has not read them yet.
pub const DEFAULT_MAX_QUEUE: usize = 1_024;
/// Default number of bytes a session may hold for a client that has not read them yet (the
/// polling queue, or the frames handed to a WebSocket and not yet taken by it): eight
/// maximum-size messages, far more than an honest client ever leaves waiting.
pub const DEFAULT_MAX_QUEUE_BYTES: usize = 8 << 20;
/// Default time a client has to finish an upgrade once it probed the WebSocket.
pub const DEFAULT_UPGRADE_TIMEOUT: Duration = Duration::from_millis(10_000);

/// Settings shared by every Engine.IO session of one server.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How often the server pings each client.
    pub ping_interval: Duration,
    /// How long a client may take to answer a ping before the session is closed.
    pub ping_timeout: Duration,
    /// Largest accepted payload in bytes.
    pub max_payload: usize,
    /// Bound of a session's outgoing queue, in frames; a client that falls further behind is dropped.
    pub max_queue: usize,
    /// How long an upgrade may stay between probe and upgrade packet.
    pub upgrade_timeout: Duration,
    /// Offer the WebSocket upgrade to polling clients.
    pub allow_upgrades: bool,
    /// Bound of a session's outgoing queue, in bytes; a client that falls further behind is
    /// dropped as a slow consumer. A single frame larger than this still goes to an empty queue.
    pub max_queue_bytes: usize,
    /// Agree to permessage-deflate with WebSocket clients that offer it (off by default, as in
    /// Node): messages of 1 KiB and more are then compressed.
    pub per_message_deflate: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: DEFAULT_PING_INTERVAL,
            ping_timeout: DEFAULT_PING_TIMEOUT,
            max_payload: DEFAULT_MAX_PAYLOAD,
            max_queue: DEFAULT_MAX_QUEUE,
            upgrade_timeout: DEFAULT_UPGRADE_TIMEOUT,
            allow_upgrades: true,
            max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
            per_message_deflate: false,
        }
    }
}
