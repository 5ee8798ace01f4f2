//! Node parity over the cluster, both ways, against a Node.js Socket.IO 4.8 server with
//! `@socket.io/redis-adapter` 8.3 on the same Redis (tests/cluster/node_server.mjs) and the
//! `@socket.io/redis-emitter` 5.1 (tests/cluster/emitter.mjs): fetches with the full handshake and
//! data, server-side events with and without acks, socketsJoin/Leave and disconnectSockets, and
//! every form of emitter broadcast; a recovered socket keeps its data.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agora::socketio::{Payload, ServerSideAckError, MAX_SOCKET_DATA_BYTES};
use serde_json::{json, Value};

use crate::cluster::{eventually, fresh_namespace, recovery_for_30s, Client, Node, NodeJs, REDIS};

/// How long a cross-node effect may take to show.
const SETTLE: Duration = Duration::from_secs(5);

/// The ack of a Node control command, as JSON: its first argument (`null` when it has none).
async fn ask(client: &mut Client, args: &str) -> Value {
    let answer = client.emit_with_ack(args).await;
    let answer: Value = serde_json::from_str(&answer).expect("ack JSON");
    answer.get(0).cloned().unwrap_or_default()
}

/// Asks again (every 50 ms, for up to [`SETTLE`]) until the answer satisfies `done`; answers the
/// last answer.
async fn ask_until(client: &mut Client, args: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let answer = ask(client, args).await;
        if done(&answer) || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Does this JSON array contain `item`?
fn holds(list: &Value, item: &str) -> bool {
    list.as_array()
        .is_some_and(|items| items.contains(&json!(item)))
}

/// An Agora node and a Node.js server on a fresh namespace of the same Redis.
async fn agora_and_node() -> (String, Node, NodeJs) {
    let nsp = fresh_namespace();
    let agora = Node::start(&nsp, REDIS).await;
    let node = NodeJs::start(&nsp).await;
    (nsp, agora, node)
}

/// The DISCONNECT packet of the client's namespace arrives.
async fn expect_disconnect(client: &mut Client, nsp: &str) {
    assert_eq!(client.recv_text().await, format!("41{nsp},"));
}

/// The handshake Agora gives a raw WebSocket client of tests/it/cluster.rs.
fn assert_agora_handshake(handshake: &Value, auth: &Value) {
    assert_eq!(&handshake["auth"], auth, "{handshake}");
    assert_eq!(handshake["query"]["EIO"], "4");
    assert_eq!(handshake["query"]["transport"], "websocket");
    assert_eq!(
        handshake["url"], "/socket.io/?EIO=4&transport=websocket",
        "{handshake}"
    );
    assert_eq!(handshake["address"], "127.0.0.1");
    assert_eq!(handshake["xdomain"], false);
    assert_eq!(handshake["secure"], false);
    assert!(handshake["headers"]["host"]
        .as_str()
        .is_some_and(|host| host.starts_with("127.0.0.1:")));
    assert!(handshake["issued"].as_u64().is_some_and(|ms| ms > 0));
    assert!(handshake["time"]
        .as_str()
        .is_some_and(|time| time.ends_with("GMT+0000 (Coordinated Universal Time)")));
}

#[actix_web::test]
async fn fetch_sockets_shows_handshake_and_data_both_ways() {
    let (nsp, agora, node) = agora_and_node().await;
    let auth = json!({"token": "t1"});
    let (mut x, _) = Client::connect_with(agora.port, &nsp, Some(auth.clone())).await;
    let mut y = node.client(&nsp).await;
    x.join("r").await;
    y.join("r").await;

    // The data slot is bounded; a refused value leaves the old one.
    assert_eq!(
        x.emit_with_ack(r#"["set-data",{"user":"ann","n":[1,2]}]"#)
            .await,
        "[true]"
    );
    let big = format!(r#"["set-data","{}"]"#, "x".repeat(MAX_SOCKET_DATA_BYTES));
    assert_eq!(x.emit_with_ack(&big).await, "[false]");
    assert_eq!(
        ask(&mut y, r#"["set-data",{"from":"node"}]"#).await,
        Value::Null
    );

    // Node's fetchSockets (REMOTE_FETCH) sees the Agora socket's real handshake and data.
    let fetched = ask(&mut y, &format!(r#"["fetch-full","{}"]"#, x.id)).await;
    let sockets = fetched.as_array().expect("sockets");
    assert_eq!(sockets.len(), 1, "{fetched}");
    let seen = &sockets[0];
    assert_eq!(seen["id"], x.id);
    assert_eq!(seen["data"], json!({"user": "ann", "n": [1, 2]}));
    let mut rooms: Vec<String> = serde_json::from_value(seen["rooms"].clone()).unwrap();
    rooms.sort();
    let mut expected = vec![x.id.clone(), "r".to_string()];
    expected.sort();
    assert_eq!(rooms, expected);
    assert_agora_handshake(&seen["handshake"], &auth);

    // Agora's fetch_sockets sees both, the Node socket with Node's handshake and data.
    let io = agora.io.of(&nsp).expect("the namespace");
    let mut all = io.clone().to("r").fetch_sockets().await;
    all.sort_by_key(|socket| socket.id().to_string());
    let mut ids: Vec<String> = all.iter().map(|s| s.id().to_string()).collect();
    let mut both = vec![x.id.clone(), y.id.clone()];
    both.sort();
    ids.sort();
    assert_eq!(ids, both);
    let remote = all
        .iter()
        .find(|socket| socket.id().as_str() == y.id)
        .expect("the Node socket");
    assert_eq!(remote.data(), &json!({"from": "node"}));
    assert!(remote.rooms().iter().any(|room| &**room == "r"));
    assert_eq!(remote.handshake()["query"]["EIO"], "4");
    assert_eq!(remote.handshake()["auth"], json!({}));
    assert!(remote.handshake()["headers"]["host"].is_string());
    let local = all
        .iter()
        .find(|socket| socket.id().as_str() == x.id)
        .expect("the Agora socket");
    assert_eq!(local.data(), &json!({"user": "ann", "n": [1, 2]}));
    assert_agora_handshake(local.handshake(), &auth);
    assert!(io.clone().to("nobody").fetch_sockets().await.is_empty());

    // A fetched socket on the other server can be emitted to, moved, and disconnected.
    remote
        .emit("msg", Payload::new(vec![json!("to you")]))
        .expect("emit");
    y.expect_msg_once(r#""to you""#).await;
    remote.join("moved");
    let rooms_of_y = format!(r#"["rooms-of","{}"]"#, y.id);
    let mut joined = Value::Null;
    for _ in 0..50 {
        joined = ask(&mut y, &rooms_of_y).await;
        if joined
            .as_array()
            .is_some_and(|r| r.contains(&json!("moved")))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        joined.as_array().unwrap().contains(&json!("moved")),
        "{joined}"
    );
    remote.leave("moved");
    let mut left = Value::Null;
    for _ in 0..50 {
        left = ask(&mut y, &rooms_of_y).await;
        if !left.as_array().is_some_and(|r| r.contains(&json!("moved"))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !left.as_array().unwrap().contains(&json!("moved")),
        "{left}"
    );
    remote.disconnect(false);
    expect_disconnect(&mut y, &nsp).await;
    assert!(x.silent().await);
    agora.stop().await;
}

#[actix_web::test]
async fn server_side_events_cross_between_node_and_agora() {
    let (nsp, agora, node) = agora_and_node().await;
    let mut y = node.client(&nsp).await;

    // Node → Agora, without and with an acknowledgement.
    assert_eq!(
        ask(&mut y, r#"["sse","node-tell",1,"two"]"#).await,
        Value::Null
    );
    let events = agora.server_events.clone();
    eventually("Agora's handler ran", SETTLE, || {
        events
            .lock()
            .unwrap()
            .contains(&json!(["node-tell", 1, "two"]))
    })
    .await;
    let asked = ask(&mut y, r#"["sse-ack","node-ask",{"q":1}]"#).await;
    assert_eq!(
        asked,
        json!({"error": null, "responses": [{"agora": [{"q": 1}]}]})
    );

    // Agora → Node, without and with an acknowledgement.
    let server_side = agora.io.server_side_of(&nsp);
    server_side
        .emit("agora-tell", vec![json!(3), json!({"k": "v"})])
        .expect("emit");
    let seen = ask_until(&mut y, r#"["server-events"]"#, |events| {
        events.as_array().is_some_and(|events| !events.is_empty())
    })
    .await;
    assert_eq!(seen, json!([["agora-tell", 3, {"k": "v"}]]));
    let answers = server_side
        .emit_with_ack("agora-ask", vec![json!("hi")], Duration::from_secs(3))
        .await;
    assert_eq!(answers, Ok(vec![json!({"node": ["hi"]})]));

    // A server without a handler does not answer: the call ends at the timeout.
    let started = std::time::Instant::now();
    let answers = server_side
        .emit_with_ack("nobody-listens", vec![], Duration::from_millis(500))
        .await;
    assert_eq!(
        answers,
        Err(ServerSideAckError::Timeout {
            answers: vec![],
            expected: 1
        })
    );
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert!(server_side.emit("disconnect", vec![]).is_err(), "reserved");
    agora.stop().await;
}

#[actix_web::test]
async fn sockets_join_leave_and_disconnect_both_ways() {
    let (nsp, agora, node) = agora_and_node().await;
    let mut x = agora.client(&nsp).await;
    let mut w = agora.client(&nsp).await;
    let mut y = node.client(&nsp).await;
    x.join("r").await;
    y.join("r").await;
    let io = agora.io.of(&nsp).expect("the namespace");
    // The rooms of x, as Agora's fetch sees them, once `done` holds (or after SETTLE).
    let x_id = x.id.clone();
    let rooms_of_x = |done: fn(&[String]) -> bool| {
        let (io, id) = (io.clone(), x_id.clone());
        async move {
            let deadline = tokio::time::Instant::now() + SETTLE;
            loop {
                let fetched = io.clone().to(id.as_str()).fetch_sockets().await;
                let rooms: Vec<String> = fetched
                    .first()
                    .map(|s| s.rooms().iter().map(|r| r.to_string()).collect())
                    .unwrap_or_default();
                if done(&rooms) || tokio::time::Instant::now() >= deadline {
                    return rooms;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let has = |room: &str, rooms: &[String]| rooms.iter().any(|r| r == room);

    // Agora's socketsJoin reaches its own socket at once and the Node socket through REMOTE_JOIN.
    io.clone().to("r").sockets_join("r2");
    y.emit(r#"["broadcast","r2","in r2"]"#).await;
    x.expect_msg_once(r#""in r2""#).await;
    let rooms_of_y = format!(r#"["rooms-of","{}"]"#, y.id);
    let rooms = ask_until(&mut y, &rooms_of_y, |rooms| holds(rooms, "r2")).await;
    assert!(holds(&rooms, "r2"), "{rooms}");
    assert!(w.silent().await);

    // …and socketsLeave (REMOTE_LEAVE).
    io.clone().to("r").sockets_leave("r2");
    assert!(!has("r2", &rooms_of_x(|_| true).await), "left at once here");
    let rooms = ask_until(&mut y, &rooms_of_y, |rooms| !holds(rooms, "r2")).await;
    assert!(!holds(&rooms, "r2"), "{rooms}");

    // Node's socketsLeave (REMOTE_LEAVE) takes the Agora socket out of the room.
    assert_eq!(
        ask(&mut y, r#"["remote-join","r","r3"]"#).await,
        Value::Null
    );
    assert!(has(
        "r3",
        &rooms_of_x(|rooms| rooms.iter().any(|r| r == "r3")).await
    ));
    assert_eq!(
        ask(&mut y, r#"["remote-leave","r3","r3"]"#).await,
        Value::Null
    );
    let rooms = rooms_of_x(|rooms| !rooms.iter().any(|r| r == "r3")).await;
    assert!(!has("r3", &rooms), "x still in r3: {rooms:?}");

    // Node's disconnectSockets (REMOTE_DISCONNECT) reaches the Agora socket, only it.
    let command = format!(r#"["remote-disconnect","{}",false]"#, x.id);
    assert_eq!(ask(&mut y, &command).await, Value::Null);
    expect_disconnect(&mut x, &nsp).await;
    assert!(w.silent().await);

    // Agora's disconnectSockets with close reaches the Node socket and ends its connection.
    io.clone().to(y.id.as_str()).disconnect_sockets(true);
    expect_disconnect(&mut y, &nsp).await;
    y.ws.expect_close().await;
    assert!(w.silent().await);
    agora.stop().await;
}

/// Runs tests/cluster/emitter.mjs with these operations, until it has published them all.
async fn run_emitter(operations: Value) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new("node")
        .arg("tests/cluster/emitter.mjs")
        .arg(operations.to_string())
        .env("REDIS_URL", REDIS)
        .current_dir(root)
        .output()
        .await
        .expect("node runs");
    assert!(
        output.status.success(),
        "the emitter failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "done");
}

#[actix_web::test]
async fn redis_emitter_reaches_agora_in_every_form() {
    let (nsp, other) = (fresh_namespace(), fresh_namespace());
    let agora = Node::start_serving(&[&nsp, &other], REDIS, None).await;
    let mut in_room = agora.client(&nsp).await;
    let mut elsewhere = agora.client(&nsp).await;
    let mut roomless = agora.client(&nsp).await;
    let mut in_other = agora.client(&other).await;
    in_room.join("room").await;
    elsewhere.join("elsewhere").await;

    run_emitter(json!([
        {"nsp": nsp, "emit": ["msg", "to all", {"n": 1}]},
        {"nsp": nsp, "to": ["room"], "emit": ["msg", "to room"]},
        {"nsp": nsp, "except": ["room"], "emit": ["msg", "except room"]},
        {"nsp": nsp, "to": [roomless.id], "emit": ["msg", "to one"]},
        {"nsp": other, "emit": ["msg", "other namespace"]},
        {"nsp": nsp, "serverSideEmit": ["emitter-tell", {"k": 1}]},
    ]))
    .await;

    let msg = |nsp: &str, args: &str| format!(r#"42{nsp},["msg",{args}]"#);
    for (client, expected) in [
        (&mut in_room, vec![r#""to all",{"n":1}"#, r#""to room""#]),
        (
            &mut elsewhere,
            vec![r#""to all",{"n":1}"#, r#""except room""#],
        ),
        (
            &mut roomless,
            vec![r#""to all",{"n":1}"#, r#""except room""#, r#""to one""#],
        ),
    ] {
        for args in expected {
            assert_eq!(client.recv_text().await, msg(&nsp, args), "{}", client.id);
        }
        assert!(client.silent().await, "{} got more", client.id);
    }
    assert_eq!(
        in_other.recv_text().await,
        msg(&other, r#""other namespace""#)
    );
    assert!(in_other.silent().await);
    let events = agora.server_events.clone();
    eventually("the emitter's server-side event ran", SETTLE, || {
        events
            .lock()
            .unwrap()
            .contains(&json!(["emitter-tell", {"k": 1}]))
    })
    .await;
    agora.stop().await;
}

#[actix_web::test]
async fn malformed_server_side_requests_are_dropped() {
    let nsp = fresh_namespace();
    let agora = Node::start(&nsp, REDIS).await;
    let client = redis::Client::open(REDIS).expect("Redis URL");
    let mut redis = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis");
    let channel = format!("socket.io-request#{nsp}#");
    let too_many: Vec<Value> = std::iter::once(json!("node-tell"))
        .chain(std::iter::repeat_n(json!(0), 1000))
        .collect();
    for bad in [
        json!({"type": 6}).to_string(),
        json!({"type": 6, "data": "node-tell"}).to_string(),
        json!({"type": 6, "data": []}).to_string(),
        json!({"type": 6, "data": [7, "x"]}).to_string(),
        json!({"type": 6, "data": too_many}).to_string(),
        json!({"type": 5, "opts": 3}).to_string(),
        "{not json".to_string(),
        "\u{c1}".to_string(),
    ] {
        let _: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(bad)
            .query_async(&mut redis)
            .await
            .expect("publish");
    }
    let good = json!({"uid": "test", "type": 6, "data": ["node-tell", "ok"]});
    let _: i64 = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg(good.to_string())
        .query_async(&mut redis)
        .await
        .expect("publish");
    let events = agora.server_events.clone();
    eventually("the good event after the bad ones ran", SETTLE, || {
        !events.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(*events.lock().unwrap(), vec![json!(["node-tell", "ok"])]);
    // The node still answers.
    let mut x = agora.client(&nsp).await;
    x.join("r").await;

    // A handler in a namespace the node had no reason to listen to makes it listen.
    let unlisted = fresh_namespace();
    let seen = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&seen);
    agora
        .io
        .server_side_of(&unlisted)
        .on("late", move |_, _| flag.store(true, Ordering::SeqCst));
    let event = json!({"uid": "test", "type": 6, "data": ["late"]}).to_string();
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !seen.load(Ordering::SeqCst) {
        assert!(tokio::time::Instant::now() < deadline, "never heard");
        let _: i64 = redis::cmd("PUBLISH")
            .arg(format!("socket.io-request#{unlisted}#"))
            .arg(&event)
            .query_async(&mut redis)
            .await
            .expect("publish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    agora.stop().await;
}

#[actix_web::test]
async fn a_recovered_socket_keeps_its_data() {
    let nsp = fresh_namespace();
    let recovery = recovery_for_30s();
    let agora = Node::start_serving(&[&nsp], REDIS, Some(recovery)).await;
    let (mut x, handshake) = Client::connect_with(agora.port, &nsp, None).await;
    let pid = handshake["pid"].as_str().expect("a pid").to_string();
    assert_eq!(
        x.emit_with_ack(r#"["set-data",{"user":"ann"}]"#).await,
        "[true]"
    );
    // A packet with an offset, so the client can say what it last got.
    x.emit(r#"["shout","hi"]"#).await;
    let seen: Value = x.recv_event().await;
    let offset = seen[2].as_str().expect("an offset").to_string();

    let id = x.id.clone();
    drop(x);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let auth = json!({"pid": pid, "offset": offset});
    let (_back, handshake) = Client::connect_with(agora.port, &nsp, Some(auth)).await;
    assert_eq!(handshake["sid"], id, "recovered");
    // The adapter registers it again just after the CONNECT answer went out: wait for that.
    let io = agora.io.of(&nsp).expect("the namespace");
    let deadline = tokio::time::Instant::now() + SETTLE;
    let fetched = loop {
        let fetched = io.clone().to(id.as_str()).fetch_sockets().await;
        if !fetched.is_empty() || tokio::time::Instant::now() >= deadline {
            break fetched;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].data(), &json!({"user": "ann"}));
    agora.stop().await;
}

#[actix_web::test]
async fn server_side_events_between_agora_nodes() {
    let nsp = fresh_namespace();
    let (a, b) = (
        Node::start(&nsp, REDIS).await,
        Node::start(&nsp, REDIS).await,
    );
    let from_a = a.io.server_side_of(&nsp);
    from_a
        .emit("node-tell", vec![json!("plain")])
        .expect("emit");
    let answers = from_a
        .emit_with_ack("node-ask", vec![json!(1)], Duration::from_secs(3))
        .await;
    assert_eq!(answers, Ok(vec![json!({"agora": [1]})]), "B answered once");
    let on_b = b.server_events.clone();
    eventually("B heard both", SETTLE, || on_b.lock().unwrap().len() == 2).await;
    assert_eq!(
        *on_b.lock().unwrap(),
        vec![json!(["node-tell", "plain"]), json!(["node-ask", 1])]
    );
    assert!(a.server_events.lock().unwrap().is_empty(), "not to itself");
    a.stop().await;
    b.stop().await;
}
