//! `server_stats`: every [`STATS_INTERVAL`], this node tells the admins (on any node) who it is,
//! how many clients and sockets it has, and what happened since the last time (the
//! `aggregatedEvents` the dashboard charts).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::registry::Registry;
use super::time::now_millis;

/// How often `server_stats` is sent (Node's admin-ui: 2 s; the UI marks a server unhealthy after
/// 10 s without one).
pub const STATS_INTERVAL: Duration = Duration::from_secs(2);
/// The aggregated counts are stamped with the second they were taken in.
const MILLIS_PER_SECOND: i64 = 1000;

/// Counters of the process's traffic, as read at the last report.
#[derive(Default)]
struct Traffic {
    packets_in: u64,
    packets_out: u64,
    bytes_in: u64,
    bytes_out: u64,
}

impl Traffic {
    /// What grew since `before`, named as the dashboard names it.
    fn deltas(&self, before: &Traffic) -> [(&'static str, u64); 4] {
        [
            (
                "packetsIn",
                self.packets_in.saturating_sub(before.packets_in),
            ),
            (
                "packetsOut",
                self.packets_out.saturating_sub(before.packets_out),
            ),
            ("bytesIn", self.bytes_in.saturating_sub(before.bytes_in)),
            ("bytesOut", self.bytes_out.saturating_sub(before.bytes_out)),
        ]
    }

    fn now() -> Traffic {
        let metrics = crate::metrics::get();
        Traffic {
            packets_in: metrics.inbound.packets.get(),
            packets_out: metrics.outbound.packets.get(),
            bytes_in: metrics.inbound.bytes.get(),
            bytes_out: metrics.outbound.bytes.get(),
        }
    }
}

/// What `server_stats` reports about this node.
pub struct ServerStats {
    server_id: String,
    hostname: String,
    started: Instant,
    registry: Arc<Registry>,
    namespaces: Vec<String>,
    traffic: Traffic,
}

impl ServerStats {
    /// Stats of the node listening on `port` (its server id is `hostname:port`, unique on a
    /// machine), listing these namespaces.
    pub fn new(port: u16, registry: Arc<Registry>, namespaces: Vec<String>) -> ServerStats {
        let hostname = hostname();
        ServerStats {
            server_id: format!("{hostname}:{port}"),
            hostname,
            started: Instant::now(),
            registry,
            namespaces,
            traffic: Traffic::now(),
        }
    }

    /// The next `server_stats` payload; the aggregated counts are those since the last one.
    pub fn report(&mut self) -> Value {
        let namespaces: Vec<Value> = self
            .namespaces
            .iter()
            .map(|name| json!({ "name": name, "socketsCount": self.registry.sockets_count(name) }))
            .collect();
        let (clients, polling) = self.registry.clients_count();
        json!({
            "serverId": self.server_id,
            "hostname": self.hostname,
            "pid": std::process::id(),
            "uptime": self.started.elapsed().as_secs_f64(),
            "clientsCount": clients,
            "pollingClientsCount": polling,
            "aggregatedEvents": self.aggregated_events(),
            "namespaces": namespaces,
        })
    }

    fn aggregated_events(&mut self) -> Vec<Value> {
        let timestamp = now_millis() / MILLIS_PER_SECOND * MILLIS_PER_SECOND;
        let (opened, closed) = self.registry.take_session_counts();
        let now = Traffic::now();
        let before = std::mem::replace(&mut self.traffic, now);
        let now = &self.traffic;
        let counts = std::iter::once(("rawConnection", None, opened))
            .chain(
                now.deltas(&before)
                    .into_iter()
                    .map(|(kind, count)| (kind, None, count)),
            )
            .chain(
                closed
                    .into_iter()
                    .map(|(reason, count)| ("rawDisconnection", Some(reason), count)),
            );
        counts
            .filter(|(_, _, count)| *count > 0)
            .map(|(kind, sub_type, count)| {
                let mut event = json!({ "timestamp": timestamp, "type": kind, "count": count });
                if let Some(sub_type) = sub_type {
                    event["subType"] = json!(sub_type);
                }
                event
            })
            .collect()
    }
}

/// The machine's name (Linux), or `localhost`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}
