//! Samples of the server over the run: its RSS and CPU, and its counts (`GET /stats`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;

use super::state::State;

/// What the server says it holds (`GET /stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub sessions: i64,
    pub sockets: i64,
    pub rooms: i64,
    pub members: i64,
}

impl Counts {
    pub(super) fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// The server's counts, or None when it has no `/stats`.
pub(super) async fn counts(port: u16) -> Option<Counts> {
    let (status, body) = crate::polling::get(port, "/stats").await.ok()?;
    if status != 200 {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&body).ok()?;
    let field = |name: &str| json.get(name).and_then(serde_json::Value::as_i64);
    Some(Counts {
        sessions: field("sessions")?,
        sockets: field("sockets")?,
        rooms: field("rooms")?,
        members: field("members")?,
    })
}

/// The phases of a run, as the samples are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Ramp,
    Churn,
    Drain,
    Teardown,
    Settle,
}

impl Phase {
    pub(super) fn name(self) -> &'static str {
        match self {
            Phase::Ramp => "ramp",
            Phase::Churn => "churn",
            Phase::Drain => "drain",
            Phase::Teardown => "teardown",
            Phase::Settle => "settle",
        }
    }
}

/// One reading.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    /// Seconds since the start of the run.
    pub(super) t: f64,
    pub(super) phase: Phase,
    pub(super) rss: u64,
    /// Server CPU since the previous sample, in % of one core.
    pub(super) cpu_pct: f64,
    pub(super) clients: usize,
    pub(super) counts: Option<Counts>,
    pub(super) deliveries: u64,
}

/// Samples every `every` until `stop` is set.
pub(super) async fn sampler(
    server_pid: u32,
    port: u16,
    every: Duration,
    state: Rc<RefCell<State>>,
    phase: Rc<RefCell<Phase>>,
    samples: Rc<RefCell<Vec<Sample>>>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last = (
        Instant::now(),
        crate::server::cpu_of(server_pid).unwrap_or(0.0),
    );
    loop {
        ticker.tick().await;
        let counts = counts(port).await;
        let now = Instant::now();
        let cpu = crate::server::cpu_of(server_pid).unwrap_or(last.1);
        let wall = now.duration_since(last.0).as_secs_f64().max(1e-9);
        let cpu_pct = 100.0 * (cpu - last.1) / wall;
        last = (now, cpu);
        let (t, clients, deliveries) = {
            let st = state.borrow();
            (
                st.clock.elapsed().as_secs_f64(),
                st.live.len(),
                st.tally.deliveries,
            )
        };
        samples.borrow_mut().push(Sample {
            t,
            phase: *phase.borrow(),
            rss: crate::server::rss_of(server_pid).unwrap_or(0),
            cpu_pct,
            clients,
            counts,
            deliveries,
        });
    }
}
