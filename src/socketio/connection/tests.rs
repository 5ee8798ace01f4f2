//! The connection's state machine, driven packet by packet over a real session actor: CONNECT and
//! its answer, a socket joining through an async middleware, a second CONNECT while joining
//! (ignored) or after joining (a protocol error), DISCONNECT of a joined or a joining socket,
//! packets for namespaces not joined or unknown, the connect timeout, and the close.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Semaphore;

use super::*;
use crate::engineio::test_support::{until, TestSession};
use crate::socketio::namespace::Namespace;
use crate::socketio::parser::Parser;
use crate::socketio::state::SocketIoConfig;
use crate::socketio::test_adapter::{Call, Recorder};

/// The namespace whose middleware waits for the test to open its gate.
const GATED: &str = "/gated";

/// No adapter calls.
const NONE: [Call; 0] = [];
/// No handler ran.
const NOTHING: [&str; 0] = [];

/// What the namespaces' handlers saw, in order: `connect NSP AUTH`, `event NSP NAME`,
/// `disconnect NSP REASON`.
type Log = Arc<Mutex<Vec<String>>>;

/// A namespace whose handlers write to `log`.
fn logged(name: &str, log: &Log) -> crate::socketio::NamespaceBuilder {
    let (on_connect, on_event, on_disconnect) = (log.clone(), log.clone(), log.clone());
    Namespace::builder(name)
        .on_connect(move |socket| {
            let line = format!("connect {} {}", socket.nsp(), socket.auth());
            crate::sync::lock(&on_connect).push(line);
        })
        .on("ping", move |socket, _, _| {
            crate::sync::lock(&on_event).push(format!("event {} ping", socket.nsp()));
        })
        .on_disconnect(move |socket, reason| {
            let line = format!("disconnect {} {}", socket.nsp(), reason.as_str());
            crate::sync::lock(&on_disconnect).push(line);
        })
}

/// One connection under test, on its own session: `/` accepts at once, [`GATED`] waits in its
/// middleware for a permit of `gate`.
struct Fixture {
    connection: Connection,
    session: TestSession,
    adapter: Arc<Recorder>,
    log: Log,
    gate: Arc<Semaphore>,
    /// Every socket the gated middleware was given, in order.
    held: Arc<Mutex<Vec<Socket>>>,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with(SocketIoConfig::default()).await
    }

    async fn with(config: SocketIoConfig) -> Fixture {
        let adapter = Arc::new(Recorder::default());
        let log = Log::default();
        let gate = Arc::new(Semaphore::new(0));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (waits, holds) = (Arc::clone(&gate), Arc::clone(&held));
        let gated = logged(GATED, &log).middleware(move |socket| {
            crate::sync::lock(&holds).push(socket);
            let gate = Arc::clone(&waits);
            async move {
                // Never closed: a permit always comes, or the test fails waiting for it.
                gate.acquire().await.expect("the gate stays").forget();
                Ok(())
            }
        });
        let namespaces = [logged("/", &log), gated]
            .into_iter()
            .map(|ns| {
                let ns = ns.build(adapter.clone(), None, Parser::Default);
                (ns.name().to_string(), Arc::new(ns))
            })
            .collect();
        let server = Arc::new(ServerInner {
            config,
            namespaces,
            adapter: adapter.clone(),
            dynamic: Vec::new(),
        });
        let session = TestSession::open().await;
        let handshake = crate::engineio::test_support::polling_handshake();
        Fixture {
            connection: Connection::new(server, session.socket.clone(), handshake),
            session,
            adapter,
            log,
            gate,
            held,
        }
    }

    /// Whether the socket the gated middleware got `nth` is still joining (or joined), once the
    /// middleware has it.
    async fn held_alive(&self, nth: usize) -> bool {
        until(|| {
            let held = crate::sync::lock(&self.held);
            held.get(nth).map(Socket::joining_or_joined)
        })
        .await
    }

    /// The client sends one Socket.IO packet (an Engine.IO message: without the leading `4`).
    fn send(&mut self, packet: &str) {
        let text = bytestring::ByteString::from(packet.to_string());
        self.connection.on_message(Message::Text(text));
    }

    fn log(&self) -> Vec<String> {
        crate::sync::lock(&self.log).clone()
    }

    /// Lets `count` sockets through the gated middleware, and waits until they are registered.
    async fn open_gate(&self, count: usize) {
        let before = self.adapter.calls().len();
        self.gate.add_permits(count);
        until(|| (self.adapter.calls().len() >= before + count).then_some(())).await;
    }

    /// Gives spawned middlewares every chance to run.
    async fn settle(&self) {
        for _ in 0..100 {
            actix_rt::task::yield_now().await;
        }
    }

    /// Reads the CONNECT answer for `nsp` (`40` or `40/nsp,`) and returns the socket id it gives.
    async fn connect_answer(&self, prefix: &str) -> String {
        let frames = self.session.frames().await;
        assert_eq!(frames.len(), 1, "{frames:?}");
        let body = frames[0]
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("a CONNECT answer for {prefix}: {frames:?}"));
        let answer: Value = serde_json::from_str(body).expect("the answer is JSON");
        answer["sid"].as_str().expect("a socket id").to_string()
    }

    /// Joins `/` and returns the socket id.
    async fn join_main(&mut self) -> String {
        self.send("0");
        self.connect_answer("40").await
    }

    /// Joins [`GATED`] through its middleware and returns the socket id.
    async fn join_gated(&mut self) -> String {
        self.send("0/gated,");
        self.open_gate(1).await;
        self.connect_answer("40/gated,").await
    }
}

#[actix_rt::test]
async fn connect_answers_with_the_socket_id_and_registers_the_socket_with_its_auth() {
    let mut fixture = Fixture::new().await;
    fixture.send(r#"0{"token":"t"}"#);
    let id = fixture.connect_answer("40").await;
    assert_eq!(fixture.adapter.calls(), [Call::Added("/".into(), id)]);
    assert_eq!(fixture.log(), [r#"connect / {"token":"t"}"#]);
    assert_eq!(fixture.session.closed_yet(), None);
}

#[actix_rt::test]
async fn a_socket_in_an_async_middleware_joins_only_once_it_passes() {
    let mut fixture = Fixture::new().await;
    fixture.send("0/gated,");
    fixture.settle().await;
    assert_eq!(fixture.adapter.calls(), NONE, "held by the middleware");
    assert_eq!(fixture.log(), NOTHING);
    fixture.open_gate(1).await;
    let id = fixture.connect_answer("40/gated,").await;
    assert_eq!(fixture.adapter.calls(), [Call::Added(GATED.into(), id)]);
    assert_eq!(fixture.log(), ["connect /gated {}"]);
}

#[actix_rt::test]
async fn a_second_connect_while_joining_is_ignored() {
    let mut fixture = Fixture::new().await;
    fixture.send("0/gated,");
    fixture.send("0/gated,");
    fixture.settle().await;
    assert_eq!(
        crate::sync::lock(&fixture.held).len(),
        1,
        "one socket in the middleware"
    );
    fixture.gate.add_permits(2);
    let id = fixture.connect_answer("40/gated,").await;
    fixture.settle().await;
    assert_eq!(
        fixture.adapter.calls(),
        [Call::Added(GATED.into(), id)],
        "one socket, not two"
    );
    assert_eq!(fixture.log(), ["connect /gated {}"]);
    assert_eq!(fixture.session.closed_yet(), None, "not punished");
}

#[actix_rt::test]
async fn a_second_connect_to_a_joined_namespace_is_a_protocol_error() {
    let mut fixture = Fixture::new().await;
    let id = fixture.join_main().await;
    fixture.send("0");
    assert_eq!(fixture.session.closed().await, CloseReason::TransportError);
    assert_eq!(
        fixture.adapter.calls(),
        [
            Call::Added("/".into(), id.clone()),
            Call::Removed("/".into(), id)
        ]
    );
    assert_eq!(fixture.log(), ["connect / {}", "disconnect / parse error"]);
}

#[actix_rt::test]
async fn disconnect_from_a_joined_namespace_ends_only_that_socket() {
    let mut fixture = Fixture::new().await;
    fixture.join_main().await;
    let gated = fixture.join_gated().await;
    fixture.send("1/gated,");
    assert_eq!(
        fixture.adapter.calls().last(),
        Some(&Call::Removed(GATED.into(), gated))
    );
    fixture.send(r#"2["ping"]"#);
    assert_eq!(
        fixture.log()[2..],
        [
            "disconnect /gated client namespace disconnect",
            "event / ping"
        ]
    );
    assert_eq!(fixture.session.closed_yet(), None);
}

#[actix_rt::test]
async fn disconnect_while_joining_ends_that_socket_before_it_joins() {
    let mut fixture = Fixture::new().await;
    fixture.send("0/gated,");
    assert!(fixture.held_alive(0).await);
    fixture.send("1/gated,");
    assert!(!fixture.held_alive(0).await, "ended at once");
    assert_eq!(fixture.session.closed().await, CloseReason::TransportError);
    fixture.gate.add_permits(1);
    fixture.settle().await;
    assert_eq!(fixture.adapter.calls(), NONE, "never registered");
    assert_eq!(fixture.log(), NOTHING, "never announced");
}

#[actix_rt::test]
async fn connect_to_an_unknown_namespace_is_refused_and_the_connection_stays() {
    let mut fixture = Fixture::new().await;
    fixture.send("0/nowhere,");
    assert_eq!(
        fixture.session.frames().await,
        [r#"44/nowhere,{"message":"Invalid namespace"}"#]
    );
    assert_eq!(fixture.adapter.calls(), NONE);
    fixture.join_main().await;
    assert_eq!(fixture.session.closed_yet(), None);
}

#[actix_rt::test]
async fn packets_for_a_namespace_not_joined_are_protocol_errors() {
    for packet in [
        r#"2/gated,["ping"]"#,
        "3/gated,1[]",
        "1/gated,",
        "1/nowhere,",
        r#"4{"message":"from a client"}"#,
        "not a packet",
    ] {
        let mut fixture = Fixture::new().await;
        let id = fixture.join_main().await;
        fixture.send(packet);
        let reason = fixture.session.closed().await;
        assert_eq!(reason, CloseReason::TransportError, "{packet}");
        let calls = fixture.adapter.calls();
        assert_eq!(calls[1..], [Call::Removed("/".into(), id)], "{packet}");
        assert_eq!(fixture.log()[1..], ["disconnect / parse error"], "{packet}");
    }
}

#[actix_rt::test]
async fn an_event_for_a_namespace_still_joining_is_a_protocol_error() {
    let mut fixture = Fixture::new().await;
    fixture.send("0/gated,");
    fixture.send(r#"2/gated,["ping"]"#);
    assert!(!fixture.held_alive(0).await, "ended at once");
    assert_eq!(fixture.session.closed().await, CloseReason::TransportError);
    fixture.gate.add_permits(1);
    fixture.settle().await;
    assert_eq!(fixture.log(), NOTHING, "neither dispatched nor joined");
    assert_eq!(fixture.adapter.calls(), NONE);
}

#[actix_rt::test]
async fn the_close_ends_every_socket_with_its_reason_and_a_joining_one_never_joins() {
    let mut fixture = Fixture::new().await;
    let main = fixture.join_main().await;
    fixture.send("0/gated,");
    fixture.connection.on_close(CloseReason::TransportClose);
    assert!(!fixture.held_alive(0).await, "ended at once");
    fixture.gate.add_permits(1);
    fixture.settle().await;
    assert_eq!(
        fixture.adapter.calls(),
        [
            Call::Added("/".into(), main.clone()),
            Call::Removed("/".into(), main)
        ]
    );
    assert_eq!(
        fixture.log(),
        ["connect / {}", "disconnect / transport close"]
    );
}

#[actix_rt::test]
async fn a_connection_that_joins_nothing_in_time_is_closed() {
    let config = SocketIoConfig {
        connect_timeout: Duration::from_millis(50),
        ..SocketIoConfig::default()
    };
    let idle = Fixture::with(config.clone()).await;
    let mut joined = Fixture::with(config).await;
    joined.join_main().await;
    assert_eq!(idle.session.closed().await, CloseReason::ServerClose);
    actix_rt::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(joined.session.closed_yet(), None, "its timer was stopped");
}
