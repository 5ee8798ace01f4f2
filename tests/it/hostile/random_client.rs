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
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::{metric, SOCKETS_OPEN};
use crate::common::app::{spawn_app_with, TestApp};

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

/// The events the app handles, and a few it only sends or reserves.
const EVENTS: &[&str] = &[
    "chat:rooms",
    "chat:join",
    "chat:leave",
    "chat:send",
    "chat:typing",
    "tweet:post",
    "trade:offer",
    "trade:accept",
    "trade:decline",
    "trade:cancel",
    "online",
    "welcome",
    "connect",
    "disconnect",
    "__proto__",
];
/// Keys of the app events' arguments.
const KEYS: &[&str] = &[
    "room", "text", "after", "to", "give", "want", "note", "id", "token", "pid", "offset",
];
/// Namespaces a CONNECT names: the real one, unknown ones, malformed ones.
const NAMESPACES: &[&str] = &[
    "/", "/", "/", "/admin", "/nope", "//", "/\u{e9}", "/a,b", "",
];

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
    let mut fresh = app.client(None).await;
    let online = fresh.event("online").await;
    assert_eq!(
        online["users"].as_array().map(Vec::len),
        Some(1),
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
    let joined = client.ack("chat:join", json!({ "room": "lobby" })).await;
    assert_eq!(joined["ok"], true, "seed {seed}: join: {joined}");
    let mut acks = 1;
    let (mut most_sockets, mut most_excess) = (0.0_f64, 0.0_f64);
    let mut next_send = Instant::now();
    while Instant::now() < until {
        if Instant::now() >= next_send {
            let text = format!("honest {acks}");
            let sent = client
                .ack("chat:send", json!({ "room": "lobby", "text": text }))
                .await;
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

// ---------------------------------------------------------------------------------------------
// Random content

/// A random string: plain words, room-like names, Unicode, control characters, long runs.
fn text(rng: &mut StdRng) -> String {
    match rng.gen_range(0..8) {
        0 => String::new(),
        1 => "lobby".into(),
        2 => format!("fuzz{}", rng.gen_range(0..4)),
        3 => "x".repeat(rng.gen_range(100..5_000)),
        4 => (0..rng.gen_range(1..40))
            .map(|_| char::from_u32(rng.gen_range(0..0x11_0000)).unwrap_or('\u{fffd}'))
            .collect(),
        5 => "\u{0}\u{1}\u{7f}\u{202e}\u{feff}../../etc/passwd<script>".into(),
        6 => "\u{1f600}".repeat(rng.gen_range(1..600)),
        _ => format!("hi {}", rng.gen::<u32>()),
    }
}

/// A random JSON number, some far out of any range.
fn number(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..5) {
        0 => json!(rng.gen_range(-3..1_000)),
        1 => json!(i64::MIN),
        2 => json!(u64::MAX),
        3 => json!(rng.gen::<f64>() * 1e300),
        _ => json!(-0.5),
    }
}

/// A random JSON value of at most `depth` more levels.
fn value(rng: &mut StdRng, depth: u32) -> Value {
    let kinds = if depth == 0 { 5 } else { 8 };
    match rng.gen_range(0..kinds) {
        0 => Value::Null,
        1 => json!(rng.gen_bool(0.5)),
        2 => number(rng),
        3 | 4 => json!(text(rng)),
        5 => Value::Array(
            (0..rng.gen_range(0..5))
                .map(|_| value(rng, depth - 1))
                .collect(),
        ),
        _ => arguments(rng, depth - 1),
    }
}

/// An object with some of the keys the app events read, each of a random type.
fn arguments(rng: &mut StdRng, depth: u32) -> Value {
    let mut object = serde_json::Map::new();
    for _ in 0..rng.gen_range(0..5) {
        let key = *KEYS.choose(rng).expect("KEYS is not empty");
        let value = match (key, rng.gen_bool(0.6)) {
            ("room", true) => json!(["lobby", "fuzz", ""].choose(rng)),
            ("to", true) => json!(["mallory", "nobody", ""].choose(rng)),
            ("give" | "want", true) => json!([rng.gen_range(-2..50), rng.gen_range(0..3)]),
            ("id" | "after", true) => json!(rng.gen_range(-1..20)),
            _ if depth > 0 => value(rng, depth),
            _ => json!(text(rng)),
        };
        object.insert(key.to_string(), value);
    }
    Value::Object(object)
}

/// A Socket.IO packet (without the Engine.IO `4` in front), valid or not.
fn socket_io(rng: &mut StdRng, token: &str) -> String {
    match rng.gen_range(0..20) {
        0..=2 => connect(rng, token),
        3 => format!("41{}", namespace_prefix(rng)),
        4..=10 => {
            let event = EVENTS.choose(rng).expect("EVENTS is not empty");
            let mut args = vec![json!(event)];
            args.extend((0..rng.gen_range(0..3)).map(|_| arguments(rng, 2)));
            let id = if rng.gen_bool(0.5) {
                rng.gen_range(0..1_000u32).to_string()
            } else {
                String::new()
            };
            format!("42{}{id}{}", namespace_prefix(rng), Value::Array(args))
        }
        11 => format!("42{}", value(rng, 3)),
        12 => format!("43{}{}", rng.gen::<u32>(), json!([value(rng, 2)])),
        13 => format!("44{}", json!({ "message": text(rng) })),
        14 => {
            // A binary event announcing attachments that never come.
            let count = [1, 2, 9, 1_000_000, u64::MAX].choose(rng).copied();
            let count = count.unwrap_or(1);
            let id = rng.gen::<u16>();
            format!(
                r#"45{count}-{id}["chat:send",{{"_placeholder":true,"num":0}},{{"_placeholder":true,"num":7}}]"#
            )
        }
        15 => format!(
            r#"46{}-{}[{{"_placeholder":true,"num":0}}]"#,
            rng.gen::<u8>(),
            rng.gen::<u32>()
        ),
        16 => {
            let cut = [
                r#"["chat:send",{"room":"#,
                r#"["chat:join""#,
                "[",
                "{}",
                r#"["chat:send",{"room":"lobby","text":"\ud800"}]"#,
                r#"["chat:join",{"room":"lobby","after":1e999}]"#,
                r#"["chat:join",{"room":"lobby","after":123456789012345678901234567890}]"#,
            ];
            format!("42{}", cut.choose(rng).expect("not empty"))
        }
        17 => format!("42{}[\"chat:rooms\"]", "9".repeat(rng.gen_range(10..40))),
        18 => {
            let depth = rng.gen_range(100..3_000);
            format!(
                "42[\"chat:send\",{}{}]",
                "[".repeat(depth),
                "]".repeat(depth)
            )
        }
        _ => format!("{}{}", rng.gen_range(0..10), text(rng)),
    }
}

/// `/nsp,` for a random namespace, or nothing (the main namespace) most of the time.
fn namespace_prefix(rng: &mut StdRng) -> String {
    match rng.gen_range(0..6) {
        0 => format!("{},", NAMESPACES.choose(rng).expect("not empty")),
        _ => String::new(),
    }
}

/// A CONNECT to a random or real namespace, with or without (valid, forged or absurd) auth.
fn connect(rng: &mut StdRng, token: &str) -> String {
    let auth = match rng.gen_range(0..7) {
        0 => json!({ "token": token }).to_string(),
        1 => json!({ "token": text(rng) }).to_string(),
        2 => json!({ "pid": text(rng), "offset": text(rng) }).to_string(),
        3 => value(rng, 2).to_string(),
        4 => "{\"token\":".into(),
        _ => String::new(),
    };
    format!("40{}{auth}", namespace_prefix(rng))
}

/// An Engine.IO packet, valid or not; most carry a Socket.IO packet.
fn engine_io(rng: &mut StdRng, token: &str) -> String {
    match rng.gen_range(0..40) {
        0 => "1".into(),
        1 => "2".into(),
        2 => "3".into(),
        3 => "5".into(),
        4 => "6".into(),
        5 => String::new(),
        6 => format!(
            "{}{}",
            ['0', '7', '8', '9', 'x'].choose(rng).expect("not empty"),
            text(rng)
        ),
        _ => format!("4{}", socket_io(rng, token)),
    }
}

// ---------------------------------------------------------------------------------------------
// Polling

/// A hostile polling client until `until`: handshakes (sometimes badly), POSTs random bodies,
/// GETs with a short patience, doubles GETs, half-writes requests and resets them.
async fn polling_client(
    port: u16,
    mut rng: StdRng,
    token: String,
    until: Instant,
    tally: Arc<Tally>,
) {
    let http = awc::Client::builder().timeout(OP_WAIT).finish();
    let base = format!("http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling");
    let mut sid: Option<String> = None;
    while Instant::now() < until {
        tally.actions.fetch_add(1, Ordering::Relaxed);
        pause(&mut rng).await;
        let Some(current) = sid.clone() else {
            sid = handshake(&http, &base, &mut rng).await;
            if let Some(sid) = &sid {
                tally.sessions.fetch_add(1, Ordering::Relaxed);
                if rng.gen_bool(0.85) {
                    let _ = send(
                        &http,
                        &format!("{base}&sid={sid}"),
                        connect(&mut rng, &token).into(),
                    )
                    .await;
                }
            }
            continue;
        };
        let url = format!("{base}&sid={current}");
        let status = match rng.gen_range(0..42) {
            40 | 41 => {
                let burst = vec!["40"; rng.gen_range(2..60)].join("\u{1e}");
                send(&http, &url, burst.into_bytes()).await
            }
            0..=19 => {
                let body: Vec<String> = (0..rng.gen_range(1..6))
                    .map(|_| engine_io(&mut rng, &token))
                    .collect();
                send(&http, &url, body.join("\u{1e}").into_bytes()).await
            }
            20 => send(&http, &url, random_bytes(&mut rng, 2_000)).await,
            21 => {
                let bytes = random_bytes(&mut rng, 500);
                use base64::Engine as _;
                let packet = base64::engine::general_purpose::STANDARD.encode(bytes);
                let body = format!(
                    "451-[\"chat:send\",{{\"_placeholder\":true,\"num\":0}}]\u{1e}b{packet}"
                );
                send(&http, &url, body.into_bytes()).await
            }
            22 => send(&http, &url, b"b!!not base64!!".to_vec()).await,
            23 => send(&http, &url, vec![b'4'; 1_100_000]).await,
            24 => {
                let (a, b) = tokio::join!(fetch(&http, &url), fetch(&http, &url));
                a.or(b)
            }
            25 | 26 => {
                half_written_post(port, &current, &mut rng).await;
                None
            }
            27 => {
                send(
                    &http,
                    &format!("{base}&sid=nope{}", rng.gen::<u32>()),
                    b"40".to_vec(),
                )
                .await
            }
            28 => {
                fetch(
                    &http,
                    &format!(
                        "http://127.0.0.1:{port}/socket.io/?EIO=3&transport=polling&sid={current}"
                    ),
                )
                .await
            }
            _ => fetch(&http, &url).await,
        };
        // 400: the session is gone (closed, or ended for misbehaving): start another.
        if status.is_none_or(|s| s == 400) {
            sid = None;
        }
    }
}

/// A handshake, one time in ten with a bad query; answers the session id, if one was opened.
async fn handshake(http: &awc::Client, base: &str, rng: &mut StdRng) -> Option<String> {
    let url = match rng.gen_range(0..10) {
        0 => base.replace(
            "EIO=4",
            ["EIO=3", "EIO=", "EIO=99999999999999999999"].choose(rng)?,
        ),
        1 => format!("{base}&sid={}", text(rng).replace(['&', '#', ' '], "")),
        _ => base.to_string(),
    };
    let mut response = timeout(OP_WAIT, http.get(url).send()).await.ok()?.ok()?;
    let body = timeout(OP_WAIT, response.body()).await.ok()?.ok()?;
    let open: Value = serde_json::from_slice(body.strip_prefix(b"0")?).ok()?;
    open["sid"].as_str().map(str::to_string)
}

/// A GET; answers the status, if any came.
async fn fetch(http: &awc::Client, url: &str) -> Option<u16> {
    let mut response = http.get(url).send().await.ok()?;
    let _ = timeout(OP_WAIT, response.body()).await;
    Some(response.status().as_u16())
}

/// A POST of `body`; answers the status, if any came.
async fn send(http: &awc::Client, url: &str, body: Vec<u8>) -> Option<u16> {
    let mut response = http.post(url).send_body(body).await.ok()?;
    let _ = timeout(OP_WAIT, response.body()).await;
    Some(response.status().as_u16())
}

/// A POST whose body stops halfway, then a TCP reset.
async fn half_written_post(port: u16, sid: &str, rng: &mut StdRng) {
    let Ok(Ok(mut tcp)) = timeout(OP_WAIT, TcpStream::connect(("127.0.0.1", port))).await else {
        return;
    };
    let request = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n42[\"chat:send\",{{\"room\":\"lob"
    );
    let cut = rng.gen_range(1..request.len());
    let _ = timeout(OP_WAIT, tcp.write_all(&request.as_bytes()[..cut])).await;
    reset(tcp);
}

/// Closes a TCP connection with a reset (SO_LINGER 0).
fn reset(tcp: TcpStream) {
    #[allow(deprecated)] // set_zero_linger is not in every tokio 1.x
    let _ = tcp.set_linger(Some(Duration::ZERO));
    drop(tcp);
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; rng.gen_range(1..max)];
    rng.fill(&mut bytes[..]);
    // Make it invalid UTF-8 for sure: a lone continuation byte.
    bytes[0] = 0x80;
    bytes
}

// ---------------------------------------------------------------------------------------------
// WebSocket

/// WebSocket opcodes.
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;

/// A hostile WebSocket client until `until`, on raw TCP so that it can send what no WebSocket
/// library would: invalid UTF-8 text, unmasked or reserved frames, broken fragments, lengths
/// that never come, half-written frames followed by a reset.
async fn websocket_client(
    port: u16,
    mut rng: StdRng,
    token: String,
    until: Instant,
    tally: Arc<Tally>,
) {
    let mut link: Option<Link> = None;
    while Instant::now() < until {
        tally.actions.fetch_add(1, Ordering::Relaxed);
        pause(&mut rng).await;
        let Some(ws) = link.as_mut() else {
            link = Link::open(port, &mut rng).await;
            if let Some(ws) = link.as_mut() {
                tally.sessions.fetch_add(1, Ordering::Relaxed);
                let packet = connect(&mut rng, &token);
                if rng.gen_bool(0.85) && !ws.text(&mut rng, packet.as_bytes()).await {
                    link = None;
                }
            }
            continue;
        };
        let alive = match rng.gen_range(0..63) {
            62 => {
                // Over the largest accepted message (1 MB by default).
                let big = format!(
                    "42[\"chat:send\",{{\"room\":\"lobby\",\"text\":\"{}\"}}]",
                    "x".repeat(1_100_000)
                );
                ws.text(&mut rng, big.as_bytes()).await
            }
            60 | 61 => {
                let mut alive = true;
                for _ in 0..rng.gen_range(2..60) {
                    alive = alive && ws.text(&mut rng, b"40").await;
                }
                alive
            }
            0..=34 => {
                let packet = engine_io(&mut rng, &token);
                ws.text(&mut rng, packet.as_bytes()).await
            }
            35..=37 => {
                let bytes = random_bytes(&mut rng, 3_000);
                ws.frame(&mut rng, 0x80 | BINARY, &bytes, true).await
            }
            38..=40 => {
                // A binary event whose attachments are fewer than announced, or garbage.
                let header = br#"452-["chat:send",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
                let bytes = random_bytes(&mut rng, 100);
                ws.text(&mut rng, header).await
                    && ws.frame(&mut rng, 0x80 | BINARY, &bytes, true).await
            }
            41 | 42 => {
                let bytes = random_bytes(&mut rng, 200);
                ws.frame(&mut rng, 0x80 | TEXT, &bytes, true).await
            }
            43 | 44 => {
                // A fragmented message, sometimes never finished or interrupted by another.
                let first = ws.frame(&mut rng, TEXT, b"42[\"chat:rooms\"", true).await;
                let next = *[0x80 | CONTINUATION, 0x80 | TEXT, CONTINUATION]
                    .choose(&mut rng)
                    .expect("not empty");
                first && ws.frame(&mut rng, next, b",{}]", true).await
            }
            45 => {
                ws.frame(&mut rng, 0x80 | TEXT, b"42[\"chat:rooms\"]", false)
                    .await
            }
            46 => {
                let opcode = *[0x83, 0x8b, 0xc1, 0xf1]
                    .choose(&mut rng)
                    .expect("not empty");
                ws.frame(&mut rng, opcode, b"40", true).await
            }
            47 | 48 => {
                let bytes = random_bytes(&mut rng, 300);
                ws.frame(&mut rng, 0x80 | PING, &bytes, true).await
            }
            49 => {
                let code: u16 = *[1000, 1001, 1005, 4000, 0, 65535]
                    .choose(&mut rng)
                    .expect("not empty");
                ws.frame(&mut rng, 0x80 | CLOSE, &code.to_be_bytes(), true)
                    .await
            }
            50 | 51 => {
                // A length that never comes, then a reset.
                let mut header = vec![0x80 | BINARY, 0x80 | 127];
                header.extend((1u64 << rng.gen_range(20..63)).to_be_bytes());
                header.extend([1, 2, 3, 4, 5, 6]);
                ws.raw(&header).await;
                false
            }
            52 | 53 => {
                // Half a frame, then a reset.
                let packet = engine_io(&mut rng, &token);
                let mut bytes = frame_bytes(&mut rng, 0x80 | TEXT, packet.as_bytes(), true);
                bytes.truncate(rng.gen_range(1..bytes.len()));
                ws.raw(&bytes).await;
                false
            }
            _ => ws.text(&mut rng, b"3").await,
        };
        if !alive {
            if let Some(ws) = link.take() {
                ws.close().await;
            }
        }
    }
    if let Some(ws) = link {
        ws.close().await;
    }
}

/// A raw WebSocket connection: what we write; what the server writes is read and thrown away.
/// An abrupt one has SO_LINGER 0, so that ending it resets the connection.
struct Link {
    write: WriteHalf<TcpStream>,
    drain: actix_rt::task::JoinHandle<()>,
}

impl Link {
    /// The WebSocket handshake, one time in ten on a bad URL; `None` if refused.
    async fn open(port: u16, rng: &mut StdRng) -> Option<Link> {
        let mut tcp = timeout(OP_WAIT, TcpStream::connect(("127.0.0.1", port)))
            .await
            .ok()?
            .ok()?;
        let query = match rng.gen_range(0..10) {
            0 => [
                "EIO=3&transport=websocket",
                "EIO=4&transport=websocket&sid=nope",
                "transport=websocket",
                "EIO=4&transport=polling",
            ]
            .choose(rng)?
            .to_string(),
            _ => "EIO=4&transport=websocket".into(),
        };
        let request = format!(
            "GET /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        timeout(OP_WAIT, tcp.write_all(request.as_bytes()))
            .await
            .ok()?
            .ok()?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
            let n = timeout(OP_WAIT, tcp.read(&mut buf)).await.ok()?.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&buf[..n]);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            return None;
        }
        if rng.gen_bool(0.5) {
            #[allow(deprecated)] // set_zero_linger is not in every tokio 1.x
            let _ = tcp.set_linger(Some(Duration::ZERO));
        }
        // Halves that do not shut the connection down when dropped: the last one closes it.
        let (mut read, write) = tokio::io::split(tcp);
        let drain = actix_rt::spawn(async move {
            let mut buf = vec![0u8; 16_384];
            while let Ok(n) = read.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
        Some(Link { write, drain })
    }

    /// A masked text frame; false once the connection is gone.
    async fn text(&mut self, rng: &mut StdRng, payload: &[u8]) -> bool {
        self.frame(rng, 0x80 | TEXT, payload, true).await
    }

    /// A frame with this first byte (FIN, RSV, opcode); false once the connection is gone.
    async fn frame(&mut self, rng: &mut StdRng, first: u8, payload: &[u8], masked: bool) -> bool {
        let bytes = frame_bytes(rng, first, payload, masked);
        self.raw(&bytes).await
    }

    async fn raw(&mut self, bytes: &[u8]) -> bool {
        matches!(
            timeout(OP_WAIT, self.write.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    /// Ends the connection: with a reset if it is an abrupt one, else with a FIN.
    async fn close(self) {
        let Link { write, drain } = self;
        drain.abort();
        let _ = drain.await;
        drop(write);
    }
}

/// One WebSocket frame as a client writes it (masked unless told otherwise).
fn frame_bytes(rng: &mut StdRng, first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n < 65_536 => {
            out.push(mask_bit | 126);
            out.extend((n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend((n as u64).to_be_bytes());
        }
    }
    if masked {
        let key: [u8; 4] = rng.gen();
        out.extend(key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend(payload);
    }
    out
}
