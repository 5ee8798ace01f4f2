//! The three workloads: idle connections, fan-out to a room, echo with acks.
//!
//! Everything runs on one thread (a current-thread runtime pinned to the loadgen's core), so the
//! tasks share state through `Rc<RefCell<…>>` and one clock.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::client::{padding, parse_u64, truncate, Client, Incoming, Result};
use crate::fail;
use crate::server::{CpuMeter, Server};

/// The room every fan-out receiver joins.
const ROOM: &str = "bench";

/// Closed-loop broadcasts tracked at once (a ring of per-broadcast delivery counts).
const RING: usize = 1 << 16;

/// Settings shared by the workloads.
#[derive(Debug, Clone)]
pub struct Settings {
    pub warmup: Duration,
    pub duration: Duration,
    pub payload_bytes: usize,
    pub connect_concurrency: usize,
    /// Open-loop broadcasts per second…
    pub rate: f64,
    /// …capped so that rate × room size stays under this many deliveries per second.
    pub max_offered: f64,
    /// Closed loop: broadcasts in flight.
    pub window: usize,
    /// Echo: requests in flight per connection.
    pub echo_in_flight: usize,
    pub idle_window: Duration,
    pub idle_settle: Duration,
    /// A closed loop with no progress for this long has stalled.
    pub stall: Duration,
    /// Smoke mode: any loss is a failure.
    pub strict: bool,
}

/// One measured value.
pub type Metric = (&'static str, f64);

/// Aborts its tasks when dropped, so a workload never leaves connections behind.
#[derive(Default)]
struct Tasks(Vec<JoinHandle<()>>);

impl Tasks {
    fn spawn(&mut self, future: impl std::future::Future<Output = ()> + 'static) {
        self.0.push(tokio::task::spawn_local(future));
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Connects `n` clients, at most `concurrency` handshakes at a time; also returns how long it took.
async fn connect_many(port: u16, n: usize, concurrency: usize) -> Result<(Vec<Client>, Duration)> {
    let started = Instant::now();
    let results: Vec<Result<Client>> = futures_util::stream::iter(0..n)
        .map(|_| Client::connect(port))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut clients = Vec::with_capacity(n);
    let mut failures = 0;
    let mut first_error = None;
    for result in results {
        match result {
            Ok(client) => clients.push(client),
            Err(error) => {
                failures += 1;
                first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    if failures > 0 {
        fail!(
            "{failures} of {n} connections failed; first error: {}",
            first_error.unwrap_or_default()
        );
    }
    Ok((clients, elapsed))
}

/// The CPU readings every loaded workload reports, named `<prefix>_server_cpu_pct`,
/// `<prefix>_loadgen_cpu_pct`, `<prefix>_server_core_others_pct` and
/// `<prefix>_loadgen_core_others_pct`.
macro_rules! cpu_readings {
    ($cpu:expr, $prefix:literal) => {
        [
            (concat!($prefix, "_server_cpu_pct"), $cpu.server_percent()),
            (concat!($prefix, "_loadgen_cpu_pct"), $cpu.loadgen_percent()),
            (
                concat!($prefix, "_server_core_others_pct"),
                $cpu.server_core_others_percent(),
            ),
            (
                concat!($prefix, "_loadgen_core_others_pct"),
                $cpu.loadgen_core_others_percent(),
            ),
        ]
    };
}

fn new_histogram() -> Histogram<u64> {
    // Microseconds, 1 µs to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// `count` per second of server CPU; not a number when the window was too short to see any CPU
/// time (it is counted in clock ticks of 10 ms).
fn per_cpu_second(count: u64, cpu_seconds: f64) -> f64 {
    if cpu_seconds > 0.0 {
        count as f64 / cpu_seconds
    } else {
        f64::NAN
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Lets aborted tasks drop their sockets before the server is killed.
pub async fn settle_teardown() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

// ---------------------------------------------------------------------------------------------
// idle

#[derive(Default)]
struct IdleState {
    pings: u64,
    errors: Vec<String>,
}

/// Holds `n` connections: memory per connection, connect rate, CPU of heartbeats.
pub async fn idle(
    server: &mut Server,
    n: usize,
    settings: &Settings,
    ping_interval: Duration,
) -> Result<Vec<Metric>> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = server.rss()?;
    let heap_before = server.heap()?;
    let (clients, connect_time) =
        connect_many(server.port, n, settings.connect_concurrency).await?;
    let state = Rc::new(RefCell::new(IdleState::default()));
    let mut tasks = Tasks::default();
    for mut client in clients {
        let state = Rc::clone(&state);
        tasks.spawn(async move {
            loop {
                match client.recv().await {
                    Ok(Incoming::Ping) => state.borrow_mut().pings += 1,
                    Ok(Incoming::Text(_)) => {}
                    Err(error) => {
                        state.borrow_mut().errors.push(error.to_string());
                        return;
                    }
                }
            }
        });
    }
    tokio::time::sleep(settings.idle_settle).await;
    let rss_after = server.rss()?;
    let heap_after = server.heap()?;
    let pings_before = state.borrow().pings;
    let meter = CpuMeter::start(server)?;
    tokio::time::sleep(settings.idle_window).await;
    let cpu = meter.stop()?;
    let pings = state.borrow().pings - pings_before;
    server.check_alive()?;
    let state = state.borrow();
    if let Some(error) = state.errors.first() {
        fail!(
            "{} of {n} idle connections dropped; first: {error}",
            state.errors.len()
        );
    }
    if settings.idle_window >= ping_interval && pings == 0 {
        fail!("no heartbeat seen in {:?}", settings.idle_window);
    }
    drop(tasks);
    if let (Some(before), Some(after)) = (heap_before, heap_after) {
        if settings.strict && after.bytes <= before.bytes {
            fail!(
                "the server's counted heap did not grow with {n} connections ({} → {} bytes)",
                before.bytes,
                after.bytes
            );
        }
    }
    let heap = heap_before.zip(heap_after).map(|(before, after)| {
        [
            (
                "heap_per_conn_kb",
                (after.bytes - before.bytes) / n as f64 / 1024.0,
            ),
            (
                "allocs_per_conn",
                (after.allocations - before.allocations) / n as f64,
            ),
        ]
    });
    Ok([
        (
            "rss_per_conn_kb",
            (rss_after as f64 - rss_before as f64) / n as f64 / 1024.0,
        ),
        ("rss_total_mb", rss_after as f64 / (1024.0 * 1024.0)),
        ("connect_rate", n as f64 / connect_time.as_secs_f64()),
        ("idle_cpu_pct", cpu.server_percent()),
        ("pings_per_conn", pings as f64 / n as f64),
        ("loadgen_cpu_pct", cpu.loadgen_percent()),
        (
            "idle_server_core_others_pct",
            cpu.server_core_others_percent(),
        ),
    ]
    .into_iter()
    .chain(heap.into_iter().flatten())
    .collect())
}

// ---------------------------------------------------------------------------------------------
// fan-out

struct FanState {
    clock: Instant,
    members: u32,
    /// Open loop: latency of deliveries of broadcasts in `measure_from..measure_to`.
    latency: Histogram<u64>,
    measure_from: u64,
    measure_to: u64,
    received: u64,
    in_window: bool,
    window_received: u64,
    /// Closed loop: deliveries counted per broadcast, by sequence number modulo `RING`.
    counts: Vec<u32>,
    completed: u64,
    completion: Histogram<u64>,
    record_completion: bool,
    notify: Rc<Notify>,
    errors: Vec<String>,
    unexpected: u64,
}

impl FanState {
    fn now_us(&self) -> u64 {
        self.clock.elapsed().as_micros() as u64
    }

    fn on_delivery(&mut self, seq: u64, sent_us: u64) {
        let latency = self.now_us().saturating_sub(sent_us).max(1);
        self.received += 1;
        if self.in_window {
            self.window_received += 1;
        }
        if (self.measure_from..self.measure_to).contains(&seq) {
            let _ = self.latency.record(latency);
        }
        let count = &mut self.counts[seq as usize % RING];
        *count += 1;
        if *count == self.members {
            self.completed += 1;
            if self.record_completion {
                let _ = self.completion.record(latency);
            }
            self.notify.notify_one();
        }
    }
}

/// `42["msg",[SEQ,SENT_US,...]]` → (SEQ, SENT_US).
fn parse_msg(text: &str) -> Option<(u64, u64)> {
    let rest = text.as_bytes().strip_prefix(b"42[\"msg\",[")?;
    let (seq, rest) = parse_u64(rest)?;
    let (sent, _) = parse_u64(rest.strip_prefix(b",")?)?;
    Some((seq, sent))
}

async fn receiver(mut client: Client, state: Rc<RefCell<FanState>>) {
    loop {
        match client.recv().await {
            Ok(Incoming::Ping) => {}
            Ok(Incoming::Text(text)) => {
                let mut state = state.borrow_mut();
                match parse_msg(&text) {
                    Some((seq, sent)) => state.on_delivery(seq, sent),
                    None => state.unexpected += 1,
                }
            }
            Err(error) => {
                state.borrow_mut().errors.push(error.to_string());
                return;
            }
        }
    }
}

/// The sender's side of the fan-out: sequence numbers and the message.
struct Sender {
    client: Client,
    next_seq: u64,
    pad: String,
    state: Rc<RefCell<FanState>>,
}

impl Sender {
    async fn broadcast(&mut self) -> Result<()> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let sent = {
            let mut state = self.state.borrow_mut();
            state.counts[seq as usize % RING] = 0;
            state.now_us()
        };
        let text = format!(
            "42[\"broadcast\",\"{ROOM}\",[{seq},{sent},\"{}\"]]",
            self.pad
        );
        self.client.send(text).await
    }

    /// Handles what the server sent the sender (pings); anything else is unexpected.
    fn on_incoming(&self, incoming: Result<Incoming>) -> Result<()> {
        match incoming? {
            Incoming::Ping => Ok(()),
            Incoming::Text(text) => fail!("sender got an unexpected message: {}", truncate(&text)),
        }
    }
}

/// One room of `n` members and one sender outside it: an open loop at a fixed rate, then a closed
/// loop with a bounded number of broadcasts in flight.
pub async fn fanout(server: &mut Server, n: usize, settings: &Settings) -> Result<Vec<Metric>> {
    let (mut clients, _) = connect_many(server.port, n + 1, settings.connect_concurrency).await?;
    let sender_client = clients.pop().expect("n + 1 clients");
    // Join with the same bounded concurrency as the connects.
    let joined: Vec<Result<Client>> = futures_util::stream::iter(clients)
        .map(|mut client| async move {
            client.join(ROOM).await?;
            Ok(client)
        })
        .buffer_unordered(settings.connect_concurrency.max(1))
        .collect()
        .await;
    let notify = Rc::new(Notify::new());
    let state = Rc::new(RefCell::new(FanState {
        clock: Instant::now(),
        members: n as u32,
        latency: new_histogram(),
        measure_from: u64::MAX,
        measure_to: u64::MAX,
        received: 0,
        in_window: false,
        window_received: 0,
        counts: vec![0; RING],
        completed: 0,
        completion: new_histogram(),
        record_completion: false,
        notify: Rc::clone(&notify),
        errors: Vec::new(),
        unexpected: 0,
    }));
    let mut tasks = Tasks::default();
    for client in joined {
        tasks.spawn(receiver(client?, Rc::clone(&state)));
    }
    let mut sender = Sender {
        client: sender_client,
        next_seq: 0,
        pad: padding(settings.payload_bytes),
        state: Rc::clone(&state),
    };

    let mut metrics = open_loop(server, n, settings, &mut sender).await?;
    metrics.extend(closed_loop(server, n, settings, &mut sender, &notify).await?);
    server.check_alive()?;
    let state = state.borrow();
    if let Some(error) = state.errors.first() {
        fail!("{} receivers dropped; first: {error}", state.errors.len());
    }
    if state.unexpected > 0 {
        fail!("{} unexpected messages to receivers", state.unexpected);
    }
    drop(tasks);
    Ok(metrics)
}

async fn open_loop(
    server: &Server,
    n: usize,
    settings: &Settings,
    sender: &mut Sender,
) -> Result<Vec<Metric>> {
    let state = Rc::clone(&sender.state);
    let rate = settings.rate.min(settings.max_offered / n as f64).max(0.1);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let start = Instant::now();
    let window_start = start + settings.warmup;
    let window_end = window_start + settings.duration;
    let first_seq = sender.next_seq;
    let mut meter = None;
    let cpu;
    let mut window_sent = 0u64;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                if meter.is_none() && now >= window_start {
                    let mut state = state.borrow_mut();
                    state.measure_from = sender.next_seq;
                    state.in_window = true;
                    drop(state);
                    meter = Some(CpuMeter::start(server)?);
                }
                if now >= window_end {
                    let mut state = state.borrow_mut();
                    state.measure_to = sender.next_seq;
                    state.in_window = false;
                    drop(state);
                    cpu = meter.as_ref().expect("window started").stop()?;
                    break;
                }
                if meter.is_some() {
                    window_sent += 1;
                }
                sender.broadcast().await?;
            }
            incoming = sender.client.recv() => sender.on_incoming(incoming)?,
        }
    }
    let sent = sender.next_seq - first_seq;
    let expected = sent * n as u64;
    // Drain: wait for the stragglers, or until deliveries stop coming.
    // An overloaded server may need long to catch up: wait while deliveries keep coming.
    let drain_started = Instant::now();
    let drain_limit = drain_started + Duration::from_secs(60);
    let mut last = (state.borrow().received, Instant::now());
    loop {
        let received = state.borrow().received;
        if received >= expected || Instant::now() > drain_limit {
            break;
        }
        if received != last.0 {
            last = (received, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            incoming = sender.client.recv() => sender.on_incoming(incoming)?,
        }
    }
    let state = state.borrow();
    let loss = 1.0 - state.received as f64 / expected.max(1) as f64;
    if state.received == 0 {
        fail!("open loop: no deliveries at all ({sent} broadcasts sent)");
    }
    if settings.strict && state.received != expected {
        fail!(
            "open loop: {} of {expected} deliveries arrived",
            state.received
        );
    }
    let latency = &state.latency;
    Ok([
        ("open_rate", window_sent as f64 / cpu.seconds),
        ("open_drain_s", drain_started.elapsed().as_secs_f64()),
        ("open_p50_ms", ms(latency.value_at_quantile(0.5))),
        ("open_p99_ms", ms(latency.value_at_quantile(0.99))),
        ("open_max_ms", ms(latency.max())),
        (
            "open_deliveries_per_s",
            state.window_received as f64 / cpu.seconds,
        ),
        ("open_loss_pct", 100.0 * loss.max(0.0)),
        (
            "open_deliveries_per_cpu_s",
            per_cpu_second(state.window_received, cpu.server_cpu),
        ),
    ]
    .into_iter()
    .chain(cpu_readings!(cpu, "open"))
    .collect())
}

async fn closed_loop(
    server: &Server,
    n: usize,
    settings: &Settings,
    sender: &mut Sender,
    notify: &Notify,
) -> Result<Vec<Metric>> {
    let state = Rc::clone(&sender.state);
    {
        let mut state = state.borrow_mut();
        state.completed = 0;
        state.in_window = false;
    }
    let window = settings.window.clamp(1, RING / 2) as u64;
    let start = Instant::now();
    let window_start = start + settings.warmup;
    let window_end = window_start + settings.duration;
    let mut sent = 0u64;
    let mut meter: Option<(CpuMeter, u64)> = None;
    let mut progress = (state.borrow().received, Instant::now());
    let result;
    loop {
        let now = Instant::now();
        if meter.is_none() && now >= window_start {
            let mut st = state.borrow_mut();
            st.record_completion = true;
            let completed = st.completed;
            drop(st);
            meter = Some((CpuMeter::start(server)?, completed));
        }
        if now >= window_end {
            let (meter, completed_before) = meter.as_ref().expect("window started");
            let cpu = meter.stop()?;
            let mut st = state.borrow_mut();
            st.record_completion = false;
            result = (cpu, st.completed - completed_before);
            break;
        }
        while sent - state.borrow().completed < window {
            sender.broadcast().await?;
            sent += 1;
        }
        tokio::select! {
            _ = notify.notified() => {}
            incoming = sender.client.recv() => sender.on_incoming(incoming)?,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                // Stalled only when no delivery at all arrives for a while: an overloaded server
                // still working through an old backlog is slow, not stuck.
                let st = state.borrow();
                if st.received != progress.0 {
                    progress = (st.received, Instant::now());
                } else if progress.1.elapsed() > settings.stall {
                    fail!(
                        "closed loop stalled: {} of {sent} broadcasts complete, no delivery for {:?}, {} receivers dropped",
                        st.completed,
                        settings.stall,
                        st.errors.len()
                    );
                }
            }
        }
    }
    // Let the broadcasts in flight finish, so nothing is left half-delivered.
    let drain_limit = Instant::now() + settings.stall * 3;
    while state.borrow().completed < sent && Instant::now() < drain_limit {
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            incoming = sender.client.recv() => sender.on_incoming(incoming)?,
        }
    }
    let (cpu, completed) = result;
    if completed == 0 {
        fail!("closed loop: no broadcast completed in the window");
    }
    let st = state.borrow();
    if settings.strict && st.completed < sent {
        fail!(
            "closed loop: {} of {sent} broadcasts never completed",
            st.completed
        );
    }
    let rate = completed as f64 / cpu.seconds;
    Ok([
        ("closed_bcast_per_s", rate),
        ("closed_deliveries_per_s", rate * n as f64),
        ("closed_p50_ms", ms(st.completion.value_at_quantile(0.5))),
        ("closed_p99_ms", ms(st.completion.value_at_quantile(0.99))),
    ]
    .into_iter()
    .chain(cpu_readings!(cpu, "closed"))
    .collect())
}

// ---------------------------------------------------------------------------------------------
// echo

struct EchoState {
    stop: bool,
    recording: bool,
    acks: u64,
    rtt: Histogram<u64>,
    errors: Vec<String>,
}

/// `43ID[...]` → ID.
fn parse_ack(text: &str) -> Option<u64> {
    let rest = text.as_bytes().strip_prefix(b"43")?;
    let (id, rest) = parse_u64(rest)?;
    rest.starts_with(b"[").then_some(id)
}

async fn echo_client(
    mut client: Client,
    state: Rc<RefCell<EchoState>>,
    pad: Rc<str>,
    in_flight: usize,
) {
    let result: Result<()> = async {
        let mut next = 0u64;
        // Requests sent and not yet acked, oldest first: (id, when sent).
        let mut waiting: VecDeque<(u64, Instant)> = VecDeque::with_capacity(in_flight);
        loop {
            while waiting.len() < in_flight && !state.borrow().stop {
                next += 1;
                waiting.push_back((next, Instant::now()));
                client
                    .send(format!("42{next}[\"echo\",{next},\"{pad}\"]"))
                    .await?;
            }
            if waiting.is_empty() {
                break;
            }
            let text = match client.recv().await? {
                Incoming::Ping => continue,
                Incoming::Text(text) => text,
            };
            let Some(id) = parse_ack(&text) else {
                fail!("expected an ack, got {}", truncate(&text));
            };
            let Some(at) = waiting.iter().position(|(sent, _)| *sent == id) else {
                fail!("ack {id} was not asked for");
            };
            // `position` found it: the index is in range.
            let (_, started) = waiting.remove(at).expect("index from position");
            let rtt = started.elapsed().as_micros() as u64;
            let mut state = state.borrow_mut();
            if state.recording {
                state.acks += 1;
                let _ = state.rtt.record(rtt.max(1));
            }
        }
        Ok(())
    }
    .await;
    if let Err(error) = result {
        state.borrow_mut().errors.push(error.to_string());
    }
}

/// `n` connections, each with `settings.echo_in_flight` echo requests in flight at a time.
pub async fn echo(server: &mut Server, n: usize, settings: &Settings) -> Result<Vec<Metric>> {
    let (clients, _) = connect_many(server.port, n, settings.connect_concurrency).await?;
    let state = Rc::new(RefCell::new(EchoState {
        stop: false,
        recording: false,
        acks: 0,
        rtt: new_histogram(),
        errors: Vec::new(),
    }));
    let pad: Rc<str> = padding(settings.payload_bytes).into();
    let mut tasks = Tasks::default();
    for client in clients {
        tasks.spawn(echo_client(
            client,
            Rc::clone(&state),
            Rc::clone(&pad),
            settings.echo_in_flight,
        ));
    }
    tokio::time::sleep(settings.warmup).await;
    state.borrow_mut().recording = true;
    let meter = CpuMeter::start(server)?;
    tokio::time::sleep(settings.duration).await;
    let cpu = meter.stop()?;
    {
        let mut state = state.borrow_mut();
        state.recording = false;
        state.stop = true;
    }
    // Each client finishes its request in flight, then stops.
    let handles: Vec<JoinHandle<()>> = tasks.0.drain(..).collect();
    let aborts: Vec<_> = handles.iter().map(JoinHandle::abort_handle).collect();
    let finished = futures_util::future::join_all(handles);
    let _ = tokio::time::timeout(Duration::from_secs(5), finished).await;
    aborts.iter().for_each(|task| task.abort());
    server.check_alive()?;
    let state = state.borrow();
    if let Some(error) = state.errors.first() {
        fail!("{} echo clients failed; first: {error}", state.errors.len());
    }
    if state.acks == 0 {
        fail!("no echo ack in the window");
    }
    Ok([
        ("echo_acks_per_s", state.acks as f64 / cpu.seconds),
        ("echo_p50_ms", ms(state.rtt.value_at_quantile(0.5))),
        ("echo_p99_ms", ms(state.rtt.value_at_quantile(0.99))),
        ("echo_p999_ms", ms(state.rtt.value_at_quantile(0.999))),
        (
            "echo_acks_per_cpu_s",
            per_cpu_second(state.acks, cpu.server_cpu),
        ),
    ]
    .into_iter()
    .chain(cpu_readings!(cpu, "echo"))
    .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deliveries_and_acks() {
        assert_eq!(parse_msg(r#"42["msg",[12,345,"xx"]]"#), Some((12, 345)));
        assert_eq!(parse_msg(r#"42["other",[12,345]]"#), None);
        assert_eq!(parse_ack(r#"437[7,"xx"]"#), Some(7));
        assert_eq!(parse_ack(r#"42["echo"]"#), None);
    }
}
