//! Several nodes sharing one Redis (127.0.0.1:6379) through `RedisAdapter`: room and namespace
//! broadcasts reach every node's sockets once, sockets queries span the nodes, a Redis outage
//! leaves local delivery alone and heals, and a Node.js socket.io server with
//! `@socket.io/redis-adapter` (tests/cluster/node_server.mjs, installed by
//! `npm ci --prefix tests/cluster`) serves the same rooms.
//!
//! Each test uses its own random namespace, so its Redis channels are its own.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::redis_proxy::Proxy;
use crate::common::{quiet_engine, serve_socket_io, Ws, WsFrame, WAIT};
use actix::Actor;
use actix_web::dev::ServerHandle;
use agora::cluster::{ClusterError, ClusterOptions, RedisAdapter};
use agora::engineio::Engine;
use agora::hub::{ChatServer, LocalAdapter};
use agora::socketio::{
    Adapter, Namespace, NamespaceBuilder, RecoveryConfig, SocketIo, SocketIoConfig,
};
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

pub(crate) const REDIS: &str = "redis://127.0.0.1:6379";
/// How long "nothing else arrives" is watched for.
pub(crate) const QUIET: Duration = Duration::from_millis(300);

/// A namespace no other test uses.
pub(crate) fn fresh_namespace() -> String {
    format!("/t{:016x}", rand::random::<u64>())
}

/// The test namespace: `join` [room] + ack, `broadcast` [room, ...args] → `msg` ...args to the
/// room except the sender, `shout` ...args → `msg` ...args to the whole namespace (`shout-local`:
/// this node's sockets only), `ask-room` [room, timeout ms?] + ack → `question` to the room with
/// acks, acked `{error, responses}`, `set-data` [data] + ack → the socket's data slot, acked
/// `[true]`, or `[false]` if refused.
fn test_namespace(nsp: &str) -> NamespaceBuilder {
    Namespace::builder(nsp)
        .on("set-data", |socket, payload, ack| {
            let data = payload.into_args().into_iter().next().unwrap_or_default();
            let stored = socket.set_data(data).is_ok();
            if let Some(ack) = ack {
                let _ = ack.send(agora::socketio::Payload::new(vec![json!(stored)]));
            }
        })
        .on("join", agora::conformance::join)
        .on("broadcast", agora::conformance::broadcast)
        .on("ask-room", agora::conformance::ask_room)
        .on("shout", |socket, payload, _| {
            let _ = socket.namespace().emit("msg", payload);
        })
        .on("shout-local", |socket, payload, _| {
            let _ = socket.namespace().local().emit("msg", payload);
        })
}

/// An Agora node: its own hub, a RedisAdapter, Socket.IO with the test namespace, HTTP on a free
/// port. Its server-side handlers in the test namespace record every event (`server_events`);
/// `node-ask` is answered with `{"agora": args}`.
pub(crate) struct Node {
    pub(crate) port: u16,
    pub(crate) adapter: RedisAdapter,
    pub(crate) io: SocketIo,
    pub(crate) server_events: Arc<Mutex<Vec<Value>>>,
    handle: ServerHandle,
}

impl Node {
    pub(crate) async fn start(nsp: &str, redis: &str) -> Node {
        Node::start_with(nsp, redis, None).await
    }

    /// A node, with connection state recovery on when `recovery` is set.
    async fn start_with(nsp: &str, redis: &str, recovery: Option<RecoveryConfig>) -> Node {
        Node::start_serving(&[nsp], redis, recovery).await
    }

    /// A node serving the test namespace under each of these names (the first one's server-side
    /// events are recorded).
    pub(crate) async fn start_serving(
        namespaces: &[&str],
        redis: &str,
        recovery: Option<RecoveryConfig>,
    ) -> Node {
        Node::start_keyed(
            namespaces,
            redis,
            recovery,
            agora::cluster::wire::DEFAULT_KEY,
        )
        .await
    }

    /// [`Node::start_serving`] in the cluster `key` (its channels and recovery state in Redis);
    /// with `recovery`, dropped sockets can recover on any node of the cluster.
    pub(crate) async fn start_keyed(
        namespaces: &[&str],
        redis: &str,
        recovery: Option<RecoveryConfig>,
        key: &str,
    ) -> Node {
        let nsp = namespaces[0];
        let hub = match recovery {
            Some(recovery) => ChatServer::with_recovery(recovery),
            None => ChatServer::default(),
        }
        .start();
        let options = ClusterOptions {
            namespaces: namespaces.iter().map(|nsp| nsp.to_string()).collect(),
            requests_timeout: Duration::from_secs(2),
            recovery: recovery.is_some(),
            recovery_window: recovery.map(|r| r.max_disconnection),
            key: key.to_string(),
            ..ClusterOptions::default()
        };
        let adapter = RedisAdapter::connect_with(redis, LocalAdapter::new(hub), options)
            .await
            .expect("connect to Redis at 127.0.0.1:6379");
        let io = namespaces
            .iter()
            .fold(
                SocketIo::builder(Arc::new(adapter.clone())).config(SocketIoConfig {
                    recovery,
                    ..SocketIoConfig::default()
                }),
                |io, nsp| io.namespace(test_namespace(nsp)),
            )
            .build();
        let server_events = Arc::new(Mutex::new(Vec::new()));
        for event in ["node-tell", "node-ask", "emitter-tell"] {
            let seen = Arc::clone(&server_events);
            io.server_side_of(nsp).on(event, move |args, ack| {
                let mut entry = vec![json!(event)];
                entry.extend(args.iter().cloned());
                seen.lock().unwrap().push(Value::Array(entry));
                if let Some(ack) = ack {
                    ack.send(json!({ "agora": args }));
                }
            });
        }
        let (port, handle) = serve_socket_io(Engine::new(quiet_engine(), Arc::new(io.clone())));
        Node {
            port,
            adapter,
            io,
            server_events,
            handle,
        }
    }

    pub(crate) async fn client(&self, nsp: &str) -> Client {
        Client::connect(self.port, nsp).await
    }

    /// Every socket id in `rooms` across the cluster, as this node's adapter sees it.
    async fn sockets(&self, nsp: &str, rooms: &[&str]) -> Vec<String> {
        let rooms = rooms.iter().map(|r| Arc::from(*r)).collect();
        let mut ids: Vec<String> = self
            .adapter
            .sockets(&Arc::from(nsp), rooms)
            .await
            .iter()
            .map(|id| id.to_string())
            .collect();
        ids.sort();
        ids
    }

    pub(crate) async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// A Socket.IO client over a raw WebSocket, connected to one namespace (of Agora or Node).
pub(crate) struct Client {
    pub(crate) ws: Ws,
    nsp: String,
    pub(crate) id: String,
    next_ack: u64,
}

impl Client {
    async fn connect(port: u16, nsp: &str) -> Client {
        Client::connect_with(port, nsp, None).await.0
    }

    /// Connects with a CONNECT payload; also answers the CONNECT answer's data.
    pub(crate) async fn connect_with(port: u16, nsp: &str, auth: Option<Value>) -> (Client, Value) {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let mut ws = Ws::connect(&url).await;
        match ws.recv().await {
            WsFrame::Text(open) if open.starts_with('0') => {}
            other => panic!("expected the open packet, got {other:?}"),
        }
        let auth = auth.map(|auth| auth.to_string()).unwrap_or_default();
        ws.send_text(&format!("40{nsp},{auth}")).await;
        let expected = format!("40{nsp},");
        let reply = match ws.recv_data().await {
            WsFrame::Text(text) => text,
            other => panic!("expected the CONNECT answer, got {other:?}"),
        };
        let handshake = reply
            .strip_prefix(&expected)
            .unwrap_or_else(|| panic!("unexpected CONNECT answer {reply}"));
        let handshake: Value = serde_json::from_str(handshake).expect("CONNECT answer JSON");
        let id = handshake["sid"].as_str().expect("socket id").to_string();
        let client = Client {
            ws,
            nsp: nsp.to_string(),
            id,
            next_ack: 0,
        };
        (client, handshake)
    }

    /// Sends an event: `args` is the JSON array `["event", ...]`.
    pub(crate) async fn emit(&mut self, args: &str) {
        let text = format!("42{},{args}", self.nsp);
        self.ws.send_text(&text).await;
    }

    /// Sends an event asking for an ack; returns the ack's arguments (a JSON array).
    pub(crate) async fn emit_with_ack(&mut self, args: &str) -> String {
        self.next_ack += 1;
        let id = self.next_ack;
        self.ws
            .send_text(&format!("42{},{id}{args}", self.nsp))
            .await;
        let prefix = format!("43{},{id}", self.nsp);
        let answer = self.recv_text().await;
        answer
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("expected ack {prefix}…, got {answer}"))
            .to_string()
    }

    pub(crate) async fn join(&mut self, room: &str) {
        let answer = self.emit_with_ack(&format!(r#"["join","{room}"]"#)).await;
        assert_eq!(answer, "[]");
    }

    /// Sends `ask-room` [room, timeout ms?] and returns the ack id it used (the Node server takes
    /// no timeout: it always waits 2 s).
    async fn ask_room(&mut self, room: &str, timeout_ms: Option<u64>) -> u64 {
        self.next_ack += 1;
        let id = self.next_ack;
        let timeout = timeout_ms.map(|ms| format!(",{ms}")).unwrap_or_default();
        let text = format!(r#"42{},{id}["ask-room","{room}"{timeout}]"#, self.nsp);
        self.ws.send_text(&text).await;
        id
    }

    /// Expects the `question` of a broadcast with acks; returns its ack id.
    async fn expect_question(&mut self) -> String {
        let packet = self.recv_text().await;
        let prefix = format!("42{},", self.nsp);
        let id = packet
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(r#"["question"]"#))
            .unwrap_or_else(|| panic!("client {} expected the question, got {packet}", self.id));
        assert!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
            "the question asks for an ack: {packet}"
        );
        id.to_string()
    }

    /// Acks `id` with these arguments (a JSON array).
    async fn answer(&mut self, id: &str, args: &str) {
        let text = format!("43{},{id}{args}", self.nsp);
        self.ws.send_text(&text).await;
    }

    /// The `{error, responses}` ack of `ask-room` number `ack`, responses sorted.
    async fn expect_asked(&mut self, ack: u64) -> (Value, Vec<Value>) {
        let packet = self.recv_text().await;
        let prefix = format!("43{},{ack}", self.nsp);
        let body = packet
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("expected {prefix}[…], got {packet}"));
        let answer: Value = serde_json::from_str(body).expect("ack JSON");
        let mut responses = answer[0]["responses"]
            .as_array()
            .unwrap_or_else(|| panic!("no responses in {packet}"))
            .clone();
        responses.sort_by_key(Value::to_string);
        (answer[0]["error"].clone(), responses)
    }

    /// The arguments (event name first) of the next packet, an event of this namespace.
    pub(crate) async fn recv_event(&mut self) -> Value {
        let packet = self.recv_text().await;
        let args = packet
            .strip_prefix(&format!("42{},", self.nsp))
            .unwrap_or_else(|| panic!("expected an event, got {packet}"));
        serde_json::from_str(args).expect("event JSON")
    }

    /// The next text packet, pings answered.
    pub(crate) async fn recv_text(&mut self) -> String {
        match self.ws.recv_data().await {
            WsFrame::Text(text) => text,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    async fn recv_binary(&mut self) -> Bytes {
        match self.ws.recv_data().await {
            WsFrame::Binary(bytes) => bytes,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// Expects exactly this `msg` event (arguments as JSON after the event name), then nothing.
    pub(crate) async fn expect_msg_once(&mut self, args: &str) {
        let expected = format!(r#"42{},["msg",{args}]"#, self.nsp);
        assert_eq!(self.recv_text().await, expected, "client {}", self.id);
        assert!(
            self.silent().await,
            "client {} got the message twice",
            self.id
        );
    }

    /// True if nothing but pings arrives for a while.
    pub(crate) async fn silent(&mut self) -> bool {
        tokio::time::timeout(QUIET, self.ws.recv_data())
            .await
            .is_err()
    }
}

/// Connection state recovery keeping a dropped socket for 30 s.
pub(crate) fn recovery_for_30s() -> RecoveryConfig {
    RecoveryConfig {
        max_disconnection: Duration::from_secs(30),
        ..RecoveryConfig::default()
    }
}

/// Waits until `check` holds (polling), or panics after `limit`.
pub(crate) async fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn room_broadcast_reaches_members_on_every_node_once() {
    let nsp = fresh_namespace();
    let (a, b, c) = (
        Node::start(&nsp, REDIS).await,
        Node::start(&nsp, REDIS).await,
        Node::start(&nsp, REDIS).await,
    );
    let mut sender = a.client(&nsp).await;
    let mut members = vec![
        a.client(&nsp).await,
        b.client(&nsp).await,
        b.client(&nsp).await,
        c.client(&nsp).await,
    ];
    let mut outsiders = vec![
        a.client(&nsp).await,
        b.client(&nsp).await,
        c.client(&nsp).await,
    ];
    sender.join("room").await;
    for member in &mut members {
        member.join("room").await;
    }
    for outsider in &mut outsiders {
        outsider.join("elsewhere").await;
    }

    sender.emit(r#"["broadcast","room","hello",{"n":1}]"#).await;
    for member in &mut members {
        member.expect_msg_once(r#""hello",{"n":1}"#).await;
    }
    assert!(sender.silent().await, "the sender is left out");
    for outsider in &mut outsiders {
        assert!(
            outsider.silent().await,
            "an outsider got the room broadcast"
        );
    }

    // From another node, to the same room: the first sender is a member too.
    members[2].emit(r#"["broadcast","room","again"]"#).await;
    sender.expect_msg_once(r#""again""#).await;
    for (i, member) in members.iter_mut().enumerate() {
        if i == 2 {
            assert!(member.silent().await);
        } else {
            member.expect_msg_once(r#""again""#).await;
        }
    }
    for node in [a, b, c] {
        node.stop().await;
    }
}

#[actix_web::test]
async fn namespace_broadcast_and_socket_id_rooms_span_nodes() {
    let nsp = fresh_namespace();
    let (a, b) = (
        Node::start(&nsp, REDIS).await,
        Node::start(&nsp, REDIS).await,
    );
    let mut clients = vec![
        a.client(&nsp).await,
        a.client(&nsp).await,
        b.client(&nsp).await,
        b.client(&nsp).await,
    ];

    // To everyone, the sender included, each once.
    clients[2].emit(r#"["shout","all"]"#).await;
    for client in &mut clients {
        client.expect_msg_once(r#""all""#).await;
    }

    // A socket id is a room on every node, as in Socket.IO.
    let target = clients[3].id.clone();
    clients[0]
        .emit(&format!(r#"["broadcast","{target}","private"]"#))
        .await;
    clients[3].expect_msg_once(r#""private""#).await;
    for client in &mut clients[..3] {
        assert!(client.silent().await);
    }
    a.stop().await;
    b.stop().await;
}

/// `local()` keeps a broadcast on its node: the other node's sockets do not get it.
#[actix_web::test]
async fn a_local_broadcast_stays_on_its_node() {
    let nsp = fresh_namespace();
    let (a, b) = (
        Node::start(&nsp, REDIS).await,
        Node::start(&nsp, REDIS).await,
    );
    let mut here = a.client(&nsp).await;
    let mut also_here = a.client(&nsp).await;
    let mut there = b.client(&nsp).await;
    here.emit(r#"["shout-local","mine"]"#).await;
    here.expect_msg_once(r#""mine""#).await;
    also_here.expect_msg_once(r#""mine""#).await;
    assert!(
        there.silent().await,
        "a local broadcast crossed to the other node"
    );
    // The same broadcast without `local` does cross.
    here.emit(r#"["shout","everyone"]"#).await;
    there.expect_msg_once(r#""everyone""#).await;
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn binary_arguments_cross_nodes() {
    let nsp = fresh_namespace();
    let (a, b) = (
        Node::start(&nsp, REDIS).await,
        Node::start(&nsp, REDIS).await,
    );
    let mut sender = a.client(&nsp).await;
    let mut receiver = b.client(&nsp).await;
    receiver.join("files").await;

    let text = format!(
        r#"451-{},["broadcast","files","name",{{"_placeholder":true,"num":0}}]"#,
        nsp
    );
    sender.ws.send_text(&text).await;
    sender.ws.send_binary(&[0, 1, 2, 255]).await;
    assert_eq!(
        receiver.recv_text().await,
        format!(r#"451-{nsp},["msg","name",{{"_placeholder":true,"num":0}}]"#)
    );
    assert_eq!(
        receiver.recv_binary().await,
        Bytes::from_static(&[0, 1, 2, 255])
    );
    assert!(receiver.silent().await);
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn broadcast_with_acks_collects_answers_from_every_node() {
    let nsp = fresh_namespace();
    let a = Node::start(&nsp, REDIS).await;
    let b = Node::start(&nsp, REDIS).await;
    let mut x = a.client(&nsp).await;
    let mut y1 = b.client(&nsp).await;
    let mut y2 = b.client(&nsp).await;
    let mut outsider = b.client(&nsp).await;
    for client in [&mut x, &mut y1, &mut y2] {
        client.join("r").await;
    }

    // Everyone answers: complete as soon as the last answer is in, well before the timeout.
    let started = std::time::Instant::now();
    let ask = x.ask_room("r", Some(5_000)).await;
    for client in [&mut x, &mut y1, &mut y2] {
        let id = client.expect_question().await;
        let args = format!(r#"["{}",{{"n":1}}]"#, client.id);
        client.answer(&id, &args).await;
    }
    let (error, responses) = x.expect_asked(ask).await;
    assert_eq!(error, Value::Null);
    let mut expected = vec![json!(x.id), json!(y1.id), json!(y2.id)];
    expected.sort_by_key(Value::to_string);
    assert_eq!(
        responses, expected,
        "each member's first ack argument, once"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "completed at the timeout rather than with the last answer"
    );
    assert!(outsider.silent().await);

    // One member on the other node never answers: the call ends at the timeout with the others.
    let ask = x.ask_room("r", Some(800)).await;
    let started = std::time::Instant::now();
    let id = x.expect_question().await;
    x.answer(&id, r#"["x"]"#).await;
    let id = y1.expect_question().await;
    y1.answer(&id, r#"["y1"]"#).await;
    y2.expect_question().await;
    let (error, responses) = x.expect_asked(ask).await;
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(error, "timeout");
    assert_eq!(responses, [json!("x"), json!("y1")]);
    for node in [a, b] {
        node.stop().await;
    }
}

#[actix_web::test]
async fn sockets_query_spans_nodes() {
    let nsp = fresh_namespace();
    let (a, b) = (
        Node::start(&nsp, REDIS).await,
        Node::start(&nsp, REDIS).await,
    );
    let mut a1 = a.client(&nsp).await;
    let a2 = a.client(&nsp).await;
    let mut b1 = b.client(&nsp).await;
    let b2 = b.client(&nsp).await;
    a1.join("r").await;
    b1.join("r").await;

    let mut in_room = vec![a1.id.clone(), b1.id.clone()];
    in_room.sort();
    let mut everyone = vec![a1.id.clone(), a2.id.clone(), b1.id.clone(), b2.id.clone()];
    everyone.sort();
    assert_eq!(a.sockets(&nsp, &["r"]).await, in_room);
    assert_eq!(b.sockets(&nsp, &["r"]).await, in_room);
    assert_eq!(a.sockets(&nsp, &[]).await, everyone);
    assert_eq!(b.sockets(&nsp, &[&a2.id]).await, vec![a2.id.clone()]);
    assert!(a.sockets(&nsp, &["nobody-here"]).await.is_empty());
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn recovery_replays_broadcasts_from_other_nodes() {
    let nsp = fresh_namespace();
    let recovery = recovery_for_30s();
    let a = Node::start_with(&nsp, REDIS, Some(recovery)).await;
    let b = Node::start(&nsp, REDIS).await;
    let (mut x, handshake) = Client::connect_with(a.port, &nsp, None).await;
    let pid = handshake["pid"].as_str().expect("a pid").to_string();
    let mut y = b.client(&nsp).await;
    x.join("r").await;
    y.join("r").await;

    // A's offsets are A's own: the other node's client gets the arguments alone…
    x.emit(r#"["broadcast","r","from a"]"#).await;
    y.expect_msg_once(r#""from a""#).await;
    // …and A gives the packets of other nodes an offset of its own.
    y.emit(r#"["broadcast","r","seen"]"#).await;
    let seen: Value = x.recv_event().await;
    assert_eq!(seen.as_array().unwrap()[..2], [json!("msg"), json!("seen")]);
    let offset = seen[2].as_str().expect("an offset").to_string();

    // The connection is cut; what B sends meanwhile is replayed when x comes back to A.
    let id = x.id.clone();
    drop(x);
    tokio::time::sleep(Duration::from_millis(300)).await;
    y.emit(r#"["broadcast","r","missed"]"#).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut back, handshake) =
        Client::connect_with(a.port, &nsp, Some(json!({"pid": pid, "offset": offset}))).await;
    assert_eq!(handshake, json!({"sid": id, "pid": pid}), "recovered");
    let missed: Value = back.recv_event().await;
    assert_eq!(missed, json!(["msg", "missed", missed[2]]));
    assert!(missed[2].is_string(), "an offset");
    y.emit(r#"["broadcast","r","live"]"#).await;
    let live = back.recv_text().await;
    assert!(live.contains(r#"["msg","live","#), "{live}");
    assert!(back.silent().await);
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn unreachable_redis_is_an_error_at_start() {
    let hub = ChatServer::default().start();
    // Nothing listens on port 1.
    let result = RedisAdapter::connect("redis://127.0.0.1:1", LocalAdapter::new(hub)).await;
    assert!(
        matches!(
            result,
            Err(ClusterError::Connect { .. } | ClusterError::Timeout { .. })
        ),
        "connecting to a closed port must fail"
    );
}

#[actix_web::test]
async fn redis_outage_keeps_local_delivery_and_heals() {
    let nsp = fresh_namespace();
    let mut proxy = Proxy::start().await;
    let a = Node::start(&nsp, &proxy.url()).await;
    let b = Node::start(&nsp, REDIS).await;
    let mut a1 = a.client(&nsp).await;
    let mut a2 = a.client(&nsp).await;
    let mut b1 = b.client(&nsp).await;
    for client in [&mut a1, &mut a2, &mut b1] {
        client.join("room").await;
    }
    assert!(a.adapter.is_connected());
    a1.emit(r#"["broadcast","room","before"]"#).await;
    a2.expect_msg_once(r#""before""#).await;
    b1.expect_msg_once(r#""before""#).await;

    proxy.cut().await;
    let status = a.adapter.status();
    eventually("node A sees Redis gone", WAIT, || !status.is_connected()).await;
    a1.emit(r#"["broadcast","room","during"]"#).await;
    a2.expect_msg_once(r#""during""#).await;
    assert!(b1.silent().await, "nothing crosses while Redis is away");
    // Sockets queries answer with this node's sockets.
    assert_eq!(a.sockets(&nsp, &["room"]).await.len(), 2);

    proxy.restore().await;
    eventually("node A reconnects", Duration::from_secs(15), || {
        status.is_connected()
    })
    .await;
    assert!(status.reconnects() >= 1);
    a1.emit(r#"["broadcast","room","after"]"#).await;
    a2.expect_msg_once(r#""after""#).await;
    b1.expect_msg_once(r#""after""#).await;
    b1.emit(r#"["broadcast","room","back"]"#).await;
    a1.expect_msg_once(r#""back""#).await;
    a2.expect_msg_once(r#""back""#).await;
    assert_eq!(a.sockets(&nsp, &["room"]).await.len(), 3);
    a.stop().await;
    b.stop().await;
}

/// `from` sends a binary argument to `room`; `to` gets it as a binary event.
async fn send_binary_to_room(from: &mut Client, to: &mut Client, room: &str) {
    let placeholder = r#"{"_placeholder":true,"num":0}"#;
    let sent = format!(r#"451-{},["broadcast","{room}",{placeholder}]"#, from.nsp);
    let expected = format!(r#"451-{},["msg",{placeholder}]"#, to.nsp);
    from.ws.send_text(&sent).await;
    from.ws.send_binary(&[7, 0, 7]).await;
    assert_eq!(to.recv_text().await, expected);
    assert_eq!(to.recv_binary().await, Bytes::from_static(&[7, 0, 7]));
    assert!(to.silent().await);
}

/// The Node.js server of tests/cluster/node_server.mjs, killed when dropped.
pub(crate) struct NodeJs {
    port: u16,
    _child: tokio::process::Child,
}

impl NodeJs {
    pub(crate) async fn start(nsp: &str) -> NodeJs {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("tests/cluster/node_modules/@socket.io/redis-adapter")
                .exists(),
            "the Node cluster packages are not installed: run `npm ci --prefix tests/cluster`"
        );
        let mut child = tokio::process::Command::new("node")
            .arg("tests/cluster/node_server.mjs")
            .arg("0")
            .arg(nsp)
            .env("REDIS_URL", REDIS)
            .current_dir(root)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("node's stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the Node server started in time")
            .expect("read node's stdout")
            .expect("the Node server printed its port");
        let port = ready
            .strip_prefix("ready ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from node: {ready}"));
        NodeJs {
            port,
            _child: child,
        }
    }

    pub(crate) async fn client(&self, nsp: &str) -> Client {
        Client::connect(self.port, nsp).await
    }
}

#[actix_web::test]
async fn node_socket_io_server_shares_rooms_with_agora() {
    let nsp = fresh_namespace();
    let agora = Node::start(&nsp, REDIS).await;
    let node = NodeJs::start(&nsp).await;
    let mut x = agora.client(&nsp).await;
    let mut w = agora.client(&nsp).await;
    let mut y = node.client(&nsp).await;
    let mut z = node.client(&nsp).await;
    x.join("r").await;
    y.join("r").await;

    // Agora → Node, and Node → Agora, to the room only.
    x.emit(r#"["broadcast","r","from agora",{"n":[1,2.5,null,true]}]"#)
        .await;
    y.expect_msg_once(r#""from agora",{"n":[1,2.5,null,true]}"#)
        .await;
    y.emit(r#"["broadcast","r","from node"]"#).await;
    x.expect_msg_once(r#""from node""#).await;
    for client in [&mut x, &mut w, &mut z] {
        assert!(client.silent().await);
    }
    assert!(y.silent().await);

    // Binary both ways.
    send_binary_to_room(&mut x, &mut y, "r").await;
    send_binary_to_room(&mut y, &mut x, "r").await;

    // Agora's sockets query asks the Node server (SOCKETS); Node's fetchSockets asks Agora
    // (REMOTE_FETCH).
    let mut both = vec![x.id.clone(), y.id.clone()];
    both.sort();
    assert_eq!(agora.sockets(&nsp, &["r"]).await, both);
    let fetched = y.emit_with_ack(r#"["fetch","r"]"#).await;
    assert_eq!(
        serde_json::from_str::<Value>(&fetched).unwrap(),
        serde_json::json!([both])
    );

    // Agora's rooms query asks the Node server too (ALL_ROOMS): Node answers with all its rooms,
    // and only those with the prefix are kept.
    x.join("pre:agora").await;
    y.join("pre:node").await;
    let rooms: Vec<String> = agora
        .adapter
        .rooms(&Arc::from(nsp.as_str()), "pre:")
        .await
        .iter()
        .map(|room| room.to_string())
        .collect();
    assert_eq!(rooms, ["pre:agora", "pre:node"]);

    // io.to(socket id) from Node reaches the Agora socket.
    y.emit(&format!(r#"["broadcast","{}","private"]"#, x.id))
        .await;
    x.expect_msg_once(r#""private""#).await;
    assert!(w.silent().await);

    // socketsJoin from Node (REMOTE_JOIN) moves the Agora socket too, before the next emit
    // from Node (the Node script acks once its own sockets moved).
    assert_eq!(y.emit_with_ack(r#"["remote-join","r","r2"]"#).await, "[]");
    z.emit(r#"["broadcast","r2","in r2"]"#).await;
    x.expect_msg_once(r#""in r2""#).await;
    y.expect_msg_once(r#""in r2""#).await;

    // emitWithAck to the room from Node (BROADCAST): the Agora socket gets the event with an ack
    // id, and Node gets its answer (BROADCAST_CLIENT_COUNT, BROADCAST_ACK) with its own client's.
    let ask = y.ask_room("r", None).await;
    let id = y.expect_question().await;
    y.answer(&id, r#"["yes"]"#).await;
    let id = x.expect_question().await;
    x.answer(&id, r#"["agora yes",{"n":1}]"#).await;
    let (error, responses) = y.expect_asked(ask).await;
    assert_eq!(error, Value::Null);
    assert_eq!(responses, [json!("agora yes"), json!("yes")]);
    assert!(w.silent().await);

    // And the reverse: Agora asks the room, the Node client's answer comes back.
    let ask = x.ask_room("r", None).await;
    let id = x.expect_question().await;
    x.answer(&id, r#"["from x"]"#).await;
    let id = y.expect_question().await;
    y.answer(&id, r#"["from y"]"#).await;
    let (error, responses) = x.expect_asked(ask).await;
    assert_eq!(error, Value::Null);
    assert_eq!(responses, [json!("from x"), json!("from y")]);
    agora.stop().await;
}
