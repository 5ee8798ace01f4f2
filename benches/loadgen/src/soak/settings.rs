//! The soak's command-line flags, and its settings with the defaults (full or short soak) filled in.

use std::path::PathBuf;
use std::time::Duration;

use crate::server::Heartbeat;

/// Heartbeat of the short soak: reset polling sessions end within 4 s.
const SMOKE_HEARTBEAT: Heartbeat = Heartbeat {
    interval_ms: 2_000,
    timeout_ms: 2_000,
};

/// The soak's command-line flags.
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Run the soak workload (instead of idle, fan-out and echo) against each of --servers.
    #[arg(long)]
    pub soak: bool,
    /// A short soak for the test command: 200 clients, 20 s, churn 20/s, 10 rooms, a 2 s
    /// heartbeat; fails on any loss, error or count left above zero (the RSS is shown, not judged).
    #[arg(long)]
    pub soak_smoke: bool,
    /// Clients held (default 10,000; smoke: 200).
    #[arg(long)]
    pub soak_clients: Option<usize>,
    /// Length of the churn phase, in seconds (default 600; smoke: 20).
    #[arg(long)]
    pub soak_duration: Option<f64>,
    /// Connects and disconnects per second, each (default 100; smoke: 20).
    #[arg(long)]
    pub soak_churn: Option<f64>,
    /// Rooms the clients spread over (default 100; smoke: 10).
    #[arg(long)]
    pub soak_rooms: Option<usize>,
    /// Broadcasts per second, each from a random joined client to its room (default 100; smoke:
    /// 20).
    #[arg(long)]
    pub soak_rate: Option<f64>,
    /// Share of the clients on HTTP long-polling (the others on WebSocket).
    #[arg(long, default_value_t = 0.2)]
    pub soak_polling: f64,
    /// Share of the departures that are TCP resets instead of a polite close.
    #[arg(long, default_value_t = 0.2)]
    pub soak_resets: f64,
    /// Seconds between samples of RSS, CPU and counts (default 5; smoke: 1).
    #[arg(long)]
    pub soak_sample: Option<f64>,
    /// RSS growth allowed over the last two thirds of the run, in % of its mean there.
    #[arg(long, default_value_t = 5.0)]
    pub soak_max_growth_pct: f64,
    /// Also draw the RSS over time as SVG, to FILE-<server>.svg.
    #[arg(long)]
    pub soak_svg: Option<PathBuf>,
}

/// A soak run's settings, defaults filled in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub clients: usize,
    pub duration: Duration,
    pub churn: f64,
    pub rooms: usize,
    pub rate: f64,
    pub polling: f64,
    pub resets: f64,
    pub sample: Duration,
    pub max_growth_pct: f64,
    /// Whether a growing RSS fails the run (not in the short soak, too short to judge it).
    pub judge_rss: bool,
    pub heartbeat: Heartbeat,
    pub connect_concurrency: usize,
    pub payload_bytes: usize,
    pub svg: Option<PathBuf>,
}

impl SoakArgs {
    /// The settings, when a soak was asked for; `heartbeat` is the command line's (the short soak
    /// uses its own).
    pub fn settings(
        &self,
        heartbeat: Heartbeat,
        connect_concurrency: usize,
        payload_bytes: usize,
    ) -> Option<Settings> {
        if !self.soak && !self.soak_smoke {
            return None;
        }
        let smoke = self.soak_smoke;
        let pick = |value: Option<f64>, full: f64, tiny: f64| {
            value.unwrap_or(if smoke { tiny } else { full })
        };
        Some(Settings {
            clients: self
                .soak_clients
                .unwrap_or(if smoke { 200 } else { 10_000 }),
            duration: Duration::from_secs_f64(pick(self.soak_duration, 600.0, 20.0)),
            churn: pick(self.soak_churn, 100.0, 20.0),
            rooms: self
                .soak_rooms
                .unwrap_or(if smoke { 10 } else { 100 })
                .max(1),
            rate: pick(self.soak_rate, 100.0, 20.0),
            polling: self.soak_polling.clamp(0.0, 1.0),
            resets: self.soak_resets.clamp(0.0, 1.0),
            sample: Duration::from_secs_f64(pick(self.soak_sample, 5.0, 1.0).max(0.1)),
            max_growth_pct: self.soak_max_growth_pct,
            judge_rss: !smoke,
            heartbeat: if smoke { SMOKE_HEARTBEAT } else { heartbeat },
            connect_concurrency: connect_concurrency.max(1),
            payload_bytes,
            svg: self.soak_svg.clone(),
        })
    }
}
