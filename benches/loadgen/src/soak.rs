//! The soak workload: many clients for a long time, with churn, and a check that the server comes
//! back to where it started.
//!
//! - N clients (WebSocket, and a share over HTTP long-polling) each join one of the rooms, with an
//!   ack; then for the whole run, every tick of the churn rate, one new client connects and one
//!   random client leaves, politely (Socket.IO DISCONNECT and a close) or by a TCP reset (RST, no
//!   close at all).
//! - Chat-like traffic: at a fixed rate a random joined client broadcasts to its room. Every
//!   receiver counts what reaches it; when it leaves it checks that it got every broadcast sent to
//!   its room from after its join ack until [`LOSS_GRACE`] before it left (at the end: until the
//!   last broadcast). What is missing is lost.
//! - Every few seconds the server's RSS and CPU, and its counts (`GET /stats`: Engine.IO sessions,
//!   Socket.IO sockets, rooms, hub members) are sampled.
//! - At the end every client leaves, and the server must be back at zero sessions, sockets, rooms
//!   and hub members; the RSS must be flat after warm-up (the growth the least-squares slope
//!   predicts over the last two thirds of the run, within a share of the RSS).
//!
//! Everything runs on the loadgen's one thread, sharing state through `Rc<RefCell<…>>`.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::MissedTickBehavior;

use crate::client::{padding, parse_u64, truncate, Client, Failure, Incoming, Result};
use crate::fail;
use crate::polling::PollingClient;
use crate::server::{Heartbeat, Kind, Launcher, Server};

/// Broadcasts sent less than this long before a client left need not have reached it.
const LOSS_GRACE: Duration = Duration::from_secs(5);

/// How long the last broadcasts may take to arrive before the clients leave.
const DRAIN_QUIET: Duration = Duration::from_secs(1);

/// How long all clients may take to leave at the end.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(60);

/// Beyond a heartbeat (interval + timeout), how long the server may take to reach zero after the
/// clients are gone.
const SETTLE_SLACK: Duration = Duration::from_secs(10);

/// How often the counts are read while waiting for zero.
const SETTLE_POLL: Duration = Duration::from_millis(500);

/// Error messages kept for the report.
const KEPT_ERRORS: usize = 5;

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

// ---------------------------------------------------------------------------------------------
// the clients

/// A WebSocket or a polling connection.
enum Conn {
    Ws(Box<Client>),
    Polling(PollingClient),
}

impl Conn {
    async fn open(port: u16, polling: bool) -> Result<Conn> {
        Ok(if polling {
            Conn::Polling(PollingClient::connect(port).await?)
        } else {
            Conn::Ws(Box::new(Client::connect(port).await?))
        })
    }

    async fn send(&mut self, text: String) -> Result<()> {
        match self {
            Conn::Ws(client) => client.send(text).await,
            Conn::Polling(client) => client.send(text).await,
        }
    }

    async fn recv(&mut self) -> Result<Incoming> {
        match self {
            Conn::Ws(client) => client.recv().await,
            Conn::Polling(client) => client.recv().await,
        }
    }

    /// Joins `room` and waits for the ack.
    async fn join(&mut self, room: &str) -> Result<()> {
        self.send(format!("420[\"join\",{}]", serde_json::Value::from(room)))
            .await?;
        loop {
            match self.recv().await? {
                Incoming::Ping => {}
                Incoming::Text(text) if text.starts_with("430[") => return Ok(()),
                Incoming::Text(text) => fail!("expected the join ack, got {:?}", truncate(&text)),
            }
        }
    }

    async fn leave(self, reset: bool) {
        match (self, reset) {
            (Conn::Ws(client), false) => {
                let _ = client.close().await;
            }
            (Conn::Ws(client), true) => client.reset(),
            (Conn::Polling(client), false) => client.close().await,
            (Conn::Polling(client), true) => client.reset().await,
        }
    }
}

/// What a client is told to do.
enum Command {
    /// Broadcast to its room, with this sequence number.
    Broadcast(u64),
    /// Leave (by a reset or politely); broadcasts sent up to `cutoff` must have arrived.
    Leave { reset: bool, cutoff: Instant },
}

/// A broadcast as the loadgen sent it.
struct Sent {
    seq: u64,
    at: Instant,
    sender: u64,
}

/// A joined client, as the drivers see it.
struct Slot {
    commands: mpsc::UnboundedSender<Command>,
    /// Where it is in `State::live`, while it is there.
    index: Option<usize>,
}

/// Counts over the whole run.
#[derive(Default, Debug)]
struct Tally {
    websocket: u64,
    polling: u64,
    connect_errors: u64,
    polite: u64,
    resets: u64,
    /// Connections that ended without being told to.
    dropped: u64,
    broadcasts: u64,
    deliveries: u64,
    expected: u64,
    lost: u64,
    duplicates: u64,
    misrouted: u64,
    unexpected: u64,
    errors: Vec<String>,
}

impl Tally {
    fn error(&mut self, what: &str, error: impl std::fmt::Display) {
        if self.errors.len() < KEPT_ERRORS {
            self.errors.push(format!("{what}: {error}"));
        }
    }
}

/// xorshift64*: enough randomness for picking clients, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// The state the clients and the drivers share.
struct State {
    clock: Instant,
    rng: Rng,
    next_id: u64,
    next_seq: u64,
    /// Joined clients that may be picked to broadcast or leave.
    live: Vec<u64>,
    slots: HashMap<u64, Slot>,
    /// Broadcasts by room, in the order they were sent.
    logs: Vec<Vec<Sent>>,
    /// The room of every broadcast sent, by sequence number.
    room_of: HashMap<u64, usize>,
    /// Client tasks still running.
    active: usize,
    /// Set at the end: clients that join now leave at once.
    closing: bool,
    latency: Histogram<u64>,
    tally: Tally,
}

impl State {
    fn add_live(&mut self, id: u64, commands: mpsc::UnboundedSender<Command>) {
        self.slots.insert(
            id,
            Slot {
                commands,
                index: Some(self.live.len()),
            },
        );
        self.live.push(id);
    }

    /// Takes a client out of the pickable ones (it may still be running).
    fn retire(&mut self, id: u64) {
        let Some(index) = self.slots.get_mut(&id).and_then(|slot| slot.index.take()) else {
            return;
        };
        self.live.swap_remove(index);
        if let Some(&moved) = self.live.get(index) {
            if let Some(slot) = self.slots.get_mut(&moved) {
                slot.index = Some(index);
            }
        }
    }

    fn random_live(&mut self) -> Option<u64> {
        (!self.live.is_empty()).then(|| self.live[self.rng.below(self.live.len())])
    }

    /// Tells a random joined client to leave.
    fn dismiss_one(&mut self, resets: f64, cutoff: Instant) {
        if let Some(id) = self.random_live() {
            let reset = self.rng.chance(resets);
            self.dismiss(id, reset, cutoff);
        }
    }

    fn dismiss(&mut self, id: u64, reset: bool, cutoff: Instant) {
        self.retire(id);
        if let Some(slot) = self.slots.get(&id) {
            let _ = slot.commands.send(Command::Leave { reset, cutoff });
        }
    }

    /// Tells a random joined client to broadcast.
    fn broadcast_one(&mut self) {
        if let Some(id) = self.random_live() {
            let seq = self.next_seq;
            self.next_seq += 1;
            if let Some(slot) = self.slots.get(&id) {
                let _ = slot.commands.send(Command::Broadcast(seq));
            }
        }
    }

    /// Checks, for a client leaving, the broadcasts to its room sent between its join and `cutoff`.
    fn audit(
        &mut self,
        id: u64,
        room: usize,
        joined: Instant,
        cutoff: Instant,
        got: &HashSet<u64>,
    ) {
        let log = &self.logs[room];
        let from = log.partition_point(|sent| sent.at < joined);
        let to = log.partition_point(|sent| sent.at <= cutoff);
        for sent in log.get(from..to).unwrap_or_default() {
            if sent.sender == id {
                continue;
            }
            self.tally.expected += 1;
            if !got.contains(&sent.seq) {
                self.tally.lost += 1;
            }
        }
    }
}

/// The room names.
fn room_name(room: usize) -> String {
    format!("soak-{room}")
}

/// `42["msg",[SEQ,SENT_US,...]]` → (SEQ, SENT_US).
fn parse_delivery(text: &str) -> Option<(u64, u64)> {
    let rest = text.as_bytes().strip_prefix(b"42[\"msg\",[")?;
    let (seq, rest) = parse_u64(rest)?;
    let (sent, _) = parse_u64(rest.strip_prefix(b",")?)?;
    Some((seq, sent))
}

/// How a client's life ended.
enum End {
    Told { reset: bool, cutoff: Instant },
    Failed,
}

/// One client's life: connect, join, broadcast and receive until told to leave, check, leave.
async fn client(
    state: Rc<RefCell<State>>,
    port: u16,
    id: u64,
    polling: bool,
    room: usize,
    pad: Rc<str>,
    gate: Option<Rc<Semaphore>>,
) {
    let permit = match &gate {
        Some(gate) => gate.acquire().await.ok(),
        None => None,
    };
    let opened = async {
        let mut conn = Conn::open(port, polling).await?;
        conn.join(&room_name(room)).await?;
        Ok::<Conn, crate::client::BoxError>(conn)
    }
    .await;
    drop(permit);
    let mut conn = match opened {
        Ok(conn) => conn,
        Err(error) => {
            let mut st = state.borrow_mut();
            st.tally.connect_errors += 1;
            st.tally.error("connect", error);
            st.active -= 1;
            return;
        }
    };
    let joined = Instant::now();
    let (commands, mut inbox) = mpsc::unbounded_channel();
    {
        let mut st = state.borrow_mut();
        if polling {
            st.tally.polling += 1;
        } else {
            st.tally.websocket += 1;
        }
        st.add_live(id, commands);
        if st.closing {
            st.dismiss(id, false, joined);
        }
    }
    let mut got = HashSet::new();
    let end = loop {
        tokio::select! {
            command = inbox.recv() => match command {
                Some(Command::Broadcast(seq)) => {
                    let sent_us = {
                        let mut st = state.borrow_mut();
                        let at = Instant::now();
                        st.logs[room].push(Sent { seq, at, sender: id });
                        st.room_of.insert(seq, room);
                        st.tally.broadcasts += 1;
                        at.duration_since(st.clock).as_micros()
                    };
                    let text = format!(
                        "42[\"broadcast\",\"{}\",[{seq},{sent_us},\"{pad}\"]]",
                        room_name(room)
                    );
                    if let Err(error) = conn.send(text).await {
                        let mut st = state.borrow_mut();
                        st.tally.dropped += 1;
                        st.tally.error("send", error);
                        break End::Failed;
                    }
                }
                Some(Command::Leave { reset, cutoff }) => break End::Told { reset, cutoff },
                None => break End::Told { reset: false, cutoff: Instant::now() },
            },
            incoming = conn.recv() => match incoming {
                Ok(Incoming::Ping) => {}
                Ok(Incoming::Text(text)) => {
                    let mut st = state.borrow_mut();
                    match parse_delivery(&text) {
                        Some((seq, sent_us)) => {
                            if st.room_of.get(&seq) != Some(&room) {
                                st.tally.misrouted += 1;
                            } else if !got.insert(seq) {
                                st.tally.duplicates += 1;
                            }
                            st.tally.deliveries += 1;
                            let now = st.clock.elapsed().as_micros() as u64;
                            let _ = st.latency.record(now.saturating_sub(sent_us).max(1));
                        }
                        None => {
                            st.tally.unexpected += 1;
                            st.tally.error("unexpected message", truncate(&text));
                        }
                    }
                }
                Err(error) => {
                    let mut st = state.borrow_mut();
                    st.tally.dropped += 1;
                    st.tally.error("connection dropped", error);
                    break End::Failed;
                }
            },
        }
    };
    let (reset, cutoff) = match end {
        End::Told { reset, cutoff } => (reset, cutoff),
        End::Failed => (
            true,
            Instant::now().checked_sub(LOSS_GRACE).unwrap_or(joined),
        ),
    };
    {
        let mut st = state.borrow_mut();
        st.retire(id);
        st.slots.remove(&id);
        st.audit(id, room, joined, cutoff, &got);
        if matches!(end, End::Told { .. }) {
            if reset {
                st.tally.resets += 1;
            } else {
                st.tally.polite += 1;
            }
        }
    }
    conn.leave(reset).await;
    state.borrow_mut().active -= 1;
}

/// Starts one client task.
fn spawn_client(
    state: &Rc<RefCell<State>>,
    settings: &Settings,
    port: u16,
    pad: &Rc<str>,
    gate: Option<Rc<Semaphore>>,
) {
    let (id, polling, room) = {
        let mut st = state.borrow_mut();
        st.next_id += 1;
        st.active += 1;
        let polling = st.rng.chance(settings.polling);
        let room = st.rng.below(settings.rooms);
        (st.next_id, polling, room)
    };
    tokio::task::spawn_local(client(
        Rc::clone(state),
        port,
        id,
        polling,
        room,
        Rc::clone(pad),
        gate,
    ));
}

// ---------------------------------------------------------------------------------------------
// sampling

/// What the server says it holds (`GET /stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub sessions: i64,
    pub sockets: i64,
    pub rooms: i64,
    pub members: i64,
}

impl Counts {
    fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// The server's counts, or None when it has no `/stats`.
async fn counts(port: u16) -> Option<Counts> {
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
enum Phase {
    Ramp,
    Churn,
    Drain,
    Teardown,
    Settle,
}

impl Phase {
    fn name(self) -> &'static str {
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
struct Sample {
    /// Seconds since the start of the run.
    t: f64,
    phase: Phase,
    rss: u64,
    /// Server CPU since the previous sample, in % of one core.
    cpu_pct: f64,
    clients: usize,
    counts: Option<Counts>,
    deliveries: u64,
}

/// Samples every `every` until `stop` is set.
async fn sampler(
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

// ---------------------------------------------------------------------------------------------
// the run

/// What one soak found.
struct Outcome {
    samples: Vec<Sample>,
    tally: Tally,
    latency: Histogram<u64>,
    /// When the churn phase started and ended (seconds since the start).
    churn: (f64, f64),
    final_counts: Option<Counts>,
    /// Seconds from the last client gone to zero counts, if reached.
    settle_s: Option<f64>,
    rss_start: u64,
    rss_end: u64,
}

/// Runs the soak against one server.
async fn soak(server: &mut Server, settings: &Settings) -> Result<Outcome> {
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

// ---------------------------------------------------------------------------------------------
// judging and reporting

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Least-squares slope of (x, y).
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The RSS trend after warm-up (the last two thirds of the churn phase): slope in MiB per minute,
/// growth it predicts over that span in MiB, the mean RSS there in MiB.
struct Trend {
    slope_per_min: f64,
    growth: f64,
    mean: f64,
    from: f64,
}

fn trend(outcome: &Outcome) -> Option<Trend> {
    let (start, end) = outcome.churn;
    let from = start + (end - start) / 3.0;
    let points: Vec<(f64, f64)> = outcome
        .samples
        .iter()
        .filter(|s| s.phase == Phase::Churn && s.t >= from)
        .map(|s| (s.t, mib(s.rss)))
        .collect();
    let per_s = slope(&points)?;
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    Some(Trend {
        slope_per_min: per_s * 60.0,
        growth: per_s * (end - from),
        mean,
        from,
    })
}

/// The RSS of the last sample of `phase` at or before `t`.
fn rss_at(outcome: &Outcome, phase: Phase, t: f64) -> Option<u64> {
    outcome
        .samples
        .iter()
        .rfind(|s| s.phase == phase && s.t <= t)
        .map(|s| s.rss)
}

/// Where the RSS check is among the report's checks.
const RSS_CHECK: usize = 1;

/// The report of one run, and whether every check passed.
fn report(kind: Kind, settings: &Settings, outcome: &Outcome) -> (String, bool) {
    let mut out = String::new();
    let tally = &outcome.tally;
    let _ = writeln!(out, "\n## Soak: {}\n", kind.title());
    let _ = writeln!(
        out,
        "{} clients ({:.0}% polling), churn {}/s in and out ({:.0}% resets), {} rooms, {} broadcasts/s, {:.0} s, heartbeat {}/{} ms, load average at the end {}\n",
        settings.clients,
        100.0 * settings.polling,
        settings.churn,
        100.0 * settings.resets,
        settings.rooms,
        settings.rate,
        settings.duration.as_secs_f64(),
        settings.heartbeat.interval_ms,
        settings.heartbeat.timeout_ms,
        crate::report::loadavg(),
    );
    let _ = writeln!(
        out,
        "| t (s) | phase | RSS (MiB) | server CPU % | clients | sessions | sockets | rooms | hub members | deliveries |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    // At most about 40 rows: every k-th sample, and every change of phase.
    let step = (outcome.samples.len() / 40).max(1);
    let mut previous = None;
    for (i, s) in outcome.samples.iter().enumerate() {
        let last = i + 1 == outcome.samples.len();
        if i % step != 0 && previous == Some(s.phase) && !last {
            continue;
        }
        previous = Some(s.phase);
        let count = |f: fn(&Counts) -> i64| s.counts.map_or("–".into(), |c| f(&c).to_string());
        let _ = writeln!(
            out,
            "| {:.0} | {} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {} |",
            s.t,
            s.phase.name(),
            mib(s.rss),
            s.cpu_pct,
            s.clients,
            count(|c| c.sessions),
            count(|c| c.sockets),
            count(|c| c.rooms),
            count(|c| c.members),
            s.deliveries
        );
    }
    let trend = trend(outcome);
    let end = outcome.churn.1;
    let fmt_rss = |rss: Option<u64>| rss.map_or("–".into(), |r| format!("{:.1} MiB", mib(r)));
    let _ = writeln!(
        out,
        "\nRSS: {:.1} MiB before the clients, {} at the first sample with all of them, {} after warm-up, {} at the end of the churn, {:.1} MiB after the clients left",
        mib(outcome.rss_start),
        fmt_rss(outcome.samples.iter().find(|s| s.phase == Phase::Churn).map(|s| s.rss)),
        fmt_rss(trend.as_ref().and_then(|t| rss_at(outcome, Phase::Churn, t.from))),
        fmt_rss(rss_at(outcome, Phase::Churn, end)),
        mib(outcome.rss_end),
    );
    let _ = writeln!(
        out,
        "Connections: {} WebSocket and {} polling joined, {} failed to connect or join; {} left politely, {} by a reset, {} dropped unasked",
        tally.websocket, tally.polling, tally.connect_errors, tally.polite, tally.resets, tally.dropped
    );
    let ms = |q: f64| outcome.latency.value_at_quantile(q) as f64 / 1000.0;
    let _ = writeln!(
        out,
        "Deliveries: {} broadcasts, {} deliveries; {} checked, {} lost, {} duplicates, {} misrouted, {} unexpected messages; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        tally.broadcasts,
        tally.deliveries,
        tally.expected,
        tally.lost,
        tally.duplicates,
        tally.misrouted,
        tally.unexpected,
        ms(0.5),
        ms(0.99),
        outcome.latency.max() as f64 / 1000.0,
    );
    for error in &tally.errors {
        let _ = writeln!(out, "  error: {}", truncate(error));
    }
    let mut checks: Vec<(bool, String)> = Vec::new();
    checks.push(match (outcome.final_counts, outcome.settle_s) {
        (Some(_), Some(s)) => (
            true,
            format!("counts back to zero {s:.1} s after the last client left"),
        ),
        (Some(c), None) => (
            false,
            format!(
                "counts not back to zero: {} sessions, {} sockets, {} rooms, {} hub members",
                c.sessions, c.sockets, c.rooms, c.members
            ),
        ),
        (None, _) => (false, "the server reports no counts (GET /stats)".into()),
    });
    checks.push(match &trend {
        Some(t) => (
            t.growth <= settings.max_growth_pct / 100.0 * t.mean,
            format!(
                "RSS flat after warm-up: slope {:+.2} MiB/min over the last two thirds, {:+.1} MiB over them, {:.1}% of their mean {:.1} MiB (limit {}%)",
                t.slope_per_min,
                t.growth,
                100.0 * t.growth / t.mean.max(1e-9),
                t.mean,
                settings.max_growth_pct
            ),
        ),
        None => (false, "RSS flat after warm-up: too few samples".into()),
    });
    checks.push((
        tally.lost == 0 && tally.duplicates == 0 && tally.misrouted == 0 && tally.expected > 0,
        format!(
            "every delivery arrived once: {} lost, {} duplicates, {} misrouted of {} checked",
            tally.lost, tally.duplicates, tally.misrouted, tally.expected
        ),
    ));
    checks.push((
        tally.connect_errors == 0
            && tally.dropped == 0
            && tally.unexpected == 0
            && tally.errors.is_empty(),
        format!(
            "no connection errors: {} failed connects, {} dropped, {} unexpected messages",
            tally.connect_errors, tally.dropped, tally.unexpected
        ),
    ));
    let _ = writeln!(out);
    for (i, (ok, line)) in checks.iter().enumerate() {
        let verdict = match (ok, i == RSS_CHECK && !settings.judge_rss) {
            (_, true) => "INFO",
            (true, false) => "PASS",
            (false, false) => "FAIL",
        };
        let _ = writeln!(out, "{verdict} {line}");
    }
    let passed = checks
        .iter()
        .enumerate()
        .all(|(i, (ok, _))| *ok || (i == RSS_CHECK && !settings.judge_rss));
    (out, passed)
}

/// The RSS over time as a small self-contained SVG line chart.
fn svg(kind: Kind, outcome: &Outcome) -> String {
    const W: f64 = 640.0;
    const H: f64 = 320.0;
    const PAD: f64 = 48.0;
    let points: Vec<(f64, f64)> = outcome.samples.iter().map(|s| (s.t, mib(s.rss))).collect();
    let max_t = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_y = points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let x = |t: f64| PAD + (W - 2.0 * PAD) * t / max_t;
    let y = |v: f64| H - PAD - (H - 2.0 * PAD) * v / max_y;
    let line: Vec<String> = points
        .iter()
        .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
        .collect();
    let (start, end) = outcome.churn;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="white"/>
<rect x="{cx:.1}" y="{PAD}" width="{cw:.1}" height="{ch:.1}" fill="#eef"/>
<line x1="{PAD}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" stroke="black"/>
<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b:.1}" stroke="black"/>
<polyline fill="none" stroke="#c33" stroke-width="1.5" points="{pts}"/>
<text x="{PAD}" y="20">{title}: server RSS over the soak (shaded: churn)</text>
<text x="{PAD}" y="{yl:.1}" text-anchor="middle">{max_y:.0} MiB</text>
<text x="{PAD}" y="{tl:.1}" text-anchor="middle">0</text>
<text x="{r:.1}" y="{tl:.1}" text-anchor="end">{max_t:.0} s</text>
</svg>
"##,
        cx = x(start),
        cw = x(end) - x(start),
        ch = H - 2.0 * PAD,
        b = H - PAD,
        r = W - PAD,
        pts = line.join(" "),
        title = kind.title(),
        yl = PAD - 6.0,
        tl = H - PAD + 16.0,
    )
}

/// Runs the soak against each server in turn (starting each, or the attached one); prints the
/// reports; answers whether every check passed.
pub async fn run_all(
    kinds: &[Kind],
    launcher: &Launcher,
    attach: Option<(u16, u32)>,
    base_port: u16,
    settings: &Settings,
) -> bool {
    let mut all_passed = true;
    let mut port = base_port;
    for &kind in kinds {
        port = crate::free_port(port);
        let started = match attach {
            Some((port, pid)) => Server::attach(kind, port, pid),
            None => launcher.start(kind, port, settings.heartbeat),
        };
        port = port.wrapping_add(1).max(1024);
        let result = match started {
            Ok(mut server) => {
                eprintln!("soak: {} on port {}", kind.name(), server.port);
                let result = soak(&mut server, settings).await;
                result.map_err(|error| {
                    Box::new(Failure(format!(
                        "{error}\n  server log tail:\n{}",
                        server.log_tail()
                    ))) as crate::client::BoxError
                })
            }
            Err(error) => Err(error),
        };
        match result {
            Ok(outcome) => {
                let (text, passed) = report(kind, settings, &outcome);
                print!("{text}");
                all_passed &= passed;
                if let Some(base) = &settings.svg {
                    let path = base.with_file_name(format!(
                        "{}-{}.svg",
                        base.file_stem().and_then(|s| s.to_str()).unwrap_or("soak"),
                        kind.name()
                    ));
                    if let Err(error) = std::fs::write(&path, svg(kind, &outcome)) {
                        eprintln!("soak: could not write {}: {error}", path.display());
                    }
                }
            }
            Err(error) => {
                println!(
                    "\n## Soak: {}\n\nFAIL the soak did not finish: {error}",
                    kind.title()
                );
                all_passed = false;
            }
        }
    }
    all_passed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deliveries() {
        assert_eq!(
            parse_delivery(r#"42["msg",[12,345,"xx"]]"#),
            Some((12, 345))
        );
        assert_eq!(parse_delivery(r#"42["other",[12,345]]"#), None);
    }

    #[test]
    fn fits_a_slope() {
        let flat = [(0.0, 5.0), (1.0, 5.0), (2.0, 5.0)];
        assert_eq!(slope(&flat), Some(0.0));
        let rising = [(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (3.0, 7.0)];
        assert!((slope(&rising).unwrap_or_default() - 2.0).abs() < 1e-9);
        assert_eq!(slope(&flat[..2]), None);
    }

    #[test]
    fn retiring_keeps_the_live_list_consistent() {
        let mut rng_state = State {
            clock: Instant::now(),
            rng: Rng(1),
            next_id: 0,
            next_seq: 0,
            live: Vec::new(),
            slots: HashMap::new(),
            logs: Vec::new(),
            room_of: HashMap::new(),
            active: 0,
            closing: false,
            latency: Histogram::new(3).expect("histogram"),
            tally: Tally::default(),
        };
        for id in 1..=4 {
            rng_state.add_live(id, mpsc::unbounded_channel().0);
        }
        rng_state.retire(2);
        rng_state.retire(2);
        rng_state.retire(4);
        let mut live = rng_state.live.clone();
        live.sort();
        assert_eq!(live, vec![1, 3]);
        for id in [1, 3] {
            let index = rng_state.slots[&id].index.expect("live");
            assert_eq!(rng_state.live[index], id);
        }
    }
}
