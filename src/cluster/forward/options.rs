//! [`ForwardOptions`]: the forwarder's settings and their defaults.

use std::time::Duration;

#[cfg(doc)]
use super::Forwarder;
use crate::cluster::wire::DEFAULT_KEY;

/// Default bound of this node's requests waiting for other nodes at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1_024;
/// Default bound of other nodes' requests served here at once.
pub const DEFAULT_MAX_SERVED: usize = 4_096;
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
        }
    }
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions::for_ping_interval(DEFAULT_KEY, crate::engineio::DEFAULT_PING_INTERVAL)
    }
}
