//! No sticky sessions: two nodes on one Redis (127.0.0.1:6379, a random key prefix per test),
//! each a Socket.IO server with the reference namespaces and a `Forwarder`. A polling session
//! opened on one node is served through the other: requests alternate between them across
//! several ping intervals, a GET cut on the wrong node ends the transport at once on the owner,
//! and forged ids, dead nodes, floods and oversized bodies get the answers a single node gives.
//! A WebSocket upgrade that lands on the other node is relayed to the owner: it upgrades,
//! carries messages and heartbeats both ways, and ends with either side or either node.

use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use agora::cluster::forward::RELAY_WATCH;
use agora::cluster::{ForwardOptions, Forwarder};
use agora::engineio::{CloseReason, Engine, EngineConfig};
use agora::hub::{ChatServer, LocalAdapter};
use agora::socketio::SocketIoConfig;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::cluster::REDIS;
use crate::common::redis_proxy::Proxy;
use crate::common::{
    get, post, quiet_engine, serve_socket_io, within_wait, Polling, Ws, WsFrame, WAIT,
};

/// Engine.IO's packet separator in a polling payload.
const SEPARATOR: char = '\u{1e}';
/// Pings of the heartbeat test: several intervals pass in a second or two.
const SHORT_PING: Duration = Duration::from_millis(300);

/// A key prefix no other test uses.
fn fresh_key() -> String {
    format!("fwd{:016x}", rand::random::<u64>())
}

/// One node: the reference Socket.IO server on its own hub, forwarding through Redis.
struct ForwardNode {
    port: u16,
    engine: Engine,
    handle: ServerHandle,
}

impl ForwardNode {
    async fn start(key: &str, config: EngineConfig) -> ForwardNode {
        ForwardNode::start_with(key, REDIS, config, |_| {}).await
    }

    async fn start_with(
        key: &str,
        redis: &str,
        config: EngineConfig,
        adjust: impl FnOnce(&mut ForwardOptions),
    ) -> ForwardNode {
        let hub = ChatServer::default().start();
        let io = agora::conformance::socket_io(
            Arc::new(LocalAdapter::new(hub)),
            SocketIoConfig::default(),
        );
        let mut options = ForwardOptions::for_ping_interval(key, config.ping_interval);
        adjust(&mut options);
        let forwarder = Forwarder::connect(redis, options)
            .await
            .expect("connect to Redis at 127.0.0.1:6379");
        let engine = Engine::new(config, Arc::new(io)).with_router(Arc::new(forwarder.clone()));
        forwarder.serve(engine.clone());
        let (port, handle) = serve_socket_io(engine.clone());
        ForwardNode {
            port,
            engine,
            handle,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/socket.io/", self.port)
    }

    /// The URL of a WebSocket upgrading session `sid` on this node.
    fn ws_url(&self, sid: &str) -> String {
        format!(
            "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket&sid={sid}",
            self.port
        )
    }

    /// The URL of session `sid`'s polling requests on this node.
    fn url(&self, sid: &str) -> String {
        format!("{}?EIO=4&transport=polling&sid={sid}", self.base())
    }

    async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// The packets of a polling payload.
fn packets(body: &str) -> Vec<String> {
    body.split(SEPARATOR).map(str::to_string).collect()
}

/// The `{"code":…}` of a JSON error answer.
fn error_code(body: &str) -> Option<u64> {
    serde_json::from_str::<Value>(body).ok()?["code"].as_u64()
}

/// Joins the main namespace over `session`'s own node and reads until its `auth` event.
async fn connect(session: &Polling) {
    assert_eq!(session.post("40").await.0, StatusCode::OK);
    let mut seen = String::new();
    while !seen.contains("42[\"auth\"") {
        let (status, body) = within_wait("the CONNECT answer", session.get()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        seen.push_str(&body);
    }
}

#[actix_rt::test]
async fn a_session_survives_requests_alternating_between_nodes_across_ping_intervals() {
    let key = fresh_key();
    let config = EngineConfig {
        ping_interval: SHORT_PING,
        ping_timeout: SHORT_PING,
        ..EngineConfig::default()
    };
    let a = ForwardNode::start(&key, config.clone()).await;
    let b = ForwardNode::start(&key, config).await;
    let session = Polling::open(&a.base()).await;
    let nodes = [&b, &a];
    let mut turn = 0;
    let mut next = || {
        turn += 1;
        nodes[turn % 2]
    };
    // CONNECT through the other node; its answer and the `auth` event come back through either.
    let (status, body) = post(&next().url(&session.sid), "40").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let mut seen: Vec<String> = Vec::new();
    while !seen.iter().any(|p| p.starts_with("42[\"auth\"")) {
        let (status, body) = get(&next().url(&session.sid)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        seen.extend(packets(&body));
    }
    assert!(seen.iter().any(|p| p.starts_with("40{\"sid\"")), "{seen:?}");
    // Ten pings (3 s at 300 ms) answered through alternating nodes, with a message each time.
    let mut pings = 0;
    let mut echoed = 0;
    while pings < 10 {
        let (status, body) = get(&next().url(&session.sid)).await;
        assert_eq!(status, StatusCode::OK, "after {pings} pings: {body}");
        for packet in packets(&body) {
            if packet == "2" {
                pings += 1;
                let reply = format!("3{SEPARATOR}42[\"message\",{pings}]");
                let (status, body) = post(&next().url(&session.sid), reply).await;
                assert_eq!(status, StatusCode::OK, "pong after {pings} pings: {body}");
            } else if packet.starts_with("42[\"message-back\"") {
                echoed += 1;
                assert_eq!(packet, format!("42[\"message-back\",{echoed}]"));
            }
        }
    }
    assert!(echoed >= 8, "only {echoed} of {pings} messages came back");
    assert_eq!(
        a.engine.registry().len(),
        1,
        "the session lives on its node"
    );
    assert_eq!(b.engine.registry().len(), 0, "and nowhere else");
    a.stop().await;
    b.stop().await;
}

#[actix_rt::test]
async fn a_forwarded_get_cut_by_its_client_ends_the_transport_on_the_owner_at_once() {
    let key = fresh_key();
    let a = ForwardNode::start(&key, quiet_engine()).await;
    let b = ForwardNode::start(&key, quiet_engine()).await;
    let session = Polling::open(&a.base()).await;
    connect(&session).await; // nothing left queued: the next GET waits
    let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", b.port))
        .await
        .expect("connect to node B");
    let request = format!(
        "GET /socket.io/?EIO=4&transport=polling&sid={} HTTP/1.1\r\nHost: x\r\n\r\n",
        session.sid
    );
    raw.write_all(request.as_bytes()).await.expect("send GET");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.engine.registry().len(), 1, "the GET waits on the owner");
    // Reset (SO_LINGER 0), as a network cut: actix notices it without writing.
    #[allow(deprecated)] // set_zero_linger is not in every tokio 1.x
    raw.set_linger(Some(Duration::ZERO)).expect("SO_LINGER 0");
    drop(raw);
    // The ping interval is 30 s: only the cancellation can end the session this soon.
    within_wait("the cut GET to end the session on its owner", async {
        while !a.engine.registry().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[actix_rt::test]
async fn forged_and_untagged_ids_are_unknown_sessions_at_once() {
    let key = fresh_key();
    let a = ForwardNode::start_with(&key, REDIS, quiet_engine(), |options| {
        // A forged id must not wait for an answer that never comes.
        options.timeout = Duration::from_secs(60);
    })
    .await;
    for sid in [
        "nobody00.AAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAA",
        ".x",
        "a%20b.x",
    ] {
        let url = a.url(sid);
        let (status, body) = within_wait("a GET with a forged id", get(&url)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sid}: {body}");
        assert_eq!(error_code(&body), Some(1), "{sid}: {body}");
        let (status, body) = within_wait("a POST with a forged id", post(&url, "40")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sid}: {body}");
        assert_eq!(error_code(&body), Some(1), "{sid}: {body}");
    }
    a.stop().await;
}

#[actix_rt::test]
async fn a_session_of_a_dead_node_is_unknown_at_once() {
    let key = fresh_key();
    let mut link = Proxy::start().await;
    let doomed = ForwardNode::start_with(&key, &link.url(), quiet_engine(), |_| {}).await;
    let survivor = ForwardNode::start_with(&key, REDIS, quiet_engine(), |options| {
        options.timeout = Duration::from_secs(60);
    })
    .await;
    let session = Polling::open(&doomed.base()).await;
    assert_eq!(
        post(&survivor.url(&session.sid), "40").await.0,
        StatusCode::OK,
        "served through the survivor while its node lives"
    );
    link.cut().await; // the node's Redis connections drop, as when it dies
    within_wait("the dead node's session to be unknown", async {
        loop {
            let (status, body) = get(&survivor.url(&session.sid)).await;
            if status == StatusCode::BAD_REQUEST {
                assert_eq!(error_code(&body), Some(1), "{body}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    doomed.stop().await;
    survivor.stop().await;
}

#[actix_rt::test]
async fn a_flood_of_foreign_requests_is_bounded_with_a_503() {
    let key = fresh_key();
    let owner = ForwardNode::start(&key, quiet_engine()).await;
    let entry = ForwardNode::start_with(&key, REDIS, quiet_engine(), |options| {
        options.max_in_flight = 2;
    })
    .await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        // Nothing is queued after the open packet: the next GET waits.
        sessions.push(Polling::open(&owner.base()).await);
    }
    let mut waiting = Vec::new();
    for session in &sessions[..2] {
        let url = entry.url(&session.sid);
        waiting.push(actix_rt::spawn(async move { get(&url).await }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = get(&entry.url(&sessions[2].sid)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), Some(3), "{body}");
    assert!(body.contains("Too many requests forwarded"), "{body}");
    // The owner serves its own requests as ever; a waiting GET ends when the session sends.
    assert_eq!(sessions[2].post("40").await.0, StatusCode::OK);
    assert_eq!(sessions[0].post("40").await.0, StatusCode::OK);
    let (status, body) = within_wait("the first forwarded GET", waiting.remove(0))
        .await
        .expect("GET task");
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("40{"), "{body}");
    // A permit came back: the next foreign request passes.
    let (status, body) = get(&entry.url(&sessions[2].sid)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("40{"), "{body}");
    owner.stop().await;
    entry.stop().await;
}

#[actix_rt::test]
async fn an_oversized_forwarded_post_gets_413_and_the_session_lives_on() {
    let key = fresh_key();
    let small = EngineConfig {
        max_payload: 1_000,
        ..quiet_engine()
    };
    let owner = ForwardNode::start(&key, small.clone()).await;
    let entry = ForwardNode::start(&key, small).await;
    let session = Polling::open(&owner.base()).await;
    let huge = format!("42[\"message\",\"{}\"]", "x".repeat(2_000));
    let (status, body) = post(&entry.url(&session.sid), huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = post(&entry.url(&session.sid), "40").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, body) = tokio::time::timeout(WAIT, get(&entry.url(&session.sid)))
        .await
        .expect("the CONNECT answer");
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("40{"), "{body}");
    owner.stop().await;
    entry.stop().await;
}

#[actix_rt::test]
async fn an_owner_serving_too_many_forwarded_requests_answers_503() {
    let key = fresh_key();
    let owner = ForwardNode::start_with(&key, REDIS, quiet_engine(), |options| {
        options.max_served = 1;
    })
    .await;
    let entry = ForwardNode::start(&key, quiet_engine()).await;
    let first = Polling::open(&owner.base()).await;
    let second = Polling::open(&owner.base()).await;
    let url = entry.url(&first.sid);
    let waiting = actix_rt::spawn(async move { get(&url).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = get(&entry.url(&second.sid)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), Some(3), "{body}");
    assert!(body.contains("Too many requests forwarded"), "{body}");
    assert_eq!(first.post("40").await.0, StatusCode::OK);
    let (status, body) = within_wait("the waiting forwarded GET", waiting)
        .await
        .expect("GET task");
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("40{"), "{body}");
    owner.stop().await;
    entry.stop().await;
}

/// WebSocket close code of a transport error (a relay that cannot go on).
const CLOSE_PROTOCOL: u16 = 1002;
/// WebSocket close code of a refused relay (the node relays as many as it may).
const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code of a server going away.
const CLOSE_AWAY: u16 = 1001;
/// How long a polling GET is given to reach its node before the probe that releases it.
const GET_LEAD: Duration = Duration::from_millis(150);

/// Waits until `engine` has no session left.
async fn until_empty(what: &str, engine: &Engine) {
    within_wait(what, async {
        while !engine.registry().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Upgrades `session` (polling on its own node) over a WebSocket opened on `entry`, as
/// socket.io-client does: a GET waits, the probe is answered, polling pauses (the waiting GET is
/// released; a ping it carries is answered over polling), then the upgrade packet.
async fn upgrade_through(entry: &ForwardNode, session: &Polling) -> Ws {
    let poll = session.pending_get(GET_LEAD).await;
    let mut ws = Ws::connect(&entry.ws_url(&session.sid)).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv().await, WsFrame::Text("3probe".into()));
    let (status, body) = within_wait("the paused GET", poll).await.expect("GET task");
    assert_eq!(status, StatusCode::OK, "{body}");
    for packet in packets(&body) {
        match packet.as_str() {
            "6" => {}
            "2" => assert_eq!(session.post("3").await.0, StatusCode::OK),
            other => panic!("unexpected packet while pausing: {other}"),
        }
    }
    ws.send_text("5").await;
    ws
}

#[actix_rt::test]
async fn an_upgrade_landing_on_another_node_is_relayed_and_heartbeats_go_on() {
    let key = fresh_key();
    let config = EngineConfig {
        ping_interval: SHORT_PING,
        // Pings every 300 ms: without pongs carried back the session ends within 1.3 s, well
        // before the five pings below.
        ping_timeout: Duration::from_secs(1),
        ..EngineConfig::default()
    };
    let owner = ForwardNode::start(&key, config.clone()).await;
    let entry = ForwardNode::start(&key, config).await;
    let session = Polling::open(&owner.base()).await;
    connect(&session).await;
    let mut ws = upgrade_through(&entry, &session).await;
    let (mut pings, mut sent) = (0, 0);
    while pings < 5 {
        sent += 1;
        ws.send_text(&format!("42[\"message\",{sent}]")).await;
        loop {
            match ws.recv().await {
                WsFrame::Text(text) if text == "2" => {
                    pings += 1;
                    ws.send_text("3").await;
                }
                WsFrame::Text(text) => {
                    assert_eq!(text, format!("42[\"message-back\",{sent}]"), "in order");
                    break;
                }
                other => panic!("after {sent} messages and {pings} pings: {other:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        owner.engine.registry().len(),
        1,
        "the session lives on its node"
    );
    assert_eq!(entry.engine.registry().len(), 0, "and nowhere else");
    let (status, body) = session.get().await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "polling after the upgrade: {body}"
    );
    owner.stop().await;
    entry.stop().await;
}

#[actix_rt::test]
async fn a_relay_closes_both_ways_and_unknown_sessions_are_refused() {
    let key = fresh_key();
    let owner = ForwardNode::start(&key, quiet_engine()).await;
    let entry = ForwardNode::start(&key, quiet_engine()).await;
    // The client goes: its session ends on the owner at once (pings are 30 s apart).
    let session = Polling::open(&owner.base()).await;
    connect(&session).await;
    let ws = upgrade_through(&entry, &session).await;
    drop(ws);
    until_empty("the session to end with its relayed socket", &owner.engine).await;
    // The session ends: the entry node closes the socket with the session's reason.
    let session = Polling::open(&owner.base()).await;
    connect(&session).await;
    let mut ws = upgrade_through(&entry, &session).await;
    ws.send_text("42[\"message\",1]").await;
    assert_eq!(
        ws.recv().await,
        WsFrame::Text("42[\"message-back\",1]".into())
    );
    owner.engine.close_all(CloseReason::ServerShutdown);
    assert_eq!(ws.expect_close().await, Some(CLOSE_AWAY));
    // The entry node shuts down: it closes the relayed socket too, and the session ends.
    let session = Polling::open(&owner.base()).await;
    connect(&session).await;
    let mut ws = upgrade_through(&entry, &session).await;
    ws.send_text("42[\"message\",2]").await;
    assert_eq!(
        ws.recv().await,
        WsFrame::Text("42[\"message-back\",2]".into()),
        "upgraded before the shutdown"
    );
    entry.engine.close_all(CloseReason::ServerShutdown);
    assert_eq!(ws.expect_close().await, Some(CLOSE_AWAY));
    until_empty(
        "the session to end with the entry node's shutdown",
        &owner.engine,
    )
    .await;
    // Another session of the owner's tag that does not exist, and a tag no node has.
    let tag = session.sid.split('.').next().expect("a tagged id");
    for sid in [
        format!("{tag}.AAAAAAAAAAAAAAAAAAAA"),
        "nobody00.AAAAAAAAAAAAAAAAAAAA".to_string(),
    ] {
        let mut ws = Ws::connect(&entry.ws_url(&sid)).await;
        assert_eq!(ws.expect_close().await, Some(CLOSE_PROTOCOL), "{sid}");
    }
    owner.stop().await;
    entry.stop().await;
}

#[actix_rt::test]
async fn a_relay_ends_when_either_node_dies() {
    let key = fresh_key();
    // Pings every 300 ms, but a silent client would last 30 s more: only the relay's own
    // failure can end these sessions within the wait.
    let config = EngineConfig {
        ping_interval: SHORT_PING,
        ..quiet_engine()
    };
    // The entry node dies: the owner's next ping finds nobody to carry it.
    let mut entry_link = Proxy::start().await;
    let owner = ForwardNode::start(&key, config.clone()).await;
    let entry = ForwardNode::start_with(&key, &entry_link.url(), config.clone(), |_| {}).await;
    let session = Polling::open(&owner.base()).await;
    connect(&session).await;
    let mut ws = upgrade_through(&entry, &session).await;
    ws.send_text("42[\"message\",1]").await;
    assert_eq!(
        ws.recv_data().await,
        WsFrame::Text("42[\"message-back\",1]".into())
    );
    entry_link.cut().await;
    until_empty("the owner to notice the entry node's death", &owner.engine).await;
    // And the entry node, cut from Redis, closes the socket it can no longer relay.
    assert_eq!(ws.expect_close().await, Some(CLOSE_PROTOCOL));
    entry.stop().await;
    // The owner dies while nothing crosses the relay (pings 30 s apart): the entry node's watch
    // (every RELAY_WATCH) finds nobody on its channel, and closes the socket.
    assert!(RELAY_WATCH < WAIT);
    let mut owner_link = Proxy::start().await;
    let doomed = ForwardNode::start_with(&key, &owner_link.url(), quiet_engine(), |_| {}).await;
    let session = Polling::open(&doomed.base()).await;
    connect(&session).await;
    let mut ws = upgrade_through(&owner, &session).await;
    ws.send_text("42[\"message\",2]").await;
    assert_eq!(
        ws.recv().await,
        WsFrame::Text("42[\"message-back\",2]".into()),
        "upgraded before the death"
    );
    owner_link.cut().await;
    assert_eq!(ws.expect_close().await, Some(CLOSE_PROTOCOL));
    doomed.stop().await;
    owner.stop().await;
}

#[actix_rt::test]
async fn a_node_past_its_relay_bound_closes_further_relayed_sockets() {
    let key = fresh_key();
    let owner = ForwardNode::start(&key, quiet_engine()).await;
    let entry = ForwardNode::start_with(&key, REDIS, quiet_engine(), |options| {
        options.max_relays = 1;
    })
    .await;
    let first = Polling::open(&owner.base()).await;
    connect(&first).await;
    let mut relayed = upgrade_through(&entry, &first).await;
    let second = Polling::open(&owner.base()).await;
    let mut refused = Ws::connect(&entry.ws_url(&second.sid)).await;
    assert_eq!(refused.expect_close().await, Some(CLOSE_POLICY));
    // The first relay goes on, and the refused session still polls on its node.
    relayed.send_text("42[\"message\",1]").await;
    assert_eq!(
        relayed.recv().await,
        WsFrame::Text("42[\"message-back\",1]".into())
    );
    assert_eq!(second.post("40").await.0, StatusCode::OK);
    // Once the first relay ends, its place is free again.
    drop(relayed);
    within_wait("the first session to end with its relay", async {
        while owner.engine.registry().len() > 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let mut ws = Ws::connect(&entry.ws_url(&second.sid)).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.recv().await, WsFrame::Text("3probe".into()));
    owner.stop().await;
    entry.stop().await;
}
