//! [`ForwardOptions`]: the forwarder's settings and their defaults.

use std::time::Duration;

#[cfg(doc)]
use super::Forwarder;
use crate::cluster::wire::DEFAULT_KEY;

/// Default bound of this node's requests waiting for other nodes at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1_024;
/// Default bound of other nodes' requests served here at once.
pub const DEFAULT_MAX_SERVED: usize = 4_096;
/// Default bound of WebSockets relayed through this node at once (as entry and as owner).
pub const DEFAULT_MAX_RELAYS: usize = 4_096;
/// Default bound of one relay's bytes waiting to be published, each way; past it the side that
/// cannot keep up is closed as a slow consumer.
pub const DEFAULT_RELAY_MAX_BYTES: usize = 1 << 20;
/// Default bound of one relay's frames waiting to be published, each way.
pub const DEFAULT_RELAY_MAX_FRAMES: usize = 1_024;
/// Added to the longest a GET may be held (the ping interval) to get the forwarding timeout:
/// room for two trips through Redis on a loaded machine.
pub const FORWARD_SLACK: Duration = Duration::from_secs(5);

/// Settings of the [`Forwarder`].
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    /// Channel prefix, the cluster's `--redis-key`.
    pub key: String,
    /// How long a forwarded request may wait for its answer: longer than a GET is held
    /// (`pingInterval` + [`FORWARD_SLACK`]).
    pub timeout: Duration,
    /// Most requests of this node waiting for other nodes at once; more are answered 503.
    pub max_in_flight: usize,
    /// Most requests of other nodes served here at once; more are answered 503.
    pub max_served: usize,
    /// Time allowed to connect to Redis and for each command.
    pub connect_timeout: Duration,
    /// Most WebSockets relayed through this node at once; more are closed at once.
    pub max_relays: usize,
    /// Most bytes of one relay waiting to be published, each way.
    pub relay_max_bytes: usize,
    /// Most frames of one relay waiting to be published, each way.
    pub relay_max_frames: usize,
}

impl ForwardOptions {
    /// Options whose timeout fits sessions pinged every `ping_interval`.
    pub fn for_ping_interval(key: &str, ping_interval: Duration) -> ForwardOptions {
        ForwardOptions {
            key: key.to_string(),
            timeout: ping_interval + FORWARD_SLACK,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_served: DEFAULT_MAX_SERVED,
            connect_timeout: Duration::from_secs(3),
            max_relays: DEFAULT_MAX_RELAYS,
            relay_max_bytes: DEFAULT_RELAY_MAX_BYTES,
            relay_max_frames: DEFAULT_RELAY_MAX_FRAMES,
        }
    }
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions::for_ping_interval(DEFAULT_KEY, crate::engineio::DEFAULT_PING_INTERVAL)
    }
}
