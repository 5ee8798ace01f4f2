//! Connection state recovery across nodes (`--redis-url`): a socket whose connection drops, or
//! whose node dies, comes back on another node of its cluster with the same id, its rooms and
//! every packet Agora nodes sent it meanwhile, once and in order; a forged or expired private id
//! gets a new socket, and two nodes claiming one session cannot both recover it.
//!
//! Each test runs a cluster of its own (a random `--redis-key`) on the local Redis.

use std::time::Duration;

use serde_json::{json, Value};

use crate::cluster::{fresh_namespace, recovery_for_30s, Client, Node, REDIS};
use crate::common::app::{spawn_app_with_postgres, spawn_process_beside};
use crate::common::{Ws, WsFrame};
use agora::socketio::RecoveryConfig;

/// A cluster key no other test uses.
fn fresh_key() -> String {
    format!("agora-recovery-{:016x}", rand::random::<u64>())
}

/// `n` nodes serving `nsp` in cluster `key`, with recovery on.
async fn nodes(n: usize, nsp: &str, key: &str, recovery: RecoveryConfig) -> Vec<Node> {
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(Node::start_keyed(&[nsp], REDIS, Some(recovery), key).await);
    }
    nodes
}

/// The `pid` of a CONNECT answer.
fn pid_of(handshake: &Value) -> String {
    handshake["pid"].as_str().expect("a pid").to_string()
}

/// The offset (last argument) of an event.
fn offset_of(event: &Value) -> String {
    let args = event.as_array().expect("event arguments");
    args.last()
        .and_then(Value::as_str)
        .expect("an offset")
        .to_string()
}

/// Expects a `msg` event with this text; answers it.
async fn expect_msg(client: &mut Client, text: &str) -> Value {
    let event = client.recv_event().await;
    assert_eq!(
        event.as_array().expect("arguments")[..2],
        [json!("msg"), json!(text)],
        "{event}"
    );
    event
}

#[actix_web::test]
async fn a_socket_cut_from_one_node_recovers_on_another() {
    let (nsp, key) = (fresh_namespace(), fresh_key());
    let cluster = nodes(2, &nsp, &key, recovery_for_30s()).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let (mut x, handshake) = Client::connect_with(a.port, &nsp, None).await;
    let pid = pid_of(&handshake);
    let mut z = a.client(&nsp).await;
    let mut y = b.client(&nsp).await;
    for client in [&mut x, &mut y, &mut z] {
        client.join("r").await;
    }
    y.emit(r#"["broadcast","r","before"]"#).await;
    let offset = offset_of(&expect_msg(&mut x, "before").await);
    expect_msg(&mut z, "before").await;

    // x's connection is cut; B's and A's apps send to its room meanwhile, and to x itself.
    let id = x.id.clone();
    drop(x);
    tokio::time::sleep(Duration::from_millis(300)).await;
    y.emit(r#"["broadcast","r","from b"]"#).await;
    expect_msg(&mut z, "from b").await;
    z.emit(r#"["broadcast","r","from a"]"#).await;
    expect_msg(&mut y, "from a").await;
    let to_x = agora::socketio::Payload::new(vec![json!("to x")]);
    let namespace = a.io.of(&nsp).expect("the test namespace");
    namespace
        .to(id.as_str())
        .emit("msg", to_x)
        .expect("emitted");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let auth = json!({"pid": pid, "offset": offset});
    let (mut back, handshake) = Client::connect_with(b.port, &nsp, Some(auth)).await;
    assert_eq!(handshake, json!({"sid": id, "pid": pid}), "recovered on B");
    let mut missed = Vec::new();
    while let Ok(event) = tokio::time::timeout(Duration::from_secs(1), back.recv_event()).await {
        missed.push(event);
    }
    let texts: Vec<&Value> = missed.iter().map(|event| &event[1]).collect();
    assert_eq!(
        texts,
        ["from b", "from a", "to x"],
        "once, in order: {missed:?}"
    );
    let mut offsets: Vec<String> = missed.iter().map(offset_of).collect();
    offsets.insert(0, offset);
    offsets.dedup();
    assert_eq!(offsets.len(), 4, "every packet has an offset of its own");
    // Back in its room: a live packet follows.
    y.emit(r#"["broadcast","r","live"]"#).await;
    expect_msg(&mut back, "live").await;
    assert!(back.silent().await);
    for node in cluster {
        node.stop().await;
    }
}

#[actix_web::test]
async fn a_forged_or_expired_pid_gets_a_new_socket() {
    let (nsp, key) = (fresh_namespace(), fresh_key());
    let short = RecoveryConfig {
        max_disconnection: Duration::from_secs(1),
        ..RecoveryConfig::default()
    };
    let cluster = nodes(2, &nsp, &key, short).await;
    let (a, b) = (&cluster[0], &cluster[1]);

    let forged = json!({"pid": "00000000-0000-4000-8000-000000000000", "offset": "1-0"});
    let (_, handshake) = Client::connect_with(b.port, &nsp, Some(forged)).await;
    assert_ne!(pid_of(&handshake), "00000000-0000-4000-8000-000000000000");
    let hostile = json!({"pid": "../../{}*", "offset": "x"});
    let (_, handshake) = Client::connect_with(b.port, &nsp, Some(hostile)).await;
    assert!(handshake["sid"].is_string(), "a new socket: {handshake}");

    let (mut x, handshake) = Client::connect_with(a.port, &nsp, None).await;
    let pid = pid_of(&handshake);
    x.join("r").await;
    let mut y = b.client(&nsp).await;
    y.emit(r#"["shout","before"]"#).await;
    let offset = offset_of(&expect_msg(&mut x, "before").await);
    let id = x.id.clone();
    drop(x);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let auth = json!({"pid": pid, "offset": offset});
    let (mut late, handshake) = Client::connect_with(b.port, &nsp, Some(auth)).await;
    assert_ne!(
        handshake["sid"],
        json!(id),
        "the window has passed: {handshake}"
    );
    assert_ne!(pid_of(&handshake), pid);
    assert!(late.silent().await, "nothing replayed");
    for node in cluster {
        node.stop().await;
    }
}

#[actix_web::test]
async fn two_nodes_claiming_one_session_recover_it_once() {
    let (nsp, key) = (fresh_namespace(), fresh_key());
    let cluster = nodes(3, &nsp, &key, recovery_for_30s()).await;
    let (a, b, c) = (&cluster[0], &cluster[1], &cluster[2]);
    let (mut x, handshake) = Client::connect_with(a.port, &nsp, None).await;
    let pid = pid_of(&handshake);
    let mut y = b.client(&nsp).await;
    y.emit(r#"["shout","before"]"#).await;
    let offset = offset_of(&expect_msg(&mut x, "before").await);
    let id = x.id.clone();
    drop(x);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let auth = json!({"pid": pid, "offset": offset});
    let ((_, on_b), (_, on_c)) = tokio::join!(
        Client::connect_with(b.port, &nsp, Some(auth.clone())),
        Client::connect_with(c.port, &nsp, Some(auth)),
    );
    let recovered = [&on_b, &on_c]
        .iter()
        .filter(|handshake| handshake["sid"] == json!(id))
        .count();
    assert_eq!(recovered, 1, "one node wins: {on_b} {on_c}");
    for node in cluster {
        node.stop().await;
    }
}

/// Sends a raw Socket.IO event to the main namespace asking for ack `id`; answers the ack.
async fn ask(ws: &mut Ws, id: u64, event: &str, arg: Value) -> Value {
    ws.send_text(&format!("42{id}{}", json!([event, arg])))
        .await;
    let prefix = format!("43{id}");
    loop {
        if let WsFrame::Text(text) = ws.recv_data().await {
            if let Some(rest) = text.strip_prefix(&prefix) {
                return serde_json::from_str::<Value>(rest).expect("ack JSON")[0].clone();
            }
        }
    }
}

/// Connects to the main namespace with this CONNECT payload; answers the CONNECT answer.
async fn connect_raw(ws: &mut Ws, auth: Value) -> Value {
    ws.send_text(&format!("40{auth}")).await;
    loop {
        if let WsFrame::Text(text) = ws.recv_data().await {
            if let Some(answer) = text.strip_prefix("40") {
                return serde_json::from_str(answer).expect("CONNECT answer JSON");
            }
        }
    }
}

/// The arguments of every `name` event that arrives until nothing has for a second.
async fn events_until_quiet(ws: &mut Ws, name: &str) -> Vec<Value> {
    let mut events = Vec::new();
    while let Ok(frame) = tokio::time::timeout(Duration::from_secs(1), ws.recv_data()).await {
        if let WsFrame::Text(text) = frame {
            if let Some(json) = text.strip_prefix("42") {
                let event: Value = serde_json::from_str(json).expect("event JSON");
                if event[0] == name {
                    events.push(event);
                }
            }
        }
    }
    events
}

/// The `agora` binary as a node, SIGKILLed: its client reconnects to the survivor with its pid
/// and offset, and gets its socket back with what was said in its room meanwhile.
#[actix_web::test]
async fn a_socket_of_a_killed_node_recovers_on_a_survivor() {
    let key = fresh_key();
    let in_cluster = |s: &mut agora::config::Settings| {
        s.redis_url = Some(REDIS.into());
        s.redis_key = key.clone();
    };
    let survivor = spawn_app_with_postgres(in_cluster).await;
    let mut doomed =
        spawn_process_beside(&survivor, &["--redis-url", REDIS, "--redis-key", &key]).await;
    let ann_token = survivor.register("ann").await;
    let bob_token = survivor.register("bob").await;
    let mut ann = doomed.socket(&[]).await;
    let handshake = connect_raw(&mut ann, json!({"token": ann_token})).await;
    let (id, pid) = (handshake["sid"].clone(), handshake["pid"].clone());
    let joined = ask(&mut ann, 1, "chat:join", json!({"room": "den"})).await;
    assert_eq!(joined["ok"], true, "{joined}");
    let mut bob = survivor.client(Some(&bob_token)).await;
    bob.must_join("den", "bob may").await;
    let sent = bob.say("den", "before").await;
    assert_eq!(sent["ok"], true, "{sent}");
    let before = loop {
        let event = events_until_quiet(&mut ann, "chat:message").await;
        if let Some(event) = event.into_iter().next() {
            break event;
        }
    };
    assert_eq!(before[1]["text"], "before");
    let offset = offset_of(&before);

    doomed.kill();
    for text in ["missed 1", "missed 2"] {
        let sent = bob.say("den", text).await;
        assert_eq!(sent["ok"], true, "{sent}");
    }
    let mut back = survivor.socket(&[]).await;
    let auth = json!({"token": ann_token, "pid": pid, "offset": offset});
    let handshake = connect_raw(&mut back, auth).await;
    assert_eq!(
        handshake,
        json!({"sid": id, "pid": pid}),
        "recovered on the survivor"
    );
    let texts: Vec<Value> = events_until_quiet(&mut back, "chat:message")
        .await
        .iter()
        .map(|event| event[1]["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [json!("missed 1"), json!("missed 2")],
        "once, in order"
    );
    bob.say("den", "live").await;
    let live = events_until_quiet(&mut back, "chat:message").await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0][1]["text"], "live");
}
