//! Prometheus metrics, served as text at `/metrics`. One process-wide set, reached with [`get`],
//! so every layer can count what it sees without threading a handle through.

use std::sync::OnceLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric Agora exports.
pub struct Metrics {
    registry: Registry,
    /// Open Engine.IO sessions by transport.
    pub connections: IntGaugeVec,
    /// Connected Socket.IO sockets by namespace.
    pub sockets: IntGaugeVec,
    /// Polling sessions upgraded to WebSocket.
    pub upgrades: IntCounter,
    /// Rooms with at least one member.
    pub rooms: IntGauge,
    /// Engine.IO packets and payload bytes from clients (`direction="in"`).
    pub inbound: Traffic,
    /// Engine.IO packets and payload bytes to clients (`direction="out"`).
    pub outbound: Traffic,
    /// Sockets reached per broadcast.
    pub broadcast_fanout: Histogram,
    /// Server-to-client acks that timed out.
    pub acks_timed_out: IntCounter,
    /// Closed Engine.IO sessions by reason.
    pub disconnects: IntCounterVec,
    /// Sessions dropped because their client could not keep up.
    pub slow_consumer_drops: IntCounter,
    /// HTTP requests by route pattern and status.
    pub http_requests: IntCounterVec,
    /// Trade operations by outcome.
    pub trades: IntCounterVec,
    /// Disconnected sockets kept for recovery.
    pub recovery_sessions: IntGauge,
    /// Packets kept in the recovery log.
    pub recovery_log_packets: IntGauge,
    /// Bytes kept in the recovery log.
    pub recovery_log_bytes: IntGauge,
    /// Reconnections that asked for recovery, by result (`recovered`, `expired`, `lost`).
    pub recoveries: IntCounterVec,
    /// 1 while the Redis cluster link is up (or there is no cluster), 0 while it is down.
    pub cluster_connected: IntGauge,
    /// Argon2 password hashes and verifications computed.
    pub password_hashes: IntCounter,
}

/// `agora_packets_total` and `agora_bytes_total` of one direction, resolved once: the hot path
/// counts every frame it writes, and a label lookup per frame costs a hash and a lock.
pub struct Traffic {
    /// `agora_packets_total` of this direction.
    pub packets: IntCounter,
    /// `agora_bytes_total` of this direction.
    pub bytes: IntCounter,
}

impl Traffic {
    fn of(packets: &IntCounterVec, bytes: &IntCounterVec, direction: &str) -> Traffic {
        Traffic {
            packets: packets.with_label_values(&[direction]),
            bytes: bytes.with_label_values(&[direction]),
        }
    }
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("agora".into()), None)?;
    let gauge_vec =
        |name: &str, help: &str, label: &str| IntGaugeVec::new(Opts::new(name, help), &[label]);
    let counter_vec =
        |name: &str, help: &str, labels: &[&str]| IntCounterVec::new(Opts::new(name, help), labels);
    let packets = counter_vec("packets_total", "Engine.IO packets", &["direction"])?;
    let bytes = counter_vec("bytes_total", "Engine.IO payload bytes", &["direction"])?;
    let metrics = Metrics {
        connections: gauge_vec("connections_open", "Open Engine.IO sessions", "transport")?,
        sockets: gauge_vec("sockets_open", "Connected Socket.IO sockets", "namespace")?,
        upgrades: IntCounter::new("upgrades_total", "Polling sessions upgraded to WebSocket")?,
        rooms: IntGauge::new("rooms", "Rooms with at least one member")?,
        inbound: Traffic::of(&packets, &bytes, "in"),
        outbound: Traffic::of(&packets, &bytes, "out"),
        broadcast_fanout: Histogram::with_opts(
            HistogramOpts::new("broadcast_fanout", "Sockets reached per broadcast")
                .buckets(vec![0.0, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0]),
        )?,
        acks_timed_out: IntCounter::new("acks_timed_out_total", "Client acks that timed out")?,
        disconnects: counter_vec("disconnects_total", "Closed sessions", &["reason"])?,
        slow_consumer_drops: IntCounter::new(
            "slow_consumer_drops_total",
            "Sessions dropped for falling behind",
        )?,
        http_requests: counter_vec("http_requests_total", "HTTP requests", &["route", "status"])?,
        trades: counter_vec("trades_total", "Trade operations", &["outcome"])?,
        recovery_sessions: IntGauge::new(
            "recovery_sessions",
            "Disconnected sockets kept for recovery",
        )?,
        recovery_log_packets: IntGauge::new("recovery_log_packets", "Packets kept for recovery")?,
        recovery_log_bytes: IntGauge::new("recovery_log_bytes", "Bytes kept for recovery")?,
        recoveries: counter_vec("recoveries_total", "Recovery attempts", &["result"])?,
        cluster_connected: IntGauge::new(
            "cluster_connected",
            "1 while the Redis cluster link is up",
        )?,
        password_hashes: IntCounter::new(
            "password_hashes_total",
            "Argon2 password hashes and verifications computed",
        )?,
        registry,
    };
    let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
        Box::new(metrics.connections.clone()),
        Box::new(metrics.sockets.clone()),
        Box::new(metrics.upgrades.clone()),
        Box::new(metrics.rooms.clone()),
        Box::new(packets),
        Box::new(bytes),
        Box::new(metrics.broadcast_fanout.clone()),
        Box::new(metrics.acks_timed_out.clone()),
        Box::new(metrics.disconnects.clone()),
        Box::new(metrics.slow_consumer_drops.clone()),
        Box::new(metrics.http_requests.clone()),
        Box::new(metrics.trades.clone()),
        Box::new(metrics.recovery_sessions.clone()),
        Box::new(metrics.recovery_log_packets.clone()),
        Box::new(metrics.recovery_log_bytes.clone()),
        Box::new(metrics.recoveries.clone()),
        Box::new(metrics.cluster_connected.clone()),
        Box::new(metrics.password_hashes.clone()),
    ];
    for collector in collectors {
        metrics.registry.register(collector)?;
    }
    Ok(metrics)
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    // The names and labels above are fixed and valid, and each is registered once: building
    // cannot fail, so a failure is a programming error caught by the first test that runs.
    METRICS.get_or_init(|| build().expect("metric definitions are valid"))
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "encoding metrics failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_every_family() {
        let metrics = super::get();
        metrics.upgrades.inc();
        metrics.trades.with_label_values(&["accepted"]).inc();
        let text = metrics.render();
        assert!(text.contains("agora_upgrades_total"));
        assert!(text.contains("agora_trades_total{outcome=\"accepted\"}"));
    }
}
