//! One soak against one server, phase by phase: ramp, churn with traffic, drain, teardown, settle.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;

use super::clients::spawn_client;
use super::sampling::{counts, sampler, Counts, Phase, Sample};
use super::settings::Settings;
use super::state::{Rng, State, Tally};
use super::LOSS_GRACE;
use crate::client::{padding, Result};
use crate::server::Server;

/// How long the last broadcasts may take to arrive before the clients leave.
const DRAIN_QUIET: Duration = Duration::from_secs(1);

/// How long all clients may take to leave at the end.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(60);

/// Beyond a heartbeat (interval + timeout), how long the server may take to reach zero after the
/// clients are gone.
const SETTLE_SLACK: Duration = Duration::from_secs(10);

/// How often the counts are read while waiting for zero.
const SETTLE_POLL: Duration = Duration::from_millis(500);

/// What one soak found.
pub(super) struct Outcome {
    pub(super) samples: Vec<Sample>,
    pub(super) tally: Tally,
    pub(super) latency: Histogram<u64>,
    /// When the churn phase started and ended (seconds since the start).
    pub(super) churn: (f64, f64),
    pub(super) final_counts: Option<Counts>,
    /// Seconds from the last client gone to zero counts, if reached.
    pub(super) settle_s: Option<f64>,
    pub(super) rss_start: u64,
    pub(super) rss_end: u64,
}

/// Runs the soak against one server.
pub(super) async fn soak(server: &mut Server, settings: &Settings) -> Result<Outcome> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_start = server.rss()?;
    let state = Rc::new(RefCell::new(State {
        clock: Instant::now(),
        rng: Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id())),
        next_id: 0,
        next_seq: 0,
        live: Vec::new(),
        slots: HashMap::new(),
        logs: (0..settings.rooms).map(|_| Vec::new()).collect(),
        room_of: HashMap::new(),
        active: 0,
        closing: false,
        latency: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds"),
        tally: Tally::default(),
    }));
    let phase = Rc::new(RefCell::new(Phase::Ramp));
    let samples = Rc::new(RefCell::new(Vec::new()));
    let sampling = tokio::task::spawn_local(sampler(
        server.pid,
        server.port,
        settings.sample,
        Rc::clone(&state),
        Rc::clone(&phase),
        Rc::clone(&samples),
    ));
    let pad: Rc<str> = padding(settings.payload_bytes).into();
    let port = server.port;

    // Ramp: every client connects and joins, a bounded number of handshakes at a time.
    let gate = Rc::new(Semaphore::new(settings.connect_concurrency));
    for _ in 0..settings.clients {
        spawn_client(&state, settings, port, &pad, Some(Rc::clone(&gate)));
    }
    while state.borrow().active > state.borrow().live.len() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        server.check_alive()?;
    }

    // Churn with traffic.
    *phase.borrow_mut() = Phase::Churn;
    let churn_start = state.borrow().clock.elapsed().as_secs_f64();
    let mut churn = tokio::time::interval(Duration::from_secs_f64(1.0 / settings.churn.max(0.01)));
    let mut talk = tokio::time::interval(Duration::from_secs_f64(1.0 / settings.rate.max(0.01)));
    churn.set_missed_tick_behavior(MissedTickBehavior::Delay);
    talk.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut alive_check = tokio::time::interval(Duration::from_secs(1));
    let end = tokio::time::sleep(settings.duration);
    tokio::pin!(end);
    loop {
        tokio::select! {
            _ = &mut end => break,
            _ = churn.tick(), if settings.churn > 0.0 => {
                spawn_client(&state, settings, port, &pad, None);
                let cutoff = Instant::now().checked_sub(LOSS_GRACE).unwrap_or(Instant::now());
                state.borrow_mut().dismiss_one(settings.resets, cutoff);
            }
            _ = talk.tick(), if settings.rate > 0.0 => state.borrow_mut().broadcast_one(),
            _ = alive_check.tick() => server.check_alive()?,
        }
    }
    let churn_end = state.borrow().clock.elapsed().as_secs_f64();

    // Drain: the last broadcasts arrive.
    *phase.borrow_mut() = Phase::Drain;
    let last_sent = Instant::now();
    let drain_limit = last_sent + LOSS_GRACE;
    let mut seen = (state.borrow().tally.deliveries, Instant::now());
    while Instant::now() < drain_limit && seen.1.elapsed() < DRAIN_QUIET {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let deliveries = state.borrow().tally.deliveries;
        if deliveries != seen.0 {
            seen = (deliveries, Instant::now());
        }
    }

    // Teardown: everyone leaves, the same mix of polite closes and resets.
    *phase.borrow_mut() = Phase::Teardown;
    {
        let mut st = state.borrow_mut();
        st.closing = true;
        let ids = st.live.clone();
        for id in ids {
            let reset = st.rng.chance(settings.resets);
            st.dismiss(id, reset, last_sent);
        }
    }
    let teardown_limit = Instant::now() + TEARDOWN_LIMIT;
    while state.borrow().active > 0 && Instant::now() < teardown_limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = state.borrow().active;
    if left > 0 {
        state
            .borrow_mut()
            .tally
            .error("teardown", format!("{left} clients still running"));
    }

    // Settle: the server must come back to zero.
    *phase.borrow_mut() = Phase::Settle;
    let settled_from = Instant::now();
    let settle_limit = settled_from
        + Duration::from_millis(settings.heartbeat.interval_ms + settings.heartbeat.timeout_ms)
        + SETTLE_SLACK;
    let mut final_counts = counts(port).await;
    let mut settle_s = None;
    while let Some(now) = final_counts {
        if now.is_zero() {
            settle_s = Some(settled_from.elapsed().as_secs_f64());
            break;
        }
        if Instant::now() > settle_limit {
            break;
        }
        tokio::time::sleep(SETTLE_POLL).await;
        final_counts = counts(port).await;
    }
    // One more sample period, so the plot shows the RSS after the clients left.
    tokio::time::sleep(settings.sample).await;
    sampling.abort();
    server.check_alive()?;
    let rss_end = server.rss()?;
    let samples = samples.borrow().clone();
    let mut st = state.borrow_mut();
    Ok(Outcome {
        samples,
        tally: std::mem::take(&mut st.tally),
        latency: st.latency.clone(),
        churn: (churn_start, churn_end),
        final_counts,
        settle_s,
        rss_start,
        rss_end,
    })
}
