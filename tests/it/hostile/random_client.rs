//! A randomized hostile client: for [`STORM`], [`HOSTILE`] raw clients (half over polling, half
//! over WebSocket, reconnecting whenever dropped) send random valid and invalid Engine.IO and
//! Socket.IO traffic, while an honest client keeps chatting and gets every ack it asks for.
//! Afterwards no session or socket is left, a fresh client sees only itself online, the server
//! never panicked and its memory stayed bounded.
//!
//! Seeded: the seed is printed (`AGORA_FUZZ_SEED=…` on stderr, shown by nextest on failure) and
//! `AGORA_FUZZ_SEED=<seed>` replays the same choices (their interleaving with the server still
//! varies from run to run).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::time::Instant;

use super::{metric, SOCKETS_OPEN};
use crate::common::app::{online_count, spawn_app_with, TestApp};

mod packets;
mod polling;
mod websocket;

use polling::polling_client;
use websocket::websocket_client;

/// How long the storm lasts.
const STORM: Duration = Duration::from_secs(12);
/// Hostile clients: the first half over polling, the others over WebSocket.
const HOSTILE: usize = 8;
/// Longest pause between two actions of one hostile client: a storm, not a CPU benchmark (the
/// clients share the test's thread with the honest one, the server has two workers).
const MAX_PAUSE_MS: u64 = 12;
/// Longest a hostile client waits for any one network operation before giving up on it.
const OP_WAIT: Duration = Duration::from_secs(2);
/// The heartbeat of the app under test: short, so that sessions the hostile clients abandon
/// without a word end within seconds (interval + timeout) instead of 45 s.
const PING_INTERVAL_MS: u64 = 2_000;
/// See [`PING_INTERVAL_MS`].
const PING_TIMEOUT_MS: u64 = 3_000;
/// How long the gauges may take to come back to zero once every client is gone: the heartbeat
/// (5 s) ends sessions nobody reads, the hub sweep (10 s) ends members whose transport closed.
const SETTLE: Duration = Duration::from_secs(20);
/// How much the server process's resident memory may grow over the storm.
const RSS_GROWTH: u64 = 256 << 20;
/// Fewest hostile actions the storm must have carried out for the test to mean anything.
const MIN_ACTIONS: usize = 200;
/// How many more sockets than sessions one look at `/metrics` may show: there is one namespace,
/// so each session holds at most one socket, but a socket's end reaches the gauge a moment after
/// its session's (one closing session per hostile client at most, in practice none or one).
const EXCESS_SLACK: f64 = HOSTILE as f64;
/// Time between two `chat:send` of the honest client (its rate limit is 60 a minute).
const HONEST_SEND_EVERY: Duration = Duration::from_millis(1_500);

/// Gauge of open Engine.IO sessions, by transport.
const CONNECTIONS_POLLING: &str = "agora_connections_open{transport=\"polling\"}";
/// See [`CONNECTIONS_POLLING`].
const CONNECTIONS_WEBSOCKET: &str = "agora_connections_open{transport=\"websocket\"}";

/// Counts panics in this process (the app runs in it): any is a failure.
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// What the storm did, for the report and the sanity checks.
#[derive(Default)]
struct Tally {
    actions: AtomicUsize,
    sessions: AtomicUsize,
}

#[actix_rt::test]
async fn a_random_storm_harms_no_honest_client_and_leaves_nothing_behind() {
    let seed = std::env::var("AGORA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(rand::random);
    eprintln!("AGORA_FUZZ_SEED={seed}");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let app = spawn_app_with(|s| {
        s.ping_interval_ms = PING_INTERVAL_MS;
        s.ping_timeout_ms = PING_TIMEOUT_MS;
    })
    .await;
    let token = app.register("mallory").await;
    let rss_before = rss_bytes();

    let until = Instant::now() + STORM;
    let tally = Arc::new(Tally::default());
    let hostile: Vec<_> = (0..HOSTILE)
        .map(|i| {
            let rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64));
            let (port, token, tally) = (app.port, token.clone(), tally.clone());
            if i < HOSTILE / 2 {
                actix_rt::spawn(polling_client(port, rng, token, until, tally))
            } else {
                actix_rt::spawn(websocket_client(port, rng, token, until, tally))
            }
        })
        .collect();
    let Observed {
        acks,
        most_sockets,
        most_excess,
    } = honest(&app, until, seed).await;
    for task in hostile {
        task.await.expect("a hostile client task ended abnormally");
    }
    let rss_after = rss_bytes();
    let actions = tally.actions.load(Ordering::SeqCst);
    let sessions = tally.sessions.load(Ordering::SeqCst);
    eprintln!("storm: {actions} actions, {sessions} sessions; honest acks: {acks}; sockets on / at most {most_sockets}, beyond sessions {most_excess}; RSS {rss_before} -> {rss_after} bytes");

    assert!(
        actions >= MIN_ACTIONS && sessions > HOSTILE,
        "seed {seed}: the storm hardly happened ({actions} actions, {sessions} sessions)"
    );
    assert!(acks >= 10, "seed {seed}: the honest client got {acks} acks");
    assert!(
        most_sockets > 1.0,
        "seed {seed}: no hostile socket ever joined / ({most_sockets} at most)"
    );
    let (_, text) = crate::common::get(&app.url("/metrics")).await;
    for line in text
        .lines()
        .filter(|l| l.starts_with("agora_disconnects_total"))
    {
        eprintln!("{line}");
    }
    assert!(
        rss_after < rss_before + RSS_GROWTH,
        "seed {seed}: memory grew from {rss_before} to {rss_after} bytes"
    );

    let deadline = Instant::now() + SETTLE;
    let left = loop {
        let left = [SOCKETS_OPEN, CONNECTIONS_POLLING, CONNECTIONS_WEBSOCKET];
        let mut values = [0.0; 3];
        for (value, series) in values.iter_mut().zip(left) {
            *value = metric(&app, series).await;
        }
        if values == [0.0; 3] || Instant::now() > deadline {
            break values;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        left, [0.0; 3],
        "seed {seed}: sockets on /, polling and WebSocket sessions left {SETTLE:?} after the storm"
    );

    assert!(
        most_excess <= EXCESS_SLACK,
        "seed {seed}: up to {most_excess} more sockets on / than open sessions"
    );
    let (mut fresh, online) = app.fresh_guest().await;
    assert_eq!(
        online_count(&online),
        1,
        "seed {seed}: a fresh client sees only itself online: {online}"
    );
    let rooms = fresh.ack("chat:rooms", json!({})).await;
    assert_eq!(rooms["ok"], true, "seed {seed}: {rooms}");
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "seed {seed}: the server panicked"
    );
}

/// The honest client: joins `lobby`, then asks for the room list and sends messages until
/// `until`, each with an ack that must arrive (within `common::WAIT` per packet) and say `ok`.
/// What the honest client saw during the storm.
struct Observed {
    /// Acks it got (each one it asked for, or it would have panicked).
    acks: usize,
    /// The most sockets open on `/` in one look at `/metrics` (every tenth round).
    most_sockets: f64,
    /// The most sockets on `/` beyond the open sessions in one look at `/metrics`.
    most_excess: f64,
}

/// The honest client: joins `lobby`, then asks for the room list and sends messages until
/// `until`, each with an ack that must arrive (within `common::WAIT` per packet) and say `ok`;
/// every tenth round it looks at the gauges.
async fn honest(app: &TestApp, until: Instant, seed: u64) -> Observed {
    let mut client = app.client(None).await;
    let joined = client.join("lobby").await;
    assert_eq!(joined["ok"], true, "seed {seed}: join: {joined}");
    let mut acks = 1;
    let (mut most_sockets, mut most_excess) = (0.0_f64, 0.0_f64);
    let mut next_send = Instant::now();
    while Instant::now() < until {
        if Instant::now() >= next_send {
            let text = format!("honest {acks}");
            let sent = client.say("lobby", &text).await;
            assert_eq!(sent["ok"], true, "seed {seed}: send: {sent}");
            assert_eq!(sent["message"]["text"], text, "seed {seed}: {sent}");
            next_send += HONEST_SEND_EVERY;
        } else {
            let rooms = client.ack("chat:rooms", json!({})).await;
            assert_eq!(rooms["ok"], true, "seed {seed}: rooms: {rooms}");
            assert!(
                rooms["rooms"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["name"] == "lobby")),
                "seed {seed}: the lobby is listed: {rooms}"
            );
        }
        acks += 1;
        if acks % 10 == 0 {
            let (_, text) = crate::common::get(&app.url("/metrics")).await;
            let sockets = series(&text, SOCKETS_OPEN);
            let sessions =
                series(&text, CONNECTIONS_POLLING) + series(&text, CONNECTIONS_WEBSOCKET);
            most_sockets = most_sockets.max(sockets);
            most_excess = most_excess.max(sockets - sessions);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Observed {
        acks,
        most_sockets,
        most_excess,
    }
}

/// The value of one series in a `/metrics` text (0 when absent).
fn series(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The resident memory of this process (where the app runs), from /proc/self/status.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}

async fn pause(rng: &mut StdRng) {
    tokio::time::sleep(Duration::from_millis(rng.gen_range(0..=MAX_PAUSE_MS))).await;
}
