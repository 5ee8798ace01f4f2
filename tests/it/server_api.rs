//! The Rust API's catch-alls (`on_any`, `on_any_outgoing`), packet middleware (`use_packet`,
//! `on_error`) and dynamic namespaces, driven by the official socket.io-client
//! (tests/interop/server_api.mjs) against a server built here with that API.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix::Actor;
use actix_web::dev::ServerHandle;
use agora::engineio::{Engine, SendOptions};
use agora::hub::{ChatServer, LocalAdapter};
use agora::socketio::{
    MiddlewareError, Namespace, NamespaceBuilder, Payload, SocketIo, SocketIoConfig,
};
use serde_json::json;

use crate::common::*;

/// The scenarios take a second or two; this is the ceiling before the test fails.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
/// The parent of the dynamic namespaces `/room-…`.
const ROOMS: &str = "/room-*";

/// What a socket's catch-alls saw: `in:<event>` and `out:<event>`, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(socket: &agora::socketio::Socket, entry: String) {
        if let Some(Seen(log)) = socket.extension::<Seen>() {
            log.lock().expect("not poisoned").push(entry);
        }
    }
}

/// `/`: a packet middleware refusing `forbidden` (reported back as `refused` by the error hook)
/// and upper-casing `shout`'s argument; catch-alls logging every event; `echo` + ack; `log` + ack
/// with the catch-alls' log; `shout` → `shouted`; `news` → a volatile `v`, then `n`, to everyone;
/// `own-news` → the same, to the sender alone.
fn main_namespace() -> NamespaceBuilder {
    Namespace::builder("/")
        .on_connect(|socket| socket.insert_extension(Seen::default()))
        .use_packet(|_, event, payload| {
            if event == "forbidden" {
                return Err(MiddlewareError::new("forbidden event"));
            }
            if event == "shout" {
                if let Some(text) = payload.args().first().and_then(|a| a.as_str()) {
                    payload.args_mut()[0] = json!(text.to_uppercase());
                }
            }
            Ok(())
        })
        .on_error(|socket, error| {
            let _ = socket.emit("refused", Payload::json(&error.message));
        })
        .on_any(|socket, event, _| Seen::push(socket, format!("in:{event}")))
        .on_any_outgoing(|socket, event, _| Seen::push(socket, format!("out:{event}")))
        .on("echo", |_, payload, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(payload);
            }
        })
        .on("shout", |socket, payload, _| {
            let _ = socket.emit("shouted", payload);
        })
        .on("news", |socket, payload, _| {
            let _ = socket.namespace().volatile().emit("v", payload.clone());
            let _ = socket.namespace().emit("n", payload);
        })
        .on("own-news", |socket, payload, _| {
            let volatile = SendOptions {
                volatile: true,
                ..SendOptions::default()
            };
            let _ = socket.emit_with("v", payload.clone(), volatile);
            let _ = socket.emit("n", payload);
        })
        .on("log", |socket, _, ack| {
            let log = socket
                .extension::<Seen>()
                .map(|Seen(log)| log.lock().expect("not poisoned").clone())
                .unwrap_or_default();
            if let Some(ack) = ack {
                let _ = ack.send_json(log);
            }
        })
}

/// `/room-*`: each child greets its sockets with `welcome` (its name); `to-all-rooms` emits
/// `news` through the parent, to every child.
fn rooms_namespace(io: Arc<OnceLock<SocketIo>>) -> NamespaceBuilder {
    Namespace::builder(ROOMS)
        .on_connect(|socket| {
            let _ = socket.emit("welcome", Payload::json(socket.nsp().as_ref()));
        })
        .on("to-all-rooms", move |_, payload, _| {
            if let Some(parent) = io.get().and_then(|io| io.parent(ROOMS)) {
                let _ = parent.emit("news", payload);
            }
        })
}

struct ApiServer {
    port: u16,
    io: SocketIo,
    handle: ServerHandle,
}

async fn spawn_api_server() -> ApiServer {
    let hub = ChatServer::default().start();
    let slot = Arc::new(OnceLock::new());
    let io = SocketIo::builder(Arc::new(LocalAdapter::new(hub)))
        .config(SocketIoConfig {
            max_dynamic_children: 2,
            ..SocketIoConfig::default()
        })
        .namespace(main_namespace())
        .dynamic_namespace(
            |name| name.starts_with("/room-"),
            rooms_namespace(Arc::clone(&slot)),
        )
        .build();
    let _ = slot.set(io.clone());
    let (port, handle) = serve_socket_io(Engine::new(quiet_engine(), Arc::new(io.clone())));
    ApiServer { port, io, handle }
}

async fn run_client(server: &ApiServer, scenario: &str) {
    let base = format!("http://127.0.0.1:{}", server.port);
    node::run_interop(
        "tests/interop/server_api.mjs",
        scenario,
        base,
        SCENARIO_TIMEOUT,
    )
    .await;
}

#[actix_web::test]
async fn packet_middleware_refuses_and_changes_events_and_catch_alls_see_every_event() {
    let server = spawn_api_server().await;
    run_client(&server, "middleware").await;
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn dynamic_namespaces_are_created_bounded_reached_by_the_parent_and_dropped_when_empty() {
    let server = spawn_api_server().await;
    run_client(&server, "dynamic").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.io.child_count(ROOMS) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} children left after every socket went",
            server.io.child_count(ROOMS)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.io.parent(ROOMS).is_some_and(|p| p.is_empty()));
    server.handle.stop(false).await;
}

/// A polling client joined to `/` (the CONNECT answered).
async fn polling_client(server: &ApiServer) -> Polling {
    let client = Polling::open(&format!("http://127.0.0.1:{}/socket.io/", server.port)).await;
    assert_eq!(client.post("40").await.0, actix_web::http::StatusCode::OK);
    let (_, joined) = client.get().await;
    assert!(joined.starts_with("40{"), "{joined}");
    client
}

/// A volatile broadcast is not queued for a polling client with no GET waiting, and is delivered
/// to one whose GET waits; the ordinary broadcast after it reaches both.
#[actix_web::test]
async fn a_volatile_broadcast_is_not_queued_for_a_client_that_is_not_polling() {
    let server = spawn_api_server().await;
    let idle = polling_client(&server).await;
    let waiting = polling_client(&server).await;
    let held = actix_rt::spawn(async move {
        let first = waiting.get().await.1;
        (waiting, first)
    });
    // Let the GET reach the server and wait there.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        idle.post(r#"42["news",1]"#).await.0,
        actix_web::http::StatusCode::OK
    );
    let (idle_got, (waiting, first)) = (idle.get().await.1, held.await.expect("the GET ran"));
    assert_eq!(idle_got, r#"42["n",1]"#, "the volatile event was queued");
    // The ordinary event follows, in the same payload (both waited in the outbox when the GET
    // was answered) or in the next one.
    let mut first: Vec<String> = first.split('\u{1e}').map(String::from).collect();
    if first.len() == 1 {
        first.push(waiting.get().await.1);
    }
    assert_eq!(
        first,
        [r#"42["v",1]"#, r#"42["n",1]"#],
        "a waiting GET gets the volatile event, then the ordinary one"
    );
    // A socket's own volatile emit, likewise.
    assert_eq!(
        idle.post(r#"42["own-news",2]"#).await.0,
        actix_web::http::StatusCode::OK
    );
    assert_eq!(
        idle.get().await.1,
        r#"42["n",2]"#,
        "the volatile emit was queued"
    );
    server.handle.stop(false).await;
}

/// Which socket's outgoing catch-all saw which event: `<socket id> <event>`.
type Outgoing = Arc<Mutex<Vec<String>>>;

/// A node on Redis under `key` whose `/` joins a socket to a room on `join` (acked once joined)
/// and logs every outgoing event into `outgoing`.
async fn cluster_node(key: &str, outgoing: &Outgoing) -> ApiServer {
    let options = agora::cluster::ClusterOptions {
        key: key.to_string(),
        ..agora::cluster::ClusterOptions::default()
    };
    let hub = LocalAdapter::new(ChatServer::default().start());
    let adapter =
        agora::cluster::RedisAdapter::connect_with("redis://127.0.0.1:6379", hub, options)
            .await
            .expect("connect to Redis at 127.0.0.1:6379");
    let log = Arc::clone(outgoing);
    let nsp = Namespace::builder("/")
        .on("join", |socket, payload, ack| {
            if let Some(room) = payload.args().first().and_then(|a| a.as_str()) {
                socket.join(room);
            }
            if let Some(ack) = ack {
                let _ = ack.send(Payload::empty());
            }
        })
        .on_any_outgoing(move |socket, event, _| {
            log.lock()
                .expect("not poisoned")
                .push(format!("{} {event}", socket.id()));
        });
    let io = SocketIo::builder(Arc::new(adapter)).namespace(nsp).build();
    let (port, handle) = serve_socket_io(Engine::new(quiet_engine(), Arc::new(io.clone())));
    ApiServer { port, io, handle }
}

/// Reads the client's GETs until one has `needle`; fails after [`WAIT`].
async fn read_until(client: &Polling, needle: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut got = String::new();
    while !got.contains(needle) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {needle} in {got}"
        );
        got.push_str(&client.get().await.1);
    }
}

/// A broadcast to a room, from this node and from another node on Redis, fires the outgoing
/// catch-all of each recipient, not of the socket outside the room.
#[actix_web::test]
async fn broadcasts_from_this_node_and_another_fire_the_outgoing_listener_of_each_recipient() {
    let key = format!("outgoing-test-{:016x}", rand::random::<u64>());
    let (here_log, there_log) = (Outgoing::default(), Outgoing::default());
    let here = cluster_node(&key, &here_log).await;
    let there = cluster_node(&key, &there_log).await;
    let inside = polling_client(&here).await;
    let outside = polling_client(&here).await;
    assert_eq!(
        inside.post(r#"421["join","r"]"#).await.0,
        actix_web::http::StatusCode::OK
    );
    read_until(&inside, "431[]").await;

    let room = |server: &ApiServer| server.io.of("/").expect("the namespace").to("r");
    room(&here)
        .emit("local-news", Payload::json(1))
        .expect("emitted");
    read_until(&inside, "local-news").await;
    room(&there)
        .emit("remote-news", Payload::json(2))
        .expect("emitted");
    read_until(&inside, "remote-news").await;

    let seen = here_log.lock().expect("not poisoned").clone();
    assert_eq!(seen.len(), 2, "one entry per broadcast: {seen:?}");
    assert!(
        seen[0].ends_with(" local-news") && seen[1].ends_with(" remote-news"),
        "{seen:?}"
    );
    let inside_id = seen[0].split(' ').next().unwrap_or_default();
    assert!(
        seen.iter().all(|entry| entry.starts_with(inside_id)),
        "{seen:?}"
    );
    assert!(
        there_log.lock().expect("not poisoned").is_empty(),
        "no recipient there"
    );
    drop(outside);
    here.handle.stop(false).await;
    there.handle.stop(false).await;
}
